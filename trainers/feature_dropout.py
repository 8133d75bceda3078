"""Feature dropout: train both networks for requests that carry no (or only some) user features.

Every MovieLens user has demographics, so without dropout the "unknown" codes and fill values
that the runtime sends for a history-only request never occur in training, and the ranker
turns the generator's good list into a worse one. During training each user and context
feature of each example is independently replaced, with probability ``rate``, by exactly what
the runtime sends when that field is missing from a request (``encode_user`` of an empty
mapping: categorical code 0, a numeric feature's fill value, the median time gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.features import encode_user

SEED_OFFSET = 7919
"""Dropout masks come from their own generator (seed + this), so a rate of 0 draws nothing and
leaves every other random stream, and so the results, exactly as without dropout."""


@dataclass(frozen=True)
class DroppedUser:
    """A batch's user inputs after dropout: codes [B, 1 + C], numbers [B, 1 + N], gaps [B]."""

    categorical: np.ndarray
    numeric: np.ndarray
    seconds_since_last: np.ndarray


class FeatureDropout:
    """Replaces each user/context feature of an example by its missing value with probability
    ``rate`` (a fresh draw per batch, so one example is seen with and without its features)."""

    def __init__(self, rate: float, schema: FeatureSchema, seed: int) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"feature dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.missing = encode_user(None, schema)
        self.rng = np.random.default_rng(seed + SEED_OFFSET)

    def _drop(self, values: np.ndarray, missing: np.ndarray | float) -> np.ndarray:
        """``values`` with each entry replaced by ``missing`` with probability ``rate`` (the
        constant column 0 of a [B, W] input is 0 either way)."""
        kept = self.rng.random(values.shape) >= self.rate
        return np.where(kept, values, missing).astype(values.dtype)

    def apply(
        self,
        categorical: np.ndarray,
        numeric: np.ndarray,
        seconds_since_last: np.ndarray | None = None,
        absent: np.ndarray | None = None,
    ) -> DroppedUser:
        """Copies of the inputs with dropped features set to their missing encoding; rows where
        ``absent`` [B] is true lose every feature (a history-only request)."""
        gaps = (
            np.full(len(categorical), self.missing.seconds_since_last, dtype=np.float32)
            if seconds_since_last is None
            else seconds_since_last
        )
        if self.rate > 0.0:
            categorical = self._drop(categorical, self.missing.categorical)
            numeric = self._drop(numeric, self.missing.numeric)
            gaps = self._drop(gaps, self.missing.seconds_since_last)
        if absent is not None and absent.any():
            categorical = np.where(absent[:, None], self.missing.categorical, categorical)
            numeric = np.where(absent[:, None], self.missing.numeric, numeric).astype(numeric.dtype)
            gaps = np.where(absent, self.missing.seconds_since_last, gaps).astype(gaps.dtype)
        return DroppedUser(categorical, numeric, gaps)
