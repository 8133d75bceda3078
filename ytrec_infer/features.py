"""Request attributes -> network inputs, with the vocabularies and constants of the manifest.

A request's ``user`` mapping may hold any subset of the artifact's user features (its
:attr:`~ytrec_infer.feature_schema.FeatureSchema.fields`), its ``context`` mapping any subset
of the context features (``context_fields``); a missing one is encoded exactly as
training's feature dropout encodes it (unknown code 0, the numeric fill value), so a
history-only request is one the networks were trained for. Training encodes its tables with
the same :class:`~ytrec_infer.feature_schema.LearnedFeature` methods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ytrec_infer.feature_schema import FeatureSchema, LearnedFeature

MAX_SECONDS_SINCE_LAST = 1e10
"""Upper bound of ``seconds_since_last`` (over 300 years): beyond it the ranker's powers overflow."""
MAX_NORMALISED = 1e4
"""A numeric feature's normalised value (about 1 for the training maximum) must stay below this:
the networks square it, and float32 overflows soon after 1e19."""


@dataclass(frozen=True)
class UserInputs:
    """One request's network inputs: categorical codes [1 + C], normalised numbers [1 + N] (each
    led by the constant column, see ``FeatureSchema.cardinalities``), the time gap."""

    categorical: np.ndarray
    numeric: np.ndarray
    seconds_since_last: float


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{key} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, got {value!r}")
    return number


def _numeric(feature: LearnedFeature, value: Any, key: str) -> float:
    if value is None:
        return feature.normalise(None)
    normalised = feature.normalise(_number(value, key))
    if not abs(normalised) < MAX_NORMALISED:
        limit = MAX_NORMALISED * feature.scale + feature.center
        raise ValueError(
            f"{key} = {value!r} is far outside what training saw "
            f"(normalised {normalised:.3g}; keep it below about {limit:.3g})"
        )
    return normalised


def _category(feature: LearnedFeature, value: Any, key: str) -> int:
    if value is None:
        return feature.code("")
    if not isinstance(value, str):
        raise TypeError(
            f"{key} must be a string (a categorical feature), got {type(value).__name__}"
        )
    return feature.code(value)


def _multi_hot(feature: LearnedFeature, value: Any, key: str) -> list[float]:
    """A multi-categorical value (a list of strings; None: missing) as its multi-hot block."""
    block = [0.0] * feature.width
    if value is None:
        return block
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{key} must be a list of strings (a multi-categorical feature), "
            f"got {type(value).__name__}"
        )
    for part in value:
        if not isinstance(part, str):
            raise TypeError(f"{key} must be a list of strings, got a {type(part).__name__} in it")
        code = feature.code(part)
        if code:
            block[code - 1] = 1.0
    return block


def _numbers(feature: LearnedFeature, value: Any, key: str) -> list[float]:
    """The ``user_numeric`` columns of a numeric or multi-categorical feature."""
    if feature.spec.kind == "multi_categorical":
        return _multi_hot(feature, value, key)
    return [_numeric(feature, value, key)]


def _gap(user: Mapping[str, Any], context: Mapping[str, Any], schema: FeatureSchema) -> float:
    field = "seconds_since_last"
    if user.get(field) is not None and context.get(field) is not None:
        raise ValueError(f"{field} is given in both user= and context=; give it once")
    where = "context" if context.get(field) is not None else "user"
    value = (context if where == "context" else user).get(field)
    if value is None:
        return schema.gap_fill_seconds
    number = _number(value, f"{where}[{field!r}]")
    if not 0 <= number <= MAX_SECONDS_SINCE_LAST:
        raise ValueError(
            f"{where}[{field!r}] must be a finite number from 0 to "
            f"{MAX_SECONDS_SINCE_LAST:g}, got {value!r}"
        )
    return number


def _fields(
    values: Mapping[str, Any] | None, name: str, accepted: tuple[str, ...]
) -> Mapping[str, Any]:
    """``values`` (None: empty) checked to be a mapping of ``accepted`` fields."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(
            f"{name} must be a mapping of {', '.join(accepted)}; got {type(values).__name__}"
        )
    unknown = sorted(str(key) for key in set(values) - set(accepted))
    if unknown:
        raise ValueError(f"unknown {name} fields {unknown}; accepted: {list(accepted)}")
    return values


def encode_user(
    user: Mapping[str, Any] | None,
    schema: FeatureSchema,
    context: Mapping[str, Any] | None = None,
) -> UserInputs:
    """Validate a request's user and context mappings (any subsets of ``schema.fields`` and
    ``schema.context_fields``) and encode them.

    An unknown field is a ValueError listing the accepted ones; a value of the wrong type a
    TypeError naming the field; a missing field (or None) takes its "missing" encoding.
    """
    given = {
        "user": _fields(user, "user", schema.fields),
        "context": _fields(context, "context", schema.context_fields),
    }

    def value(feature: LearnedFeature) -> tuple[Any, str]:
        side = "context" if feature.spec.side == "context" else "user"
        return given[side].get(feature.name), f"{side}[{feature.name!r}]"

    return UserInputs(
        categorical=np.array(
            [0] + [_category(f, *value(f)) for f in schema.categorical], dtype=np.int64
        ),
        numeric=np.array(
            [0.0] + [x for f in schema.numeric for x in _numbers(f, *value(f))], dtype=np.float32
        ),
        seconds_since_last=_gap(given["user"], given["context"], schema),
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
