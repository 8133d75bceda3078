"""Out-of-fold ranker lists: folds of users, generators restricted to users, per-fold routing."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from trainers.examples import sample_positions
from trainers.out_of_fold import InSample, OutOfFold, assign_folds


def test_folds_are_balanced_deterministic_and_need_two() -> None:
    fold = assign_folds(943, 2, seed=0)
    assert set(np.bincount(fold)) == {471, 472}
    assert np.array_equal(fold, assign_folds(943, 2, seed=0))
    assert not np.array_equal(fold, assign_folds(943, 2, seed=1))
    with pytest.raises(ValueError):
        assign_folds(943, 1, seed=0)


def test_positions_of_left_out_users_are_empty(trained) -> None:
    data = trained.data
    keep = assign_folds(len(data.user_ids), 2, seed=0) == 0
    positions = sample_positions(data, 150, np.random.default_rng(0), users=keep)
    per_sequence = np.bincount(data.train.items.rows[positions], minlength=len(data.train.items))
    for seq_index, chosen in enumerate(per_sequence):
        kept = keep[data.train.user_rows[seq_index]]
        assert (chosen > 0) == (kept and len(data.train.items[seq_index]) > 1)


def test_each_user_gets_the_lists_of_its_own_fold_model(trained) -> None:
    data, model = trained.data, trained.candidate_model
    other = copy.deepcopy(model)
    with torch.no_grad():
        for param in other.parameters():
            param.add_(0.1 * torch.randn_like(param))
    fold = assign_folds(len(data.user_ids), 2, seed=0)
    users = data.train.user_rows[:200]
    histories = list(data.train.items[:200])
    codes, scores = OutOfFold((model, other), fold).retrieve(data, users, histories, 20)
    for f, source in enumerate((InSample(model), InSample(other))):
        rows = fold[users] == f
        expected_codes, expected_scores = source.retrieve(data, users, histories, 20)
        assert np.array_equal(codes[rows], expected_codes[rows])
        assert np.allclose(scores[rows], expected_scores[rows])
