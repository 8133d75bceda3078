"""Vectorised sequences, examples and holdouts equal the per-user construction they replaced."""

from __future__ import annotations

import numpy as np
import pytest

from trainers.data import open_dataset, split_leave_last_out
from trainers.encoding import SECONDS_PER_DAY, EncodedData, encode
from trainers.examples import build_examples, last_positions, sample_positions
from trainers.holdout import holdout_set
from ytrec_infer.features import pad_histories


@pytest.fixture(scope="module")
def data(ml100k) -> EncodedData:
    dataset = open_dataset(ml100k)
    return encode(dataset, split_leave_last_out(dataset.interactions), max_history=10)


def _reference_examples(
    data: EncodedData, chosen: list[np.ndarray], max_history: int
) -> tuple[np.ndarray, ...]:
    """The former loop: one padded history per (sequence, position)."""
    histories, users, targets, ages, gaps = [], [], [], [], []
    for seq, steps in enumerate(chosen):
        items, stamps = data.train.items[seq], data.train.timestamps[seq]
        for t in steps:
            histories.append(items[max(0, t - max_history) : t])
            users.append(data.train.user_rows[seq])
            targets.append(items[t])
            ages.append((data.train_end - stamps[t]) / SECONDS_PER_DAY)
            gaps.append(stamps[t] - stamps[t - 1])
    return (
        pad_histories(histories, max_history),
        np.asarray(users),
        np.asarray(targets),
        np.asarray(ages, dtype=np.float32),
        np.asarray(gaps, dtype=np.float32),
    )


def _per_sequence(data: EncodedData, positions: np.ndarray) -> list[np.ndarray]:
    owner = np.searchsorted(data.train.offsets, positions, side="right") - 1
    steps = positions - data.train.offsets[owner]
    return [steps[owner == s] for s in range(len(data.train.user_rows))]


def test_sequences_are_each_users_training_rows_in_time_order(ml100k, data: EncodedData) -> None:
    split = split_leave_last_out(open_dataset(ml100k).interactions)
    for seq in (0, 17, len(data.train.user_rows) - 1):
        user = data.user_ids[data.train.user_rows[seq]]
        mine = split.train.user_ids == user
        assert np.array_equal(data.item_ids[data.train.items[seq] - 1], split.train.item_ids[mine])
        assert np.array_equal(data.train.timestamps[seq], split.train.timestamps[mine])
        assert np.all(np.diff(data.train.timestamps[seq]) >= 0)
    assert sum(len(items) for items in data.train.items) == len(split.train)


@pytest.mark.parametrize("max_history", [10, 400])
def test_lazy_histories_equal_the_padded_construction(data: EncodedData, max_history: int) -> None:
    positions = last_positions(data, 30)
    ex = build_examples(data, positions, max_history)
    history, users, targets, ages, gaps = _reference_examples(
        data, _per_sequence(data, positions), max_history
    )
    everything = np.arange(len(ex))
    assert ex.histories(everything).shape == history.shape
    assert np.array_equal(ex.histories(everything), history)
    batch = np.random.default_rng(0).permutation(len(ex))[:257]
    assert np.array_equal(ex.histories(batch), history[batch])
    assert all(
        np.array_equal(got, row[row > 0])
        for got, row in zip(ex.history_arrays(batch), history[batch], strict=True)
    )
    assert np.array_equal(ex.user_rows, users) and np.array_equal(ex.targets, targets)
    assert np.allclose(ex.example_age, ages) and np.array_equal(ex.seconds_since_last, gaps)


def test_last_positions_are_the_last_of_each_sequence(data: EncodedData) -> None:
    chosen = _per_sequence(data, last_positions(data, 5))
    for seq, steps in enumerate(chosen):
        n = len(data.train.items[seq])
        assert steps.tolist() == list(range(max(1, n - 5), n))


def test_sampled_positions_respect_the_cap_and_the_users(data: EncodedData) -> None:
    keep = np.zeros(len(data.user_ids), dtype=bool)
    keep[::2] = True
    positions = sample_positions(data, 40, np.random.default_rng(0), users=keep)
    chosen = _per_sequence(data, positions)
    for seq, steps in enumerate(chosen):
        n = len(data.train.items[seq])
        expected = min(40, n - 1) if keep[data.train.user_rows[seq]] else 0
        assert len(steps) == expected and len(set(steps.tolist())) == expected
        assert np.all((steps >= 1) & (steps < n)) and np.all(np.diff(steps) > 0)
    again = sample_positions(data, 40, np.random.default_rng(0), users=keep)
    assert np.array_equal(positions, again)
    other = sample_positions(data, 40, np.random.default_rng(1), users=keep)
    assert not np.array_equal(positions, other)
    # Uniform: over many draws a heavy user's positions are all chosen about equally often.
    heavy = int(np.argmax(data.train.items.lengths))
    counts = np.zeros(len(data.train.items[heavy]), dtype=int)
    for seed in range(200):
        drawn = _per_sequence(data, sample_positions(data, 40, np.random.default_rng(seed)))
        counts[drawn[heavy]] += 1
    quarters = np.array([part.sum() for part in np.array_split(counts[1:], 4)])
    assert counts[0] == 0 and np.all(np.abs(quarters - 2000) < 200), quarters


@pytest.mark.parametrize("split", ["valid", "test"])
def test_holdout_equals_the_per_user_construction(data: EncodedData, split: str) -> None:
    got = holdout_set(data, split)
    rows, histories, targets, gaps = [], [], [], []
    for seq, user_row in enumerate(data.train.user_rows):
        items, stamps = data.train.items[seq], data.train.timestamps[seq]
        target, when = data.valid.items[user_row], data.valid.timestamps[user_row]
        if split == "test":
            if data.valid.items[user_row] > 0:
                items = np.append(items, data.valid.items[user_row])
                stamps = np.append(stamps, data.valid.timestamps[user_row])
            target, when = data.test.items[user_row], data.test.timestamps[user_row]
        if target > 0:
            rows.append(user_row)
            histories.append(items)
            targets.append(target)
            gaps.append(when - stamps[-1])
    assert got.user_rows.tolist() == rows and got.targets.tolist() == targets
    assert np.array_equal(got.seconds_since_last, np.asarray(gaps, dtype=np.float32))
    assert len(got.histories) == len(histories)
    assert all(np.array_equal(a, b) for a, b in zip(got.histories, histories, strict=True))
