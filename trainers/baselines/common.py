"""What every baseline shares: the interactions it may learn from and the scoring interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from trainers.encoding import EncodedData


class Scorer(Protocol):
    """Scores the whole catalog for given users and their visible histories."""

    def scores(self, user_rows: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores [U, num_items] (column j is code j + 1); higher is better."""


class Baseline(Scorer, Protocol):
    """Fit on per-user item codes, then score the whole catalog for given users."""

    name: str

    def fit(self, user_items: Sequence[np.ndarray], num_items: int, seed: int) -> None:
        """Learn from ``user_items[user_row]`` (item codes 1..num_items)."""

    def params(self) -> dict[str, Any]:
        """The hyperparameters in use (reported next to the metrics)."""


def visible_interactions(data: EncodedData, split: str) -> tuple[np.ndarray, ...]:
    """Per user row, the item codes a model may learn from before the ``split`` item.

    ``valid``: the training split. ``test``: the training split plus the validation item, i.e.
    everything the two-stage model is given as history at test time (its weights see only the
    training split, so this is, if anything, generous to the baselines).
    """
    if split not in ("valid", "test"):
        raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
    per_user: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in data.user_ids]
    for seq_index, row in enumerate(data.train.user_rows):
        per_user[row] = np.asarray(data.train.items[seq_index], dtype=np.int64)
    if split == "test":
        for row, item in enumerate(data.valid.items):
            if item > 0:
                per_user[row] = np.append(per_user[row], item)
    return tuple(per_user)


def user_item_matrix(user_items: Sequence[np.ndarray], num_items: int) -> np.ndarray:
    """Binary interaction matrix [users, num_items] as float32."""
    matrix = np.zeros((len(user_items), num_items), dtype=np.float32)
    for row, codes in enumerate(user_items):
        matrix[row, np.asarray(codes, dtype=np.int64) - 1] = 1.0
    return matrix
