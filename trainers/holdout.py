"""The evaluation view of a split: for each user with a held-out item, what the model may see."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from trainers.encoding import EncodedData
from trainers.ragged import Ragged
from ytrec_infer.features import encode_user


@dataclass(frozen=True)
class HoldoutSet:
    """Users, their visible histories (codes, oldest first), held-out targets and time gaps."""

    user_rows: np.ndarray
    histories: Ragged
    targets: np.ndarray
    seconds_since_last: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def holdout_set(data: EncodedData, split: str) -> HoldoutSet:
    """``valid``: history = train; ``test``: history = train + the validation item."""
    if split not in ("valid", "test"):
        raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
    rows = data.train.user_rows
    histories, last_seen = data.train.items, data.train.timestamps.last
    held = data.valid
    if split == "test":
        seen = data.valid.items[rows] > 0
        histories = histories.extended(data.valid.items[rows], seen)
        last_seen = np.where(seen, data.valid.timestamps[rows], last_seen)
        held = data.test
    keep = np.flatnonzero((held.items[rows] > 0) & (histories.lengths > 0))
    kept_rows = rows[keep]
    return HoldoutSet(
        user_rows=kept_rows.astype(np.int64),
        histories=histories.select(keep),
        targets=held.items[kept_rows].astype(np.int64),
        seconds_since_last=(held.timestamps[kept_rows] - last_seen[keep]).astype(np.float32),
    )


def without_user_features(data: EncodedData, holdout: HoldoutSet) -> tuple[EncodedData, HoldoutSet]:
    """The same users as a history-only request sees them: every user feature and the time
    since the last interaction at its "missing" encoding (``encode_user`` of nothing)."""
    missing = encode_user(None, data.schema)
    bare = replace(
        data,
        user_categorical=np.broadcast_to(missing.categorical, data.user_categorical.shape).copy(),
        user_numeric=np.broadcast_to(missing.numeric, data.user_numeric.shape).copy(),
    )
    gaps = np.full_like(holdout.seconds_since_last, missing.seconds_since_last)
    return bare, replace(holdout, seconds_since_last=gaps)
