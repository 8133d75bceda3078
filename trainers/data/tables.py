"""Assembling parsed rows into the schema tables and checking they fit together.

Loaders for every layout funnel through here, so genre spelling, id
ordering, duplicate ids and id coverage are handled the same way for all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import DataError
from .schema import Interactions, ItemTable, UserTable, id_column

logger = logging.getLogger(__name__)

CANONICAL_GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
# "unknown" is MovieLens' placeholder for "no genre", not a genre of its own.
_NO_GENRE_KEYS = frozenset({"", "unknown", "nogenreslisted"})


class ItemRow(NamedTuple):
    """One parsed item line; ``genres`` as spelled in the file."""

    item_id: int | str
    title: str
    release_year: float
    genres: tuple[str, ...]


class UserRow(NamedTuple):
    """One parsed user line."""

    user_id: int | str
    age: float
    gender: str
    occupation: str
    zip_code: str


def _genre_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_CANONICAL_BY_KEY = {_genre_key(name): name for name in CANONICAL_GENRES}


def normalise_genre(name: str) -> str | None:
    """The RecBole spelling of a genre ("Childrens" -> "Children's"); None for "no genre"."""
    key = _genre_key(name)
    if key in _NO_GENRE_KEYS:
        return None
    return _CANONICAL_BY_KEY.get(key, name.strip())


def _order_by_id(ids: Sequence[int | str], source: Path, kind: str) -> np.ndarray:
    """Indices that sort rows by id (integers, or strings); a repeated id is a DataError."""
    id_array = id_column(np.asarray(ids) if len(ids) else np.zeros(0, np.int64), f"{kind} ids")
    order = np.argsort(id_array, kind="stable")
    sorted_ids = id_array[order]
    repeated = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
    if repeated.size:
        raise DataError(f"{source}: {kind} id {repeated[0].item()!r} appears more than once")
    return order


def _ordered_columns(
    columns: Mapping[str, Sequence[str]] | None, order: np.ndarray
) -> dict[str, tuple[str, ...]]:
    return {name: tuple(cells[i] for i in order) for name, cells in (columns or {}).items()}


def build_item_table(
    rows: Sequence[ItemRow], source: Path, columns: Mapping[str, Sequence[str]] | None = None
) -> ItemTable:
    """An ItemTable sorted by id, with genres normalised and ``genre_names`` sorted;
    ``columns`` (text cells aligned with ``rows``) become its feature columns."""
    order = _order_by_id([row.item_id for row in rows], source, "item")
    ordered = [rows[i] for i in order]
    per_item = [
        {g for g in (normalise_genre(name) for name in row.genres) if g is not None}
        for row in ordered
    ]
    genre_names = tuple(sorted(set().union(*per_item)))
    column = {name: j for j, name in enumerate(genre_names)}
    genres = np.zeros((len(ordered), len(genre_names)), dtype=bool)
    for i, names in enumerate(per_item):
        genres[i, [column[name] for name in names]] = True
    return ItemTable(
        item_ids=np.array([row.item_id for row in ordered]).reshape(-1),
        titles=tuple(row.title for row in ordered),
        release_years=np.array([row.release_year for row in ordered], dtype=np.float32),
        genres=genres,
        genre_names=genre_names,
        columns=_ordered_columns(columns, order),
        source=str(source),
    )


def build_user_table(
    rows: Sequence[UserRow], source: Path, columns: Mapping[str, Sequence[str]] | None = None
) -> UserTable:
    """A UserTable sorted by id; ``columns`` as in :func:`build_item_table`."""
    order = _order_by_id([row.user_id for row in rows], source, "user")
    ordered = [rows[i] for i in order]
    return UserTable(
        user_ids=np.array([row.user_id for row in ordered]).reshape(-1),
        ages=np.array([row.age for row in ordered], dtype=np.float32),
        genders=tuple(row.gender for row in ordered),
        occupations=tuple(row.occupation for row in ordered),
        zip_codes=tuple(row.zip_code for row in ordered),
        columns=_ordered_columns(columns, order),
        source=str(source),
    )


def table_rows(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row of each of ``ids`` in a sorted table of distinct ids, and whether it is there
    at all (its row is then meaningless): two binary searches, never a copy of the ids (10M
    string ids gathered or uniqued cost 400 MB each)."""
    rows = np.searchsorted(sorted_ids, ids, side="left")
    return rows, np.searchsorted(sorted_ids, ids, side="right") > rows


def check_coverage(
    interactions: Interactions,
    items: ItemTable,
    users: UserTable,
    files: tuple[Path, Path, Path],
) -> None:
    """Every interaction's item and user must have a row in the side tables."""
    inter_file, item_file, user_file = files
    for kind, ids, known, table_file in (
        ("item", interactions.item_ids, items.item_ids, item_file),
        ("user", interactions.user_ids, users.user_ids, user_file),
    ):
        absent = ~table_rows(known, ids)[1]
        if absent.any():
            missing = np.unique(ids[absent])
            rows = int(absent.sum())
            raise DataError(
                f"{inter_file}: {kind} id {missing[0].item()!r} is not in {table_file} "
                f"({missing.size} {kind} ids missing, {rows} interactions affected)"
            )
    logger.debug("ids covered: %d items, %d users", len(items), len(users))
