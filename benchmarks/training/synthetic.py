"""The training-loop benchmark's log: the scale benchmark's generator
(``benchmarks/scale/generator.py``: taste clusters, Zipf popularity, log-normal activity) at a
given number of users, items and interactions per user, written as integer-id CSV."""

from __future__ import annotations

from pathlib import Path

from benchmarks.scale.generator import ScaleSpec, write_integer_log


def write_log(
    path: Path,
    num_users: int = 20_000,
    num_items: int = 10_000,
    per_user: int = 72,
    seed: int = 0,
) -> Path:
    """Write about ``num_users * per_user`` distinct (user, item) interactions to ``path``
    (``user_id,item_id,timestamp``), one taste cluster per ~250 items."""
    spec = ScaleSpec(
        num_users * per_user, num_users, num_items, clusters=max(4, num_items // 250), seed=seed
    )
    return write_integer_log(path, spec)
