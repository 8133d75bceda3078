"""Approximate nearest-neighbour retrieval of item codes with hnswlib (inner product)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

from ytrec_infer.artifact import IndexSpec
from ytrec_infer.errors import ArtifactError
from ytrec_infer.hnsw_header import check_header


class HnswRetriever:
    """An hnswlib index loaded after its header was checked, with ``ef`` set once from the manifest.

    ``ef`` is shared state in hnswlib, so it is never changed per call; queries run on the
    calling thread (``num_threads=1``), which keeps concurrent callers independent.
    """

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
        codes, scores = labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)
        if len(excluded):
            keep = ~np.isin(codes, excluded)
            codes, scores = codes[keep], scores[keep]
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
                codes, scores = label.astype(np.int64), (1.0 - distance).astype(np.float32)
                if len(excluded[row]):
                    keep = ~np.isin(codes, excluded[row])
                    codes, scores = codes[keep], scores[keep]
                out[row] = (codes[:n], scores[:n])
        return out
