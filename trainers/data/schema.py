"""Typed containers for a loaded recommendation dataset.

Arrays are coerced to fixed dtypes on construction so that every consumer
(splitting, id mapping, model input) can rely on them without re-checking.
Equality is identity (``eq=False``): element-wise array comparison has no
single truth value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _column(values: np.ndarray, dtype: type, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D array of ``dtype`` (no copy when it already is one)."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def _check_sorted_unique(ids: np.ndarray, name: str) -> None:
    """Lookups by ``np.searchsorted`` need strictly increasing ids."""
    if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise ValueError(f"{name} must be sorted ascending and unique")


@dataclass(frozen=True, eq=False)
class Interactions:
    """One row per interaction; row order is file order unless the producer says otherwise."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __post_init__(self) -> None:
        columns = {
            "user_ids": _column(self.user_ids, np.int64, "user_ids"),
            "item_ids": _column(self.item_ids, np.int64, "item_ids"),
            "ratings": _column(self.ratings, np.float32, "ratings"),
            "timestamps": _column(self.timestamps, np.int64, "timestamps"),
        }
        lengths = {name: len(array) for name, array in columns.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"Interactions columns differ in length: {lengths}")
        for name, array in columns.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.user_ids)

    def take(self, index: np.ndarray) -> Interactions:
        """Rows selected by an integer index or boolean mask, in the order given."""
        return Interactions(
            user_ids=self.user_ids[index],
            item_ids=self.item_ids[index],
            ratings=self.ratings[index],
            timestamps=self.timestamps[index],
        )


@dataclass(frozen=True, eq=False)
class ItemTable:
    """Item side features, one row per item id (ascending)."""

    item_ids: np.ndarray
    titles: tuple[str, ...]
    release_years: np.ndarray
    genres: np.ndarray
    genre_names: tuple[str, ...]

    def __post_init__(self) -> None:
        item_ids = _column(self.item_ids, np.int64, "item_ids")
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


@dataclass(frozen=True, eq=False)
class UserTable:
    """User side features, one row per user id (ascending)."""

    user_ids: np.ndarray
    ages: np.ndarray
    genders: tuple[str, ...]
    occupations: tuple[str, ...]
    zip_codes: tuple[str, ...]

    def __post_init__(self) -> None:
        user_ids = _column(self.user_ids, np.int64, "user_ids")
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
