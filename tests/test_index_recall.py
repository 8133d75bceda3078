"""The HNSW index returns what exact inner-product search returns, on the real trained vectors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hnswlib
import numpy as np
import pytest

from ytrec_infer import Recommender
from ytrec_infer.artifact import read_manifest
from ytrec_infer.retrieval import HnswRetriever

K = 100


@pytest.fixture(scope="module")
def rec(artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir)


@pytest.fixture(scope="module")
def hnsw(rec: Recommender) -> HnswRetriever:
    """The artifact's index itself (the runtime searches small catalogs exactly instead)."""
    return HnswRetriever(rec.manifest.path(rec.manifest.index.file), rec.manifest.index)


def _exact(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k] + 1


def _recall(found: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.array(
        [len(np.intersect1d(f, e)) / exact.shape[1] for f, e in zip(found, exact, strict=False)]
    )


def test_item_queries_recall_at_100(rec: Recommender, hnsw: HnswRetriever) -> None:
    """Every item's own vector as a query: the index's top-100 vs the exact top-100."""
    vectors = np.asarray(rec.item_vectors)
    none = [np.zeros(0, np.int64)] * len(vectors)
    found = np.stack([codes for codes, _ in hnsw.search_many(vectors, K, none)])
    recall = _recall(found, _exact(vectors, vectors, K))
    assert recall.mean() >= 0.95
    assert np.mean(recall >= 0.95) >= 0.95, "at least 95% of items get 95% of their exact top-100"


def test_user_queries_through_the_runtime(rec: Recommender, hnsw: HnswRetriever, trained) -> None:
    """Real user histories: the runtime's candidates and the HNSW index's, history excluded,
    against exact search (the runtime searches this small catalog exactly: recall 1)."""
    vectors = np.asarray(rec.item_vectors)
    data = trained.data
    runtime, index = [], []
    for seq in range(0, len(data.train.items), 7):
        history = data.item_ids[data.train.items[seq] - 1]
        got = rec.candidates(history, n=K)
        request = rec.prepare(history)
        vector = rec.embed(request)
        scores = vectors @ vector
        scores[request.codes - 1] = -np.inf
        exact = np.argsort(-scores, kind="stable")[:K] + 1
        runtime.append(len(np.intersect1d(rec.catalog.codes(got.item_ids)[0], exact)) / K)
        index.append(len(np.intersect1d(hnsw.search(vector, K, request.codes)[0], exact)) / K)
    assert rec.retriever.kind == "exact-numpy" and np.mean(runtime) == 1.0
    assert np.mean(index) >= 0.95


def test_manifest_records_the_tuned_ef(artifact_dir: Path) -> None:
    index = read_manifest(artifact_dir).raw["index"]
    assert index["ef_search"] >= K
    assert (
        index["recall_at_k"]["recall"] >= index["recall_target"]
        or index["ef_search"] >= index["num_elements"]
    )
    # Tuned on every validation user here: ML-100K's 943 are under IndexConfig.tuning_queries.
    assert index["recall_at_k"]["queries"] == "validation user vectors (943 users)"


def test_per_query_ef_equals_hnswlib_set_ef(rec: Recommender, hnsw: HnswRetriever) -> None:
    """A per-call ``ef`` returns what hnswlib returns after ``set_ef(ef)``, on an index of its own."""
    spec = rec.manifest.index
    own = hnswlib.Index(space=spec.space, dim=spec.dim)
    own.load_index(str(rec.manifest.path(spec.file)), max_elements=spec.num_elements)
    queries = np.asarray(rec.item_vectors)[::40]
    none = np.zeros(0, np.int64)
    for ef in (10, spec.ef_search, 2 * spec.ef_search):
        own.set_ef(ef)
        want, _ = own.knn_query(queries, k=20, num_threads=1)
        got = [hnsw.search(q, 20, none, ef=ef)[0] for q in queries]
        np.testing.assert_array_equal(np.stack(got), want)
    with pytest.raises(ValueError, match="ef"):
        hnsw.search(queries[0], 5, none, ef=0)


def test_per_query_ef_is_safe_under_threads(rec: Recommender, hnsw: HnswRetriever) -> None:
    """Threads searching at different widths at once get what each width gets alone."""
    queries = np.asarray(rec.item_vectors)[::25]
    none = [np.zeros(0, np.int64)] * len(queries)
    efs = [8, 400, 16, 200] * 4
    alone = {ef: hnsw.search_many(queries, K, none, ef=ef) for ef in set(efs)}
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda ef: hnsw.search_many(queries, K, none, ef=ef), efs))
    for ef, found in zip(efs, together):
        for (codes, scores), (want_codes, want_scores) in zip(found, alone[ef]):
            np.testing.assert_array_equal(codes, want_codes)
            np.testing.assert_array_equal(scores, want_scores)
    assert any(
        not np.array_equal(a[0], b[0]) for a, b in zip(alone[8], alone[400])
    ), "widths this far apart must change some results, or the test shows nothing"
