"""Training examples for the candidate generator: one next-item example per history position.

Following the paper, every position of a user's training sequence is an example whose label is
the item watched there and whose inputs use only what came before it (no leak from the user's
future); a fixed cap per user keeps heavy users from dominating the loss.

A position is an index into the flat training item array (``data.train.items.values``); the
examples keep only per-example 1-D arrays and gather each batch's padded histories from that
flat array when asked (:meth:`NextItemExamples.histories`), so a million examples never hold a
padded [E, max_history] matrix in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.encoding import SECONDS_PER_DAY, EncodedData


@dataclass(frozen=True)
class NextItemExamples:
    """Per example: user row, target code, example age (days), seconds since the previous
    interaction, and where its history ends in the flat item array ``items`` (its target's
    position, which is also the target's row of ``split.train``: :attr:`interactions`) with
    its length (at most ``max_history``)."""

    items: np.ndarray
    ends: np.ndarray
    lengths: np.ndarray
    user_rows: np.ndarray
    targets: np.ndarray
    example_age: np.ndarray
    seconds_since_last: np.ndarray
    width: int
    """Columns of :meth:`histories`: ``max_history``, or the longest history if shorter."""

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def interactions(self) -> np.ndarray:
        """The training row of each target (where its context is)."""
        return self.ends

    def histories(self, index: np.ndarray) -> np.ndarray:
        """Histories [len(index), width] int64 of the examples ``index``: the last codes before
        each target, oldest first, left-aligned and 0-padded (``ytrec_infer.features.pad_histories``
        of the same histories, the layout serving builds)."""
        lengths = self.lengths[index][:, None]
        column = np.arange(self.width)
        flat = self.ends[index][:, None] - lengths + column
        inside = column < lengths
        return np.where(inside, self.items[np.where(inside, flat, 0)], 0).astype(np.int64)

    def history_arrays(self, index: np.ndarray) -> list[np.ndarray]:
        """The same histories unpadded, one 1-D array each (what inference functions take)."""
        padded = self.histories(index)
        return [row[:n] for row, n in zip(padded, self.lengths[index], strict=True)]


def build_examples(data: EncodedData, positions: np.ndarray, max_history: int) -> NextItemExamples:
    """Examples at the given flat positions (each at least the second of its sequence)."""
    train = data.train
    positions = np.asarray(positions, dtype=np.int64)
    sequence = np.searchsorted(train.offsets, positions, side="right") - 1
    step = positions - train.offsets[sequence]
    if np.any(step < 1):
        raise ValueError("an example position must follow at least one interaction of its user")
    stamps = train.timestamps.values
    lengths = np.minimum(step, max_history)
    return NextItemExamples(
        items=train.items.values,
        ends=positions,
        lengths=lengths,
        user_rows=train.user_rows[sequence].astype(np.int64),
        targets=train.items.values[positions].astype(np.int64),
        example_age=((data.train_end - stamps[positions]) / SECONDS_PER_DAY).astype(np.float32),
        seconds_since_last=(stamps[positions] - stamps[positions - 1]).astype(np.float32),
        width=max(1, min(max_history, int(lengths.max(initial=0)))),
    )


def sample_positions(
    data: EncodedData,
    cap: int,
    rng: np.random.Generator,
    users: np.ndarray | None = None,
) -> np.ndarray:
    """Up to ``cap`` positions t >= 1 per user (flat, in sequence order), drawn uniformly
    without replacement; ``users`` (a mask over user rows) keeps only those users' positions."""
    train = data.train
    sequence = train.items.rows
    eligible = np.ones(len(sequence), dtype=bool)
    eligible[train.offsets[:-1]] = False  # position 0 has no history
    if users is not None:
        eligible &= users[train.user_rows[sequence]]
    candidates = np.flatnonzero(eligible)
    owner = sequence[candidates]
    counts = np.bincount(owner, minlength=len(train.user_rows))
    if counts.max(initial=0) <= cap:
        return candidates
    # Within each sequence, keep the positions holding the ``cap`` smallest random keys.
    keys = rng.random(len(candidates))
    order = np.lexsort((keys, owner))
    first = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(order)) - first[owner[order]]
    return np.sort(candidates[order[rank < cap]])


def last_positions(data: EncodedData, count: int) -> np.ndarray:
    """The last ``count`` positions t >= 1 of each user's sequence (closest to serving time)."""
    train = data.train
    sequence = train.items.rows
    step = np.arange(len(sequence)) - train.offsets[sequence]
    from_end = train.offsets[sequence + 1] - np.arange(len(sequence))
    return np.flatnonzero((step >= 1) & (from_end <= count))
