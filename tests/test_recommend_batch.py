"""``recommend_batch`` gives what ``recommend`` gives per user, for both retrieval modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommendations, Recommender


@pytest.fixture(scope="module", params=["hnsw", "exact"])
def rec(request: pytest.FixtureRequest, artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir, retrieval=request.param)


def _same(batch: Recommendations, single: Recommendations) -> None:
    np.testing.assert_array_equal(batch.item_ids, single.item_ids)
    np.testing.assert_allclose(batch.scores, single.scores, rtol=0, atol=1e-4)
    assert (batch.stage, batch.cold_start, batch.unknown_ids) == (
        single.stage,
        single.cold_start,
        single.unknown_ids,
    )


def test_batch_equals_one_request_at_a_time(rec: Recommender) -> None:
    rng = np.random.default_rng(0)
    ids = rec.catalog.item_ids
    histories: list[list[int]] = [
        [int(i) for i in rng.choice(ids, size=int(rng.integers(1, 60)), replace=False)]
        for _ in range(24)
    ]
    histories += [[], [10**9], [10**9, int(ids[0])]]  # cold start, all unknown, one unknown
    users = [None] * len(histories)
    users[1] = {"age": 25, "gender": "F", "occupation": "student", "zip_code": "94043"}
    users[2] = {"seconds_since_last": 3600}
    for exclude in (True, False):
        batch = rec.recommend_batch(
            histories, k=7, users=users, n_candidates=50, exclude_history=exclude
        )
        assert len(batch) == len(histories)
        for history, user, got in zip(histories, users, batch):
            _same(
                got,
                rec.recommend(history, k=7, user=user, n_candidates=50, exclude_history=exclude),
            )


def test_batch_arguments_are_checked(rec: Recommender) -> None:
    with pytest.raises(ValueError, match="users has 1 entries for 2 histories"):
        rec.recommend_batch([[1], [2]], users=[None])
    with pytest.raises(ValueError, match="must not exceed n_candidates"):
        rec.recommend_batch([[1]], k=20, n_candidates=10)
    with pytest.raises(TypeError, match="histories must be a sequence"):
        rec.recommend_batch("1,2,3")  # type: ignore[arg-type]
    assert rec.recommend_batch([]) == []
