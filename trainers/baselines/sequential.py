"""What SASRec and GRU4Rec share: training windows, full-softmax training, early stopping.

A sequential model reads a user's last ``max_length`` items (left-padded with code 0, oldest
first) and gives a hidden vector per position; the score of item j after position t is the
inner product of that vector with item j's embedding. Training is sequence-to-sequence, as in
SASRec's reference: every position of a window predicts the next item, with the cross-entropy
over the whole catalog (no sampled negatives). Windows cut each training sequence from its end,
so every item after a user's first is a target exactly once. After each epoch the validation
NDCG@10 (full ranking, history excluded) is measured; training stops ``patience`` epochs after
the best one and that epoch's weights are kept.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from trainers.metrics import summarize, top_k_excluding

SELECT_BY = "ndcg@10"
logger = logging.getLogger(__name__)


class SequenceNetwork(torch.nn.Module):
    """A network over left-padded item windows [B, L] -> hidden vectors [B, L, D]."""

    items: torch.nn.Embedding
    """Item embeddings [num_items + 1, D]; row 0 is padding and is never scored."""

    def hidden(self, windows: torch.Tensor) -> torch.Tensor:
        """Hidden vector per position; position t may depend only on positions <= t."""
        raise NotImplementedError


def training_windows(
    sequences: Sequence[np.ndarray], max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-item targets [W, max_length], left-padded with 0, cut from each end.

    A sequence of n items gives targets at positions 1..n-1, each in exactly one window; the
    window holding the last items is the full ``max_length`` long when n allows.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for sequence in sequences:
        codes = np.asarray(sequence, dtype=np.int64)
        end = len(codes)
        while end > 1:
            start = max(0, end - max_length - 1)
            window = codes[start:end]
            inputs.append(window[:-1])
            targets.append(window[1:])
            end = start + 1
    return left_pad(inputs, max_length), left_pad(targets, max_length)


def left_pad(rows: Sequence[np.ndarray], length: int) -> np.ndarray:
    """The last ``length`` codes of each row, right-aligned in a zero matrix [len(rows), length]."""
    out = np.zeros((len(rows), length), dtype=np.int64)
    for index, row in enumerate(rows):
        tail = np.asarray(row, dtype=np.int64)[-length:]
        if len(tail):
            out[index, length - len(tail) :] = tail
    return out


@dataclass
class EpochRecord:
    """One epoch: mean training loss, validation NDCG@10, seconds."""

    epoch: int
    loss: float
    valid_ndcg: float
    seconds: float


@dataclass
class TrainingLog:
    """The validation curve, the kept (best) epoch and the number of epochs run."""

    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    seconds: float = 0.0

    def summary(self, patience: int) -> dict[str, Any]:
        """What the report shows: best and run epochs, and how flat the tail of the curve is."""
        curve = [e.valid_ndcg for e in self.epochs]
        tail = curve[-patience:] if patience > 0 else curve[-1:]
        return {
            "best_epoch": self.best_epoch,
            "epochs_run": len(self.epochs),
            "best_valid_ndcg@10": max(curve) if curve else 0.0,
            "tail_valid_ndcg@10_mean": float(np.mean(tail)) if tail else 0.0,
            "tail_valid_ndcg@10_range": float(np.ptp(tail)) if tail else 0.0,
            "curve": [
                {"epoch": e.epoch, "loss": e.loss, "valid_ndcg@10": e.valid_ndcg} for e in self.epochs
            ],
        }


class SequentialBaseline:
    """Training and scoring shared by the sequential baselines; subclasses build the network."""

    name = "sequential"

    def __init__(
        self,
        hidden: int = 64,
        max_length: int = 50,
        dropout: float = 0.2,
        learning_rate: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 200,
        patience: int = 8,
    ) -> None:
        if patience < 1 or max_epochs < 1:
            raise ValueError(
                f"patience and max_epochs must be at least 1, got {patience} and {max_epochs}"
            )
        self.hidden_size = hidden
        self.max_length = max_length
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.network: SequenceNetwork | None = None
        self.log = TrainingLog()

    def build(self, num_items: int) -> SequenceNetwork:
        """The untrained network over codes 1..num_items."""
        raise NotImplementedError

    def fit(
        self,
        sequences: Sequence[np.ndarray],
        num_items: int,
        valid_histories: Sequence[np.ndarray],
        valid_targets: np.ndarray,
        seed: int = 0,
    ) -> TrainingLog:
        """Train on every next-item position of ``sequences`` until validation NDCG@10 has not
        improved for ``patience`` epochs (or ``max_epochs``); keep the best epoch's weights."""
        started = time.perf_counter()
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        network = self.build(num_items)
        inputs, targets = training_windows(sequences, self.max_length)
        if len(inputs) == 0:
            raise ValueError("no training window: every sequence needs at least two items")
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate, betas=(0.9, 0.98))
        self.network, self.log = network, TrainingLog()
        best_score, best_state = -1.0, copy.deepcopy(network.state_dict())
        for epoch in range(1, self.max_epochs + 1):
            epoch_start = time.perf_counter()
            loss = self._epoch(network, optimizer, inputs, targets, rng)
            lists = top_k_excluding(self.scores(np.zeros(0), valid_histories), valid_histories, 10)
            score = summarize(lists, valid_targets, 10)[SELECT_BY]
            self.log.epochs.append(EpochRecord(epoch, loss, score, time.perf_counter() - epoch_start))
            logger.info("%s epoch %d: loss %.4f, valid NDCG@10 %.4f", self.name, epoch, loss, score)
            if score > best_score:
                best_score, best_state = score, copy.deepcopy(network.state_dict())
                self.log.best_epoch = epoch
            elif epoch - self.log.best_epoch >= self.patience:
                break
        network.load_state_dict(best_state)
        self.log.seconds = time.perf_counter() - started
        return self.log

    def _epoch(
        self,
        network: SequenceNetwork,
        optimizer: torch.optim.Optimizer,
        inputs: np.ndarray,
        targets: np.ndarray,
        rng: np.random.Generator,
    ) -> float:
        network.train()
        order = rng.permutation(len(inputs))
        total, count = 0.0, 0
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            window = torch.from_numpy(inputs[batch])
            target = torch.from_numpy(targets[batch])
            real = target > 0
            hidden = network.hidden(window)[real]
            logits = hidden @ network.items.weight[1:].T
            loss = F.cross_entropy(logits, target[real] - 1)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            total += loss.item() * int(real.sum())
            count += int(real.sum())
        return total / max(count, 1)

    def scores(self, user_rows: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
        """Scores [U, num_items] of the item after each history's last ``max_length`` items."""
        if self.network is None:
            raise RuntimeError(f"{self.name} is not fitted: call fit() first")
        network = self.network
        network.eval()
        windows = torch.from_numpy(left_pad(histories, self.max_length))
        out = []
        with torch.no_grad():
            for start in range(0, len(windows), 256):
                last = network.hidden(windows[start : start + 256])[:, -1]
                out.append((last @ network.items.weight[1:].T).numpy())
        if not out:
            return np.zeros((0, network.items.num_embeddings - 1), dtype=np.float32)
        return np.concatenate(out)

    def params(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden_size,
            "max_length": self.max_length,
            "dropout": self.dropout,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "patience": self.patience,
        }
