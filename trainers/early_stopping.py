"""Early stopping on a validation metric: keep the best epoch's weights, stop after
``patience`` epochs without a new best, never run past the ``max_epochs`` cap.

Both networks stop this way instead of running a fixed number of epochs: on a 1M-row log the
ranker's validation NDCG@10 peaked at its first epoch of 30 (issue 19), so the other 29 were
wasted; on ML-100K the best epochs come later and patience lets them.
"""

from __future__ import annotations

import torch


class EarlyStopping:
    """Tracks the best (higher is better) metric and its weights over epochs."""

    def __init__(self, patience: int, max_epochs: int) -> None:
        if patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {patience}")
        if max_epochs < 1:
            raise ValueError(f"max_epochs must be at least 1, got {max_epochs}")
        self.patience, self.max_epochs = patience, max_epochs
        self.best_metric = -float("inf")
        self.best_state: dict[str, torch.Tensor] = {}
        self.best_epoch = -1
        self._epochs = 0

    def update(self, metric: float, state: dict[str, torch.Tensor]) -> bool:
        """Record one epoch's metric and weights; True when it is the new best."""
        self._epochs += 1
        if metric > self.best_metric:
            self.best_metric, self.best_state, self.best_epoch = metric, state, self._epochs - 1
            return True
        return False

    @property
    def done(self) -> bool:
        """Whether training should stop: the cap is reached or ``patience`` epochs passed
        without a new best."""
        stale = self._epochs - 1 - self.best_epoch
        return self._epochs >= self.max_epochs or stale >= self.patience
