"""Tune a baseline's hyperparameters on the validation split, then score the splits.

Tuning fits on the training split and scores the validation items. For the test split the
chosen configuration is refitted on everything before the test item
(training split + validation item), so a baseline gets the same information as the two-stage
model's history at test time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from trainers.baselines.common import Baseline, Scorer, visible_interactions
from trainers.baselines.sequential import SequentialBaseline
from trainers.encoding import EncodedData
from trainers.holdout import holdout_set
from trainers.metrics import coverage, summarize, top_k_excluding

SELECT_BY = "ndcg@10"


def _metrics(lists: np.ndarray, targets: np.ndarray, num_items: int, k: int) -> dict[str, float]:
    return {**summarize(lists, targets, k), f"coverage@{k}": coverage(lists, num_items)}


def _require_points(grid: Sequence[dict[str, Any]]) -> None:
    if not grid:
        raise ValueError("the hyperparameter grid is empty: give at least one configuration")


def score_lists(
    model: Scorer, data: EncodedData, split: str, k: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k codes per held-out user of ``split`` (history excluded) and the targets."""
    holdout = holdout_set(data, split)
    lists = top_k_excluding(
        model.scores(holdout.user_rows, holdout.histories), holdout.histories, k
    )
    return lists, holdout.targets


def tune(
    make: Callable[..., Baseline],
    grid: Sequence[dict[str, Any]],
    data: EncodedData,
    seed: int = 0,
    k: int = 10,
) -> tuple[dict[str, Any], float]:
    """The grid point with the best validation NDCG@k (fitted on the training split) and that score."""
    _require_points(grid)
    best_score, best_params = -1.0, dict(grid[0])
    train_only = visible_interactions(data, "valid")
    for params in grid:
        model = make(**params)
        model.fit(train_only, data.num_items, seed)
        lists, targets = score_lists(model, data, "valid", k)
        score = summarize(lists, targets, k)[SELECT_BY]
        if score > best_score:
            best_score, best_params = score, dict(params)
    return best_params, best_score


def fit_and_score(
    make: Callable[..., Baseline],
    params: dict[str, Any],
    data: EncodedData,
    splits: Sequence[str] = ("valid", "test"),
    seed: int = 0,
    k: int = 10,
) -> dict[str, dict[str, float]]:
    """Metrics per split of one configuration, fitted on everything before that split's item."""
    metrics: dict[str, dict[str, float]] = {}
    for split in splits:
        model = make(**params)
        model.fit(visible_interactions(data, split), data.num_items, seed)
        lists, targets = score_lists(model, data, split, k)
        metrics[split] = _metrics(lists, targets, data.num_items, k)
    return metrics


def sequential_run(
    make: type[SequentialBaseline],
    params: dict[str, Any],
    data: EncodedData,
    seed: int = 0,
    k: int = 10,
) -> dict[str, Any]:
    """One sequential baseline trained on the training split with early stopping on the
    validation split, scored on both splits with the same weights (as the two-stage model:
    at test time the validation item is part of the history, not of the training data)."""
    valid = holdout_set(data, "valid")
    model = make(**params)
    log = model.fit(
        visible_interactions(data, "valid"), data.num_items, valid.histories, valid.targets, seed
    )
    run: dict[str, Any] = {"seed": seed, "seconds": log.seconds, **log.summary(model.patience)}
    for split in ("valid", "test"):
        lists, targets = score_lists(model, data, split, k)
        run[split] = _metrics(lists, targets, data.num_items, k)
    return run


def tune_sequential(
    make: type[SequentialBaseline],
    grid: Sequence[dict[str, Any]],
    data: EncodedData,
    seed: int = 0,
    k: int = 10,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The grid point with the best validation NDCG@k (each early-stopped) and every grid run,
    so the chosen point's run can serve as its seed-``seed`` result."""
    _require_points(grid)
    runs = [{"params": dict(params), **sequential_run(make, params, data, seed, k)} for params in grid]
    best = max(runs, key=lambda run: run["valid"][SELECT_BY])
    return dict(best["params"]), runs
