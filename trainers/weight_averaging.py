"""Weight averaging over the last epochs of a training run (both networks use it)."""

from __future__ import annotations

import copy
from collections import deque

import torch
from torch import nn


def average_states(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of floating-point entries of state dicts (weight averaging over the
    last epochs, which smooths the epoch-to-epoch noise of a small data set); other entries and
    a single state are returned as they are."""
    if len(states) == 1:
        return states[0]
    averaged = dict(states[-1])
    for key, value in averaged.items():
        if value.is_floating_point():
            averaged[key] = torch.stack([state[key] for state in states]).mean(dim=0)
    return averaged


class WeightAverage:
    """The running mean of a model's weights over its last ``count`` epochs."""

    def __init__(self, count: int) -> None:
        self._recent: deque[dict[str, torch.Tensor]] = deque(maxlen=max(1, count))

    def update(self, model: nn.Module) -> tuple[nn.Module, dict[str, torch.Tensor]]:
        """Record ``model``'s weights after an epoch; return a copy of it holding the average of
        the recorded weights, and that averaged state."""
        self._recent.append(copy.deepcopy(model.state_dict()))
        state = average_states(list(self._recent))
        averaged = copy.deepcopy(model)
        averaged.load_state_dict(state)
        return averaged, state
