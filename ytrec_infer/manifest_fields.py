"""Typed reads of manifest fields: each check names the field (``catalog.num_items``) in an
:class:`~ytrec_infer.errors.ArtifactError`, so a malformed manifest says what is wrong where."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ytrec_infer.errors import ArtifactError

MANIFEST = "manifest.json"


def require(data: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``data[key]`` if it is a ``kind``; otherwise an ArtifactError naming ``where + key``."""
    if not isinstance(data, Mapping) or key not in data:
        raise ArtifactError(MANIFEST, f"missing '{where}{key}'")
    value = data[key]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ArtifactError(MANIFEST, f"'{where}{key}' has the wrong type ({type(value).__name__})")
    return value


def optional(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str
) -> Any:
    """``data[key]`` checked as :func:`require` does, or None when it is absent or null."""
    return require(data, key, kind, where) if data.get(key) is not None else None


def number(data: Mapping[str, Any], key: str, where: str) -> float:
    """A finite int or float field, as a float."""
    value = float(require(data, key, (int, float), where))
    if not math.isfinite(value):
        raise ArtifactError(MANIFEST, f"'{where}{key}' must be finite")
    return value


def strings(data: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    """An object field whose values are all strings."""
    mapping = require(data, key, dict, where)
    for name, value in mapping.items():
        if not isinstance(value, str):
            raise ArtifactError(MANIFEST, f"'{where}{key}.{name}' must be a string")
    return dict(mapping)


def without_none(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` without its None values: optional fields are left out, not written as null."""
    return {key: value for key, value in out.items() if value is not None}
