"""One entry point for every kind of ``--data``: a dataset name, a dataset folder, or a log file."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .fetch import resolve_dataset
from .movielens import load_dataset
from .own_log import is_table_file, load_interaction_log
from .schema import Dataset


def open_dataset(
    spec: str | Path, items: str | Path | None = None, users: str | Path | None = None
) -> Dataset:
    """Load ``spec``: an interaction log file (with optional ``items``/``users`` tables), a
    dataset folder (RecBole or GroupLens layout) or a fetched dataset name.

    >>> open_dataset("movielens-100k")  # doctest: +SKIP
    >>> open_dataset("log.csv", items="items.csv", users="users.csv")  # doctest: +SKIP
    """
    if is_table_file(spec):
        return load_interaction_log(spec, items=items, users=users)
    if items is not None or users is not None:
        raise DataError(
            f"{spec}: item and user tables go with an interaction log file (CSV or Parquet); "
            "a dataset folder or name brings its own"
        )
    return load_dataset(resolve_dataset(str(spec)))
