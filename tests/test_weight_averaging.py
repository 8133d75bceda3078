"""Weight averaging over the last epochs, used by both trainers."""

from __future__ import annotations

import torch
from torch import nn

from trainers.weight_averaging import WeightAverage, average_states


def test_average_states_means_floats_and_keeps_the_rest() -> None:
    first = {"w": torch.tensor([1.0, 3.0]), "steps": torch.tensor([1])}
    second = {"w": torch.tensor([3.0, 5.0]), "steps": torch.tensor([2])}
    averaged = average_states([first, second])
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0]))
    assert torch.equal(averaged["steps"], torch.tensor([2]))
    assert average_states([first]) is first


def test_weight_average_is_the_mean_of_the_last_epochs_and_leaves_the_model_alone() -> None:
    model = nn.Linear(2, 1)
    averager = WeightAverage(2)
    seen = []
    for value in (1.0, 2.0, 4.0):
        with torch.no_grad():
            model.weight.fill_(value)
        seen.append(value)
        averaged, state = averager.update(model)
        expected = sum(seen[-2:]) / len(seen[-2:])
        assert torch.allclose(averaged.weight, torch.full((1, 2), expected))
        assert torch.equal(state["weight"], averaged.weight.detach())
        assert torch.equal(model.weight.detach(), torch.full((1, 2), value))
