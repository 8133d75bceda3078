"""Per-item attribute values from the artifact, and the ``where=`` filter that selects on them.

Export writes, per declared item feature, the raw value of every item (row = item code - 1)
as checksummed ``.npy`` files listed in the manifest's ``catalog.item_attributes``:
categorical features as int32 vocabulary codes [N] (0 = unknown, 1 = the rare bucket when
there is one, as :meth:`~ytrec_infer.feature_schema.LearnedFeature.code`), multi-categorical
ones as a CSR pair (``offsets`` int64 [N + 1], ``codes`` int32), numeric ones as float32 [N]
with NaN for a missing value. The vocabularies stay in the feature's manifest entry.

A filter is ``{"genres": ["Comedy", "Drama"], "release_year": {"min": 1990, "max": 1999}}``:
a categorical key keeps items with any of the values (multi-valued: any of theirs), a numeric
key keeps items inside the inclusive range (missing values never match), several keys
combine with AND. A value outside the vocabulary is a ValueError naming it (a typo would
otherwise silently return nothing).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.errors import ArtifactError
from ytrec_infer.feature_schema import LearnedFeature
from ytrec_infer.manifest import ATTRIBUTE_PARTS, AttributeFiles
from ytrec_infer.safe_load import read_npy

DTYPES = {"codes": "int32", "offsets": "int64", "values": "float32"}
RANGE_KEYS = ("min", "max")


@dataclass(frozen=True)
class AttributeColumn:
    """One attribute of every item: ``codes`` [N] (categorical), ``offsets`` [N + 1] and
    ``codes`` (multi-categorical, CSR), or ``values`` [N] (numeric, NaN = missing)."""

    kind: str
    codes: np.ndarray | None = None
    offsets: np.ndarray | None = None
    values: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays this kind is stored as, by their manifest key."""
        out = {"codes": self.codes, "offsets": self.offsets, "values": self.values}
        return {key: array for key in ATTRIBUTE_PARTS[self.kind] if (array := out[key]) is not None}


def file_name(position: int, part: str) -> str:
    """The artifact file of one array of the ``position``-th item feature (plain names only,
    whatever characters the feature's name holds)."""
    return f"item_attribute_{position:02d}_{part}.npy"


def _require_array(column: AttributeColumn, key: str) -> np.ndarray:
    array = column.arrays().get(key)
    assert array is not None, f"a {column.kind} attribute has {key}"
    return array


@dataclass(frozen=True)
class ItemAttributes:
    """The filterable item attributes of an artifact, by feature name."""

    num_items: int
    features: Mapping[str, LearnedFeature] = field(default_factory=dict)
    columns: Mapping[str, AttributeColumn] = field(default_factory=dict)
    _postings: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _postings_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def names(self) -> tuple[str, ...]:
        """The attributes ``where=`` accepts."""
        return tuple(self.columns)

    @classmethod
    def load(
        cls,
        entries: Mapping[str, AttributeFiles],
        features: Sequence[LearnedFeature],
        num_items: int,
        root: Path,
    ) -> ItemAttributes:
        """Read the attribute arrays listed in ``entries`` (the manifest's
        ``catalog.item_attributes``) with the safe ``.npy`` reader, checked against the item
        features of the schema and the catalog size; any mismatch is an ArtifactError."""
        by_name = {f.name: f for f in features}
        columns: dict[str, AttributeColumn] = {}
        for name, entry in entries.items():
            feature = by_name.get(name)
            if feature is None or entry.kind != feature.spec.kind:
                raise ArtifactError(
                    root / "manifest.json",
                    f"catalog.item_attributes.{name} does not match an item feature of its kind",
                )
            arrays = {
                key: read_npy(root / entry.files[key], DTYPES[key], 1)
                for key in ATTRIBUTE_PARTS[feature.spec.kind]
            }
            column = AttributeColumn(feature.spec.kind, **arrays)
            first = entry.files[ATTRIBUTE_PARTS[column.kind][0]]
            _check_column(column, feature, num_items, root / first)
            columns[name] = column
        return cls(num_items, {n: by_name[n] for n in columns}, columns)

    def mask(self, where: Mapping[str, Any]) -> np.ndarray:
        """Items [N] (bool, row = code - 1) passing every condition of ``where``."""
        if not isinstance(where, Mapping):
            raise TypeError(
                f"where must be a mapping of attribute to condition, got {type(where).__name__}"
            )
        keep = np.ones(self.num_items, dtype=bool)
        for name, condition in where.items():
            if name not in self.columns:
                raise ValueError(
                    f"where: unknown attribute {name!r}; filterable: {list(self.names)}"
                )
            keep &= self._condition(name, condition)
        return keep

    def codes(self, where: Mapping[str, Any]) -> np.ndarray:
        """Sorted item codes passing ``where`` (the allowed set it stands for)."""
        return np.flatnonzero(self.mask(where)).astype(np.int64) + 1

    def _condition(self, name: str, condition: Any) -> np.ndarray:
        column, feature = self.columns[name], self.features[name]
        if column.kind == "numeric":
            low, high = _range(name, condition)
            values = _require_array(column, "values")
            with np.errstate(invalid="ignore"):
                return (values >= low) & (values <= high)
        rows, bounds = self._posting(name)
        keep = np.zeros(self.num_items, dtype=bool)
        for value in _values(name, condition):
            code = _value_code(feature, value)
            keep[rows[bounds[code] : bounds[code + 1]]] = True
        return keep

    def _posting(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The posting lists of a categorical attribute, built on its first filter (most apps
        never filter, and a load should not pay ~0.9 s per 1M-item column for it)."""
        found = self._postings.get(name)
        if found is None:
            with self._postings_lock:
                found = self._postings.get(name)
                if found is None:
                    column, feature = self.columns[name], self.features[name]
                    found = _postings(column, feature.cardinality, self.num_items)
                    self._postings[name] = found
        return found


def _postings(
    column: AttributeColumn, cardinality: int, num_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """The item rows holding each code, grouped by code, and where each code's group starts
    (``bounds`` [cardinality + 1]): a filter then touches only the matching items (1M items of
    about two codes each, one value: 16 ms scanning every code, 3 ms this way, on a busy
    2-core VM). Built on an attribute's first filter: about 0.9 s for such a column."""
    codes = _require_array(column, "codes")
    if column.kind == "categorical":
        owners = np.arange(num_items, dtype=np.int64)
    else:
        lengths = np.diff(_require_array(column, "offsets"))
        owners = np.repeat(np.arange(num_items, dtype=np.int64), lengths)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(cardinality + 1), side="left")
    return owners[order], bounds


def _check_column(
    column: AttributeColumn, feature: LearnedFeature, num_items: int, path: Path
) -> None:
    """Shapes agree with the catalog, offsets are a CSR index, codes fit the vocabulary."""
    arrays = column.arrays()
    lengths = {"codes": num_items, "values": num_items, "offsets": num_items + 1}
    for key, array in arrays.items():
        if key == "codes" and column.kind == "multi_categorical":
            continue
        if len(array) != lengths[key]:
            raise ArtifactError(
                path, f"{feature.name} {key}: {len(array)} rows for {num_items} items"
            )
    if column.kind == "multi_categorical":
        offsets = arrays["offsets"]
        if offsets[0] != 0 or offsets[-1] != len(arrays["codes"]) or np.any(np.diff(offsets) < 0):
            raise ArtifactError(path, f"{feature.name} offsets are not a CSR index of its codes")
    if "codes" in arrays and len(arrays["codes"]):
        codes = arrays["codes"]
        if codes.min() < 0 or codes.max() >= feature.cardinality:
            raise ArtifactError(path, f"{feature.name} codes outside its vocabulary")


def _values(name: str, condition: Any) -> list[str]:
    """A categorical condition: one value or a list of values, all strings."""
    values = [condition] if isinstance(condition, str) else condition
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise TypeError(
            f"where[{name!r}] is categorical: give a value or a list of values (strings), "
            f"got {condition!r}"
        )
    return list(values)


def _value_code(feature: LearnedFeature, value: str) -> int:
    code = feature.code(value)
    offset = 1 + int(feature.rare_bucket)
    if code < offset:
        shown = list(feature.vocabulary[:20]) + (["..."] if len(feature.vocabulary) > 20 else [])
        raise ValueError(f"where[{feature.name!r}]: unknown value {value!r}; known: {shown}")
    return code


def _range(name: str, condition: Any) -> tuple[float, float]:
    """A numeric condition: ``{"min": a, "max": b}``, either bound optional, inclusive."""
    if not isinstance(condition, Mapping) or not set(condition) <= set(RANGE_KEYS) or not condition:
        raise TypeError(
            f"where[{name!r}] is numeric: give a range {{'min': a, 'max': b}} (either optional), "
            f"got {condition!r}"
        )
    bounds = []
    for key, default in zip(RANGE_KEYS, (-math.inf, math.inf)):
        bound = condition.get(key, default)
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or math.isnan(bound):
            raise TypeError(f"where[{name!r}][{key!r}] must be a number, got {bound!r}")
        bounds.append(float(bound))
    if bounds[0] > bounds[1]:
        raise ValueError(f"where[{name!r}]: min {bounds[0]} exceeds max {bounds[1]}")
    return bounds[0], bounds[1]
