"""Leave-last-out split: each user's latest interaction is the test, the one before validation."""

from __future__ import annotations

import logging

import numpy as np

from .schema import Interactions, Split

logger = logging.getLogger(__name__)

MIN_INTERACTIONS_TO_HOLD_OUT = 3
RUN_CHUNK = 1 << 20
"""Rows compared at a time when finding where each user's run starts in the sorted order."""


def _run_starts(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Positions in ``order`` where the key changes (the first always counts), found chunk by
    chunk: ``keys[order]`` whole would be a copy of the id column (10M string ids: 400 MB)."""
    if not len(order):
        return np.empty(0, dtype=np.int64)
    changes = [np.zeros(1, dtype=np.int64)]
    for start in range(1, len(order), RUN_CHUNK):
        stop = min(start + RUN_CHUNK, len(order))
        chunk = keys[order[start - 1 : stop]]
        changes.append(np.flatnonzero(chunk[1:] != chunk[:-1]) + start)
    return np.concatenate(changes)


def split_leave_last_out(interactions: Interactions) -> Split:
    """Split per user by time; ties in timestamp keep file order.

    Users with fewer than three interactions go entirely to train, so that
    every user who is evaluated also has something to train on. Each part is
    in (user, time) order.
    """
    rows = np.arange(len(interactions))
    # lexsort sorts by the last key first: user, then timestamp, then original row.
    order = np.lexsort((rows, interactions.timestamps, interactions.user_ids))
    del rows
    starts = _run_starts(interactions.user_ids, order)
    counts = np.diff(np.r_[starts, len(order)])
    # Sorted positions of each held-out user's last row (test); the one before is validation.
    last = (starts + counts - 1)[counts >= MIN_INTERACTIONS_TO_HOLD_OUT]
    train = np.ones(len(order), dtype=bool)
    train[last] = False
    train[last - 1] = False
    logger.info(
        "leave-last-out split: %d train, %d valid, %d test rows; %d of %d users held out",
        int(train.sum()),
        len(last),
        len(last),
        len(last),
        len(counts),
    )
    return Split(
        train=interactions.take(order[train]),
        valid=interactions.take(order[last - 1]),
        test=interactions.take(order[last]),
    )
