"""Leave-last-out split: each user's latest interaction is the test, the one before validation."""

from __future__ import annotations

import logging

import numpy as np

from .schema import Interactions, Split

logger = logging.getLogger(__name__)

MIN_INTERACTIONS_TO_HOLD_OUT = 3


def split_leave_last_out(interactions: Interactions) -> Split:
    """Split per user by time; ties in timestamp keep file order.

    Users with fewer than three interactions go entirely to train, so that
    every user who is evaluated also has something to train on. Each part is
    in (user, time) order.
    """
    rows = np.arange(len(interactions))
    # lexsort sorts by the last key first: user, then timestamp, then original row.
    order = np.lexsort((rows, interactions.timestamps, interactions.user_ids))
    users = interactions.user_ids[order]
    starts = (
        np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        if len(users)
        else np.empty(0, dtype=np.int64)
    )
    counts = np.diff(np.r_[starts, len(users)])
    per_row_count = np.repeat(counts, counts)
    from_end = np.repeat(starts + counts, counts) - np.arange(len(users))  # 1 for a user's last row
    held_out = per_row_count >= MIN_INTERACTIONS_TO_HOLD_OUT
    test = held_out & (from_end == 1)
    valid = held_out & (from_end == 2)
    train = ~(test | valid)
    logger.info(
        "leave-last-out split: %d train, %d valid, %d test rows; %d of %d users held out",
        int(train.sum()),
        int(valid.sum()),
        int(test.sum()),
        int((counts >= MIN_INTERACTIONS_TO_HOLD_OUT).sum()),
        len(counts),
    )
    return Split(
        train=interactions.take(order[train]),
        valid=interactions.take(order[valid]),
        test=interactions.take(order[test]),
    )
