"""BPR matrix factorisation (Rendle et al. 2009): pairwise ranking of seen over unseen items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from trainers.baselines.common import user_item_matrix


class BPR:
    """User and item factors plus an item bias, trained with Adam on (user, seen, unseen)
    triples; the unseen item is drawn uniformly and redrawn once if the user has seen it."""

    name = "BPR"

    def __init__(
        self,
        dim: int = 64,
        reg: float = 1e-4,
        epochs: int = 50,
        learning_rate: float = 1e-2,
        batch_size: int = 16384,
    ) -> None:
        self.dim = dim
        self.reg = reg
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.users = np.zeros((0, dim), dtype=np.float32)
        self.items = np.zeros((0, dim), dtype=np.float32)
        self.bias = np.zeros(0, dtype=np.float32)

    def fit(self, user_items: Sequence[np.ndarray], num_items: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        seen = user_item_matrix(user_items, num_items) > 0
        pair_users = np.concatenate(
            [np.full(len(c), row, dtype=np.int64) for row, c in enumerate(user_items)]
        )
        pair_items = np.concatenate([np.asarray(c, dtype=np.int64) - 1 for c in user_items])
        users = torch.nn.Parameter(torch.randn(len(user_items), self.dim) * 0.01)
        items = torch.nn.Parameter(torch.randn(num_items, self.dim) * 0.01)
        bias = torch.nn.Parameter(torch.zeros(num_items))
        optimizer = torch.optim.Adam([users, items, bias], lr=self.learning_rate)
        for _ in range(self.epochs):
            order = rng.permutation(len(pair_users))
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                u, i = pair_users[batch], pair_items[batch]
                j = rng.integers(0, num_items, size=len(batch))
                clash = seen[u, j]
                j[clash] = rng.integers(0, num_items, size=int(clash.sum()))
                ut, it, jt = (torch.from_numpy(a) for a in (u, i, j))
                pu, qi, qj = users[ut], items[it], items[jt]
                diff = (pu * (qi - qj)).sum(-1) + bias[it] - bias[jt]
                penalty = pu.pow(2).sum() + qi.pow(2).sum() + qj.pow(2).sum()
                loss = -F.logsigmoid(diff).mean() + self.reg * penalty / len(batch)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        self.users = users.detach().numpy()
        self.items = items.detach().numpy()
        self.bias = bias.detach().numpy()

    def scores(self, user_rows: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        scores: np.ndarray = self.users[user_rows] @ self.items.T + self.bias
        return scores

    def params(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "reg": self.reg,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
        }
