"""Helpers shared by the GPU benchmark scripts: provider setup, timing, synthetic data, recall."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort


def preload_cuda() -> None:
    """Load CUDA/cuDNN from the nvidia-* wheels when onnxruntime offers it (1.21+)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception as exc:  # noqa: BLE001 (a missing optional library is reported, not fatal)
            print(f"note: onnxruntime.preload_dlls() failed: {exc}")


def providers(device: str, cuda_graph: bool = False) -> list[Any]:
    """Providers for ``device``; TF32 off so float32 results stay float32-exact."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    options = {"use_tf32": "0"}
    if cuda_graph:
        options["enable_cuda_graph"] = "1"
    return [("CUDAExecutionProvider", options), "CPUExecutionProvider"]


def time_calls(
    call: Callable[[], object], reps: int, budget_s: float, warmup: int = 3
) -> dict[str, float]:
    """Median, p10, p90 and min in milliseconds of ``call`` (at least 5 runs, at most
    ``reps``, stopping early once ``budget_s`` seconds are spent)."""
    for _ in range(warmup):
        call()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < reps and (len(samples) < 5 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1e3)
    arr = np.asarray(samples)
    return {
        "median_ms": float(np.median(arr)),
        "p10_ms": float(np.percentile(arr, 10)),
        "p90_ms": float(np.percentile(arr, 90)),
        "min_ms": float(arr.min()),
        "runs": int(arr.size),
    }


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def synthetic_catalog(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm item vectors from a 1000-centre Gaussian mixture, and 256 queries near centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim), dtype=np.float32)
    items = np.empty((n, dim), dtype=np.float32)
    chunk = 1 << 20
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        noise = rng.standard_normal((hi - lo, dim), dtype=np.float32)
        items[lo:hi] = unit_rows(centres[rng.integers(0, 1000, hi - lo)] + 0.8 * noise)
    queries = unit_rows(
        centres[rng.integers(0, 1000, 256)]
        + 0.5 * rng.standard_normal((256, dim), dtype=np.float32)
    )
    return items, queries


def exact_topk(items: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row indices of numpy's exact float32 top ``k`` per query (chunked over the items)."""
    best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    chunk = 1 << 21
    for lo in range(0, len(items), chunk):
        scores = queries @ items[lo : lo + chunk].T
        part = np.argpartition(-scores, min(k, scores.shape[1] - 1), axis=1)[:, :k]
        best_s = np.concatenate([best_s, np.take_along_axis(scores, part, 1)], axis=1)
        best_i = np.concatenate([best_i, part + lo], axis=1)
        keep = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean overlap of each found row with the true top-k row (as sets), over common rows."""
    rows = min(len(found), len(truth))
    k = truth.shape[1]
    return float(np.mean([len(set(found[r, :k]) & set(truth[r])) / k for r in range(rows)]))


def environment() -> dict[str, Any]:
    info: dict[str, Any] = {
        "onnxruntime": ort.__version__,
        "providers": ort.get_available_providers(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    try:
        info["gpu"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["gpu"] = None
    return info


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
