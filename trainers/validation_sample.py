"""A fixed sample of the validation users, so that evaluating every epoch does not dominate
training on a large log.

Exact retrieval for validation scores every user against the whole catalog: at 100,000 users
and 100,000 items that is 10**10 dot products per epoch, more than the epoch itself. A fixed
sample (the same users every epoch, so epochs stay comparable) keeps the cost bounded; a set at
or under the limit (ML-100K: 943 users) is used whole, so its numbers are exact.
"""

from __future__ import annotations

import numpy as np

from trainers.holdout import HoldoutSet

SEED_OFFSET = 104729
"""The sample's own random stream (seed + this), independent of the training streams."""


def sample_holdout(holdout: HoldoutSet, max_users: int, seed: int) -> HoldoutSet:
    """``holdout`` itself when it has at most ``max_users`` users, else a random subset of
    ``max_users`` of them in their original order (``max_users`` 0: always all)."""
    if max_users < 0:
        raise ValueError(f"validation_users must be 0 (all) or positive, got {max_users}")
    if max_users == 0 or len(holdout) <= max_users:
        return holdout
    rng = np.random.default_rng(seed + SEED_OFFSET)
    keep = np.sort(rng.choice(len(holdout), size=max_users, replace=False))
    return holdout.select(keep)
