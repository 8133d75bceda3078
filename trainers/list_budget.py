"""A budget on the ranker's training lists: at most ``max_lists`` example positions, spread
evenly across users.

Each list costs an exact top-k retrieval over the whole catalog and a ranker step per epoch,
so ``positions_per_user`` alone makes the ranker's cost grow with users x positions (5M lists
at 10M interactions). Under a budget every user keeps the same quota of positions (the water
level q at which ``sum(min(count, q))`` fits the budget; the leftover goes one each to random
users above it), so light users keep all theirs and heavy users do not dominate. Which of a
user's positions are kept: the newest (closest to serving time) or a uniform draw among them.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

SAMPLINGS = ("newest", "uniform")


def per_user_quota(counts: np.ndarray, budget: int, rng: np.random.Generator) -> np.ndarray:
    """How many of its ``counts[u]`` positions each user keeps: all when they fit ``budget``,
    else an equal quota per user (light users keep theirs), the leftover one each to random
    users with positions to spare; sums to ``min(budget, counts.sum())``."""
    counts = np.asarray(counts, dtype=np.int64)
    if budget < 0:
        raise ValueError(f"the list budget must be >= 0, got {budget}")
    if counts.sum() <= budget:
        return counts
    ordered = np.sort(counts)
    # kept(q) = sum(min(counts, q)); the largest q with kept(q) <= budget, by bisection.
    low, high = 0, int(ordered[-1])
    while low < high:
        middle = (low + high + 1) // 2
        if int(np.minimum(ordered, middle).sum()) <= budget:
            low = middle
        else:
            high = middle - 1
    quota = np.minimum(counts, low)
    spare = np.flatnonzero(counts > low)
    extra = rng.choice(spare, budget - int(quota.sum()), replace=False)
    quota[extra] += 1
    return quota


def budgeted_positions(
    positions: np.ndarray,
    owners: np.ndarray,
    budget: int,
    sampling: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """The kept subset of ``positions`` under ``budget``, in their order: each user's quota
    (:func:`per_user_quota`) of their newest positions, or of a uniform draw among them.
    ``owners[i]`` is the user (sequence) of position i, non-decreasing, and each user's
    positions are in time order."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"list sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if len(positions) <= budget:
        return positions
    if np.any(np.diff(owners) < 0):
        raise ValueError("positions must be grouped by user, users in increasing order")
    counts = np.bincount(owners)
    quota = per_user_quota(counts, budget, rng)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    if sampling == "newest":
        rank = np.repeat(counts, counts) - 1 - (np.arange(len(positions)) - starts)
    else:
        order = np.lexsort((rng.random(len(positions)), owners))
        rank = np.empty(len(positions), dtype=np.int64)
        rank[order] = np.arange(len(positions)) - starts
    kept: np.ndarray = positions[rank < quota[owners]]
    # Its own logger: benchmarks/scale/timeline.py ends the lists phase at the first record of
    # trainers.train_ranker ("ranker: N lists").
    log.info(
        "list budget: %d of %d positions kept (%s per user)", len(kept), len(positions), sampling
    )
    return kept
