"""Exact numpy search: the small-catalog search and the recall reference."""

from __future__ import annotations

import numpy as np

from ytrec_infer.retrieval.exact_numpy import exact_top_k, recall_at_k, search_one
from ytrec_infer.retrieval.protocol import BROADCAST_LIMIT, drop_excluded


def test_search_one_orders_by_score_and_skips_excluded() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]] * np.float32([[4], [3], [2], [1], [5]])
    codes, scores = search_one(vectors, np.ones(4, np.float32), 3, np.array([1], np.int64))
    assert codes.tolist() == [5, 2, 3] and scores.tolist() == [5.0, 3.0, 2.0]
    codes, _ = search_one(vectors, np.ones(4, np.float32), 10, np.array([5, 5, 2], np.int64))
    assert codes.tolist() == [1, 3, 4]


def test_exact_top_k_and_recall() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 8)).astype(np.float32)
    queries = rng.standard_normal((70, 8)).astype(np.float32)
    exact = exact_top_k(vectors, queries, 10)
    full = np.argsort(-(queries @ vectors.T), axis=1)[:, :10] + 1
    assert all(set(a) == set(b) for a, b in zip(exact.tolist(), full.tolist(), strict=True))
    assert recall_at_k(full, exact) == 1.0
    half = np.concatenate([full[:, :5], np.zeros((70, 5), np.int64)], axis=1)
    assert recall_at_k(half, exact) == 0.5


def test_drop_excluded_is_the_same_below_and_above_the_broadcast_limit() -> None:
    """Request-sized exclusions use a broadcast compare, huge histories np.isin: same answer."""
    rng = np.random.default_rng(1)
    codes = rng.permutation(100_000)[:3_000] + 1
    scores = rng.random(3_000).astype(np.float32)
    for excluded in (np.unique(rng.integers(1, 100_001, 40)), np.arange(1, 100_001, 3)):
        keep = ~np.isin(codes, excluded)
        got_codes, got_scores = drop_excluded(codes, scores, excluded)
        assert got_codes.tolist() == codes[keep].tolist()
        assert got_scores.tolist() == scores[keep].tolist()
    assert len(codes) * 40 <= BROADCAST_LIMIT < len(codes) * len(np.arange(1, 100_001, 3))
