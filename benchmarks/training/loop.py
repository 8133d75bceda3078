"""Candidate-generator training throughput, the previous loop against the current one, side by
side in one run on the same data and model (ratios, not absolute times: the machine is shared).

    python -m benchmarks.training.loop --data /tmp/log1m.csv --threads 1,2
    python -m benchmarks.training.loop --synthetic 1000000 --threads 1

    python -m benchmarks.training.loop --data /tmp/log1m --levers "current,no dropout,sparse item tables"

The previous loop (before issue 19): batches of 256, the whole catalog's item vectors
normalised every step, negatives drawn every step, a per-element Adam, ``loss.item()`` every
step. The current loop is ``trainers/train_candidates.py`` with the given configuration. Both
run the same loss (``trainers/sampled_softmax.py``; with no in-batch negatives the previous
loss exactly). Rounds alternate old and new so that both see the same load; the result is the
examples per second of each and their ratio, per thread count.

``--levers`` compares variants of the current step instead (:data:`LEVERS`), each against
``current`` in the same alternating rounds: the speed side of a lever, whose quality side is
measured on validation (``benchmarks/quality/sweep.py``).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.scale.scale_data import is_scale_log, prepare_scale_log
from benchmarks.training.synthetic import write_log
from trainers.batching import batch_size_for, scaled_learning_rate
from trainers.config import CandidateConfig
from trainers.encoding import EncodedData
from trainers.examples import NextItemExamples, build_examples, sample_positions
from trainers.feature_dropout import FeatureDropout
from trainers.models import CandidateModel
from trainers.pipeline import prepare_data
from trainers.sampled_softmax import (
    draw_negatives,
    negative_log_counts,
    sampled_softmax_loss,
    smoothed_popularity,
)
from trainers.train_candidates import batch_user_vectors, candidate_batch_loss

log = logging.getLogger("training-loop")

Step = Callable[[np.ndarray, int], None]

LEVERS: dict[str, Callable[[CandidateConfig], CandidateConfig]] = {
    "current": lambda c: c,
    "no dropout": lambda c: replace(c, dropout=0.0),
    "256 negatives": lambda c: replace(c, num_negatives=256),
    "batch x2": lambda c: replace(c, batch_size=2 * c.batch_size),
    "sparse item tables": lambda c: c,
    "fp32 tower": lambda c: replace(c, precision="fp32"),
    "bf16 tower": lambda c: replace(c, precision="bf16"),
}
"""Step variants ``--levers`` compares: a configuration change, or (``sparse item tables``)
the two [N, D] item tables updated by ``torch.optim.SparseAdam`` on the rows a step touches
instead of a dense Adam over every row."""


def _model(data: EncodedData, config: CandidateConfig) -> CandidateModel:
    items = torch.from_numpy(data.padded_rows(data.tower_item_features))
    return CandidateModel(items, data.schema, config)


def previous_step(data: EncodedData, ex: NextItemExamples, config: CandidateConfig) -> Step:
    """One step of the loop as it was: batch 256, whole-catalog item matrix, a negative draw
    per step, unfused Adam, a loss read back every step."""
    model = _model(data, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    sampling = smoothed_popularity(data.popularity, config.sampling_power)
    weights = torch.from_numpy(sampling).float()
    log_counts = negative_log_counts(sampling, ex.targets, config.num_negatives, 0)
    dropout = FeatureDropout(config.feature_dropout, data.schema, 0)

    def step(batch: np.ndarray, _: int) -> None:
        users = batch_user_vectors(model, data, ex, batch, dropout)
        items = model.item_matrix()
        targets = torch.from_numpy(ex.targets[batch])
        negatives = torch.multinomial(weights, config.num_negatives, replacement=True)
        loss = sampled_softmax_loss(
            users, items[targets], items[negatives], targets, negatives, log_counts,
            config.temperature,
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()

    return step


def _optimizers(model: CandidateModel, lr: float, sparse: bool) -> list[torch.optim.Optimizer]:
    """Fused Adam over every parameter, or SparseAdam over the item tables (their lookups made
    sparse) and fused Adam over the rest."""
    if not sparse:
        return [torch.optim.Adam(model.parameters(), lr=lr, fused=True)]
    tables = [model.item_embedding, model.item_vectors]
    for table in tables:
        table.sparse = True
    own = {id(table.weight) for table in tables}
    rest = [p for p in model.parameters() if id(p) not in own]
    return [
        torch.optim.SparseAdam([table.weight for table in tables], lr=lr),
        torch.optim.Adam(rest, lr=lr, fused=True),
    ]


def current_step(
    data: EncodedData,
    ex: NextItemExamples,
    config: CandidateConfig,
    steps: int,
    sparse: bool = False,
) -> Step:
    """One step of ``trainers/train_candidates.py``'s loop with ``config`` (``sparse``: the
    item tables by SparseAdam)."""
    model = _model(data, config)
    lr = scaled_learning_rate(config.learning_rate, config.batch_size, config.lr_scaling)
    optimizers = _optimizers(model, lr, sparse)
    sampling = smoothed_popularity(data.popularity, config.sampling_power)
    in_batch = min(config.in_batch_negatives, config.batch_size)
    log_counts = negative_log_counts(sampling, ex.targets, config.num_negatives, in_batch)
    negatives = draw_negatives(sampling, steps, config.num_negatives)
    dropout = FeatureDropout(config.feature_dropout, data.schema, 0)
    targets = torch.from_numpy(ex.targets)

    def step(batch: np.ndarray, index: int) -> None:
        users = batch_user_vectors(model, data, ex, batch, dropout)
        loss = candidate_batch_loss(
            model, users, targets[batch], negatives[index], config, log_counts
        )
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()

    return step


def _rate(step: Step, order: np.ndarray, batch_size: int, examples: int) -> float:
    """Examples per second of ``step`` over the first ``examples`` rows of ``order``."""
    count = 0
    started = time.perf_counter()
    for index, first in enumerate(range(0, examples, batch_size)):
        batch = order[first : first + batch_size]
        step(batch, index)
        count += len(batch)
    return count / (time.perf_counter() - started)


def _examples(
    data: EncodedData, config: CandidateConfig, threads: int
) -> tuple[NextItemExamples, np.ndarray, CandidateConfig]:
    """The examples, a fixed random order of them, and ``config`` with its batch size resolved."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    ex = build_examples(
        data, sample_positions(data, config.max_examples_per_user, rng), config.max_history
    )
    config = replace(config, batch_size=batch_size_for(config.batch_size, len(ex)))
    return ex, rng.permutation(len(ex)), config


def compare(
    data: EncodedData,
    config: CandidateConfig,
    threads: int,
    examples: int,
    rounds: int,
) -> dict[str, Any]:
    """Alternate previous and current loop for ``rounds`` rounds of ``examples`` each."""
    ex, order, config = _examples(data, config, threads)
    examples = min(examples, len(ex))
    old_config = replace(config, batch_size=256)
    old = previous_step(data, ex, old_config)
    new = current_step(data, ex, config, -(-examples // config.batch_size))
    _rate(old, order, 256, 2 * 256)
    _rate(new, order, config.batch_size, 2 * config.batch_size)
    old_rates, new_rates = [], []
    for _ in range(rounds):
        old_rates.append(_rate(old, order, 256, examples))
        new_rates.append(_rate(new, order, config.batch_size, examples))
        log.info("threads %d: previous %.0f ex/s, current %.0f ex/s", threads,
                 old_rates[-1], new_rates[-1])
    old_rate, new_rate = statistics.median(old_rates), statistics.median(new_rates)
    return {
        "threads": threads,
        "batch_size": config.batch_size,
        "examples": len(ex),
        "items": data.num_items,
        "previous_ex_per_s": old_rate,
        "current_ex_per_s": new_rate,
        "ratio": new_rate / old_rate,
        "rounds": {"previous": old_rates, "current": new_rates},
    }


def compare_levers(
    data: EncodedData,
    config: CandidateConfig,
    threads: int,
    examples: int,
    rounds: int,
    names: list[str],
) -> dict[str, Any]:
    """Examples/s of each lever of :data:`LEVERS` in ``names`` (the first is the reference)
    over ``rounds`` alternating rounds of ``examples`` each, and its ratio to the first."""
    ex, order, config = _examples(data, config, threads)
    examples = min(examples, len(ex))
    steps: dict[str, tuple[Step, int]] = {}
    for name in names:
        changed = LEVERS[name](config)
        count = -(-examples // changed.batch_size)
        step = current_step(data, ex, changed, count, sparse=name == "sparse item tables")
        _rate(step, order, changed.batch_size, 2 * changed.batch_size)
        steps[name] = step, changed.batch_size
    rates: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        for name, (step, size) in steps.items():
            rates[name].append(_rate(step, order, size, examples))
        log.info("threads %d: %s", threads, {k: round(v[-1]) for k, v in rates.items()})
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "threads": threads,
        "batch_size": config.batch_size,
        "examples": len(ex),
        "items": data.num_items,
        "ex_per_s": medians,
        "ratio": {name: rate / medians[names[0]] for name, rate in medians.items()},
        "rounds": rates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", help="a log file, dataset folder or name, or a benchmarks/scale log folder"
    )
    parser.add_argument("--synthetic", type=int, help="generate a log of about this many rows")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--examples", type=int, default=100_000, help="examples per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--batch-size", type=int, default=CandidateConfig().batch_size, help="0: by data size"
    )
    parser.add_argument("--in-batch", type=int, default=CandidateConfig().in_batch_negatives)
    parser.add_argument(
        "--levers", help=f"compare these step variants instead, comma-separated: {list(LEVERS)}"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = replace(
        CandidateConfig(), batch_size=args.batch_size, in_batch_negatives=args.in_batch
    )
    with tempfile.TemporaryDirectory() as folder:
        source = args.data
        if args.synthetic:
            users = max(1, args.synthetic // 50)
            source = write_log(Path(folder) / "log.csv", users, users // 2, per_user=72)
        if source and is_scale_log(Path(source)):
            data = prepare_scale_log(Path(source), config.max_history)
        else:
            data = prepare_data(source, config.max_history)
    levers = [name.strip() for name in args.levers.split(",")] if args.levers else []
    unknown = [name for name in levers if name not in LEVERS]
    if unknown:
        parser.error(f"unknown levers {unknown}; choose from {list(LEVERS)}")
    results = [
        compare_levers(data, config, int(t), args.examples, args.rounds, levers)
        if levers
        else compare(data, config, int(t), args.examples, args.rounds)
        for t in args.threads.split(",")
    ]
    payload = {"in_batch_negatives": config.in_batch_negatives, "results": results}
    text = json.dumps(payload, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
