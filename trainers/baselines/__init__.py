"""Baselines trained and scored by the same harness, on the same split, as the two-stage model."""

from collections.abc import Callable
from typing import Any

from trainers.baselines.bpr import BPR
from trainers.baselines.common import Baseline, visible_interactions
from trainers.baselines.itemknn import ItemKNN
from trainers.baselines.popular import MostPopular
from trainers.baselines.tuning import fit_and_score, tune

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

__all__ = [
    "BASELINES",
    "BPR",
    "Baseline",
    "ItemKNN",
    "MostPopular",
    "fit_and_score",
    "tune",
    "visible_interactions",
]
