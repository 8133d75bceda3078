"""The HNSW index returns what exact inner-product search returns, on the real trained vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommender
from ytrec_infer.artifact import read_manifest

K = 100


@pytest.fixture(scope="module")
def rec(artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir)


def _exact(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k] + 1


def _recall(found: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.array(
        [len(np.intersect1d(f, e)) / exact.shape[1] for f, e in zip(found, exact, strict=False)]
    )


def test_item_queries_recall_at_100(rec: Recommender) -> None:
    """Every item's own vector as a query: the index's top-100 vs the exact top-100."""
    vectors = np.asarray(rec._item_vectors)
    rec._retriever.index.set_ef(rec._retriever.ef_search)
    found, _ = rec._retriever.index.knn_query(vectors, k=K)
    recall = _recall(found, _exact(vectors, vectors, K))
    assert recall.mean() >= 0.95
    assert np.mean(recall >= 0.95) >= 0.95, "at least 95% of items get 95% of their exact top-100"


def test_user_queries_through_the_runtime(rec: Recommender, trained) -> None:
    """Real user histories through ``candidates``: same items as exact search, history excluded."""
    vectors = np.asarray(rec._item_vectors)
    data = trained.data
    recalls = []
    for seq in range(0, len(data.train.items), 7):
        history = data.item_ids[data.train.items[seq] - 1]
        got = rec.candidates(history, n=K)
        request = rec.prepare(history)
        scores = vectors @ rec.embed(request)
        scores[request.codes - 1] = -np.inf
        exact = np.argsort(-scores, kind="stable")[:K] + 1
        recalls.append(len(np.intersect1d(rec.catalog.codes(got.item_ids)[0], exact)) / K)
    assert np.mean(recalls) >= 0.95


def test_manifest_records_the_tuned_ef(artifact_dir: Path) -> None:
    index = read_manifest(artifact_dir).raw["index"]
    assert index["ef_search"] >= K
    assert (
        index["recall_at_k"]["recall"] >= index["recall_target"]
        or index["ef_search"] >= index["num_elements"]
    )
