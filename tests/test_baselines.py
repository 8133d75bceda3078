"""Baselines on hand-made interaction sets, and the split view they learn from."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.baselines import BPR, ItemKNN, MostPopular, visible_interactions

# Users 0-2 like items 1-3, users 3-5 like items 4-6; item 1 is the most popular.
TOY = tuple(np.array(items) for items in ([1, 2, 3], [1, 2], [1, 3], [4, 5, 6], [4, 5, 1], [5, 6]))


def test_most_popular_counts_interactions() -> None:
    model = MostPopular()
    model.fit(TOY, num_items=6)
    assert model.scores(np.array([0]), [TOY[0]])[0].tolist() == [4, 2, 2, 2, 3, 2]


def test_itemknn_cosine_by_hand() -> None:
    model = ItemKNN()
    model.fit(TOY, num_items=6)
    # items 1 and 2 share users 0 and 1; item 1 has 4 users, item 2 has 2: cos = 2 / sqrt(8)
    assert model.similarity[0, 1] == pytest.approx(2 / np.sqrt(8))
    assert model.similarity[0, 0] == 0.0
    scores = model.scores(np.array([1]), [np.array([1, 2])])[0]
    assert scores[2] > scores[5], "item 3 co-occurs with 1 and 2, item 6 with neither"


def test_itemknn_keeps_only_the_nearest_neighbours() -> None:
    model = ItemKNN(neighbours=1)
    model.fit(TOY, num_items=6)
    assert ((model.similarity > 0).sum(axis=1) <= 1).all()


def test_bpr_learns_the_two_groups() -> None:
    model = BPR(dim=8, reg=1e-5, epochs=100, learning_rate=0.05, batch_size=64)
    model.fit(TOY, num_items=6, seed=0)
    scores = model.scores(np.array([1, 5]), [TOY[1], TOY[5]])
    assert scores[0, 2] > scores[0, 5], "user 1 (group 1-3) prefers unseen item 3 to item 6"
    assert scores[1, 3] > scores[1, 1], "user 5 (group 4-6) prefers unseen item 4 to item 2"


def test_visible_interactions_add_the_validation_item_for_test(trained) -> None:
    data = trained.data
    for_valid = visible_interactions(data, "valid")
    for_test = visible_interactions(data, "test")
    row = int(data.train.user_rows[0])
    assert for_valid[row].tolist() == data.train.items[0].tolist()
    assert for_test[row].tolist() == [*data.train.items[0].tolist(), int(data.valid.items[row])]
    assert not np.isin(data.test.items[row], for_test[row])
    with pytest.raises(ValueError, match="split"):
        visible_interactions(data, "train")
