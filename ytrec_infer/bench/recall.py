"""Stage one's quality-for-speed trade: recall@k against exact search, and the ef curve.

Queries are user vectors computed by the artifact's own user tower from benchmark histories
(real queries are harder for HNSW than random points). Each point of the curve passes its
``ef`` per query (:class:`~ytrec_infer.retrieval.HnswRetriever` changes no shared state), so it
may run while other threads use the same ``Recommender``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ytrec_infer.retrieval.exact_numpy import exact_top_k, recall_at_k, search_one
from ytrec_infer.recommender import Recommender
from ytrec_infer.retrieval import HnswRetriever

DEFAULT_EFS = (100, 150, 200, 300, 400, 600, 800, 1200, 1600)
EXACT_TIMED_QUERIES = 20


@dataclass(frozen=True)
class CurvePoint:
    """Recall@k and single-query latency of the index at one ef."""

    ef: int
    recall: float
    p50_us: float
    p99_us: float


@dataclass(frozen=True)
class RecallReport:
    """Recall at the artifact's ef, the ef curve, and exact numpy search's single-query latency."""

    search: str
    k: int
    queries: int
    ef_search: int
    recall: float
    exact_p50_us: float
    curve: tuple[CurvePoint, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "search": self.search,
            "k": self.k,
            "queries": self.queries,
            "ef_search": self.ef_search,
            "recall": self.recall,
            "exact_numpy_p50_us": self.exact_p50_us,
            "curve": [vars(point) for point in self.curve],
        }


def user_vectors(rec: Recommender, histories: np.ndarray) -> np.ndarray:
    """The user tower's vectors [n, D] for benchmark histories (no user attributes)."""
    return np.stack([rec.embed(rec.prepare(history)) for history in histories])


def _p50_p99(samples: Sequence[int]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples, dtype=np.float64), [50, 99]) / 1e3
    return float(p50), float(p99)


def _exact_p50(vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    none = np.zeros(0, dtype=np.int64)
    samples = []
    for query in queries[:EXACT_TIMED_QUERIES]:
        start = time.perf_counter_ns()
        search_one(vectors, query, k, none)
        samples.append(time.perf_counter_ns() - start)
    return _p50_p99(samples)[0]


def _point(index: HnswRetriever, queries: np.ndarray, exact: np.ndarray, ef: int) -> CurvePoint:
    k = exact.shape[1]
    none = np.zeros(0, dtype=np.int64)
    found = np.empty_like(exact)
    samples = []
    for row, query in enumerate(queries):
        start = time.perf_counter_ns()
        codes, _ = index.search(query, k, none, ef=ef)
        samples.append(time.perf_counter_ns() - start)
        found[row] = codes
    p50, p99 = _p50_p99(samples)
    return CurvePoint(ef, recall_at_k(found, exact), p50, p99)


def measure_recall(
    rec: Recommender,
    queries: np.ndarray,
    k: int = 100,
    efs: Sequence[int] = DEFAULT_EFS,
    item_vectors: np.ndarray | None = None,
) -> RecallReport:
    """Recall@k of the artifact's search at its ef, and (for HNSW) at each of ``efs``."""
    vectors = np.asarray(rec.item_vectors if item_vectors is None else item_vectors)
    k = min(k, rec.num_items)
    exact = exact_top_k(vectors, queries, k)
    exact_p50 = _exact_p50(vectors, queries, k)
    retriever = rec.retriever
    if not isinstance(retriever, HnswRetriever):
        return RecallReport(
            retriever.kind, k, len(queries), rec.manifest.index.ef_search, 1.0, exact_p50, ()
        )
    wanted = sorted({ef for ef in (*efs, retriever.ef_search) if ef <= rec.num_items})
    curve = tuple(_point(retriever, queries, exact, ef) for ef in wanted)
    at_ef = next(point for point in curve if point.ef == retriever.ef_search)
    return RecallReport(
        retriever.kind, k, len(queries), retriever.ef_search, at_ef.recall, exact_p50, curve
    )
