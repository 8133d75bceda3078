"""Mini-batch mechanics shared by both training loops: shuffled index batches and the
learning rate that goes with a batch size.

The learning rates in ``trainers/config.py`` were tuned at a batch of ``REFERENCE_BATCH``
rows. A larger batch takes fewer, less noisy steps per epoch, so its rate is scaled up: by
the square root of the batch ratio (``"sqrt"``, the rule for Adam, whose steps are already
normalised by the gradient's scale), linearly (``"linear"``, Goyal et al. 2017, the SGD rule),
or not at all (``"none"``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

REFERENCE_BATCH = 256
"""The batch size at which the configured learning rates were chosen."""

SCALING_RULES = ("sqrt", "linear", "none")


def scaled_learning_rate(base: float, batch_size: int, rule: str) -> float:
    """``base`` (the rate at ``REFERENCE_BATCH``) scaled to ``batch_size`` by ``rule``."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    ratio = batch_size / REFERENCE_BATCH
    if rule == "sqrt":
        return base * ratio**0.5
    if rule == "linear":
        return base * ratio
    if rule == "none":
        return base
    raise ValueError(f"learning-rate scaling must be one of {SCALING_RULES}, got {rule!r}")


def shuffled_batches(
    count: int, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Row indices 0..count-1 in a fresh random order, ``batch_size`` at a time (the last
    batch holds the rest)."""
    order = rng.permutation(count)
    for start in range(0, count, batch_size):
        yield order[start : start + batch_size]


def batch_count(count: int, batch_size: int) -> int:
    """How many batches :func:`shuffled_batches` yields for ``count`` rows."""
    return -(-count // batch_size)
