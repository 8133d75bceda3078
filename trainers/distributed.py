"""Data-parallel training under ``torchrun``: the thin layer the training loops call.

A loop takes a :class:`Parallel` (``LOCAL`` by default, which changes nothing) and calls it at
four points: :meth:`~Parallel.wrap` the network whose forward pass it runs (DistributedDataParallel,
which averages the gradients of every step across the processes), :meth:`~Parallel.shard` its
batches (every process draws the same global batches from the same seed and takes its own
contiguous part of each, a DistributedSampler-like split of each epoch's example indices, so the
global batch, the number of steps and the learning rate are those of one process),
:meth:`~Parallel.on_main` its validation (computed on rank 0 alone and broadcast, so every
process takes the same early-stopping decision and keeps the same epoch), and
:meth:`~Parallel.total` its loss sums (for the logs). The replicas stay identical, so after
training every process holds the kept networks; rank 0 alone exports the artifact
(``trainers/pipeline.py``). Launch and cluster use: docs/distributed.md.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from trainers.threads import default_threads

log = logging.getLogger(__name__)

Value = TypeVar("Value", float, str, dict[str, float])
BACKENDS = ("gloo", "nccl")
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
"""What ``torchrun`` sets for each process it starts (all of them, or it did not start us)."""


class Parallel:
    """One process alone: every hook is the identity."""

    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        """Whether this process validates, logs progress and exports (rank 0)."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module whose forward the loop calls (its gradients are averaged)."""
        return model

    def shard(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """This process's part of each global batch of example indices."""
        yield from batches

    def on_main(self, compute: Callable[[], Value]) -> Value:
        """``compute()`` run on rank 0, its value given to every process."""
        return compute()

    def total(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the processes."""
        return value

    def threads(self, requested: int | None) -> int | None:
        """Torch threads for this process (None: ``trainers/threads.py``'s default)."""
        return requested

    def close(self) -> None:
        """Leave the process group (nothing to leave here)."""


LOCAL = Parallel()


class Replicated(DistributedDataParallel):
    """DistributedDataParallel that also answers the wrapped network's own methods (such as
    ``item_matrix``), so a loop passes it wherever it passed the network. Parameters used in
    such a method get their gradients in the same backward pass, so they are averaged too."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)


class DataParallel(Parallel):
    """One of ``world_size`` processes of an initialised process group."""

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank, self.world_size = rank, world_size

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in DistributedDataParallel: rank 0's weights broadcast to all, then every
        backward pass all-reduces (averages) the gradients, bucket by bucket."""
        return Replicated(model)

    def shard(self, batches: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Each global batch split into ``world_size`` contiguous parts (sizes within one);
        a batch smaller than ``world_size`` is skipped by every process alike, since DDP needs
        every process to take every step."""
        for batch in batches:
            if len(batch) >= self.world_size:
                yield np.array_split(batch, self.world_size)[self.rank]

    def on_main(self, compute: Callable[[], Value]) -> Value:
        """Rank 0 computes; its value travels as JSON bytes (a float, a string, a dict of floats)."""
        payload = json.dumps(compute()).encode() if self.is_main else b""
        size = torch.tensor([len(payload)], dtype=torch.int64)
        dist.broadcast(size, src=0)
        buffer = torch.zeros(int(size.item()), dtype=torch.uint8)
        if self.is_main:
            buffer = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
        dist.broadcast(buffer, src=0)
        value: Value = json.loads(bytes(buffer.tolist()).decode())
        return value

    def total(self, value: torch.Tensor) -> torch.Tensor:
        summed = value.detach().clone()
        dist.all_reduce(summed, op=dist.ReduceOp.SUM)
        return summed

    def threads(self, requested: int | None) -> int | None:
        """``requested``, else the single-process default shared by this node's processes
        (torchrun's ``LOCAL_WORLD_SIZE``), so they do not oversubscribe its cores."""
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return requested or max(1, default_threads() // per_node)

    def close(self) -> None:
        """Wait for every process (rank 0 may still be exporting), then leave the group."""
        dist.barrier()
        dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    """Whether the environment is that of a process ``torchrun`` started."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def from_environment(backend: str = "gloo", timeout_s: float = 1800.0) -> Parallel:
    """:data:`LOCAL` outside ``torchrun`` (or with one process), else this process joined to
    its group over ``backend``: ``gloo`` (CPU tensors, what the training loops use) or
    ``nccl`` (GPU tensors)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return LOCAL
    if backend == "nccl" and not torch.cuda.is_available():
        raise RuntimeError("the nccl backend needs CUDA GPUs; use gloo on CPU")
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    parallel = DataParallel(dist.get_rank(), dist.get_world_size())
    log.info("rank %d of %d (%s)", parallel.rank, parallel.world_size, backend)
    return parallel
