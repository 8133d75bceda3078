"""Property-based tests of the request entry points: any input gives a valid answer or a clear
TypeError/ValueError, never a crash or another exception; valid inputs always give k distinct
known items sorted by score."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ytrec_infer import Recommendations, Recommender
from ytrec_infer.retrieval import RETRIEVAL_MODES

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KNOWN = st.integers(1, 1682)  # the MovieLens 100K catalog ids
INT64 = st.integers(-(2**63), 2**63 - 1)
ANY_INT = st.integers(-(2**70), 2**70)
HISTORY = st.lists(st.one_of(KNOWN, KNOWN, INT64), max_size=80)
USER = st.fixed_dictionaries(
    {},
    optional={
        "age": st.one_of(st.integers(0, 150), st.floats(0, 150)),
        "gender": st.sampled_from(["M", "F", "", "X"]),
        "occupation": st.text(max_size=12),
        "zip_code": st.text(max_size=6),
        "seconds_since_last": st.floats(0, 3e9),
    },
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_INT,
    st.lists(st.one_of(st.text(max_size=3), st.floats(), st.none(), KNOWN), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(
        [
            np.array([50.0, 172.0]),
            np.array([[50, 172]]),
            np.array(50),
            np.array(["50"]),
            np.array([50, 172], dtype=np.uint64),
            np.array([2**63], dtype=np.uint64),
            np.full(10**6, 50),
            range(10**6),
        ]
    ),
)
ANY_USER = st.one_of(
    USER,
    JUNK,
    st.dictionaries(
        st.sampled_from(["age", "gender", "seconds_since_last", "height"]),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), ANY_INT),
        max_size=3,
    ),
)


@pytest.fixture(scope="module", params=RETRIEVAL_MODES)
def rec(artifact_dir: Path, request: pytest.FixtureRequest) -> Recommender:
    """The artifact behind each stage-one search, so every backend meets these behaviours."""
    return Recommender.load(artifact_dir, retrieval=request.param)


def _valid_list(rec: Recommender, result: Recommendations, size: int) -> None:
    """``size`` distinct catalog items, best first, finite scores."""
    ids = result.item_ids.tolist()
    assert len(ids) == size == len(set(ids))
    assert set(ids) <= set(rec.catalog.item_ids.tolist())
    scores = result.scores
    assert np.isfinite(scores).all()
    tolerance = 1e-5 if result.stage == "candidates" else 0.0
    assert np.all(np.diff(scores) <= tolerance)


def _call_or_clear_error(call: Any) -> Recommendations | None:
    try:
        result: Recommendations = call()
    except (TypeError, ValueError) as exc:
        assert str(exc), "errors say what was wrong"
        return None
    return result


@SETTINGS
@given(history=HISTORY, k=st.integers(1, 50), extra=st.integers(0, 150), user=USER)
def test_recommend_valid_inputs(
    rec: Recommender, history: list[int], k: int, extra: int, user: dict
) -> None:
    result = rec.recommend(history, k=k, n_candidates=k + extra, user=user)
    _valid_list(rec, result, k)
    assert not set(result.item_ids.tolist()) & set(history), "history is excluded"


@SETTINGS
@given(history=HISTORY, n=st.integers(1, 300), user=USER)
def test_candidates_valid_inputs(rec: Recommender, history: list[int], n: int, user: dict) -> None:
    _valid_list(rec, rec.candidates(history, n=n, user=user), n)


@SETTINGS
@given(history=HISTORY, items=st.lists(st.one_of(KNOWN, INT64), max_size=60), user=USER)
def test_rank_valid_inputs(
    rec: Recommender, history: list[int], items: list[int], user: dict
) -> None:
    result = rec.rank(history, items, user=user)
    known = set(items) & set(rec.catalog.item_ids.tolist())
    _valid_list(rec, result, len(known))
    assert set(result.item_ids.tolist()) == known


@SETTINGS
@given(
    history=st.one_of(HISTORY, JUNK, st.lists(ANY_INT)),
    k=st.one_of(st.integers(-(2**70), 2**70), JUNK),
    n_candidates=st.one_of(st.integers(-5, 5000), JUNK),
    user=ANY_USER,
    exclude=st.one_of(st.booleans(), JUNK),
)
def test_recommend_any_input(
    rec: Recommender, history: Any, k: Any, n_candidates: Any, user: Any, exclude: Any
) -> None:
    result = _call_or_clear_error(
        lambda: rec.recommend(
            history, k=k, n_candidates=n_candidates, user=user, exclude_history=exclude
        )
    )
    if result is not None:
        _valid_list(rec, result, k)


@SETTINGS
@given(history=st.one_of(HISTORY, JUNK), n=st.one_of(st.integers(-5, 5000), JUNK), user=ANY_USER)
def test_candidates_any_input(rec: Recommender, history: Any, n: Any, user: Any) -> None:
    result = _call_or_clear_error(lambda: rec.candidates(history, n=n, user=user))
    if result is not None:
        _valid_list(rec, result, n)


@SETTINGS
@given(
    history=st.one_of(HISTORY, JUNK, st.lists(ANY_INT)),
    items=st.one_of(HISTORY, JUNK, st.lists(ANY_INT)),
    user=ANY_USER,
)
def test_rank_any_input(rec: Recommender, history: Any, items: Any, user: Any) -> None:
    result = _call_or_clear_error(lambda: rec.rank(history, items, user=user))
    if result is not None:
        assert len(result) == len(set(result.item_ids.tolist()))
        assert np.isfinite(result.scores).all() and np.all(np.diff(result.scores) <= 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"history": np.full(10**6, 50)}, ValueError, "at most"),
        ({"history": list(range(10**6))}, ValueError, "at most"),
        ({"history": np.array(50)}, ValueError, "1-D"),
        ({"history": {50, 172}}, TypeError, "history"),
        ({"history": {50: 1, 172: 2}}, TypeError, "history"),
        ({"user": {"zip_code": "\u00b9"}}, None, ""),
        ({"user": {"age": math.inf}}, ValueError, "age"),
        ({"user": {"age": 1e300}}, ValueError, "age"),
        ({"user": {"seconds_since_last": -1}}, ValueError, "seconds_since_last"),
        ({"user": {"seconds_since_last": 1e300}}, ValueError, "seconds_since_last"),
        ({"k": 2**70}, ValueError, "k must be <="),
        ({"n_candidates": -1}, ValueError, "n_candidates"),
    ],
)
def test_out_of_range_inputs_are_refused(
    rec: Recommender, kwargs: dict, error: type | None, message: str
) -> None:
    call = {"history": [50, 172, 181], **kwargs}
    if error is None:
        assert len(rec.recommend(**call)) == 10
        return
    with pytest.raises(error, match=message):
        rec.recommend(**call)
