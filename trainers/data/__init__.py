"""Data layer: load MovieLens-style datasets, split them, and fetch them into a verified cache."""

from .errors import DataError
from .fetch import fetch_movielens_100k, resolve_dataset
from .movielens import load_dataset
from .schema import Dataset, Interactions, ItemTable, Split, UserTable
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
    "resolve_dataset",
    "split_leave_last_out",
]
