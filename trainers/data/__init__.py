"""Data layer: load MovieLens-style datasets or your own interaction log, split, fetch."""

from .errors import DataError
from .fetch import fetch_movielens_100k, resolve_dataset
from .movielens import load_dataset
from .own_log import load_interaction_log
from .schema import Dataset, Interactions, ItemTable, Split, UserTable
from .source import open_dataset
from .split import split_leave_last_out

__all__ = [
    "DataError",
    "Dataset",
    "Interactions",
    "ItemTable",
    "Split",
    "UserTable",
    "fetch_movielens_100k",
    "load_dataset",
    "load_interaction_log",
    "open_dataset",
    "resolve_dataset",
    "split_leave_last_out",
]
