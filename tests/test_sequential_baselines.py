"""SASRec and GRU4Rec: training windows, shapes, causality, early stopping, a planted pattern."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from trainers.baselines import GRU4Rec, SASRec
from trainers.baselines.sequential import SequentialBaseline, training_windows
from trainers.metrics import summarize, top_k_excluding

CATALOG = 20
MODELS = (SASRec, GRU4Rec)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny networks: more threads only contend on the shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = {"hidden": 16, "max_length": 8, "dropout": 0.0, "learning_rate": 1e-2, "batch_size": 16}


def _cycle_data(users: int = 30, length: int = 10) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Every user walks the cycle 1 -> 2 -> ... -> 20 -> 1 from a random start; the item after
    the walk is held out. Only the order carries information: every item is equally popular."""
    rng = np.random.default_rng(0)
    walks = [(rng.integers(0, CATALOG) + np.arange(length + 1)) % CATALOG + 1 for _ in range(users)]
    return [w[:-1] for w in walks], [w[:-1] for w in walks], np.array([w[-1] for w in walks])


def test_windows_cover_every_position_once_and_keep_the_latest_whole() -> None:
    inputs, targets = training_windows([np.arange(1, 8), np.array([3, 9])], max_length=3)
    assert inputs.tolist() == [[4, 5, 6], [1, 2, 3], [0, 0, 3]]
    assert targets.tolist() == [[5, 6, 7], [2, 3, 4], [0, 0, 9]]
    with pytest.raises(ValueError, match="max_length"):
        training_windows([np.arange(1, 4)], max_length=0)


@pytest.mark.parametrize("make", MODELS)
def test_shapes_and_causality(make: type[SequentialBaseline]) -> None:
    torch.manual_seed(0)
    network = make(**SMALL).build(CATALOG).eval()
    window = torch.tensor([[0, 0, 3, 7, 1, 5, 9, 2]])
    hidden = network.hidden(window)
    assert hidden.shape == (1, 8, 16)
    changed = window.clone()
    changed[0, 5:] = torch.tensor([11, 12, 13])
    after = network.hidden(changed)
    assert torch.allclose(hidden[0, :5], after[0, :5], atol=1e-6), "position t saw a later item"
    assert not torch.allclose(hidden[0, 5:], after[0, 5:], atol=1e-3)
    padded = network.hidden(torch.tensor([[0, 0, 0, 0, 0, 0, 4, 6]]))
    shorter = network.hidden(torch.tensor([[0, 0, 4, 6]]))
    assert torch.allclose(padded[0, -2:], shorter[0, -2:], atol=1e-5), "padding changed the output"


@pytest.mark.parametrize("make", MODELS)
def test_learns_a_planted_sequence_and_keeps_the_best_epoch(make: type[SequentialBaseline]) -> None:
    train, histories, targets = _cycle_data()
    model = make(**SMALL, max_epochs=30, patience=3)
    log = model.fit(train, CATALOG, histories, targets, seed=0)
    scores = model.scores(np.arange(len(histories)), histories)
    assert scores.shape == (len(histories), CATALOG)
    lists = top_k_excluding(scores, histories, 10)
    metrics = summarize(lists, targets, 10)
    assert summarize(lists, targets, 1)["hr@1"] > 0.9, "the next item of the cycle is not first"
    curve = [e.valid_ndcg for e in log.epochs]
    assert metrics["ndcg@10"] == pytest.approx(max(curve)), "the kept weights are not the best epoch's"
    assert log.epochs[log.best_epoch - 1].valid_ndcg == max(curve)
    assert len(curve) == 30 or len(curve) - log.best_epoch == 3


def test_unfitted_model_and_bad_settings_say_what_is_wrong() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        SASRec().scores(np.zeros(1), [np.array([1, 2])])
    with pytest.raises(ValueError, match="patience"):
        GRU4Rec(patience=0)
    with pytest.raises(ValueError, match="two items"):
        SASRec(**SMALL).fit([np.array([1])], CATALOG, [np.array([1])], np.array([2]))
