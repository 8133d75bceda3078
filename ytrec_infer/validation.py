"""Argument checks for the public entry points: clear TypeError/ValueError, nothing half-applied."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

MAX_LIST_LENGTH = 100_000


def item_id_array(
    value: Any, name: str, maximum: int = MAX_LIST_LENGTH, strings: bool = False
) -> np.ndarray:
    """A 1-D array of item ids from a list, tuple, range or numpy array: int64 ids, or (for a
    catalog of string ids, ``strings=True``) unicode ids; at most ``maximum`` of them.

    Ids of the other kind, floats and booleans are refused rather than guessed at: an id of
    ``"50"`` in an integer catalog or ``50.0`` is almost always a bug upstream, and silently
    converting it would hide it. Sets and mappings are refused too: they have no order, and a
    history is oldest first.
    """
    kind = "string" if strings else "integer"
    if isinstance(value, (str, bytes, Mapping, AbstractSet)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a sequence of {kind} item ids, got {type(value).__name__}")
    if isinstance(value, np.ndarray) and value.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {value.shape}")
    if len(value) > maximum:
        raise ValueError(f"{name} has {len(value)} ids; at most {maximum} are accepted")
    if strings:
        return _string_ids(value, name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer ids, got dtype {value.dtype}")
        if value.dtype.kind == "u" and value.size and value.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} holds ids beyond the int64 range")
        return value.astype(np.int64, copy=False)
    items = list(value)
    if set(map(type, items)) <= {int}:
        try:
            return np.array(items, dtype=np.int64).reshape(-1)
        except OverflowError:
            pass  # the loop below names the id outside the int64 range
    for position, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"{name}[{position}] = {item!r} is not an integer item id ({type(item).__name__})"
            )
        if not -(2**63) <= int(item) < 2**63:
            raise ValueError(f"{name}[{position}] = {item} is outside the int64 range")
    return np.asarray(items, dtype=np.int64).reshape(-1)


def _string_ids(value: Any, name: str) -> np.ndarray:
    """Unicode ids of a string-id catalog; anything but strings is a TypeError naming it."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "U":
            raise TypeError(f"{name} must hold string ids (this catalog's ids are strings), "
                            f"got dtype {value.dtype}")
        return value
    items = list(value)
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(
                f"{name}[{position}] = {item!r} is not a string item id ({type(item).__name__}); "
                "this catalog's ids are strings"
            )
    return np.array(items, dtype=str).reshape(-1)


def positive_int(value: Any, name: str, maximum: int | None = None) -> int:
    """An int >= 1 (and <= maximum when given); booleans and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    number = int(value)
    if number < 1:
        raise ValueError(f"{name} must be >= 1, got {number}")
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {number}")
    return number


def flag(value: Any, name: str) -> bool:
    """A real bool (so ``exclude_history="no"`` is not silently truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)
