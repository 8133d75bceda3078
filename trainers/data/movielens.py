"""Loading MovieLens-style datasets from a folder, in any of three layouts.

Layouts, auto-detected by :func:`load_dataset`:

* RecBole atomic files: ``<name>.inter``, ``<name>.item``, ``<name>.user``,
  tab separated with a ``name:type`` header row (columns found by name).
* GroupLens ml-100k original: ``u.data``, ``u.item``, ``u.user``.
* GroupLens ml-1m: ``ratings.dat``, ``movies.dat``, ``users.dat``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .errors import DataError
from .fields import (
    parse_age,
    parse_gender,
    parse_id,
    parse_rating,
    parse_timestamp,
    read_lines,
    split_title_year,
    year_at_end,
)
from .schema import Dataset, Interactions, ItemTable, UserTable
from .tables import (
    CANONICAL_GENRES,
    ItemRow,
    UserRow,
    build_item_table,
    build_user_table,
    check_coverage,
)

logger = logging.getLogger(__name__)

Tables = tuple[Interactions, ItemTable, UserTable]

GROUPLENS_100K_FILES = ("u.data", "u.item", "u.user")
ML_1M_FILES = ("ratings.dat", "movies.dat", "users.dat")
# Order of the 19 genre flags at the end of each u.item line: "unknown", then the canonical order.
GROUPLENS_100K_GENRES = ("unknown", *CANONICAL_GENRES)
# users.dat occupation codes 0..20.
ML_1M_OCCUPATIONS = (
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
)
_RECBOLE_YEAR = re.compile(r"\d{4}")


def _where(path: Path, line: int) -> str:
    return f"{path} line {line}"


def _require(folder: Path, names: tuple[str, ...], layout: str) -> tuple[Path, ...]:
    """The layout's files, or a DataError listing what is expected."""
    paths = tuple(folder / name for name in names)
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            f"{folder}: missing {', '.join(missing)}; the {layout} layout needs {', '.join(names)}"
        )
    return paths


def _interactions(rows: list[tuple[int, int, float, int]]) -> Interactions:
    if not rows:
        return Interactions(*(np.empty(0) for _ in range(4)))
    users, items, ratings, timestamps = zip(*rows, strict=False)
    return Interactions(
        user_ids=np.array(users, dtype=np.int64),
        item_ids=np.array(items, dtype=np.int64),
        ratings=np.array(ratings, dtype=np.float32),
        timestamps=np.array(timestamps, dtype=np.int64),
    )


def _split_fields(
    path: Path, encoding: str, sep: str, count: int
) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(where, fields)`` for each line, which must have exactly ``count`` fields."""
    for number, text in read_lines(path, encoding):
        fields = text.split(sep)
        if len(fields) != count:
            where = _where(path, number)
            raise DataError(
                f"{where}: expected {count} {sep!r}-separated fields, got {len(fields)}"
            )
        yield _where(path, number), fields


def _read_ratings(path: Path, encoding: str, sep: str) -> Interactions:
    """``user item rating timestamp`` lines (u.data, ratings.dat)."""
    return _interactions(
        [
            (
                parse_id(f[0], where, "user id"),
                parse_id(f[1], where, "item id"),
                parse_rating(f[2], where),
                parse_timestamp(f[3], where),
            )
            for where, f in _split_fields(path, encoding, sep, 4)
        ]
    )


# RecBole atomic files ---------------------------------------------------------------------


def _recbole_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield ``(where, {column: cell})`` for each data row, after checking the header."""
    lines = read_lines(path, "utf-8")
    try:
        _, header_text = next(lines)
    except StopIteration:
        raise DataError(f"{path}: file is empty; expected a name:type header row") from None
    header = [cell.split(":", 1)[0].strip() for cell in header_text.split("\t")]
    if len(set(header)) != len(header):
        raise DataError(f"{path} line 1: repeated column name in header {header}")
    absent = [name for name in required if name not in header]
    if absent:
        raise DataError(f"{path} line 1: no column {', '.join(absent)} in header {header}")
    for number, text in lines:
        cells = text.split("\t")
        if len(cells) != len(header):
            where = _where(path, number)
            raise DataError(
                f"{where}: expected {len(header)} tab-separated fields, got {len(cells)}"
            )
        yield _where(path, number), dict(zip(header, cells, strict=True))


def _recbole_year(text: str, title: str) -> float:
    """The release_year cell; when it is not a year, the "(1995)" ending of the title, else NaN."""
    text = text.strip()
    if _RECBOLE_YEAR.fullmatch(text):
        return float(text)
    return split_title_year(title)[1]


def _recbole_stem(folder: Path) -> str:
    """Which ``*.inter`` file to load: the one named after the folder, else the only one."""
    if (folder / f"{folder.name}.inter").is_file():
        return folder.name
    stems = sorted(p.stem for p in folder.glob("*.inter"))
    if len(stems) != 1:
        raise DataError(
            f"{folder}: found {', '.join(s + '.inter' for s in stems)}; "
            f"keep one, or name the one to use {folder.name}.inter"
        )
    return stems[0]


def _load_recbole(folder: Path) -> tuple[Tables, tuple[Path, Path, Path]]:
    stem = _recbole_stem(folder)
    names = (f"{stem}.inter", f"{stem}.item", f"{stem}.user")
    inter_path, item_path, user_path = _require(folder, names, "RecBole")
    interactions = _interactions(
        [
            (
                parse_id(row["user_id"], where, "user_id"),
                parse_id(row["item_id"], where, "item_id"),
                parse_rating(row["rating"], where),
                parse_timestamp(row["timestamp"], where),
            )
            for where, row in _recbole_rows(
                inter_path, ("user_id", "item_id", "rating", "timestamp")
            )
        ]
    )
    items = [
        ItemRow(
            item_id=parse_id(row["item_id"], where, "item_id"),
            title=row.get("movie_title", "").strip(),
            release_year=_recbole_year(row.get("release_year", ""), row.get("movie_title", "")),
            genres=tuple(row.get("class", "").split()),
        )
        for where, row in _recbole_rows(item_path, ("item_id",))
    ]
    users = [
        UserRow(
            user_id=parse_id(row["user_id"], where, "user_id"),
            age=parse_age(row.get("age", ""), where),
            gender=parse_gender(row.get("gender", ""), where),
            occupation=row.get("occupation", "").strip(),
            zip_code=row.get("zip_code", "").strip(),
        )
        for where, row in _recbole_rows(user_path, ("user_id",))
    ]
    tables = (interactions, build_item_table(items, item_path), build_user_table(users, user_path))
    return tables, (inter_path, item_path, user_path)


# GroupLens ml-100k ------------------------------------------------------------------------


def _grouplens_100k_item(where: str, f: list[str]) -> ItemRow:
    flags = f[5:]
    if any(flag not in ("0", "1") for flag in flags):
        raise DataError(f"{where}: genre flags must be 0 or 1, got {'|'.join(flags)}")
    title, title_year = split_title_year(f[1])
    year = year_at_end(f[2].strip())
    return ItemRow(
        item_id=parse_id(f[0], where, "movie id"),
        title=title,
        release_year=title_year if math.isnan(year) else year,
        genres=tuple(
            name for name, flag in zip(GROUPLENS_100K_GENRES, flags, strict=True) if flag == "1"
        ),
    )


def _load_grouplens_100k(folder: Path) -> tuple[Tables, tuple[Path, Path, Path]]:
    data_path, item_path, user_path = _require(folder, GROUPLENS_100K_FILES, "GroupLens ml-100k")
    interactions = _read_ratings(data_path, "latin-1", "\t")
    items = [
        _grouplens_100k_item(where, f)
        for where, f in _split_fields(item_path, "latin-1", "|", 5 + len(GROUPLENS_100K_GENRES))
    ]
    users = [
        UserRow(
            user_id=parse_id(f[0], where, "user id"),
            age=parse_age(f[1], where),
            gender=parse_gender(f[2], where),
            occupation=f[3].strip(),
            zip_code=f[4].strip(),
        )
        for where, f in _split_fields(user_path, "latin-1", "|", 5)
    ]
    tables = (interactions, build_item_table(items, item_path), build_user_table(users, user_path))
    return tables, (data_path, item_path, user_path)


# GroupLens ml-1m --------------------------------------------------------------------------


def _ml_1m_occupation(text: str, where: str) -> str:
    code = parse_id(text, where, "occupation code")
    if not 0 <= code < len(ML_1M_OCCUPATIONS):
        raise DataError(
            f"{where}: occupation code {code} is not in 0..{len(ML_1M_OCCUPATIONS) - 1}"
        )
    return ML_1M_OCCUPATIONS[code]


def _ml_1m_item(where: str, f: list[str]) -> ItemRow:
    title, year = split_title_year(f[1])
    return ItemRow(
        item_id=parse_id(f[0], where, "movie id"),
        title=title,
        release_year=year,
        genres=tuple(name for name in f[2].split("|") if name.strip()),
    )


def _load_ml_1m(folder: Path) -> tuple[Tables, tuple[Path, Path, Path]]:
    ratings_path, movies_path, users_path = _require(folder, ML_1M_FILES, "GroupLens ml-1m")
    interactions = _read_ratings(ratings_path, "latin-1", "::")
    items = [_ml_1m_item(where, f) for where, f in _split_fields(movies_path, "latin-1", "::", 3)]
    users = [
        UserRow(
            user_id=parse_id(f[0], where, "user id"),
            gender=parse_gender(f[1], where),
            age=parse_age(f[2], where),
            occupation=_ml_1m_occupation(f[3], where),
            zip_code=f[4].strip(),
        )
        for where, f in _split_fields(users_path, "latin-1", "::", 5)
    ]
    tables = (
        interactions,
        build_item_table(items, movies_path),
        build_user_table(users, users_path),
    )
    return tables, (ratings_path, movies_path, users_path)


# Entry point ------------------------------------------------------------------------------


def _detect(folder: Path) -> tuple[str, Callable[[Path], tuple[Tables, tuple[Path, Path, Path]]]]:
    if any(folder.glob("*.inter")):
        return "RecBole", _load_recbole
    if (folder / "u.data").is_file():
        return "GroupLens ml-100k", _load_grouplens_100k
    if (folder / "ratings.dat").is_file():
        return "GroupLens ml-1m", _load_ml_1m
    raise DataError(
        f"{folder}: no dataset found; expected RecBole files "
        "(<name>.inter, <name>.item, <name>.user), "
        f"GroupLens ml-100k files ({', '.join(GROUPLENS_100K_FILES)}) "
        f"or GroupLens ml-1m files ({', '.join(ML_1M_FILES)})"
    )


def load_dataset(path: str | Path) -> Dataset:
    """Load the dataset in folder ``path``, whichever supported layout it uses."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; pass the folder that holds the dataset files")
    layout, loader = _detect(folder)
    (interactions, items, users), files = loader(folder)
    check_coverage(interactions, items, users, files)
    logger.info(
        "loaded %s (%s layout): %d interactions, %d users, %d items, %d genres",
        folder.name,
        layout,
        len(interactions),
        len(users),
        len(items),
        len(items.genre_names),
    )
    return Dataset(name=folder.name, interactions=interactions, items=items, users=users)
