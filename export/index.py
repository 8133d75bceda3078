"""Build the HNSW inner-product index over the item vectors and tune ``ef`` for a recall target.

Item vectors are unit-norm, so inner product equals cosine and HNSW stays near exact (raw inner
product over vectors of varying norm lost a third of recall in our measurements). Labels are
item codes (row of ``item_ids.npy`` + 1). ``ef`` is not stored in hnswlib files, so the tuned
value goes into the manifest. The build uses every core (hnswlib's ``num_threads=-1``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import hnswlib
import numpy as np

from trainers.config import IndexConfig

EXACT_CHUNK = 64
"""Queries per block of the exact reference search (a block of 64 x 1M scores is 256 MB)."""


@dataclass(frozen=True)
class BuiltIndex:
    """An index with the ef that reaches the recall target on held-out queries."""

    index: hnswlib.Index
    ef_search: int
    recall: float
    k: int
    build_seconds: float = 0.0


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Codes of the exact top-k items by inner product (reference for recall), in blocks."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), EXACT_CHUNK):
        scores = queries[start : start + EXACT_CHUNK] @ vectors.T
        out[start : start + EXACT_CHUNK] = np.argpartition(-scores, k - 1, axis=1)[:, :k] + 1
    return out


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k that the index returned."""
    k = exact.shape[1]
    hits = [np.intersect1d(f, e, assume_unique=True).size for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits) / k)


def next_ef(ef: int) -> int:
    """The next ef to try: about 20% more, rounded up to a multiple of 10."""
    return int(-(-ef * 1.2 // 10) * 10)


def build_index(
    vectors: np.ndarray, queries: np.ndarray, config: IndexConfig, seed: int
) -> BuiltIndex:
    """Build over ``vectors`` [N, D] and pick the smallest ef reaching ``config.recall_target``."""
    count, dim = vectors.shape
    start = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(
        max_elements=count, M=config.M, ef_construction=config.ef_construction, random_seed=seed
    )
    index.add_items(vectors, np.arange(1, count + 1), num_threads=-1)
    build_seconds = time.perf_counter() - start
    k = min(config.recall_k, count)
    exact = exact_top_k(vectors, queries, k)
    ef, recall = k, 0.0
    while True:
        index.set_ef(ef)
        found, _ = index.knn_query(queries, k=k, num_threads=-1)
        recall = recall_at_k(found, exact)
        if recall >= config.recall_target or ef >= count:
            break
        ef = min(count, next_ef(ef))
    return BuiltIndex(index, ef, recall, k, build_seconds)
