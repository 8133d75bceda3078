"""Train the ranker with the paper's weighted logistic regression on retrieved candidates.

Examples come from the last positions of each user's training sequence. For each, the trained
candidate generator retrieves the top ``n_candidates`` (history excluded, as at serving); the
item actually watched next is the positive, weighted by its rating (the analogue of the paper's
watch time: a 5-star watch counts five times a 1-star one), and negatives are drawn from the
other retrieved candidates with weight 1. The learned odds then estimate rating-weighted
engagement (``loss="listwise"`` trains a softmax over each list instead, an option compared in
docs/evaluation.md). After each epoch the weights are averaged over the last ``average_last``
epochs, which smooths the epoch-to-epoch noise; the last of ``epochs`` is kept (with
``select_epoch``: the averaged model with the best validation NDCG@10, training stopping after
``patience`` epochs without a better one). Then the served logits are blended with the
generator's, the share ``b`` the best of ``blends`` on validation (b = 1: the candidates' own
order, when the ranker does not beat it). With ``list_folds > 0`` the training lists come from
out-of-fold generators instead (``trainers/out_of_fold.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from trainers.batching import batch_size_for, scaled_learning_rate, shuffled_batches
from trainers.config import RankerConfig
from trainers.distributed import LOCAL, Parallel
from trainers.early_stopping import EarlyStopping
from trainers.encoding import EncodedData
from trainers.examples import NextItemExamples, build_examples, last_positions
from trainers.feature_dropout import FeatureDropout
from trainers.holdout import HoldoutSet, without_user_features
from trainers.inference import rank_scores, reorder, retrieve_candidates
from trainers.list_budget import budgeted_positions
from trainers.memory import log_peak_rss
from trainers.metrics import summarize
from trainers.models import CandidateModel, Ranker
from trainers.out_of_fold import InSample, ListSource
from trainers.progress import EpochProgress, EpochRecord
from trainers.validation_sample import sample_holdout
from trainers.weight_averaging import WeightAverage

log = logging.getLogger(__name__)


LIST_CHUNK = 8192
"""Examples retrieved at a time while building the ranker's lists: only this many full
candidate lists [chunk, n_candidates] exist at once, not one per training example."""


def _chunk_lists(
    data: EncodedData,
    bare_data: EncodedData,
    source: ListSource,
    ex: NextItemExamples,
    index: np.ndarray,
    bare: np.ndarray,
    config: RankerConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the examples ``index``: those whose target was retrieved, and per such example the
    list [target, k random other retrieved candidates] with the candidates' scores. Each
    example is retrieved with its own interaction's context, as its request would be served;
    those where ``bare`` [len(index)] is true from ``bare_data`` without context (every user
    and context feature missing), as a history-only request is."""
    codes, scores = source.retrieve(
        data,
        ex.user_rows[index],
        ex.history_arrays(index),
        config.n_candidates,
        data.context.take(ex.interactions[index]),
    )
    if bare.any():
        alone = index[bare]
        codes[bare], scores[bare] = source.retrieve(
            bare_data, ex.user_rows[alone], ex.history_arrays(alone), config.n_candidates
        )
    retrieved = codes == ex.targets[index][:, None]
    hit_rows = np.flatnonzero(retrieved.any(axis=1))
    codes, scores, retrieved = codes[hit_rows], scores[hit_rows], retrieved[hit_rows]
    k = min(config.negatives_per_positive, codes.shape[1] - 1)
    # k uniform draws without replacement among the other candidates: the k smallest random keys.
    keys = rng.random(codes.shape)
    keys[retrieved] = np.inf
    hit = retrieved.argmax(axis=1)[:, None]
    columns = np.concatenate([hit, np.argsort(keys, axis=1)[:, :k]], axis=1)
    lists = np.take_along_axis(codes, columns, axis=1)
    return index[hit_rows], lists, np.take_along_axis(scores, columns, axis=1)


def training_lists(
    data: EncodedData,
    bare_data: EncodedData,
    source: ListSource,
    config: RankerConfig,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Per example: history, user, [positive + negatives] codes, their scores, labels,
    weights, whether it stands for a history-only request (a ``bare_list_rate`` share).
    Examples are each user's last ``positions_per_user`` positions, at most ``max_lists`` in
    all (``trainers/list_budget.py``)."""
    positions = last_positions(data, config.positions_per_user)
    if config.max_lists > 0:
        owners = np.searchsorted(data.train.offsets, positions, side="right") - 1
        positions = budgeted_positions(
            positions, owners, config.max_lists, config.list_sampling, rng
        )
    ex = build_examples(data, positions, data.schema.max_history)
    ratings = data.train.ratings.values[positions]
    bare = np.zeros(len(ex), dtype=bool)
    if config.bare_list_rate > 0:
        bare = rng.random(len(ex)) < config.bare_list_rate
    parts = [
        _chunk_lists(data, bare_data, source, ex, chunk, bare[chunk], config, rng)
        for chunk in np.array_split(np.arange(len(ex)), max(1, -(-len(ex) // LIST_CHUNK)))
    ]
    rows = np.concatenate([np.zeros(0, dtype=np.int64)] + [p[0] for p in parts])
    width = min(config.negatives_per_positive, config.n_candidates - 1) + 1
    lists = np.concatenate([np.zeros((0, width), dtype=np.int64)] + [p[1] for p in parts])
    list_scores = np.concatenate(
        [np.zeros((0, width), dtype=np.float32)] + [p[2] for p in parts]
    ).astype(np.float32)
    labels = np.zeros_like(list_scores)
    labels[:, 0] = 1.0
    weights = np.ones_like(list_scores)
    weights[:, 0] = ratings[rows]
    return {
        "history": ex.histories(rows),
        "user_rows": ex.user_rows[rows],
        "candidates": lists,
        "scores": list_scores,
        "labels": labels,
        "weights": weights,
        "gaps": ex.seconds_since_last[rows],
        "interactions": ex.interactions[rows],
        "bare": bare[rows],
    }


def ranking_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, loss: str
) -> torch.Tensor:
    """Loss of lists [B, 1 + k] whose column 0 is the watched item.

    ``pointwise``: the paper's weighted logistic regression (positive weighted by its rating,
    negatives by 1). ``listwise``: softmax cross-entropy of the watched item against the rest
    of its list, each list weighted by the watched item's rating; this is what NDCG of a
    retrieved list rewards (the watched item above the others of the same list).
    """
    if loss == "pointwise":
        return F.binary_cross_entropy_with_logits(logits, labels, weight=weights)
    if loss == "listwise":
        per_list = -torch.log_softmax(logits, dim=1)[:, 0]
        return (per_list * weights[:, 0]).sum() / weights[:, 0].sum()
    raise ValueError(f"loss must be 'pointwise' or 'listwise', got {loss!r}")


def validation_ndcg(
    ranker: Ranker,
    data: EncodedData,
    valid: HoldoutSet,
    codes: np.ndarray,
    scores: np.ndarray,
) -> dict[str, float]:
    """NDCG@10 of the ranked validation candidates next to the candidate generator's own order.

    ``codes``/``scores`` are the generator's retrieved candidates; they are computed once per
    training run, since the generator does not change while the ranker trains.
    """
    ranker.eval()
    logits = rank_scores(
        ranker,
        data,
        valid.user_rows,
        valid.histories,
        codes,
        scores,
        valid.seconds_since_last,
        valid.context,
    )
    ranked = summarize(reorder(codes, logits), valid.targets)["ndcg@10"]
    return {
        "valid_ndcg@10": ranked,
        "valid_ndcg@10_candidates_only": summarize(codes, valid.targets)["ndcg@10"],
    }


def _batch_loss(
    ranker: nn.Module,
    data: EncodedData,
    lists: dict[str, np.ndarray],
    tensors: dict[str, torch.Tensor],
    index: np.ndarray,
    dropout: FeatureDropout,
    config: RankerConfig,
) -> torch.Tensor:
    """The loss of one batch of training lists, user features dropped out (all of them for
    the lists retrieved as history-only requests)."""
    rows = lists["user_rows"][index]
    user = dropout.apply(
        *data.user_inputs(rows, lists["interactions"][index]),
        lists["gaps"][index],
        absent=lists["bare"][index],
    )
    picked = torch.from_numpy(index)
    logits = ranker(
        tensors["history"][picked],
        tensors["candidates"][picked],
        tensors["scores"][picked],
        torch.from_numpy(user.categorical),
        torch.from_numpy(user.numeric),
        torch.from_numpy(user.seconds_since_last),
    )
    return ranking_loss(
        logits, tensors["labels"][picked], tensors["weights"][picked], config.loss
    )


def train_ranker(
    data: EncodedData,
    candidate_model: CandidateModel,
    config: RankerConfig,
    valid: HoldoutSet,
    seed: int,
    *,
    lists_from: ListSource | None = None,
    history: list[EpochRecord] | None = None,
    parallel: Parallel = LOCAL,
) -> tuple[Ranker, dict[str, float]]:
    """Train ``config.epochs`` epochs, the last kept (with ``select_epoch``: the best by
    validation NDCG@10, stopping after ``config.patience`` epochs without a better one), each
    epoch's weights averaged over the last ``average_last`` epochs, then choose the blend with
    the generator's logits on validation; return it in eval mode.

    Training lists come from ``lists_from`` (default: ``candidate_model`` itself, in-sample);
    validation lists always come from ``candidate_model``, the generator that is served, for
    a fixed sample of at most ``config.validation_users`` users.
    ``parallel`` shares the work among torchrun's processes (``trainers/distributed.py``)."""
    if config.select_on not in ("features", "both"):
        raise ValueError(f"select_on must be 'features' or 'both', got {config.select_on!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    ranker = Ranker(
        torch.from_numpy(data.padded_rows(data.item_features)),
        candidate_model.item_matrix().detach(),
        data.match_width,
        data.schema,
        config,
        score_scale=1.0 / candidate_model.config.temperature,
    )
    source = InSample(candidate_model) if lists_from is None else lists_from
    monitor = sample_holdout(valid, config.validation_users, seed)
    bare_data, bare_valid = without_user_features(data, monitor)
    lists = training_lists(data, bare_data, source, config, rng)
    log_peak_rss("ranker lists")
    count = len(lists["labels"])
    size = batch_size_for(config.batch_size, count)
    lr = scaled_learning_rate(config.learning_rate, size, config.lr_scaling)
    log.info(
        "ranker: %d lists of %d candidates, batches of %d, learning rate %.2g",
        count,
        lists["candidates"].shape[1],
        size,
        lr,
    )
    optimizer = torch.optim.Adam(
        ranker.parameters(), lr=lr, weight_decay=config.weight_decay, fused=True
    )
    progress = EpochProgress(log, "ranker", config.epochs, history, count)
    tensors = {key: torch.from_numpy(value) for key, value in lists.items()}
    _, valid_codes, valid_scores = retrieve_candidates(
        candidate_model,
        data,
        monitor.user_rows,
        monitor.histories,
        config.n_candidates,
        context=monitor.context,
    )
    bare_lists = None
    if config.select_on == "both":
        bare_lists = retrieve_candidates(
            candidate_model, bare_data, monitor.user_rows, monitor.histories, config.n_candidates
        )[1:]
    patience = config.patience if config.select_epoch else config.epochs
    stopping = EarlyStopping(patience, config.epochs)
    kept: dict[str, float] = {}
    averager = WeightAverage(config.average_last)
    dropout = FeatureDropout(config.feature_dropout, data.schema, seed)

    def validate(model: Ranker) -> dict[str, float]:
        metrics = validation_ndcg(model, data, monitor, valid_codes, valid_scores)
        if bare_lists is not None:
            bare = validation_ndcg(model, bare_data, bare_valid, *bare_lists)
            metrics["valid_ndcg@10_history_only"] = bare["valid_ndcg@10"]
            metrics["valid_ndcg@10_selection"] = (
                metrics["valid_ndcg@10"] + bare["valid_ndcg@10"]
            ) / 2
        return metrics

    net = parallel.wrap(ranker)
    for epoch in range(config.epochs):
        ranker.train()
        started = time.perf_counter()
        total = torch.zeros(())
        for index in parallel.shard(shuffled_batches(count, size, rng)):
            loss = _batch_loss(net, data, lists, tensors, index, dropout, config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(index)
        seconds = time.perf_counter() - started
        evaluated, snapshot = averager.update(ranker)
        metrics = parallel.on_main(lambda: validate(evaluated))
        progress.epoch(epoch, float(parallel.total(total)) / count, metrics, seconds)
        # Without epoch selection every epoch counts as the best so far: the last is kept.
        score = _selection(metrics)
        if stopping.update(score if config.select_epoch else float(epoch), snapshot):
            kept = metrics
        if stopping.done:
            break
    ranker.load_state_dict(stopping.best_state)
    if config.blends:
        kept = _choose_blend(ranker, parallel, validate, config.blends)
    ranker.eval()
    return ranker, kept


def _selection(metrics: dict[str, float]) -> float:
    """The validation number epochs and blends are chosen on (``select_on``)."""
    return metrics.get("valid_ndcg@10_selection", metrics["valid_ndcg@10"])


def _choose_blend(
    ranker: Ranker,
    parallel: Parallel,
    validate: Callable[[Ranker], dict[str, float]],
    blends: tuple[float, ...],
) -> dict[str, float]:
    """Set ``ranker.passthrough`` to the share of the generator's logits in ``blends`` with the
    best validation number (ties go to the larger share: 1 is the candidates' own order) and
    return its validation metrics, the share under ``blend``."""
    best: dict[str, float] = {}
    for share in sorted(blends, reverse=True):
        ranker.passthrough.fill_(share)
        metrics = parallel.on_main(lambda: validate(ranker))
        if not best or _selection(metrics) > _selection(best):
            best = metrics | {"blend": share}
    ranker.passthrough.fill_(best["blend"])
    log.info("ranker: blend %.2f of the generator's logits chosen on validation", best["blend"])
    if best["blend"] == 1.0:
        log.warning(
            "ranker: no blend beat the candidate generator's own order on validation "
            "(NDCG@10 %.4f); the artifact's ranker keeps that order",
            _selection(best),
        )
    return best
