"""User-feature encoding shared by training and serving, so the two cannot drift apart.

Both networks take raw numbers (age in years, example age in days, seconds since the last
interaction) and small categorical codes; the normalisation (x, x**2, sqrt(x) of scaled
values) happens inside the networks with the constants recorded here. This module only turns
a user's attributes into those codes, with the vocabularies learned from the training data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

USER_FIELDS = ("age", "gender", "occupation", "zip_code", "seconds_since_last")
CATEGORICAL_COLUMNS = ("gender", "occupation", "zip_region")
UNKNOWN = 0
ZIP_REGIONS = 10


def zip_region(zip_code: str) -> int:
    """First digit of a US zip code (its national area) as 1..10; anything else is unknown (0)."""
    head = zip_code.strip()[:1]
    return int(head) + 1 if head.isascii() and head.isdigit() else UNKNOWN


@dataclass(frozen=True)
class FeatureSchema:
    """Vocabularies and normalisation constants, recorded in the manifest's ``features``."""

    max_history: int
    genders: tuple[str, ...]
    occupations: tuple[str, ...]
    age_fill: float
    age_scale: float
    example_age_scale_days: float
    gap_fill_seconds: float
    gap_scale: float
    genre_names: tuple[str, ...] = field(default=())

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Embedding table sizes of the categorical columns, code 0 = unknown included."""
        return (len(self.genders) + 1, len(self.occupations) + 1, ZIP_REGIONS + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_history": self.max_history,
            "categorical_columns": list(CATEGORICAL_COLUMNS),
            "cardinalities": list(self.cardinalities),
            "genders": list(self.genders),
            "occupations": list(self.occupations),
            "age": {"fill": self.age_fill, "scale": self.age_scale},
            "example_age": {"scale_days": self.example_age_scale_days, "serving_value": 0.0},
            "seconds_since_last": {"fill": self.gap_fill_seconds, "scale": self.gap_scale},
            "genre_names": list(self.genre_names),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """Build from a manifest's ``features``; raises KeyError/TypeError on a malformed one."""
        return cls(
            max_history=int(data["max_history"]),
            genders=tuple(str(g) for g in data["genders"]),
            occupations=tuple(str(o) for o in data["occupations"]),
            age_fill=float(data["age"]["fill"]),
            age_scale=float(data["age"]["scale"]),
            example_age_scale_days=float(data["example_age"]["scale_days"]),
            gap_fill_seconds=float(data["seconds_since_last"]["fill"]),
            gap_scale=float(data["seconds_since_last"]["scale"]),
            genre_names=tuple(str(g) for g in data.get("genre_names", ())),
        )

    def encode_categorical(
        self, gender: str, occupation: str, zip_code: str
    ) -> tuple[int, int, int]:
        """Codes of one user's categorical attributes; unseen values map to 0 (unknown)."""
        g = self.genders.index(gender) + 1 if gender in self.genders else UNKNOWN
        o = self.occupations.index(occupation) + 1 if occupation in self.occupations else UNKNOWN
        return g, o, zip_region(zip_code)


@dataclass(frozen=True)
class UserInputs:
    """One user's network inputs: categorical codes and raw numeric features."""

    categorical: np.ndarray
    age: float
    seconds_since_last: float


# Upper bounds of the numeric user fields: beyond them the networks' x**2 features overflow
# float32 (age 1e30 gives NaN scores), and no real user is older or away longer.
MAXIMUM = {"age": 150.0, "seconds_since_last": 1e10}


def _number(user: Mapping[str, Any], key: str, fill: float) -> float:
    value = user.get(key)
    if value is None:
        return fill
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"user[{key!r}] must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number) or not 0 <= number <= MAXIMUM[key]:
        raise ValueError(
            f"user[{key!r}] must be a finite number from 0 to {MAXIMUM[key]:g}, got {value!r}"
        )
    return number


def _text(user: Mapping[str, Any], key: str) -> str:
    value = user.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"user[{key!r}] must be a string, got {type(value).__name__}")
    return value


def encode_user(user: Mapping[str, Any] | None, schema: FeatureSchema) -> UserInputs:
    """Validate a user mapping (any subset of :data:`USER_FIELDS`) and encode it.

    Missing fields take the training-set fill values, so a request without user data is
    still answered with the model's average user.
    """
    if user is None:
        user = {}
    if not isinstance(user, Mapping):
        raise TypeError(
            f"user must be a mapping of {', '.join(USER_FIELDS)}; got {type(user).__name__}"
        )
    unknown = sorted(set(user) - set(USER_FIELDS))
    if unknown:
        raise ValueError(f"unknown user fields {unknown}; expected any of {list(USER_FIELDS)}")
    codes = schema.encode_categorical(
        _text(user, "gender"), _text(user, "occupation"), _text(user, "zip_code")
    )
    return UserInputs(
        categorical=np.asarray(codes, dtype=np.int64),
        age=_number(user, "age", schema.age_fill),
        seconds_since_last=_number(user, "seconds_since_last", schema.gap_fill_seconds),
    )


def pad_histories(histories: Sequence[np.ndarray], max_history: int) -> np.ndarray:
    """[B, L] int64 holding the last ``max_history`` codes of each history, left-aligned, 0-padded.

    Training and serving both build the networks' ``history`` input with this function, so
    truncation and padding are identical on both sides.
    """
    length = max(1, min(max_history, max((len(h) for h in histories), default=1)))
    out = np.zeros((len(histories), length), dtype=np.int64)
    for row, history in enumerate(histories):
        tail = history[len(history) - min(len(history), max_history) :]
        out[row, : len(tail)] = tail
    return out
