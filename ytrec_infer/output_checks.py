"""Per-request checks of every stage's output: the right shape and finite, or a clear error.

The load-time checks replay one request; an artifact can still compute NaN or a wrongly shaped
output for others (a NaN in one row of an item table reaches only the users who watched that
item; a ranker graph can return fewer or more logits than candidates for some batch shapes).
Answering from such an output is a silent wrong answer, so each stage's output is checked on
every request before it is used, and a bad one raises :class:`StageOutputError` naming the
file at fault. The checks are one shape compare and one dot product per stage: a NaN or an
infinity in any element makes the sum of squares non-finite, and one BLAS call costs a third
of ``np.isfinite(x).all()``, which builds a boolean array first (measured in
``benchmarks/speed/output_checks.py``). Finite values past about 1e18 overflow the squares
too; no working network outputs such values, and such an output is refused as well.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ytrec_infer.errors import StageOutputError


def checked(output: np.ndarray, shape: tuple[int, ...], what: str, path: Path) -> np.ndarray:
    """``output`` if it has ``shape`` and holds only finite numbers, else StageOutputError."""
    if output.shape != shape:
        raise StageOutputError(
            path, f"{what} has shape {output.shape}, expected {shape}: the network is malformed"
        )
    flat = output.reshape(-1)
    if not math.isfinite(flat.dot(flat)):
        raise StageOutputError(
            path, f"{what} holds NaN or infinity for this request: the artifact is damaged"
        )
    return output
