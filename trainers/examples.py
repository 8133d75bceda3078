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
from trainers.ragged import concatenated_ranges


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
    user_rows = train.user_rows[sequence].astype(np.int64)
    lengths = (positions - train.offsets[sequence]).astype(np.int32)
    del sequence  # the per-example temporaries are as large as the examples: keep few alive
    if np.any(lengths < 1):
        raise ValueError("an example position must follow at least one interaction of its user")
    np.minimum(lengths, max_history, out=lengths)
    stamps = train.timestamps.values
    when = stamps[positions]
    gaps = (when - stamps[positions - 1]).astype(np.float32)
    ages = ((data.train_end - when) / SECONDS_PER_DAY).astype(np.float32)
    del when
    return NextItemExamples(
        items=train.items.values,
        ends=positions,
        lengths=lengths,
        user_rows=user_rows,
        targets=train.items.values[positions].astype(np.int64),
        example_age=ages,
        seconds_since_last=gaps,
        width=max(1, min(max_history, int(lengths.max(initial=0)))),
    )


def sample_positions(
    data: EncodedData,
    cap: int,
    rng: np.random.Generator,
    users: np.ndarray | None = None,
) -> np.ndarray:
    """Up to ``cap`` positions t >= 1 per user (flat, in sequence order), drawn uniformly
    without replacement; ``users`` (a mask over user rows) keeps only those users' positions.

    Only the sequences longer than ``cap`` draw random keys (for their own positions), so the
    temporary arrays stay near the size of the result."""
    train = data.train
    counts = np.maximum(train.items.lengths - 1, 0)  # positions 1.. of each sequence
    if users is not None:
        counts = np.where(users[train.user_rows], counts, 0)
    heavy = counts > cap
    light = concatenated_ranges(train.offsets[:-1][~heavy] + 1, counts[~heavy])
    if not heavy.any():
        return light
    starts, sizes = train.offsets[:-1][heavy] + 1, counts[heavy]
    owner = np.repeat(np.arange(len(sizes)), sizes)
    # Within each long sequence keep the positions holding the ``cap`` smallest random keys.
    order = np.lexsort((rng.random(len(owner)), owner))
    rank = np.arange(len(order)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    chosen = order[rank < cap]
    drawn = starts[owner[chosen]] + (chosen - (np.cumsum(sizes) - sizes)[owner[chosen]])
    return np.sort(np.concatenate([light, drawn]))


def last_positions(data: EncodedData, count: int) -> np.ndarray:
    """The last ``count`` positions t >= 1 of each user's sequence (closest to serving time)."""
    offsets = data.train.offsets
    first = np.maximum(offsets[:-1] + 1, offsets[1:] - count)
    return concatenated_ranges(first, np.maximum(offsets[1:] - first, 0))
