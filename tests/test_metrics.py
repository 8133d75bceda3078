"""Metrics on hand-computed cases."""

import math

import numpy as np
import pytest

from trainers.metrics import (
    coverage,
    hit_rate,
    mean_std,
    mrr,
    ndcg,
    summarize,
    target_ranks,
    top_k_excluding,
)


def test_ranks_hits_and_misses() -> None:
    ranked = np.array([[5, 3, 9], [1, 2, 4], [7, 8, 6]])
    ranks = target_ranks(ranked, np.array([3, 1, 42]))
    assert ranks.tolist() == [1, 0, -1]
    assert hit_rate(ranks, 3) == pytest.approx(2 / 3)
    assert hit_rate(ranks, 1) == pytest.approx(1 / 3)


def test_ndcg_and_mrr_by_hand() -> None:
    ranks = np.array([0, 1, 3, -1])
    assert ndcg(ranks, 10) == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4)
    assert mrr(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)
    assert ndcg(ranks, 2) == pytest.approx((1 + 1 / math.log2(3)) / 4)


def test_summarize_cuts_at_k() -> None:
    ranked = np.array([[1, 2, 3, 4], [4, 3, 2, 1]])
    metrics = summarize(ranked, np.array([4, 4]), k=2)
    assert metrics == {"hr@2": 0.5, "ndcg@2": 0.5, "mrr@2": 0.5}


def test_coverage_counts_distinct_items_and_ignores_padding() -> None:
    ranked = np.array([[1, 2, 0], [2, 3, 0]])
    assert coverage(ranked, num_items=6) == pytest.approx(3 / 6)


def test_top_k_excluding_skips_history_and_breaks_ties_by_code() -> None:
    scores = np.array([[0.9, 0.5, 0.5, 0.1, 0.8], [0.0, 0.0, 0.0, 0.0, 0.0]])
    top = top_k_excluding(scores, [np.array([1]), np.array([2, 4])], k=3)
    assert top.tolist() == [[5, 2, 3], [1, 3, 5]]


def test_mean_std_uses_the_sample_deviation() -> None:
    stats = mean_std([0.1, 0.2, 0.3])
    assert stats["mean"] == pytest.approx(0.2) and stats["std"] == pytest.approx(0.1)
    assert mean_std([0.5])["std"] == 0.0


def test_top_k_excluding_breaks_ties_at_the_cut_by_code() -> None:
    scores = np.array([[1.0] * 40 + [2.0]])
    assert top_k_excluding(scores, [np.array([], dtype=np.int64)], k=3).tolist() == [[41, 1, 2]]
