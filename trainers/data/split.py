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
    del rows
    users = interactions.user_ids[order]
    starts = (
        np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        if len(users)
        else np.empty(0, dtype=np.int64)
    )
    del users
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
