"""Approximate search with an hnswlib index, with a search width (``ef``) chosen per query.

hnswlib keeps ``ef`` as shared state of the index (``set_ef``), which concurrent callers would
race on. Its search, though, explores ``max(ef, k)`` candidates and returns the best ``k`` of
them, so the width is fixed per call instead: the index's own ``ef`` is pinned to 1 at load and
every query asks for ``k = max(ef, wanted)`` neighbours and keeps the first ``wanted``. The result
equals that of ``set_ef(ef)`` followed by a query for ``wanted``; nothing is mutated after load,
so any number of threads may search with different widths at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

from ytrec_infer.artifact import IndexSpec
from ytrec_infer.errors import ArtifactError
from ytrec_infer.hnsw_header import check_header
from ytrec_infer.retrieval.protocol import (
    Found,
    distinct_exclusions,
    drop_excluded,
    fetch_count,
    nothing_found,
)
from ytrec_infer.validation import positive_int


class HnswRetriever:
    """An hnswlib index loaded after its header was checked; ``ef`` defaults to the manifest's.

    Queries run on the calling thread (``num_threads=1``), which keeps concurrent callers
    independent; :meth:`search` and :meth:`search_many` take an optional per-call ``ef``.
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
        self.index.set_ef(1)  # the width comes from each query's k (see the module docstring)
        self.index.set_num_threads(1)
        self.size = spec.num_elements
        self.ef_search = spec.ef_search

    def _width(self, ef: int | None) -> int:
        return self.ef_search if ef is None else positive_int(ef, "ef")

    def _query(self, vectors: np.ndarray, wanted: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        """Labels (int64) and scores [B, wanted] of the best ``wanted`` found at width ``ef``."""
        k = min(self.size, max(ef, wanted))
        labels, distances = self.index.knn_query(
            np.asarray(vectors, dtype=np.float32), k=k, num_threads=1
        )
        return labels[:, :wanted].astype(np.int64), 1.0 - distances[:, :wanted]

    def search(
        self, vector: np.ndarray, n: int, exclude: np.ndarray, ef: int | None = None
    ) -> Found:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes,
        searched at width ``ef`` (default: the manifest's tuned ``ef_search``)."""
        width = self._width(ef)
        excluded = np.unique(exclude)
        wanted = fetch_count(self.size, n, excluded)
        if wanted <= 0:
            return nothing_found()
        labels, scores = self._query(vector.reshape(1, -1), wanted, width)
        codes, scores = drop_excluded(labels[0], scores[0], excluded)
        return codes[:n], scores[:n]

    def search_many(
        self,
        vectors: np.ndarray,
        n: int,
        excludes: Sequence[np.ndarray],
        ef: int | None = None,
    ) -> list[Found]:
        """:meth:`search` for each row of ``vectors`` [B, D]; rows fetching the same number of
        neighbours share one hnswlib call, so each row gets exactly what :meth:`search` would."""
        width = self._width(ef)
        excluded = distinct_exclusions(vectors, excludes)
        wanted = np.array([fetch_count(self.size, n, e) for e in excluded], dtype=np.int64)
        out = [nothing_found()] * len(vectors)
        for count in np.unique(wanted[wanted > 0]):
            rows = np.flatnonzero(wanted == count)
            labels, scores = self._query(vectors[rows], int(count), width)
            for row, label, score in zip(rows, labels, scores):
                codes, kept = drop_excluded(label, score, excluded[row])
                out[row] = (codes[:n], kept[:n])
        return out
