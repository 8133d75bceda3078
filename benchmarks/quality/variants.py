"""The ablation variants: the paper's ingredients changed one at a time from the defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from trainers.config import TrainConfig

Variant = Callable[[TrainConfig], TrainConfig]


def _candidate(**changes: Any) -> Variant:
    return lambda config: replace(config, candidate=replace(config.candidate, **changes))


VARIANTS: dict[str, Variant] = {
    "default": lambda config: config,
    "depth 0 (linear)": _candidate(hidden=()),
    "depth 1 (256)": _candidate(hidden=(256,)),
    "depth 3 (512-256-128)": _candidate(hidden=(512, 256, 128)),
    "no example age": _candidate(use_example_age=False),
    "history cap 25": _candidate(max_history=25),
    "history cap 50": _candidate(max_history=50),
    "history cap 100": _candidate(max_history=100),
    "full softmax": _candidate(softmax="full"),
    "no generator weight averaging": _candidate(average_last=1),
}
"""Name -> configuration change. "ranking off" is not a variant: every run also reports the
candidate generator's own order, which is the same model without the ranker."""
