"""The evaluation view of a split: for each user with a held-out item, what the model may see."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from trainers.data import Interactions
from trainers.encoding import EncodedData
from trainers.feature_encoding import ContextColumns, user_attributes
from trainers.ragged import Ragged
from ytrec_infer.features import encode_user


@dataclass(frozen=True)
class HoldoutSet:
    """Users, their visible histories (codes, oldest first), held-out targets and time gaps.

    ``interactions`` are the held-out interactions themselves (one per user, aligned) and
    ``context`` their context inputs: a request for a held-out item carries the context of
    that interaction (its hour, device, ...), as a served request does. Both None: requests
    without context (every context feature at its missing encoding)."""

    user_rows: np.ndarray
    histories: Ragged
    targets: np.ndarray
    seconds_since_last: np.ndarray
    interactions: Interactions | None = None
    context: ContextColumns | None = None

    def __len__(self) -> int:
        return len(self.targets)

    def select(self, keep: np.ndarray) -> HoldoutSet:
        """The users at positions ``keep``, in that order."""
        return HoldoutSet(
            user_rows=self.user_rows[keep],
            histories=self.histories.select(keep),
            targets=self.targets[keep],
            seconds_since_last=self.seconds_since_last[keep],
            interactions=None if self.interactions is None else self.interactions.take(keep),
            context=None if self.context is None else self.context.take(keep),
        )

    def context_values(self, data: EncodedData, i: int) -> dict[str, object] | None:
        """The raw context of the ``i``-th held-out interaction as a runtime ``context``
        mapping (None without context, or when the schema declares no context feature)."""
        if self.interactions is None or not data.schema.context:
            return None
        return user_attributes(data.schema.context, self.interactions, i)


def holdout_set(data: EncodedData, split: str) -> HoldoutSet:
    """``valid``: history = train; ``test``: history = train + the validation item. Each held-out
    interaction's context comes with it."""
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
    part_rows = held.rows[kept_rows]
    return HoldoutSet(
        user_rows=kept_rows.astype(np.int64),
        histories=histories.select(keep),
        targets=held.items[kept_rows].astype(np.int64),
        seconds_since_last=(held.timestamps[kept_rows] - last_seen[keep]).astype(np.float32),
        interactions=held.part.take(part_rows),
        context=held.context.take(part_rows),
    )


def without_context(holdout: HoldoutSet) -> HoldoutSet:
    """The same requests without their context (the user's features still there)."""
    return replace(holdout, interactions=None, context=None)


def without_user_features(data: EncodedData, holdout: HoldoutSet) -> tuple[EncodedData, HoldoutSet]:
    """The same users as a history-only request sees them: every user and context feature and
    the time since the last interaction at its "missing" encoding (``encode_user`` of
    nothing)."""
    missing = encode_user(None, data.schema)
    bare = replace(
        data,
        user_categorical=np.broadcast_to(missing.categorical, data.user_categorical.shape).copy(),
        user_numeric=np.broadcast_to(missing.numeric, data.user_numeric.shape).copy(),
    )
    gaps = np.full_like(holdout.seconds_since_last, missing.seconds_since_last)
    return bare, replace(without_context(holdout), seconds_since_last=gaps)
