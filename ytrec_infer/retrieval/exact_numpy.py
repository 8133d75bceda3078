"""Exact inner-product search in numpy: the recall reference, and the search for small catalogs.

Exact search reads every item vector per request, so its cost grows with the catalog; below
:data:`ytrec_infer.retrieval.EXACT_MAX_ITEMS` items it is faster than HNSW at the tuned ef
(measured in docs/benchmarks.md) and has recall 1, so the runtime uses it there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ytrec_infer.retrieval.protocol import Found, distinct_exclusions, nothing_found

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


def search_one(vectors: np.ndarray, vector: np.ndarray, n: int, exclude: np.ndarray) -> Found:
    """Top ``n`` codes and scores for one query, best first, skipping the ``exclude`` codes."""
    scores = vectors @ vector
    if len(exclude):
        scores[exclude - 1] = -np.inf
    n = min(n, len(vectors) - len(np.unique(exclude)))
    if n <= 0:
        return nothing_found()
    top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top.astype(np.int64) + 1, scores[top].astype(np.float32)


class NumpyRetriever:
    """Exact inner-product search in numpy over the item vectors [N, D]: recall 1, the fastest
    search on small CPU catalogs."""

    kind = "exact-numpy"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size = len(vectors)

    def search(self, vector: np.ndarray, n: int, exclude: np.ndarray) -> Found:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes."""
        return search_one(self.vectors, vector.reshape(-1), n, exclude)

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[Found]:
        """:meth:`search` for each row of ``vectors`` [B, D] (small catalogs: a loop is cheap)."""
        distinct_exclusions(vectors, excludes)
        return [self.search(v, n, e) for v, e in zip(vectors, excludes)]
