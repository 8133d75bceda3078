"""Train the candidate generator: extreme multiclass next-item prediction.

The loss is a sampled softmax over the catalog: each batch shares negatives drawn from the
smoothed popularity distribution Q (count**power), and every logit is corrected by -log Q so
the sampled loss estimates the full softmax (the "logQ" correction of Jean et al. 2015 and
Yi et al. 2019). ``softmax="full"`` trains against the whole catalog instead (for ablations).
After each epoch the weights are averaged over the last ``average_last`` epochs, and the
averaged model with the best validation Recall@100 is kept: on ML-100K this steadies the
model across seeds (docs/evaluation.md, "Generator weight averaging").
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.nn import functional as F

from trainers.config import CandidateConfig
from trainers.distributed import LOCAL, Parallel
from trainers.encoding import EncodedData
from trainers.examples import NextItemExamples, build_examples, sample_positions
from trainers.feature_dropout import FeatureDropout
from trainers.holdout import HoldoutSet
from trainers.inference import retrieve_candidates
from trainers.metrics import hit_rate, target_ranks
from trainers.models import CandidateModel
from trainers.progress import EpochProgress, EpochRecord
from trainers.weight_averaging import WeightAverage

log = logging.getLogger(__name__)


def sampling_log_q(popularity: np.ndarray, power: float) -> torch.Tensor:
    """log Q per code (row 0 = padding, never sampled) of the smoothed popularity distribution."""
    weights = (popularity.astype(np.float64) + 1.0) ** power
    q = np.concatenate([[0.0], weights / weights.sum()])
    return torch.from_numpy(q).float().log()


def sampled_softmax_loss(
    users: torch.Tensor,
    item_matrix: torch.Tensor,
    targets: torch.Tensor,
    log_q: torch.Tensor,
    num_negatives: int,
    temperature: float,
) -> torch.Tensor:
    """Cross-entropy of the target against shared sampled negatives, logQ-corrected;
    a negative that equals the row's target (an accidental hit) is masked out."""
    negatives = torch.multinomial(log_q.exp(), num_negatives, replacement=True)
    positive = (users * item_matrix[targets]).sum(-1) / temperature - log_q[targets]
    negative = users @ item_matrix[negatives].T / temperature - log_q[negatives]
    negative = negative.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), -torch.inf)
    logits = torch.cat([positive.unsqueeze(1), negative], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long))


def full_softmax_loss(
    users: torch.Tensor, item_matrix: torch.Tensor, targets: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Cross-entropy over the whole catalog (codes 1..N)."""
    logits = users @ item_matrix[1:].T / temperature
    return F.cross_entropy(logits, targets - 1)


def validation_recall(
    model: CandidateModel, data: EncodedData, holdout: HoldoutSet, n: int = 100
) -> float:
    """Recall@n of exact retrieval for the held-out items, history excluded."""
    model.eval()
    _, codes, _ = retrieve_candidates(model, data, holdout.user_rows, holdout.histories, n)
    return hit_rate(target_ranks(codes, holdout.targets), n)


def _batch_loss(
    model: CandidateModel,
    data: EncodedData,
    ex: NextItemExamples,
    index: np.ndarray,
    config: CandidateConfig,
    log_q: torch.Tensor,
    dropout: FeatureDropout,
) -> torch.Tensor:
    rows = ex.user_rows[index]
    user = dropout.apply(*data.user_inputs(rows, ex.interactions[index]))
    users = model(
        torch.from_numpy(ex.histories(index)),
        torch.from_numpy(user.categorical),
        torch.from_numpy(user.numeric),
        torch.from_numpy(ex.example_age[index]),
    )
    targets = torch.from_numpy(ex.targets[index])
    items = model.item_matrix()
    if config.softmax == "full":
        return full_softmax_loss(users, items, targets, config.temperature)
    return sampled_softmax_loss(
        users, items, targets, log_q, config.num_negatives, config.temperature
    )


def train_candidates(
    data: EncodedData,
    config: CandidateConfig,
    valid: HoldoutSet,
    seed: int,
    *,
    users: np.ndarray | None = None,
    history: list[EpochRecord] | None = None,
    parallel: Parallel = LOCAL,
) -> tuple[CandidateModel, dict[str, float]]:
    """Train, keep the best epoch by validation Recall@100 (each epoch's weights averaged over
    the last ``config.average_last`` epochs), return the model in eval mode.

    ``parallel`` shares the work among torchrun's processes (``trainers/distributed.py``).

    ``users`` (a mask over user rows) trains on those users only (``trainers/out_of_fold.py``)."""
    if config.softmax not in ("sampled", "full"):
        raise ValueError(f"softmax must be 'sampled' or 'full', got {config.softmax!r}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    items = torch.from_numpy(data.padded_rows(data.tower_item_features))
    model = CandidateModel(items, data.schema, config)
    examples = build_examples(
        data,
        sample_positions(data, config.max_examples_per_user, rng, users),
        config.max_history,
    )
    log.info("candidate generator: %d examples, %d items", len(examples), data.num_items)
    log_q = sampling_log_q(data.popularity, config.sampling_power)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    progress = EpochProgress(log, "candidates", config.epochs, history)
    best: tuple[float, dict[str, torch.Tensor]] = (-1.0, {})
    averager = WeightAverage(config.average_last)
    dropout = FeatureDropout(config.feature_dropout, data.schema, seed)
    net = parallel.wrap(model)
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(examples))
        losses = []
        steps = range(0, len(order), config.batch_size)
        for batch in parallel.shard(order[start : start + config.batch_size] for start in steps):
            loss = _batch_loss(net, data, examples, batch, config, log_q, dropout)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        evaluated, snapshot = averager.update(model)
        recall = parallel.on_main(lambda: validation_recall(evaluated, data, valid))
        progress.epoch(epoch, float(np.mean(losses)), {"valid_recall@100": recall})
        if recall > best[0]:
            best = (recall, snapshot)
    model.load_state_dict(best[1])
    model.eval()
    return model, {"valid_recall@100": best[0]}
