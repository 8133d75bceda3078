"""How many threads torch's CPU kernels use while training.

Torch's intra-op threads meet at a barrier after every parallel kernel, so with as many threads
as cores one busy neighbour process on one core stalls every kernel until it is scheduled again:
on this project's 2-core machine an epoch went from 44 s to 15 minutes with another job running.
The default leaves one core in two free (half the cores this process may run on, at least one):
a neighbour then costs at most its share of a core, not a stall of every step.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_threads() -> int:
    """Half the available cores, at least one."""
    return max(1, available_cores() // 2)


def use_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count (``None``: :func:`default_threads`); return it."""
    import torch

    count = default_threads() if threads is None else threads
    if count < 1:
        raise ValueError(f"threads must be at least 1, got {count}")
    torch.set_num_threads(count)
    log.info("torch uses %d of %d available cores", count, available_cores())
    return count
