"""Approximate search with an hnswlib index, with a search width (``ef``) chosen per query.

hnswlib keeps ``ef`` as shared state of the index (``set_ef``), which concurrent callers would
race on, so it is set once at load (the manifest's tuned ``ef_search``) and never changed. The
search explores ``max(ef, k)`` candidates and returns the best ``k`` of them, so a wider search
is a query for ``k = max(ef, wanted)`` neighbours keeping the first ``wanted``: the result equals
that of ``set_ef(ef)`` followed by a query for ``wanted``. A narrower one needs an index whose
own ``ef`` is below it: a second copy pinned at ``ef=1``, loaded on first use (it doubles the
index's memory, so only benchmarks' ef curves should ask for it). The default path is the
query it always was; nothing is mutated after load, so threads may use any widths at once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import hnswlib
import numpy as np

from ytrec_infer.manifest import IndexSpec
from ytrec_infer.errors import ArtifactError, StageOutputError
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
        self.path, self.spec = path, spec
        self.index = self._load(spec.ef_search)
        self.size = spec.num_elements
        self.ef_search = spec.ef_search
        self._narrow: hnswlib.Index | None = None
        self._narrow_lock = threading.Lock()

    def _load(self, ef: int) -> hnswlib.Index:
        index = hnswlib.Index(space=self.spec.space, dim=self.spec.dim)
        try:
            index.load_index(str(self.path), max_elements=self.spec.num_elements)
        except RuntimeError as exc:
            raise ArtifactError(self.path, f"hnswlib could not load it: {exc}") from None
        index.set_ef(ef)
        index.set_num_threads(1)
        return index

    def _handle(self, ef: int | None) -> tuple[hnswlib.Index, int]:
        """The index to search at width ``ef`` and the smallest k that gives that width."""
        if ef is None:
            return self.index, 0
        ef = positive_int(ef, "ef")
        if ef >= self.ef_search:
            return self.index, ef
        with self._narrow_lock:
            if self._narrow is None:
                self._narrow = self._copy(1)
        return self._narrow, ef

    def _copy(self, ef: int) -> hnswlib.Index:
        """A second handle on the loaded, verified graph, copied in memory: reading the file
        again at request time would load whatever is on disk by then, unchecked (a folder
        redeployed in place, or a half-written file)."""
        index = hnswlib.Index.__new__(hnswlib.Index)
        index.__setstate__(self.index.__getstate__())
        index.set_ef(ef)
        index.set_num_threads(1)
        return index

    def _query(
        self, vectors: np.ndarray, wanted: int, handle: tuple[hnswlib.Index, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Labels (int64) and scores [B, wanted] of the best ``wanted`` at the handle's width."""
        index, width = handle
        k = min(self.size, max(width, wanted))
        try:
            labels, distances = index.knn_query(
                np.asarray(vectors, dtype=np.float32), k=k, num_threads=1
            )
        except RuntimeError as exc:  # fewer than k reachable: a graph that is not connected
            raise StageOutputError(self.path, f"hnswlib search failed: {exc}") from None
        if k == wanted:
            return labels.astype(np.int64), 1.0 - distances
        return labels[:, :wanted].astype(np.int64), 1.0 - distances[:, :wanted]

    def search(
        self, vector: np.ndarray, n: int, exclude: np.ndarray, ef: int | None = None
    ) -> Found:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes,
        searched at width ``ef`` (default: the manifest's tuned ``ef_search``)."""
        handle = self._handle(ef)
        excluded = np.unique(exclude)
        wanted = fetch_count(self.size, n, excluded)
        if wanted <= 0:
            return nothing_found()
        labels, scores = self._query(vector.reshape(1, -1), wanted, handle)
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
        handle = self._handle(ef)
        excluded = distinct_exclusions(vectors, excludes)
        wanted = np.array([fetch_count(self.size, n, e) for e in excluded], dtype=np.int64)
        out = [nothing_found()] * len(vectors)
        for count in np.unique(wanted[wanted > 0]):
            rows = np.flatnonzero(wanted == count)
            labels, scores = self._query(vectors[rows], int(count), handle)
            for row, label, score in zip(rows, labels, scores):
                codes, kept = drop_excluded(label, score, excluded[row])
                out[row] = (codes[:n], kept[:n])
        return out
