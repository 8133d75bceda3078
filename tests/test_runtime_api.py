"""Behaviour of the public runtime API on a real trained artifact."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommendations, Recommender, UnknownItemError
from ytrec_infer.retrieval import RETRIEVAL_MODES

STAR_WARS = [50, 172, 181]


@pytest.fixture(scope="module", params=RETRIEVAL_MODES)
def rec(artifact_dir: Path, request: pytest.FixtureRequest) -> Recommender:
    """The artifact behind each stage-one search, so every backend meets these behaviours."""
    return Recommender.load(artifact_dir, retrieval=request.param)


def test_recommend_returns_k_distinct_new_items_best_first(rec: Recommender) -> None:
    result = rec.recommend(STAR_WARS, k=10)
    assert (
        isinstance(result, Recommendations) and result.stage == "ranked" and not result.cold_start
    )
    ids = result.item_ids
    assert len(ids) == 10 == len(set(ids.tolist()))
    assert not set(ids.tolist()) & set(STAR_WARS)
    assert np.all(np.diff(result.scores) <= 0)
    assert all(
        r.title and r.retrieval_score is not None and r.ranker_score == r.score for r in result
    )
    assert set(ids.tolist()) <= set(rec.catalog.item_ids.tolist())


def test_exclude_history_false_allows_history_items(rec: Recommender) -> None:
    history = rec.candidates(STAR_WARS, n=5, exclude_history=False).item_ids.tolist()
    assert rec.candidates(history, n=5, exclude_history=False).item_ids.size == 5
    kept = rec.candidates(history, n=50, exclude_history=False).item_ids.tolist()
    assert set(history) & set(kept), "the user's own items should be near its vector"


def test_candidates_are_the_ranked_pool(rec: Recommender) -> None:
    pool = rec.candidates(STAR_WARS, n=100)
    assert pool.stage == "candidates" and len(pool) == 100
    assert np.all(np.diff(pool.scores) <= 1e-6)
    top = rec.recommend(STAR_WARS, k=10, n_candidates=100)
    assert set(top.item_ids.tolist()) <= set(pool.item_ids.tolist())


def test_rank_scores_given_items_and_agrees_with_recommend(rec: Recommender) -> None:
    top = rec.recommend(STAR_WARS, k=5)
    reranked = rec.rank(STAR_WARS, top.item_ids[::-1])
    assert reranked.item_ids.tolist() == top.item_ids.tolist()
    np.testing.assert_allclose(reranked.scores, top.scores, rtol=1e-5, atol=1e-5)


def test_unknown_ids_are_skipped_and_reported(rec: Recommender) -> None:
    plain = rec.recommend(STAR_WARS, k=5)
    mixed = rec.recommend([999_999, *STAR_WARS, -3], k=5)
    assert mixed.unknown_ids == (999_999, -3)
    assert mixed.item_ids.tolist() == plain.item_ids.tolist()
    with pytest.raises(UnknownItemError, match="999999"):
        rec.recommend([999_999, *STAR_WARS], strict=True)


@pytest.mark.parametrize("history", [[], [999_999], np.array([], dtype=np.int64)])
def test_cold_start_returns_most_popular(rec: Recommender, history: list[int]) -> None:
    result = rec.recommend(history, k=5)
    assert result.cold_start and result.stage == "popular"
    expected = rec.catalog.item_ids[np.argsort(-rec.catalog.popularity, kind="stable")[:5]]
    assert result.item_ids.tolist() == expected.tolist()


def test_user_features_change_the_result(rec: Recommender) -> None:
    young = rec.recommend(STAR_WARS, k=10, user={"age": 18, "gender": "F", "occupation": "student"})
    old = rec.recommend(STAR_WARS, k=10, user={"age": 70, "gender": "M", "occupation": "retired"})
    assert not np.allclose(young.scores, old.scores)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"history": "50,172"}, TypeError, "history"),
        ({"history": [50, "172"]}, TypeError, r"history\[1\]"),
        ({"history": [50.0, 172]}, TypeError, r"history\[0\]"),
        ({"history": [True, 172]}, TypeError, r"history\[0\]"),
        ({"history": np.array([50.0])}, TypeError, "dtype"),
        ({"history": np.array([[50]])}, ValueError, "1-D"),
        ({"history": 50}, TypeError, "history"),
        ({"k": 0}, ValueError, "k must be >= 1"),
        ({"k": -5}, ValueError, "k must be >= 1"),
        ({"k": 2.5}, TypeError, "k must be an int"),
        ({"k": 10**9}, ValueError, "k must be <="),
        ({"k": 20, "n_candidates": 10}, ValueError, "must not exceed n_candidates"),
        ({"exclude_history": "no"}, TypeError, "exclude_history"),
        ({"strict": "yes"}, TypeError, "strict"),
        ({"user": {"age": math.nan}}, ValueError, "age"),
        ({"user": {"age": "old"}}, TypeError, "age"),
        ({"user": {"height": 180}}, ValueError, "unknown user fields"),
        ({"user": ["M"]}, TypeError, "user must be a mapping"),
        ({"user": {"gender": 1}}, TypeError, "gender"),
    ],
)
def test_bad_input_raises_a_clear_error(
    rec: Recommender, kwargs: dict, error: type, message: str
) -> None:
    call = {"history": STAR_WARS, **kwargs}
    with pytest.raises(error, match=message):
        rec.recommend(**call)


def test_results_convert_to_plain_data(rec: Recommender) -> None:
    result = rec.recommend(STAR_WARS, k=3)
    as_dict = result.to_dict()
    assert as_dict["stage"] == "ranked" and len(as_dict["items"]) == 3
    assert set(as_dict["items"][0]) == {
        "item_id",
        "score",
        "title",
        "retrieval_score",
        "ranker_score",
    }
    assert result[0].item_id == as_dict["items"][0]["item_id"]
