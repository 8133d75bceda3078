"""Your own interaction log as a dataset: user, item, timestamp[, rating] plus optional tables.

The log is a CSV or Parquet table with one row per interaction. Item and user feature tables
are optional: without an item table every item gets the title ``"item <id>"``, no genres and no
release year (one constant placeholder genre column keeps the networks' shapes non-empty);
without a user table every user's demographics are unknown. The models then
learn from the interaction sequences alone. Ids are integers or strings, as in the log (video
ids, SKUs, UUIDs): they become the catalog ids that ``Recommender.recommend`` takes and returns.
When every item id (and every user id) of the log and its table is an integer written plainly,
the ids are integers; otherwise all of them are strings.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .columnar import (
    CellProblem,
    id_array,
    ratings_array,
    read_columns_whole,
    release_unused_memory,
    text_cells,
    timestamps_array,
)
from .errors import DataError
from .fields import (
    parse_age,
    parse_finite,
    parse_gender,
    parse_rating,
    parse_timestamp,
)
from .schema import Dataset, Interactions, ItemTable, UserTable
from .tables import ItemRow, UserRow, build_item_table, build_user_table, check_coverage
from .tabular import column_key, read_columns, read_table

logger = logging.getLogger(__name__)

USER_COLUMNS = ("user", "user_id", "userId", "uid")
ITEM_COLUMNS = (
    "item",
    "item_id",
    "itemId",
    "movieId",
    "movie_id",
    "iid",
    "video_id",
    "product_id",
    "sku",
)
TIME_COLUMNS = ("timestamp", "time", "ts", "datetime", "date")
RATING_COLUMNS = ("rating", "weight", "score")
TITLE_COLUMNS = ("title", "name", "movie_title")
YEAR_COLUMNS = ("year", "release_year")
GENRE_COLUMNS = ("genres", "genre", "class", "categories", "category")
DEFAULT_RATING = 1.0
NO_GENRE = "(no genre)"


def _timestamp(text: str, where: str) -> int:
    """Unix seconds, or an ISO 8601 date/time (naive ones are taken as UTC)."""
    try:
        return parse_timestamp(text, where)
    except DataError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise DataError(
                f"{where}: timestamp {text!r} is neither Unix seconds nor an ISO 8601 date/time"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _year(text: str, where: str) -> float:
    return math.nan if not text else parse_finite(text, "year", where)


def _raw_id(text: str, where: str, column: str) -> str:
    """An id cell as written; empty is a DataError."""
    if not text:
        raise DataError(f"{where}: empty {column}")
    return text


def _is_plain_int(text: str) -> bool:
    """"12" and "-3" are integer ids; "007", "+4" and "1e3" are strings."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit() and (digits == "0" or digits[0] != "0") and (
        len(digits) < 19
    )


def id_values(*columns: list[str]) -> list[np.ndarray]:
    """Each column of id cells as int64 when every cell of every column is a plain integer,
    else as unicode strings (the same kind for all, so a log and its table agree)."""
    if all(_is_plain_int(cell) for column in columns for cell in column):
        return [np.array([int(c) for c in column], dtype=np.int64) for column in columns]
    return [np.array(column, dtype=str).reshape(-1) for column in columns]


def same_kind(log_ids: np.ndarray, table_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both id arrays as int64 when both are, else both as strings."""
    if log_ids.dtype.kind == "i" and table_ids.dtype.kind == "i":
        return log_ids, table_ids
    return log_ids.astype(str, copy=False), table_ids.astype(str, copy=False)


def _interaction_fields() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    required = {"user": USER_COLUMNS, "item": ITEM_COLUMNS, "timestamp": TIME_COLUMNS}
    return required, {"rating": RATING_COLUMNS}


def read_interactions_by_row(path: Path) -> Interactions:
    """The log row by row through :func:`read_table`: slow, but it names the line of any bad
    cell; used when the columnar reader found a problem."""
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    times: list[int] = []
    for where, row in read_table(path, *_interaction_fields()):
        users.append(_raw_id(row["user"], where, "user id"))
        items.append(_raw_id(row["item"], where, "item id"))
        rating = row.get("rating", "")
        ratings.append(parse_rating(rating, where) if rating else DEFAULT_RATING)
        times.append(_timestamp(row["timestamp"], where))
    user_ids, item_ids = id_values(users)[0], id_values(items)[0]
    stamps = np.array(times, dtype=np.int64)
    return Interactions(
        user_ids, item_ids, np.array(ratings), stamps, context_columns(path), str(path)
    )


def _read_interactions_whole(path: Path) -> Interactions:
    """The log through the columnar reader (:mod:`.columnar`); its pyarrow columns are freed
    when this returns."""
    columns, others = read_columns_whole(path, *_interaction_fields())
    users = id_array(columns["user"])
    return Interactions(
        user_ids=users,
        item_ids=id_array(columns["item"]),
        ratings=ratings_array(columns.get("rating"), len(users), DEFAULT_RATING),
        timestamps=timestamps_array(columns["timestamp"], lambda text: _timestamp(text, str(path))),
        columns={name: text_cells(column) for name, column in others.items()},
        source=str(path),
    )


def read_interactions(path: Path) -> Interactions:
    """The log's rows in file order, read column-wise (:mod:`.columnar`); ids are int64 when
    every one is a plain integer, else strings; a missing or empty rating cell counts as 1.

    A cell the vectorised checks reject sends the file through the row-wise reader, which
    raises the DataError naming its line (or reads a file pyarrow could not take as is)."""
    try:
        interactions = _read_interactions_whole(path)
    except CellProblem as problem:
        logger.warning("%s: %s; reading it row by row", path, problem)
        interactions = read_interactions_by_row(path)
    release_unused_memory()  # once pyarrow's columns are gone (10M rows: 310 MiB more)
    if not len(interactions):
        raise DataError(f"{path}: no interactions; expected a header row and at least one row")
    return interactions


def context_columns(path: Path) -> dict[str, np.ndarray]:
    """The log's columns besides user, item, timestamp and rating, as text cells in file order
    (what declared context features read: the device or hour of each interaction), read row
    by row (the columnar reader returns them as :func:`.columnar.text_cells`)."""
    known = {column_key(a) for a in USER_COLUMNS + ITEM_COLUMNS + TIME_COLUMNS + RATING_COLUMNS}
    return {
        name: np.array(cells, dtype=str)
        for name, cells in read_columns(path).items()
        if column_key(name) not in known
    }


def read_items(path: Path) -> list[ItemRow]:
    """Item rows: id, and optionally title, year and ``|``-separated genres."""
    optional = {"title": TITLE_COLUMNS, "year": YEAR_COLUMNS, "genres": GENRE_COLUMNS}
    return [
        ItemRow(
            item_id=_raw_id(row["item"], where, "item id"),
            title=row.get("title", ""),
            release_year=_year(row.get("year", ""), where),
            genres=tuple(g for g in row.get("genres", "").split("|") if g.strip()),
        )
        for where, row in read_table(path, {"item": ITEM_COLUMNS}, optional)
    ]


def read_users(path: Path) -> list[UserRow]:
    """User rows: id, and optionally age, gender (M/F), occupation and zip code."""
    optional = {
        "age": ("age",),
        "gender": ("gender", "sex"),
        "occupation": ("occupation", "job"),
        "zip_code": ("zip_code", "zip", "postcode", "postal_code"),
    }
    return [
        UserRow(
            user_id=_raw_id(row["user"], where, "user id"),
            age=parse_age(row.get("age", ""), where),
            gender=parse_gender(row.get("gender", ""), where),
            occupation=row.get("occupation", ""),
            zip_code=row.get("zip_code", ""),
        )
        for where, row in read_table(path, {"user": USER_COLUMNS}, optional)
    ]


def _at_least_one_genre(items: ItemTable) -> ItemTable:
    """Give a genre-less catalog one all-false genre column.

    The networks take genre flags as a [items, genres] matrix; with zero genres the exported
    ranker multiplies empty matrices, which onnxruntime before 1.24 (the newest for Python
    3.10) rejects ("MatMul dimension mismatch"). A constant column changes nothing learned.
    """
    if items.genre_names:
        return items
    return ItemTable(
        item_ids=items.item_ids,
        titles=items.titles,
        release_years=items.release_years,
        genres=np.zeros((len(items), 1), dtype=bool),
        genre_names=(NO_GENRE,),
        columns=items.columns,
        source=items.source,
    )


def placeholder_items(item_ids: np.ndarray, source: Path) -> ItemTable:
    """Items of a log without an item table: title ``"item <id>"``, no year, no genres."""
    return ItemTable(
        item_ids=item_ids,
        titles=tuple(f"item {i}" for i in item_ids.tolist()),
        release_years=np.full(len(item_ids), np.nan, dtype=np.float32),
        genres=np.zeros((len(item_ids), 0), dtype=bool),
        genre_names=(),
        source=str(source),
    )


def unknown_users(user_ids: np.ndarray, source: Path) -> UserTable:
    """Users of a log without a user table: every demographic unknown."""
    empty = ("",) * len(user_ids)
    return UserTable(
        user_ids=user_ids,
        ages=np.full(len(user_ids), np.nan, dtype=np.float32),
        genders=empty,
        occupations=empty,
        zip_codes=empty,
        source=str(source),
    )


def load_interaction_log(
    log: str | Path, items: str | Path | None = None, users: str | Path | None = None
) -> Dataset:
    """Load an interaction log (CSV/Parquet) and optional item and user tables as a Dataset.

    Every item and user in the log must have a row in the tables that are given; rows for ids
    that never occur in the log are kept (they can still be recommended, never as history).

    >>> ds = load_interaction_log("log.csv", items="items.csv")  # doctest: +SKIP
    >>> len(ds.interactions), len(ds.items)  # doctest: +SKIP
    (1000, 120)
    """
    log_path = Path(log).expanduser()
    interactions = read_interactions(log_path)
    item_columns: dict[str, tuple[str, ...]] = {}
    user_columns: dict[str, tuple[str, ...]] = {}
    if items is not None:
        item_path = Path(items).expanduser()
        item_rows = read_items(item_path)
        item_columns = read_columns(item_path)
        log_items, table_items = same_kind(
            interactions.item_ids, id_values([str(r.item_id) for r in item_rows])[0]
        )
        item_rows = [r._replace(item_id=i) for r, i in zip(item_rows, table_items.tolist())]
        item_table = build_item_table(item_rows, item_path, item_columns)
    else:
        item_path = log_path
        log_items = interactions.item_ids
        item_table = placeholder_items(np.unique(log_items), log_path)
    if users is not None:
        user_path = Path(users).expanduser()
        user_rows = read_users(user_path)
        user_columns = read_columns(user_path)
        log_users, table_users = same_kind(
            interactions.user_ids, id_values([str(r.user_id) for r in user_rows])[0]
        )
        user_rows = [r._replace(user_id=u) for r, u in zip(user_rows, table_users.tolist())]
        user_table = build_user_table(user_rows, user_path, user_columns)
    else:
        user_path = log_path
        log_users = interactions.user_ids
        user_table = unknown_users(np.unique(log_users), log_path)
    interactions = Interactions(
        log_users,
        log_items,
        interactions.ratings,
        interactions.timestamps,
        interactions.columns,
        interactions.source,
    )
    item_table = _at_least_one_genre(item_table)
    check_coverage(interactions, item_table, user_table, (log_path, item_path, user_path))
    release_unused_memory()  # what reading the tables and checking ids left in the pool
    logger.info(
        "loaded %s: %d interactions, %d users, %d items, %d genres",
        log_path.name,
        len(interactions),
        len(user_table),
        len(item_table),
        len(item_table.genre_names),
    )
    return Dataset(
        name=log_path.stem, interactions=interactions, items=item_table, users=user_table
    )


def is_table_file(path: str | Path) -> bool:
    """Whether ``path`` names an existing file (a log), rather than a folder or dataset name."""
    return Path(path).expanduser().is_file()
