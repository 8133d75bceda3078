"""Which number format the networks' dense layers train in: float32, or bfloat16 autocast.

The towers' matrix products are most of a training step's arithmetic. On a CPU that multiplies
bfloat16 natively (AVX512-BF16 or AMX) they run about 2.3 times as fast as in float32
(docs/benchmarks.md, "Generator step"); elsewhere bfloat16 is emulated and slower. Autocast
keeps the weights, the optimizer state and everything outside the dense layers (embeddings,
means, the normalised vectors, the softmax) in float32, so only the products' inputs are
rounded. Training in bfloat16 changes nothing exported: the networks are exported in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` multiplies bfloat16 in hardware."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bfloat16 for ``"bf16"`` and, where the device does it natively, ``"auto"``; else None
    (float32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


@contextlib.contextmanager
def dense_precision(dtype: torch.dtype | None, device: torch.device) -> Iterator[None]:
    """Autocast to ``dtype`` inside the block (nothing when None)."""
    if dtype is None:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield
