"""Dropout whose masks are windows of a pool of random draws: the towers' dropout on CPU.

PyTorch's CPU dropout draws every mask element with ``bernoulli_``, about 6 ns an element: at
a batch of 2048 the generator tower's two dropout layers took a fifth of a training step
(``benchmarks/training/loop.py --levers``, docs/benchmarks.md, "Generator step"). Here a mask
is a window at a random offset into a pool of independent keep/drop draws (each kept with
probability ``1 - p`` and scaled by ``1 / (1 - p)``, as inverted dropout), redrawn every
:data:`REFRESH` calls: within one mask the elements are independent, as with ``nn.Dropout``;
masks of different steps overlap at shifted positions, i.e. the same draws land on other
examples and units. Off the CPU (where dropout is cheap) it is ``F.dropout``; in eval mode, and
so in everything exported, it is the identity.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

POOL_FACTOR = 4
"""The pool holds at least this many masks' worth of draws."""

MIN_POOL = 1 << 22

REFRESH = 256
"""Calls between fresh pools."""


class PooledDropout(nn.Module):
    """Inverted dropout with probability ``p``; masks cut from a pool of draws on CPU."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p
        self._pool: torch.Tensor | None = None
        self._calls = 0

    def _mask_pool(self, size: int, like: torch.Tensor) -> torch.Tensor:
        """The current pool, redrawn when too small, of another dtype, or used ``REFRESH``
        times."""
        pool = self._pool
        if pool is None or pool.numel() < POOL_FACTOR * size or pool.dtype != like.dtype:
            pool = None
        if pool is None or self._calls % REFRESH == 0:
            count = max(MIN_POOL, POOL_FACTOR * size)
            keep = torch.rand(count) >= self.p
            pool = keep.to(like.dtype) / (1.0 - self.p)
            self._pool = pool
        self._calls += 1
        return pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        pool = self._mask_pool(x.numel(), x)
        start = int(torch.randint(0, pool.numel() - x.numel() + 1, ()))
        return x * pool[start : start + x.numel()].view_as(x)

    def __getstate__(self) -> dict[str, Any]:
        """Copies (weight averaging deep-copies the model every epoch) leave the pool behind."""
        state = dict(self.__dict__)
        state["_pool"] = None
        return state

    def extra_repr(self) -> str:
        return f"p={self.p}"
