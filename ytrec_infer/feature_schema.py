"""The feature schema: which user and item attributes the networks see, and how each is encoded.

A schema is declared (a JSON file or :class:`DeclaredSchema`): per feature its side (``user``
or ``item``), kind (``categorical``, ``multi_categorical``, ``numeric``), the table column it
comes from and, for numeric features, the transform. Training learns each feature's
vocabulary or constants from the training split (:class:`LearnedFeature`) and records them,
with the built-in features' constants, as the manifest's ``features`` (:class:`FeatureSchema`).
The runtime encodes request attributes with exactly those records, so training and serving
cannot drift apart. Watch history, example age and the time since the last interaction are
built in and need no declaration.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ytrec_infer.errors import SchemaError

SIDES = ("user", "item")
KINDS = ("categorical", "multi_categorical", "numeric")
TRANSFORMS = ("powers", "log1p", "standardize")
NETWORKS = ("tower", "ranker")
DEFAULT_NETWORKS: Mapping[str, tuple[str, ...]] = {"user": NETWORKS, "item": ("ranker",)}
BUILT_IN_FIELDS = ("seconds_since_last",)
"""Request fields every artifact accepts besides its user features (a built-in context feature)."""
UNKNOWN = 0
"""Code of a missing or never-seen categorical value; code 1 is the rare bucket when present."""
MAX_EMBEDDING_DIM = 16
_KEYS = frozenset(
    {
        "name",
        "side",
        "kind",
        "column",
        "transform",
        "min_count",
        "networks",
        "embedding_dim",
        "separator",
        "prefix",
    }
)


def default_embedding_dim(cardinality: int) -> int:
    """A common rule of thumb (about 1.6 * n^0.56), between 2 and :data:`MAX_EMBEDDING_DIM`."""
    return max(2, min(MAX_EMBEDDING_DIM, int(round(1.6 * float(cardinality) ** 0.56))))


@dataclass(frozen=True)
class FeatureSpec:
    """One declared feature; ``column`` defaults to ``name``, ``networks`` to the side's default
    (user features in both networks, item features in the ranker)."""

    name: str
    side: str
    kind: str
    column: str = ""
    transform: str = "powers"
    min_count: int = 1
    networks: tuple[str, ...] = ()
    embedding_dim: int | None = None
    separator: str = "|"
    prefix: int | None = None

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.name)
        if not self.networks and self.side in DEFAULT_NETWORKS:
            object.__setattr__(self, "networks", DEFAULT_NETWORKS[self.side])
        object.__setattr__(self, "networks", tuple(self.networks))

    def problems(self) -> list[str]:
        """What is wrong with this declaration (empty when it is valid)."""
        out = []
        if not self.name or not isinstance(self.name, str):
            out.append("needs a non-empty 'name'")
        if self.side not in SIDES:
            out.append(f"side {self.side!r} is not one of {list(SIDES)}")
        if self.kind not in KINDS:
            out.append(f"kind {self.kind!r} is not one of {list(KINDS)}")
        if self.kind == "numeric" and self.transform not in TRANSFORMS:
            out.append(f"transform {self.transform!r} is not one of {list(TRANSFORMS)}")
        if self.kind == "multi_categorical" and self.side != "item":
            out.append("multi_categorical is supported for item features only")
        if not set(self.networks) <= set(NETWORKS) or not self.networks:
            out.append(f"networks {list(self.networks)} must be a non-empty subset of {NETWORKS}")
        if self.side == "user" and self.kind == "numeric" and self.transform == "standardize":
            out.append("user numeric features take transform 'powers' or 'log1p'")
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int):
            out.append("min_count must be an integer")
        elif self.min_count < 1:
            out.append("min_count must be >= 1")
        if self.embedding_dim is not None and (
            isinstance(self.embedding_dim, bool)
            or not isinstance(self.embedding_dim, int)
            or self.embedding_dim < 1
        ):
            out.append("embedding_dim must be a positive integer")
        if self.prefix is not None and (
            isinstance(self.prefix, bool) or not isinstance(self.prefix, int) or self.prefix < 1
        ):
            out.append("prefix must be a positive integer")
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "side": self.side,
            "kind": self.kind,
            "column": self.column,
            "networks": list(self.networks),
        }
        if self.kind == "numeric":
            out["transform"] = self.transform
        else:
            out["min_count"] = self.min_count
        if self.embedding_dim is not None:
            out["embedding_dim"] = self.embedding_dim
        if self.kind == "multi_categorical":
            out["separator"] = self.separator
        if self.prefix is not None:
            out["prefix"] = self.prefix
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], side: str | None = None) -> FeatureSpec:
        """Build from a JSON object (``side`` given by the enclosing list of a schema file);
        raises :class:`SchemaError` for unknown keys or wrong types."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"a feature must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - _KEYS)
        name = data.get("name", "?")
        if unknown:
            raise SchemaError(
                f"feature {name!r}: unknown keys {unknown}; accepted: {sorted(_KEYS)}"
            )
        networks = data.get("networks", ())
        if isinstance(networks, str) or not isinstance(networks, Sequence):
            raise SchemaError(f"feature {name!r}: networks must be a list of {list(NETWORKS)}")
        for key in ("name", "kind", "column", "transform", "separator"):
            if key in data and not isinstance(data[key], str):
                raise SchemaError(f"feature {name!r}: {key} must be a string")
        return cls(
            name=str(data.get("name", "")),
            side=str(data.get("side", side or "")),
            kind=str(data.get("kind", "")),
            column=str(data.get("column", "")),
            transform=str(data.get("transform", "powers")),
            min_count=data.get("min_count", 1),
            networks=tuple(str(n) for n in networks),
            embedding_dim=data.get("embedding_dim"),
            separator=str(data.get("separator", "|")),
            prefix=data.get("prefix"),
        )


@dataclass(frozen=True)
class DeclaredSchema:
    """The declared features, as written in a schema file (``{"user": [...], "item": [...]}``)."""

    features: tuple[FeatureSpec, ...]
    source: str = "<schema>"

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for spec in self.features:
            problems = spec.problems()
            if problems:
                raise SchemaError(f"{self.source}: feature {spec.name!r}: {'; '.join(problems)}")
            key = (spec.side, spec.name)
            if key in seen:
                raise SchemaError(f"{self.source}: feature {spec.name!r} is declared twice")
            seen.add(key)
            if spec.side == "user" and spec.name in BUILT_IN_FIELDS:
                raise SchemaError(
                    f"{self.source}: feature {spec.name!r}: the name is a built-in request field"
                )

    def side(self, side: str) -> tuple[FeatureSpec, ...]:
        return tuple(spec for spec in self.features if spec.side == side)

    def to_dict(self) -> dict[str, Any]:
        return {
            side: [{k: v for k, v in s.to_dict().items() if k != "side"} for s in self.side(side)]
            for side in SIDES
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "<schema>") -> DeclaredSchema:
        """Build from ``{"user": [...], "item": [...]}``; errors name ``source``."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"{source}: must be a JSON object with 'user' and 'item' lists")
        unknown = sorted(set(data) - set(SIDES))
        if unknown:
            raise SchemaError(f"{source}: unknown sections {unknown}; expected {list(SIDES)}")
        specs = []
        for side in SIDES:
            entries = data.get(side, [])
            if not isinstance(entries, list):
                raise SchemaError(f"{source}: '{side}' must be a list of features")
            for entry in entries:
                try:
                    specs.append(FeatureSpec.from_dict(entry, side))
                except SchemaError as exc:
                    raise SchemaError(f"{source}: {exc}") from None
        return cls(tuple(specs), source)

    @classmethod
    def from_file(cls, path: str | Path) -> DeclaredSchema:
        """Read a JSON schema file; every problem is a :class:`SchemaError` naming the file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SchemaError(f"{path}: cannot read the feature schema ({exc.strerror})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SchemaError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_dict(data, str(path))


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
            {k: v for k, v in data.items() if k in _KEYS}, str(data["side"])
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
    """The manifest's ``features``: learned user and item features and the built-in constants.

    ``user`` features become the networks' ``user_categorical`` columns (categorical ones, in
    order) and ``user_numeric`` columns (numeric ones); ``item`` features are baked into the
    networks' item tables at training time and recorded for information.
    """

    max_history: int
    user: tuple[LearnedFeature, ...]
    item: tuple[LearnedFeature, ...]
    example_age_scale_days: float
    gap_fill_seconds: float
    gap_scale: float

    categorical: tuple[LearnedFeature, ...] = field(init=False, repr=False, compare=False)
    numeric: tuple[LearnedFeature, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "categorical", tuple(f for f in self.user if f.spec.kind == "categorical")
        )
        object.__setattr__(self, "numeric", tuple(f for f in self.user if f.spec.kind == "numeric"))

    @property
    def fields(self) -> tuple[str, ...]:
        """The request fields ``user=`` accepts: the user features and the built-in ones."""
        return tuple(f.name for f in self.user) + BUILT_IN_FIELDS

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Embedding table sizes of the ``user_categorical`` columns, code 0 = unknown included;
        column 0 is the constant column (always 0), so no network ever sees zero columns."""
        return (1,) + tuple(f.cardinality for f in self.categorical)

    @property
    def input_widths(self) -> tuple[int, int]:
        """Columns of the networks' ``user_categorical`` and ``user_numeric`` inputs."""
        return 1 + len(self.categorical), 1 + len(self.numeric)

    @property
    def embedding_dims(self) -> tuple[int, ...]:
        return (1,) + tuple(f.embedding_dim for f in self.categorical)

    def columns(self, network: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The ``user_categorical`` and ``user_numeric`` columns that ``network`` sees (column
        0 of each is the constant one: code 0, value 0)."""
        return (
            (0,) + tuple(1 + i for i, f in enumerate(self.categorical) if network in f.spec.networks),
            (0,) + tuple(1 + i for i, f in enumerate(self.numeric) if network in f.spec.networks),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_history": self.max_history,
            "user": [f.to_dict() for f in self.user],
            "item": [f.to_dict() for f in self.item],
            "example_age": {"scale_days": self.example_age_scale_days, "serving_value": 0.0},
            "seconds_since_last": {"fill": self.gap_fill_seconds, "scale": self.gap_scale},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """Build from a manifest's ``features``; raises KeyError/TypeError/SchemaError on a
        malformed one."""
        user = tuple(LearnedFeature.from_dict({**f, "side": "user"}) for f in data["user"])
        item = tuple(LearnedFeature.from_dict({**f, "side": "item"}) for f in data["item"])
        names = [f.name for f in user]
        if len(set(names)) != len(names):
            raise SchemaError(f"user feature names repeat: {names}")
        return cls(
            max_history=int(data["max_history"]),
            user=user,
            item=item,
            example_age_scale_days=float(data["example_age"]["scale_days"]),
            gap_fill_seconds=float(data["seconds_since_last"]["fill"]),
            gap_scale=float(data["seconds_since_last"]["scale"]),
        )
