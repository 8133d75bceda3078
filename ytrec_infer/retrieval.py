"""Stage one's nearest-neighbour search over the item vectors on the CPU: HNSW, or exact numpy.

Exact search reads every item vector per request, so its cost grows with the catalog; HNSW
costs roughly log(N) but has a fixed overhead per query. Below :data:`EXACT_MAX_ITEMS` items
exact numpy search is faster than HNSW at the tuned ef (measured in docs/benchmarks.md) and
has recall 1, so the runtime uses it there. The device-resident exact search (an ONNX top-k
graph, on CPU or CUDA) is :class:`ytrec_infer.exact_retrieval.ExactRetriever`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import hnswlib
import numpy as np

from ytrec_infer.artifact import IndexSpec
from ytrec_infer.errors import ArtifactError
from ytrec_infer.exact_search import search_one
from ytrec_infer.hnsw_header import check_header

EXACT_MAX_ITEMS = 5_000
BROADCAST_LIMIT = 1 << 20
"""Code x excluded pairs up to which exclusion is one broadcast compare (1 MB of booleans)."""


class Retriever(Protocol):
    """Stage one: top-n codes and inner-product scores, skipping excluded codes."""

    kind: str
    size: int

    def search(
        self, vector: np.ndarray, n: int, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]: ...


def drop_excluded(
    codes: np.ndarray, scores: np.ndarray, excluded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
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


class HnswRetriever:
    """An hnswlib index loaded after its header was checked, with ``ef`` set once from the manifest.

    ``ef`` is shared state in hnswlib, so it is never changed per call; queries run on the
    calling thread (``num_threads=1``), which keeps concurrent callers independent.
    """

    kind = "hnsw"

    def __init__(self, path: Path, spec: IndexSpec) -> None:
        if spec.space not in ("ip", "cosine"):
            raise ArtifactError(
                path, f"index space {spec.space!r} is not supported (expected 'ip')"
            )
        check_header(path, spec)
        self.index = hnswlib.Index(space=spec.space, dim=spec.dim)
        try:
            self.index.load_index(str(path), max_elements=spec.num_elements)
        except RuntimeError as exc:
            raise ArtifactError(path, f"hnswlib could not load it: {exc}") from None
        self.index.set_ef(spec.ef_search)
        self.index.set_num_threads(1)
        self.size = spec.num_elements
        self.ef_search = spec.ef_search

    def search(
        self, vector: np.ndarray, n: int, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes."""
        excluded = np.unique(exclude)
        k = min(self.size, n + len(excluded))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        labels, distances = self.index.knn_query(vector.reshape(1, -1), k=k, num_threads=1)
        codes, scores = drop_excluded(labels[0].astype(np.int64), 1.0 - distances[0], excluded)
        return codes[:n], scores[:n]

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each row of ``vectors`` [B, D]; rows asking for the same number
        of neighbours share one hnswlib call, so each row gets exactly what :meth:`search`
        would return (hnswlib's search depends on k only through max(ef, k))."""
        if len(excludes) != len(vectors):
            raise ValueError(f"{len(vectors)} query vectors but {len(excludes)} exclusion lists")
        excluded = [np.unique(e) for e in excludes]
        wanted = np.array([min(self.size, n + len(e)) for e in excluded], dtype=np.int64)
        out: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros(0, np.int64), np.zeros(0, np.float32))
        ] * len(vectors)
        for k in np.unique(wanted[wanted > 0]):
            rows = np.flatnonzero(wanted == k)
            labels, distances = self.index.knn_query(
                np.asarray(vectors[rows], dtype=np.float32), k=int(k), num_threads=1
            )
            for row, label, distance in zip(rows, labels, distances):
                codes, scores = drop_excluded(label.astype(np.int64), 1.0 - distance, excluded[row])
                out[row] = (codes[:n], scores[:n])
        return out

    def neighbours(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Approximate top-k codes of many queries [Q, D] at once, on every core (benchmarks)."""
        labels, _ = self.index.knn_query(queries, k=min(k, self.size), num_threads=-1)
        codes: np.ndarray = labels.astype(np.int64)
        return codes


class NumpyRetriever:
    """Exact inner-product search in numpy over the item vectors: recall 1, the fastest search
    on small CPU catalogs."""

    kind = "exact-numpy"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size = len(vectors)

    def search(
        self, vector: np.ndarray, n: int, exclude: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes."""
        return search_one(self.vectors, vector.reshape(-1), n, exclude)

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each row of ``vectors`` [B, D] (small catalogs: a loop is cheap)."""
        if len(excludes) != len(vectors):
            raise ValueError(f"{len(vectors)} query vectors but {len(excludes)} exclusion lists")
        return [self.search(v, n, e) for v, e in zip(vectors, excludes)]
