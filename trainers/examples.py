"""Training examples for the candidate generator: one next-item example per history position.

Following the paper, every position of a user's training sequence is an example whose label is
the item watched there and whose inputs use only what came before it (no leak from the user's
future); a fixed cap per user keeps heavy users from dominating the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.encoding import SECONDS_PER_DAY, EncodedData
from ytrec_infer.features import pad_histories


@dataclass(frozen=True)
class NextItemExamples:
    """Padded histories [E, L] with their user rows, targets and example ages (days);
    ``interactions`` [E] is the training row of each target (where its context is)."""

    history: np.ndarray
    user_rows: np.ndarray
    targets: np.ndarray
    example_age: np.ndarray
    seconds_since_last: np.ndarray
    interactions: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def build_examples(
    data: EncodedData, positions: list[np.ndarray], max_history: int
) -> NextItemExamples:
    """Examples at the given positions (t >= 1) of each training sequence."""
    histories, users, targets, ages, gaps, rows = [], [], [], [], [], []
    for seq_index, chosen in enumerate(positions):
        items = data.train.items[seq_index]
        stamps = data.train.timestamps[seq_index]
        for t in chosen:
            histories.append(items[max(0, t - max_history) : t])
            users.append(data.train.user_rows[seq_index])
            targets.append(items[t])
            ages.append((data.train_end - stamps[t]) / SECONDS_PER_DAY)
            gaps.append(stamps[t] - stamps[t - 1])
            rows.append(data.train.starts[seq_index] + t)
    return NextItemExamples(
        history=pad_histories(histories, max_history),
        user_rows=np.asarray(users, dtype=np.int64),
        targets=np.asarray(targets, dtype=np.int64),
        example_age=np.asarray(ages, dtype=np.float32),
        seconds_since_last=np.asarray(gaps, dtype=np.float32),
        interactions=np.asarray(rows, dtype=np.int64),
    )


def sample_positions(
    data: EncodedData,
    cap: int,
    rng: np.random.Generator,
    users: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Up to ``cap`` positions t >= 1 per user, drawn uniformly without replacement;
    ``users`` (a mask over user rows) keeps only those users' positions."""
    chosen = []
    for seq_index, items in enumerate(data.train.items):
        if users is not None and not users[data.train.user_rows[seq_index]]:
            chosen.append(np.zeros(0, dtype=np.int64))
            continue
        candidates = np.arange(1, max(1, len(items)))
        if len(candidates) > cap:
            candidates = np.sort(rng.choice(candidates, size=cap, replace=False))
        chosen.append(candidates)
    return chosen


def last_positions(data: EncodedData, count: int) -> list[np.ndarray]:
    """The last ``count`` positions t >= 1 of each user's sequence (closest to serving time)."""
    return [np.arange(max(1, len(items) - count), len(items)) for items in data.train.items]
