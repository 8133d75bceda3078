"""Declared features: what a schema file (or :class:`DeclaredSchema`) says about each feature.

Per feature its side (``user``, ``item``, or ``context``: an attribute of the request or
interaction, such as the device or the hour of day, read from a column of the log), its kind
(``categorical``, ``multi_categorical``, ``numeric``), the table column it comes from, the
numeric transform, the minimum count of a vocabulary value, and which networks see it
(docs/own-data.md). Every problem is a
:class:`~ytrec_infer.errors.SchemaError` naming the file, the feature and the problem. What
training learns from the data for each feature is :mod:`ytrec_infer.feature_schema`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ytrec_infer.errors import SchemaError

SIDES = ("user", "item", "context")
REQUEST_SIDES = ("user", "context")
"""Sides whose features a request carries (``user=`` and ``context=``); item features are in
the networks' item tables."""
KINDS = ("categorical", "multi_categorical", "numeric")
TRANSFORMS = ("powers", "log1p", "standardize")
NETWORKS = ("tower", "ranker")
DEFAULT_NETWORKS: Mapping[str, tuple[str, ...]] = {
    "user": NETWORKS,
    "context": NETWORKS,
    "item": ("ranker",),
}
BUILT_IN_FIELDS = ("seconds_since_last",)
"""Request fields every artifact accepts besides its declared features (a built-in context
feature, accepted in ``user=`` as before and in ``context=``)."""
UNKNOWN = 0
"""Code of a missing or never-seen categorical value; code 1 is the rare bucket when present."""
MAX_EMBEDDING_DIM = 16
FEATURE_KEYS = frozenset(
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
    (user and context features in both networks, item features in the ranker)."""

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
        if not set(self.networks) <= set(NETWORKS) or not self.networks:
            out.append(f"networks {list(self.networks)} must be a non-empty subset of {NETWORKS}")
        request_side = self.side in REQUEST_SIDES
        if request_side and self.kind == "numeric" and self.transform == "standardize":
            out.append(f"{self.side} numeric features take transform 'powers' or 'log1p'")
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
        unknown = sorted(set(data) - FEATURE_KEYS)
        name = data.get("name", "?")
        if unknown:
            raise SchemaError(
                f"feature {name!r}: unknown keys {unknown}; accepted: {sorted(FEATURE_KEYS)}"
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
    """The declared features, as written in a schema file (``{"user": [...], "item": [...],
    "context": [...]}``; each list optional)."""

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
            if spec.side in REQUEST_SIDES and spec.name in BUILT_IN_FIELDS:
                raise SchemaError(
                    f"{self.source}: feature {spec.name!r}: the name is a built-in request field"
                )
        user_names = {spec.name for spec in self.side("user")}
        for spec in self.side("context"):
            if spec.name in user_names:
                raise SchemaError(
                    f"{self.source}: feature {spec.name!r} is declared both as a user and as a "
                    "context feature; give one of them another name"
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
        """Build from ``{"user": [...], "item": [...], "context": [...]}``; errors name
        ``source``."""
        if not isinstance(data, Mapping):
            raise SchemaError(
                f"{source}: must be a JSON object with 'user', 'item' and 'context' lists"
            )
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
