"""The learned feature schema: the manifest's ``features``, and how a value becomes an input.

Training learns each declared feature's vocabulary or constants from the training split
(:class:`LearnedFeature`) and records them, with the built-in features' constants, as the
manifest's ``features`` (:class:`FeatureSchema`). The runtime encodes request attributes with
exactly those records, so training and serving cannot drift apart. Watch history, example age
and the time since the last interaction are built in and need no declaration
(:mod:`ytrec_infer.feature_declarations` describes the declarations).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ytrec_infer.errors import SchemaError
from ytrec_infer.feature_declarations import (
    FEATURE_KEYS,
    BUILT_IN_FIELDS,
    UNKNOWN,
    FeatureSpec,
    default_embedding_dim,
)


@dataclass(frozen=True)
class LearnedFeature:
    """A declared feature plus what training learned: its vocabulary (codes 1.. after the
    optional rare bucket) or its numeric constants (``fill`` for a missing value; the value is
    normalised as ``(transform(x) - center) / scale``)."""

    spec: FeatureSpec
    vocabulary: tuple[str, ...] = ()
    rare_bucket: bool = False
    fill: float = 0.0
    center: float = 0.0
    scale: float = 1.0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def cardinality(self) -> int:
        """Embedding rows of a categorical feature: unknown, the rare bucket, the vocabulary."""
        return 1 + int(self.rare_bucket) + len(self.vocabulary)

    @property
    def embedding_dim(self) -> int:
        return self.spec.embedding_dim or default_embedding_dim(self.cardinality)

    @property
    def width(self) -> int:
        """Columns in the item feature table (multi-hot for categories, one for a number)."""
        return 1 if self.spec.kind == "numeric" else len(self.vocabulary) + int(self.rare_bucket)

    def key(self, value: str) -> str:
        """The vocabulary key of a raw categorical value (its prefix when declared)."""
        value = value.strip()
        return value[: self.spec.prefix] if self.spec.prefix else value

    def code(self, value: str) -> int:
        """Code of a categorical value: 0 when empty or never seen, the rare bucket for a
        value folded away by ``min_count``."""
        key = self.key(value)
        if not key:
            return UNKNOWN
        index = _position(self.vocabulary, key)
        if index >= 0:
            return 1 + int(self.rare_bucket) + index
        return 1 if self.rare_bucket else UNKNOWN

    def normalise(self, value: float | None) -> float:
        """The network input of a numeric value; None (missing) gives the fill value's."""
        x = self.fill if value is None else value
        if self.spec.transform == "log1p":
            x = math.log1p(max(x, 0.0))
        return (x - self.center) / self.scale

    def to_dict(self) -> dict[str, Any]:
        out = self.spec.to_dict()
        if self.spec.kind == "numeric":
            out |= {"fill": self.fill, "center": self.center, "scale": self.scale}
        else:
            out |= {"vocabulary": list(self.vocabulary), "rare_bucket": self.rare_bucket}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LearnedFeature:
        """Build from a manifest entry; raises KeyError/TypeError/SchemaError if malformed."""
        spec = FeatureSpec.from_dict(
            {k: v for k, v in data.items() if k in FEATURE_KEYS}, str(data["side"])
        )
        problems = spec.problems()
        if problems:
            raise SchemaError(f"feature {spec.name!r}: {'; '.join(problems)}")
        if spec.kind == "numeric":
            scale = float(data["scale"])
            if not math.isfinite(scale) or scale <= 0:
                raise SchemaError(f"feature {spec.name!r}: scale must be positive")
            return cls(spec, fill=float(data["fill"]), center=float(data["center"]), scale=scale)
        vocabulary = data["vocabulary"]
        if not isinstance(vocabulary, list) or not all(isinstance(v, str) for v in vocabulary):
            raise TypeError(f"feature {spec.name!r}: vocabulary must be a list of strings")
        if vocabulary != sorted(set(vocabulary)):
            raise SchemaError(f"feature {spec.name!r}: vocabulary must be sorted and unique")
        return cls(spec, vocabulary=tuple(vocabulary), rare_bucket=bool(data["rare_bucket"]))


def _position(vocabulary: tuple[str, ...], key: str) -> int:
    """Index of ``key`` in a sorted vocabulary, -1 if absent (binary search)."""
    lo, hi = 0, len(vocabulary)
    while lo < hi:
        mid = (lo + hi) // 2
        if vocabulary[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(vocabulary) and vocabulary[lo] == key else -1


@dataclass(frozen=True)
class FeatureSchema:
    """The manifest's ``features``: learned user, item and context features and the built-in
    constants.

    ``user`` and then ``context`` features become the networks' ``user_categorical`` columns
    (categorical ones, in order, one code each) and ``user_numeric`` columns (numeric ones, one
    value each; multi-categorical ones, a multi-hot block of :attr:`LearnedFeature.width`);
    ``item`` features are baked into the networks' item tables at training time and recorded
    for information.
    """

    max_history: int
    user: tuple[LearnedFeature, ...]
    item: tuple[LearnedFeature, ...]
    example_age_scale_days: float
    gap_fill_seconds: float
    gap_scale: float
    context: tuple[LearnedFeature, ...] = ()

    categorical: tuple[LearnedFeature, ...] = field(init=False, repr=False, compare=False)
    numeric: tuple[LearnedFeature, ...] = field(init=False, repr=False, compare=False)
    """The request features fed through ``user_numeric``: numeric and multi-categorical."""

    def __post_init__(self) -> None:
        request = self.user + self.context
        object.__setattr__(
            self, "categorical", tuple(f for f in request if f.spec.kind == "categorical")
        )
        numeric = tuple(f for f in request if f.spec.kind != "categorical")
        object.__setattr__(self, "numeric", numeric)

    @property
    def fields(self) -> tuple[str, ...]:
        """The request fields ``user=`` accepts: the user features and the built-in ones."""
        return tuple(f.name for f in self.user) + BUILT_IN_FIELDS

    @property
    def context_fields(self) -> tuple[str, ...]:
        """The request fields ``context=`` accepts: the context features and the built-in ones."""
        return tuple(f.name for f in self.context) + BUILT_IN_FIELDS

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Embedding table sizes of the ``user_categorical`` columns, code 0 = unknown included;
        column 0 is the constant column (always 0), so no network ever sees zero columns."""
        return (1,) + tuple(f.cardinality for f in self.categorical)

    @property
    def input_widths(self) -> tuple[int, int]:
        """Columns of the networks' ``user_categorical`` and ``user_numeric`` inputs."""
        return 1 + len(self.categorical), 1 + sum(f.width for f in self.numeric)

    @property
    def embedding_dims(self) -> tuple[int, ...]:
        return (1,) + tuple(f.embedding_dim for f in self.categorical)

    def columns(self, network: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The ``user_categorical`` and ``user_numeric`` columns that ``network`` sees (column
        0 of each is the constant one: code 0, value 0)."""
        numeric, start = [0], 1
        for feature in self.numeric:
            if network in feature.spec.networks:
                numeric += range(start, start + feature.width)
            start += feature.width
        return (
            (0,) + tuple(1 + i for i, f in enumerate(self.categorical) if network in f.spec.networks),
            tuple(numeric),
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``features``; ``context`` (format 2.1) only when there are some, so a
        schema without context features reads as 2.0 did."""
        out: dict[str, Any] = {
            "max_history": self.max_history,
            "user": [f.to_dict() for f in self.user],
            "item": [f.to_dict() for f in self.item],
            "example_age": {"scale_days": self.example_age_scale_days, "serving_value": 0.0},
            "seconds_since_last": {"fill": self.gap_fill_seconds, "scale": self.gap_scale},
        }
        if self.context:
            out["context"] = [f.to_dict() for f in self.context]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """Build from a manifest's ``features``; raises KeyError/TypeError/SchemaError on a
        malformed one."""
        user = tuple(LearnedFeature.from_dict({**f, "side": "user"}) for f in data["user"])
        item = tuple(LearnedFeature.from_dict({**f, "side": "item"}) for f in data["item"])
        context = tuple(
            LearnedFeature.from_dict({**f, "side": "context"}) for f in data.get("context", [])
        )
        for side, features in (("user", user), ("context", context)):
            names = [f.name for f in features]
            if len(set(names)) != len(names):
                raise SchemaError(f"{side} feature names repeat: {names}")
        return cls(
            max_history=int(data["max_history"]),
            user=user,
            item=item,
            example_age_scale_days=float(data["example_age"]["scale_days"]),
            gap_fill_seconds=float(data["seconds_since_last"]["fill"]),
            gap_scale=float(data["seconds_since_last"]["scale"]),
            context=context,
        )
