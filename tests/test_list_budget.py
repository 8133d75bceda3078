"""The ranker's list budget (trainers/list_budget.py) and the exact retrieval of its lists."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.scale.retrieval import inputs, retrieve_exact_before
from trainers import inference
from trainers.inference import retrieve_exact
from trainers.list_budget import budgeted_positions, per_user_quota
from trainers.ragged import Ragged


def _log(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Positions 0.. grouped by user, ``counts[u]`` for user u, in time order."""
    owners = np.repeat(np.arange(len(counts)), counts)
    return np.arange(len(owners)) * 10, owners


def test_quota_is_even_across_users_and_spends_the_budget() -> None:
    counts = np.array([1, 3, 50, 50, 200, 0])
    quota = per_user_quota(counts, 60, np.random.default_rng(0))
    assert quota.sum() == 60 and np.all(quota <= counts)
    assert quota[0] == 1 and quota[1] == 3 and quota[5] == 0  # light users keep all theirs
    assert set(quota[2:5]) <= {18, 19} and quota[2:5].sum() == 56
    assert np.array_equal(per_user_quota(counts, 10_000, np.random.default_rng(0)), counts)


@pytest.mark.parametrize("sampling", ["newest", "uniform"])
def test_budget_caps_the_positions_and_keeps_them_spread(sampling: str) -> None:
    counts = [2, 40, 40, 5, 300, 7]
    positions, owners = _log(counts)
    kept = budgeted_positions(positions, owners, 60, sampling, np.random.default_rng(1))
    assert len(kept) == 60 and np.all(np.diff(kept) > 0)
    per_user = np.bincount(owners[np.searchsorted(positions, kept)], minlength=len(counts))
    assert list(per_user[[0, 3, 5]]) == [2, 5, 7]
    assert set(per_user[[1, 2, 4]]) <= {15, 16}  # the heavy user gets no more than the others
    if sampling == "newest":
        heavy = kept[owners[np.searchsorted(positions, kept)] == 4]
        assert np.array_equal(heavy, positions[owners == 4][-len(heavy) :])


def test_uniform_budget_draws_from_all_of_a_users_positions() -> None:
    positions, owners = _log([1000])
    kept = budgeted_positions(positions, owners, 100, "uniform", np.random.default_rng(2))
    assert len(kept) == 100 and kept.min() < 2000 and kept.max() > 8000


def test_budget_refuses_bad_settings() -> None:
    positions, owners = _log([5, 5])
    with pytest.raises(ValueError, match="sampling"):
        budgeted_positions(positions, owners, 3, "oldest", np.random.default_rng(0))
    with pytest.raises(ValueError, match="grouped"):
        budgeted_positions(positions, owners[::-1].copy(), 3, "newest", np.random.default_rng(0))


def test_retrieve_exact_matches_the_replaced_implementation(monkeypatch) -> None:
    vectors, matrix, exclude = inputs(300, 2000, 12, 16, 3)
    expected, expected_scores = retrieve_exact_before(vectors, matrix, exclude, 50)
    monkeypatch.setattr(inference, "RETRIEVAL_CELLS", 2000 * 7)  # chunks of 7 users
    codes, scores = retrieve_exact(vectors, matrix, exclude, 50)
    assert np.array_equal(codes, expected)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    assert not np.isin(codes[0], exclude[0]).any()
    ragged = Ragged(np.concatenate(exclude), np.r_[0, np.cumsum([len(e) for e in exclude])])
    assert np.array_equal(retrieve_exact(vectors, matrix, ragged, 50)[0], expected)


def test_retrieve_exact_refuses_mismatched_exclusions() -> None:
    with pytest.raises(ValueError, match="exclusion lists"):
        retrieve_exact(torch.zeros(3, 4), torch.zeros(10, 4), [np.zeros(0, np.int64)], 5)


def test_training_lists_respect_the_budget_on_movielens(trained, caplog) -> None:
    """600 positions for 943 users: at most one list per user, from as many users; the
    default budget leaves ML-100K's lists as they were. The budget logs on its own logger:
    the scale benchmark's timeline ends the lists phase at the first trainers.train_ranker
    record ("ranker: N lists")."""
    import logging
    from dataclasses import replace

    from trainers.config import RankerConfig
    from trainers.examples import last_positions
    from trainers.out_of_fold import InSample
    from trainers.train_ranker import training_lists

    data = trained.data
    config = replace(RankerConfig(), max_lists=600)
    with caplog.at_level(logging.INFO):
        lists = training_lists(
            data, data, InSample(trained.candidate_model), config, np.random.default_rng(0)
        )
    assert any("list budget" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.name.startswith("trainers.train_ranker")]
    users = lists["user_rows"]
    assert 0 < len(users) <= 600 and len(np.unique(users)) == len(users)
    assert len(last_positions(data, RankerConfig().positions_per_user)) < RankerConfig().max_lists
