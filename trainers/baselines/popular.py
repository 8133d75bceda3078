"""MostPopular: the same list for everyone, by interaction count over the visible interactions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class MostPopular:
    """Scores every item by how many users interacted with it."""

    name = "MostPopular"

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.float64)

    def fit(self, user_items: Sequence[np.ndarray], num_items: int, seed: int = 0) -> None:
        codes = np.concatenate([np.asarray(c, dtype=np.int64) for c in user_items])
        self.counts = np.bincount(codes - 1, minlength=num_items).astype(np.float64)

    def scores(self, user_rows: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(user_rows), len(self.counts)))

    def params(self) -> dict[str, Any]:
        return {}
