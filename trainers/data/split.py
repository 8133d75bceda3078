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


def _take_in_place(interactions: Interactions, rows: np.ndarray) -> Interactions:
    """``interactions.take(rows)`` written over the first ``len(rows)`` rows of their own
    writable columns, one column's gathered copy at a time, instead of a second copy of the
    whole log next to the first (10M rows of string ids: 800 MB); read-only columns (views of
    pyarrow's buffers) are copied. The ``interactions`` themselves are overwritten."""

    def gather(column: np.ndarray) -> np.ndarray:
        picked = column[rows]
        if not column.flags.writeable:
            return picked
        column[: len(rows)] = picked
        return column[: len(rows)]

    return Interactions(
        user_ids=gather(interactions.user_ids),
        item_ids=gather(interactions.item_ids),
        ratings=gather(interactions.ratings),
        timestamps=gather(interactions.timestamps),
        columns={name: gather(cells) for name, cells in interactions.columns.items()},
        source=interactions.source,
    )


def split_leave_last_out(interactions: Interactions, *, consume: bool = False) -> Split:
    """Split per user by time; ties in timestamp keep file order.

    Users with fewer than three interactions go entirely to train, so that
    every user who is evaluated also has something to train on. Each part is
    in (user, time) order. ``consume=True`` (for a caller that drops the log after the split)
    builds the train part in the log's own arrays, which it overwrites.
    """
    # lexsort is stable and sorts by the last key first: user, then timestamp, then file row.
    order = np.lexsort((interactions.timestamps, interactions.user_ids))
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
    train_rows = order[train]
    valid = interactions.take(order[last - 1])
    test = interactions.take(order[last])
    del order, train
    take = _take_in_place if consume else Interactions.take
    return Split(train=take(interactions, train_rows), valid=valid, test=test)
