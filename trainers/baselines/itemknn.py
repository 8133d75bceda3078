"""ItemKNN: item-item cosine similarity of co-occurrence, summed over the user's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from trainers.baselines.common import user_item_matrix


class ItemKNN:
    """score(u, j) = sum over items i in u's history of cos(i, j), keeping each item's
    ``neighbours`` most similar items (0 keeps all); cos is over the users who interacted."""

    name = "ItemKNN"

    def __init__(self, neighbours: int = 0, shrink: float = 0.0) -> None:
        self.neighbours = neighbours
        self.shrink = shrink
        self.similarity = np.zeros((0, 0), dtype=np.float32)

    def fit(self, user_items: Sequence[np.ndarray], num_items: int, seed: int = 0) -> None:
        matrix = user_item_matrix(user_items, num_items)
        co = matrix.T @ matrix
        norms = np.sqrt(np.diag(co))
        denom = np.outer(norms, norms) + self.shrink
        sim = np.divide(co, denom, out=np.zeros_like(co), where=denom > 0)
        np.fill_diagonal(sim, 0.0)
        if 0 < self.neighbours < num_items:
            weakest = np.argpartition(-sim, self.neighbours, axis=1)[:, self.neighbours :]
            np.put_along_axis(sim, weakest, 0.0, axis=1)
        self.similarity = sim.astype(np.float32)

    def scores(self, user_rows: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        profile = user_item_matrix(histories, self.similarity.shape[0])
        return profile @ self.similarity

    def params(self) -> dict[str, Any]:
        return {"neighbours": self.neighbours, "shrink": self.shrink}
