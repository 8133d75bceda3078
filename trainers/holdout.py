"""The evaluation view of a split: for each user with a held-out item, what the model may see."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from trainers.encoding import EncodedData
from ytrec_infer.features import encode_user


@dataclass(frozen=True)
class HoldoutSet:
    """Users, their visible histories (codes, oldest first), held-out targets and time gaps."""

    user_rows: np.ndarray
    histories: tuple[np.ndarray, ...]
    targets: np.ndarray
    seconds_since_last: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def holdout_set(data: EncodedData, split: str) -> HoldoutSet:
    """``valid``: history = train; ``test``: history = train + the validation item."""
    if split not in ("valid", "test"):
        raise ValueError(f"split must be 'valid' or 'test', got {split!r}")
    rows, histories, targets, gaps = [], [], [], []
    for seq_index, user_row in enumerate(data.train.user_rows):
        items, stamps = data.train.items[seq_index], data.train.timestamps[seq_index]
        target, when = data.valid.items[user_row], data.valid.timestamps[user_row]
        if split == "test":
            if data.valid.items[user_row] > 0:
                items = np.append(items, data.valid.items[user_row])
                stamps = np.append(stamps, data.valid.timestamps[user_row])
            target, when = data.test.items[user_row], data.test.timestamps[user_row]
        if target <= 0 or len(items) == 0:
            continue
        rows.append(user_row)
        histories.append(items)
        targets.append(target)
        gaps.append(when - stamps[-1])
    return HoldoutSet(
        user_rows=np.asarray(rows, dtype=np.int64),
        histories=tuple(histories),
        targets=np.asarray(targets, dtype=np.int64),
        seconds_since_last=np.asarray(gaps, dtype=np.float32),
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
