"""The HNSW index returns what exact inner-product search returns, on the real trained vectors."""

from __future__ import annotations

from pathlib import Path

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
    found = hnsw.neighbours(vectors, K)
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
