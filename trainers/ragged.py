"""Rows of varying length held as one flat array and row offsets (CSR), not a list of arrays.

Per-user sequences are stored this way so that a million interactions cost three flat arrays
instead of tens of thousands of small numpy objects, and whole-log work (gathers, diffs,
per-row counts) stays vectorised; indexing a row still gives that row as an array (a view).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np


@dataclass(frozen=True)
class Ragged(Sequence[np.ndarray]):
    """Row ``i`` is ``values[offsets[i]:offsets[i + 1]]``; ``offsets`` has one entry per row
    plus a final one equal to ``len(values)``."""

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, row: int | np.integer) -> np.ndarray: ...

    @overload
    def __getitem__(self, row: slice) -> list[np.ndarray]: ...

    def __getitem__(self, row: int | np.integer | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        index = int(row)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"row {row} out of range for {len(self)} rows")
        return self.values[self.offsets[index] : self.offsets[index + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self[i] for i in range(len(self)))

    @property
    def lengths(self) -> np.ndarray:
        """Length of each row."""
        return np.diff(self.offsets)

    @property
    def rows(self) -> np.ndarray:
        """The row of each value (``len(values)`` entries)."""
        return np.repeat(np.arange(len(self)), self.lengths)

    @property
    def last(self) -> np.ndarray:
        """The last value of each row (rows must be non-empty)."""
        last: np.ndarray = self.values[self.offsets[1:] - 1]
        return last

    def select(self, rows: np.ndarray) -> Ragged:
        """The given rows, in that order, as a Ragged (this one when that is every row)."""
        if len(rows) == len(self) and np.array_equal(rows, np.arange(len(self))):
            return self
        lengths = self.lengths[rows]
        offsets = _offsets(lengths)
        source = np.repeat(self.offsets[:-1][rows] - offsets[:-1], lengths)
        source += np.arange(offsets[-1])
        return Ragged(self.values[source], offsets)

    def extended(self, tail: np.ndarray, present: np.ndarray) -> Ragged:
        """Each row ``i`` followed by ``tail[i]`` where ``present[i]``, as a new Ragged."""
        values = np.insert(self.values, self.offsets[1:][present], tail[present])
        return Ragged(values, _offsets(self.lengths + present))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    offsets: np.ndarray = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return offsets


def run_offsets(keys: np.ndarray) -> np.ndarray:
    """CSR offsets of the runs of equal values in ``keys`` (already grouped, e.g. sorted)."""
    if len(keys) == 0:
        return np.zeros(1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    offsets: np.ndarray = np.r_[starts, len(keys)].astype(np.int64)
    return offsets


def concatenated_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``arange(starts[i], starts[i] + counts[i])`` for every ``i``, concatenated (int64)."""
    counts = np.asarray(counts, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - counts), counts)
    shift += np.arange(len(shift), dtype=np.int64)
    return shift
