"""Train the candidate generator: extreme multiclass next-item prediction.

The loss is a sampled softmax over the catalog (``trainers/sampled_softmax.py``): each batch
shares negatives drawn from the smoothed popularity distribution plus the targets of some of
its own rows (in-batch negatives), every logit corrected by the log of its item's expected
count among them. A step computes the vectors of only the items it touches (its targets and
negatives), not the whole catalog. ``softmax="full"`` trains against the whole catalog instead
(for ablations). Batches are large and the learning rate scales with them
(``trainers/batching.py``). After each epoch the weights are averaged over the last
``average_last`` epochs, and the averaged model with the best validation Recall@100 is kept;
training stops after ``patience`` epochs without a better one, at most ``epochs`` epochs
(``trainers/early_stopping.py``). Validation uses a fixed sample of at most
``validation_users`` users (``trainers/validation_sample.py``).
"""

from __future__ import annotations

import logging
import time

import numpy as np
import torch

from trainers.batching import (
    batch_count,
    batch_size_for,
    scaled_learning_rate,
    shuffled_batches,
)
from trainers.config import CandidateConfig
from trainers.distributed import LOCAL, Parallel
from trainers.early_stopping import EarlyStopping
from trainers.encoding import EncodedData
from trainers.examples import NextItemExamples, build_examples, sample_positions
from trainers.feature_dropout import FeatureDropout
from trainers.holdout import HoldoutSet
from trainers.inference import retrieve_candidates
from trainers.metrics import hit_rate, target_ranks
from trainers.models import CandidateModel
from trainers.progress import EpochProgress, EpochRecord
from trainers.sampled_softmax import (
    draw_negatives,
    full_softmax_loss,
    negative_log_counts,
    sampled_softmax_loss,
    smoothed_popularity,
)
from trainers.validation_sample import sample_holdout
from trainers.weight_averaging import WeightAverage

log = logging.getLogger(__name__)


def validation_recall(
    model: CandidateModel, data: EncodedData, holdout: HoldoutSet, n: int = 100
) -> float:
    """Recall@n of exact retrieval for the held-out items, history excluded, each request with
    its held-out interaction's context."""
    model.eval()
    _, codes, _ = retrieve_candidates(
        model, data, holdout.user_rows, holdout.histories, n, context=holdout.context
    )
    return hit_rate(target_ranks(codes, holdout.targets), n)


def batch_user_vectors(
    model: CandidateModel,
    data: EncodedData,
    ex: NextItemExamples,
    index: np.ndarray,
    dropout: FeatureDropout,
) -> torch.Tensor:
    """The tower's unit user vectors for a batch of examples, user features dropped out."""
    rows = ex.user_rows[index]
    user = dropout.apply(*data.user_inputs(rows, ex.interactions[index]))
    return model(
        torch.from_numpy(ex.histories(index)),
        torch.from_numpy(user.categorical),
        torch.from_numpy(user.numeric),
        torch.from_numpy(ex.example_age[index]),
    )


def candidate_batch_loss(
    model: CandidateModel,
    users: torch.Tensor,
    targets: torch.Tensor,
    sampled: torch.Tensor,
    config: CandidateConfig,
    log_counts: torch.Tensor,
) -> torch.Tensor:
    """The batch's loss: sampled softmax over its own targets' vectors and its negatives'
    (the targets of its first ``in_batch_negatives`` rows, then ``sampled``), or the full
    softmax."""
    if config.softmax == "full":
        return full_softmax_loss(users, model.item_matrix(), targets, config.temperature)
    negatives = torch.cat([targets[: config.in_batch_negatives], sampled])
    vectors = model.item_vectors_of(torch.cat([targets, negatives]))
    return sampled_softmax_loss(
        users,
        vectors[: len(targets)],
        vectors[len(targets) :],
        targets,
        negatives,
        log_counts,
        config.temperature,
        model.dense_dtype,
    )


def _check(config: CandidateConfig) -> None:
    """Refuse settings the loop cannot run, naming the field."""
    if config.softmax not in ("sampled", "full"):
        raise ValueError(f"softmax must be 'sampled' or 'full', got {config.softmax!r}")
    if config.in_batch_negatives < 0 or config.num_negatives < 0:
        raise ValueError(
            "num_negatives and in_batch_negatives must be >= 0, got "
            f"{config.num_negatives} and {config.in_batch_negatives}"
        )
    if config.softmax == "sampled" and config.num_negatives + config.in_batch_negatives == 0:
        raise ValueError("the sampled softmax needs num_negatives + in_batch_negatives > 0")


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
    the last ``config.average_last`` epochs), stop early; return the model in eval mode.

    ``parallel`` shares the work among torchrun's processes (``trainers/distributed.py``).

    ``users`` (a mask over user rows) trains on those users only (``trainers/out_of_fold.py``)."""
    _check(config)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    items = torch.from_numpy(data.padded_rows(data.tower_item_features))
    model = CandidateModel(items, data.schema, config)
    examples = build_examples(
        data,
        sample_positions(data, config.max_examples_per_user, rng, users),
        config.max_history,
    )
    size = batch_size_for(config.batch_size, len(examples))
    lr = scaled_learning_rate(config.learning_rate, size, config.lr_scaling)
    log.info(
        "candidate generator: %d examples, %d items, batches of %d, learning rate %.2g",
        len(examples),
        data.num_items,
        size,
        lr,
    )
    sampling = smoothed_popularity(data.popularity, config.sampling_power)
    in_batch = min(config.in_batch_negatives, size)
    log_counts = negative_log_counts(sampling, examples.targets, config.num_negatives, in_batch)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=lr, weight_decay=config.weight_decay, fused=True
    )
    monitor = sample_holdout(valid, config.validation_users, seed)
    progress = EpochProgress(log, "candidates", config.epochs, history, len(examples))
    stopping = EarlyStopping(config.patience, config.epochs)
    averager = WeightAverage(config.average_last)
    dropout = FeatureDropout(config.feature_dropout, data.schema, seed)
    net = parallel.wrap(model)
    targets = torch.from_numpy(examples.targets)
    for epoch in range(config.epochs):
        model.train()
        started = time.perf_counter()
        negatives = draw_negatives(
            sampling, batch_count(len(examples), size), config.num_negatives
        )
        total = torch.zeros(())
        batches = parallel.shard(shuffled_batches(len(examples), size, rng))
        for step, batch in enumerate(batches):
            user_vectors = batch_user_vectors(net, data, examples, batch, dropout)
            loss = candidate_batch_loss(
                net,
                user_vectors,
                targets[batch],
                negatives[step],
                config,
                log_counts,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        seconds = time.perf_counter() - started
        evaluated, snapshot = averager.update(model)
        recall = parallel.on_main(lambda: validation_recall(evaluated, data, monitor))
        mean_loss = float(parallel.total(total)) / len(examples)
        progress.epoch(epoch, mean_loss, {"valid_recall@100": recall}, seconds)
        stopping.update(recall, snapshot)
        if stopping.done:
            break
    model.load_state_dict(stopping.best_state)
    model.eval()
    return model, {"valid_recall@100": stopping.best_metric}
