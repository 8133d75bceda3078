"""Baselines trained and scored by the same harness, on the same split, as the two-stage model."""

from collections.abc import Callable
from typing import Any

from trainers.baselines.bpr import BPR
from trainers.baselines.common import Baseline, visible_interactions
from trainers.baselines.gru4rec import GRU4Rec
from trainers.baselines.itemknn import ItemKNN
from trainers.baselines.popular import MostPopular
from trainers.baselines.sasrec import SASRec
from trainers.baselines.sequential import SequentialBaseline
from trainers.baselines.tuning import fit_and_score, sequential_run, tune, tune_sequential

BASELINES: dict[str, tuple[Callable[..., Baseline], list[dict[str, Any]]]] = {
    "MostPopular": (MostPopular, [{}]),
    "ItemKNN": (
        ItemKNN,
        [{"neighbours": n, "shrink": s} for n in (20, 50, 100, 0) for s in (0.0, 10.0)],
    ),
    "BPR": (
        BPR,
        [{"reg": r, "epochs": e} for r in (1e-5, 1e-4, 1e-3) for e in (25, 50, 100, 200)],
    ),
}
"""Each baseline with its hyperparameter grid (tuned on the validation split)."""

SEQUENTIAL: dict[str, tuple[type[SequentialBaseline], list[dict[str, Any]]]] = {
    "SASRec": (SASRec, [{"dropout": d} for d in (0.2, 0.5)]),
    "GRU4Rec": (GRU4Rec, [{"dropout": d} for d in (0.2, 0.5)]),
}
"""The sequential baselines with their grids; each point is early-stopped on validation NDCG@10."""

__all__ = [
    "BASELINES",
    "BPR",
    "Baseline",
    "GRU4Rec",
    "ItemKNN",
    "MostPopular",
    "SASRec",
    "SEQUENTIAL",
    "SequentialBaseline",
    "fit_and_score",
    "sequential_run",
    "tune",
    "tune_sequential",
    "visible_interactions",
]
