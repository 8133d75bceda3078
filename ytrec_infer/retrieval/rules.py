"""Per-request rules inside stage one: codes never to return, and the only codes allowed.

Rules act in the search itself, so a request still gets ``n`` items whenever ``n`` items pass:

- ``exclude`` joins the history in the retriever's exclusion list, which every backend
  over-fetches for (:func:`~ytrec_infer.retrieval.protocol.fetch_count`).
- ``allowed`` restricts the search to a set. HNSW widens its search: it asks for
  ``n / share`` neighbours (``share`` = the allowed part of the catalog) times
  :data:`WIDEN_MARGIN`, keeps the allowed ones, and doubles the width until ``n`` pass. When
  the width would exceed :data:`MAX_WIDTH` (a small set: under about 5% of the catalog for
  ``n = 100``), it searches exactly over the set instead, scoring only the allowed vectors;
  so the answer is never short. The exact backends always score the allowed vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ytrec_infer.retrieval.protocol import Found, Retriever, nothing_found

WIDEN_MARGIN = 2.0
"""Over-fetch factor on top of ``n / share`` for HNSW with an allowed set."""
MAX_WIDTH = 4096
"""Widest HNSW search tried before the exact search over the allowed set (past a few thousand
neighbours, scoring the allowed vectors is faster than widening further)."""


@dataclass(frozen=True)
class Rules:
    """Distinct codes never to return, and the sorted distinct codes allowed (None: all).

    >>> Rules(np.array([3]), np.array([1, 2, 3])).pool().tolist()
    [1, 2]
    """

    exclude: np.ndarray
    allowed: np.ndarray | None = None

    def pool(self) -> np.ndarray:
        """The allowed codes that are not excluded (only when an allowed set is given): the
        excluded ones are found by binary search, so a large allowed set costs one copy."""
        assert self.allowed is not None
        allowed, excluded = self.allowed, self.exclude
        if not len(allowed) or not len(excluded):
            return allowed
        rows = np.minimum(np.searchsorted(allowed, excluded), len(allowed) - 1)
        return np.delete(allowed, rows[allowed[rows] == excluded])


NO_RULES = Rules(np.zeros(0, np.int64))


def distinct(codes: np.ndarray) -> np.ndarray:
    """Sorted distinct codes: as given when already strictly increasing (one compare, the
    common case of an allowed list kept sorted), else a sort and a compare (cheaper than
    ``np.unique`` on large id lists)."""
    if len(codes) < 2 or bool(np.all(codes[1:] > codes[:-1])):
        return codes
    ordered = np.sort(codes)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def exact_over(vectors: np.ndarray, vector: np.ndarray, n: int, pool: np.ndarray) -> Found:
    """Exact top ``n`` codes of ``pool`` by inner product with ``vector``, best first."""
    n = min(n, len(pool))
    if n <= 0:
        return nothing_found()
    scores = (vectors[pool - 1] @ vector).astype(np.float32)
    top = np.argpartition(-scores, n - 1)[:n] if n < len(pool) else np.arange(len(pool))
    top = top[np.argsort(-scores[top], kind="stable")]
    return pool[top], scores[top]


def search_with_rules(
    retriever: Retriever, vectors: np.ndarray, vector: np.ndarray, n: int, rules: Rules
) -> Found:
    """Top ``n`` codes for one query [D] under ``rules`` (see the module docstring)."""
    if rules.allowed is None:
        return retriever.search(vector, n, rules.exclude)
    pool = rules.pool()
    if retriever.kind == "hnsw" and len(pool):
        width = math.ceil(min(n, len(pool)) * retriever.size / len(pool) * WIDEN_MARGIN)
        while width <= MAX_WIDTH:
            codes, scores = retriever.search(vector, width, rules.exclude)
            rows = np.minimum(np.searchsorted(pool, codes), len(pool) - 1)
            keep = pool[rows] == codes
            if keep.sum() >= min(n, len(pool)):
                return codes[keep][:n], scores[keep][:n]
            width *= 2
    return exact_over(vectors, vector.reshape(-1), n, pool)
