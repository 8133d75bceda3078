"""Exact inner-product top-k in numpy: the recall reference, and the search for small catalogs."""

from __future__ import annotations

import numpy as np

EXACT_CHUNK = 64
"""Queries per block when many are searched at once (a block of 64 x 1M scores is 256 MB)."""


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Codes (row + 1) of the exact top-k items of each query [Q, D] by inner product, unordered."""
    k = min(k, len(vectors))
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), EXACT_CHUNK):
        scores = queries[start : start + EXACT_CHUNK] @ vectors.T
        out[start : start + EXACT_CHUNK] = np.argpartition(-scores, k - 1, axis=1)[:, :k] + 1
    return out


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k (rows of ``exact``) present in ``found``."""
    k = exact.shape[1]
    hits = [np.isin(e, f).sum() for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits) / k)


def search_one(
    vectors: np.ndarray, vector: np.ndarray, n: int, exclude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` codes and scores for one query, best first, skipping the ``exclude`` codes."""
    scores = vectors @ vector
    if len(exclude):
        scores[exclude - 1] = -np.inf
    n = min(n, len(vectors) - len(np.unique(exclude)))
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top.astype(np.int64) + 1, scores[top].astype(np.float32)
