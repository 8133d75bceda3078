"""Typed containers for a loaded recommendation dataset.

Arrays are coerced to fixed dtypes on construction so that every consumer
(splitting, id mapping, model input) can rely on them without re-checking.
Equality is identity (``eq=False``): element-wise array comparison has no
single truth value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


def _column(values: np.ndarray, dtype: type, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D array of ``dtype`` (no copy when it already is one)."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def id_column(values: np.ndarray, name: str) -> np.ndarray:
    """Ids as a 1-D int64 array, or as a unicode string array when they are strings (string
    ids from an own log: video ids, SKUs, UUIDs)."""
    array = np.asarray(values)
    if array.dtype.kind in "US":
        array = array.astype(str, copy=False)  # a column of 10M string ids is 400 MB
        if array.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
        return array
    return _column(array, np.int64, name)


def _column_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _text_columns(columns: Mapping[str, tuple[str, ...]], rows: int, name: str) -> dict[str, tuple[str, ...]]:
    out = {str(key): tuple(str(v) for v in values) for key, values in columns.items()}
    for key, values in out.items():
        if len(values) != rows:
            raise ValueError(f"{name} column {key!r} has {len(values)} rows, the table {rows}")
    return out


def _check_sorted_unique(ids: np.ndarray, name: str) -> None:
    """Lookups by ``np.searchsorted`` need strictly increasing ids."""
    if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise ValueError(f"{name} must be sorted ascending and unique")


@dataclass(frozen=True, eq=False)
class Interactions:
    """One row per interaction; row order is file order unless the producer says otherwise.

    ``columns`` holds the log's other columns as text cells aligned with the rows (what a
    declared context feature reads); ``source`` names the log, for error messages."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        columns = {
            "user_ids": id_column(self.user_ids, "user_ids"),
            "item_ids": id_column(self.item_ids, "item_ids"),
            "ratings": _column(self.ratings, np.float32, "ratings"),
            "timestamps": _column(self.timestamps, np.int64, "timestamps"),
        }
        text = {str(k): np.asarray(v, dtype=str).reshape(-1) for k, v in self.columns.items()}
        lengths = {name: len(array) for name, array in (columns | text).items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"Interactions columns differ in length: {lengths}")
        for name, array in columns.items():
            object.__setattr__(self, name, array)
        object.__setattr__(self, "columns", text)

    def __len__(self) -> int:
        return len(self.user_ids)

    def column(self, name: str) -> np.ndarray | None:
        """The text cells of one of the log's other columns, or None when it has none."""
        return self.columns.get(name)

    def take(self, index: np.ndarray) -> Interactions:
        """Rows selected by an integer index or boolean mask, in the order given."""
        return Interactions(
            user_ids=self.user_ids[index],
            item_ids=self.item_ids[index],
            ratings=self.ratings[index],
            timestamps=self.timestamps[index],
            columns={name: cells[index] for name, cells in self.columns.items()},
            source=self.source,
        )


@dataclass(frozen=True, eq=False)
class ItemTable:
    """Item side features, one row per item id (ascending).

    ``columns`` holds the table's other columns as text cells (what a declared feature schema
    reads); ``source`` names the file, for error messages."""

    item_ids: np.ndarray
    titles: tuple[str, ...]
    release_years: np.ndarray
    genres: np.ndarray
    genre_names: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        item_ids = id_column(self.item_ids, "item_ids")
        object.__setattr__(self, "columns", _text_columns(self.columns, len(item_ids), "items"))
        years = _column(self.release_years, np.float32, "release_years")
        genres = np.asarray(self.genres, dtype=bool)
        _check_sorted_unique(item_ids, "item_ids")
        if genres.shape != (len(item_ids), len(self.genre_names)):
            expected = (len(item_ids), len(self.genre_names))
            raise ValueError(f"genres must have shape {expected}, got {genres.shape}")
        if len(self.titles) != len(item_ids) or len(years) != len(item_ids):
            raise ValueError("ItemTable columns differ in length")
        object.__setattr__(self, "item_ids", item_ids)
        object.__setattr__(self, "titles", tuple(self.titles))
        object.__setattr__(self, "release_years", years)
        object.__setattr__(self, "genres", genres)
        object.__setattr__(self, "genre_names", tuple(self.genre_names))

    def __len__(self) -> int:
        return len(self.item_ids)

    def column(self, name: str) -> tuple[str, ...] | None:
        """Text cells of a column (matched ignoring case and punctuation), None if absent;
        ``genres`` (``|``-separated) and ``release_year`` are always there."""
        key = _column_key(name)
        for column, values in self.columns.items():
            if _column_key(column) == key:
                return values
        if key in ("genres", "genre"):
            names = np.asarray(self.genre_names, dtype=object)
            return tuple("|".join(names[row].tolist()) for row in self.genres)
        if key in ("releaseyear", "year"):
            return tuple("" if np.isnan(y) else f"{y:g}" for y in self.release_years)
        return None


@dataclass(frozen=True, eq=False)
class UserTable:
    """User side features, one row per user id (ascending); ``columns`` and ``source`` as in
    :class:`ItemTable`."""

    user_ids: np.ndarray
    ages: np.ndarray
    genders: tuple[str, ...]
    occupations: tuple[str, ...]
    zip_codes: tuple[str, ...]
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        user_ids = id_column(self.user_ids, "user_ids")
        object.__setattr__(self, "columns", _text_columns(self.columns, len(user_ids), "users"))
        ages = _column(self.ages, np.float32, "ages")
        _check_sorted_unique(user_ids, "user_ids")
        lengths = {len(ages), len(self.genders), len(self.occupations), len(self.zip_codes)}
        if lengths != {len(user_ids)}:
            raise ValueError("UserTable columns differ in length")
        object.__setattr__(self, "user_ids", user_ids)
        object.__setattr__(self, "ages", ages)
        object.__setattr__(self, "genders", tuple(self.genders))
        object.__setattr__(self, "occupations", tuple(self.occupations))
        object.__setattr__(self, "zip_codes", tuple(self.zip_codes))

    def __len__(self) -> int:
        return len(self.user_ids)

    def column(self, name: str) -> tuple[str, ...] | None:
        """Text cells of a column, None if absent; ``age``, ``gender``, ``occupation`` and
        ``zip_code`` are always there (empty cells where unknown)."""
        key = _column_key(name)
        for column, values in self.columns.items():
            if _column_key(column) == key:
                return values
        typed = {
            "age": tuple("" if np.isnan(a) else f"{a:g}" for a in self.ages),
            "gender": self.genders,
            "occupation": self.occupations,
            "zipcode": self.zip_codes,
        }
        return typed.get(key)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: interactions plus the side tables that cover all their ids."""

    name: str
    interactions: Interactions
    items: ItemTable
    users: UserTable


@dataclass(frozen=True, eq=False)
class Split:
    """Train/validation/test parts of one set of interactions."""

    train: Interactions
    valid: Interactions
    test: Interactions
