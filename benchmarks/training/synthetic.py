"""A quick synthetic interaction log for the training-loop benchmark: integer ids, clusters of
taste and Zipf popularity, written as ``user,item,timestamp`` CSV with numpy (seconds at 1M
rows). ``benchmarks/scale/`` has the fuller generator (string ids, features)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_log(
    path: Path,
    num_users: int = 20_000,
    num_items: int = 10_000,
    per_user: int = 72,
    clusters: int = 50,
    in_cluster: float = 0.7,
    seed: int = 0,
) -> Path:
    """Write about ``num_users * per_user`` distinct (user, item) interactions to ``path``:
    each user mostly watches popular items of their taste cluster, else popular items."""
    rng = np.random.default_rng(seed)
    item_cluster = rng.integers(0, clusters, num_items)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8
    popularity = popularity[rng.permutation(num_items)]
    counts = np.maximum(5, rng.geometric(1.0 / per_user, num_users))
    user = np.repeat(np.arange(num_users), counts)
    taste = rng.integers(0, clusters, num_users)[user]
    order = np.argsort(item_cluster, kind="stable")
    starts = np.searchsorted(item_cluster[order], np.arange(clusters + 1))
    within = np.cumsum(popularity[order])
    base = np.r_[0.0, within][starts]
    draw = base[taste] + rng.random(len(user)) * (base[taste + 1] - base[taste])
    local = order[np.minimum(np.searchsorted(within, draw), num_items - 1)]
    overall = rng.choice(num_items, size=len(user), p=popularity / popularity.sum())
    item = np.where(rng.random(len(user)) < in_cluster, local, overall)
    _, first = np.unique(user.astype(np.int64) * num_items + item, return_index=True)
    user, item = user[first], item[first]
    stamp = 1_600_000_000 + rng.integers(0, 86400 * 365, len(user))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(
        path,
        np.column_stack([user, item, stamp]),
        fmt="%d",
        delimiter=",",
        header="user_id,item_id,timestamp",
        comments="",
    )
    return path
