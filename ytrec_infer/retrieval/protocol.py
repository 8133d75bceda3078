"""The contract every stage-one search keeps, and the exclusion logic they share.

A retriever returns the top ``n`` 1-based item codes by inner product with a query, best first,
with their scores, never returning an excluded code. Backends over-fetch ``n`` plus the number of
distinct excluded codes (:func:`fetch_count`), then drop the excluded ones
(:func:`drop_excluded`), so a request gets ``n`` codes whenever the catalog has that many left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

BROADCAST_LIMIT = 1 << 20
"""Code x excluded pairs up to which exclusion is one broadcast compare (1 MB of booleans)."""
Found = tuple[np.ndarray, np.ndarray]
"""Codes (int64, 1-based) and their inner-product scores (float32), best first."""


class Retriever(Protocol):
    """Stage one: top-n codes and inner-product scores, skipping excluded codes."""

    kind: str
    size: int

    def search(self, vector: np.ndarray, n: int, exclude: np.ndarray) -> Found: ...

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[Found]: ...


def nothing_found() -> Found:
    """The empty result: no codes, no scores."""
    return np.zeros(0, np.int64), np.zeros(0, np.float32)


def distinct_exclusions(vectors: np.ndarray, excludes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each row's excluded codes, deduplicated; a ValueError when there is not one list per row."""
    if len(excludes) != len(vectors):
        raise ValueError(f"{len(vectors)} query vectors but {len(excludes)} exclusion lists")
    return [np.unique(e) for e in excludes]


def fetch_count(size: int, n: int, excluded: np.ndarray) -> int:
    """How many neighbours to fetch so that ``n`` remain once ``excluded`` (distinct) are dropped."""
    return min(size, n + len(excluded))


def drop_excluded(codes: np.ndarray, scores: np.ndarray, excluded: np.ndarray) -> Found:
    """Drop the excluded codes. A broadcast compare beats ``np.isin`` at request sizes (~100 x
    50); past :data:`BROADCAST_LIMIT` pairs (a huge history) its matrix would not fit, so
    ``np.isin`` (sort-based) takes over."""
    if not len(excluded):
        return codes, scores
    if len(codes) * len(excluded) <= BROADCAST_LIMIT:
        keep = ~(codes[:, None] == excluded[None, :]).any(axis=1)
    else:
        keep = ~np.isin(codes, excluded)
    return codes[keep], scores[keep]
