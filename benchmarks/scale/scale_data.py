"""A log written by ``benchmarks/scale/generator.py``, read and encoded for training."""

from __future__ import annotations

from pathlib import Path

from trainers.encoding import EncodedData
from trainers.pipeline import prepare_data


def is_scale_log(folder: Path) -> bool:
    """Whether ``folder`` holds a generator's log with its tables and feature schema."""
    return (folder / "log.parquet").exists() and (folder / "features.json").exists()


def prepare_scale_log(folder: Path, max_history: int) -> EncodedData:
    """The log in ``folder`` with its item and user tables and its schema, encoded."""
    return prepare_data(
        folder / "log.parquet",
        max_history,
        folder / "items.csv",
        folder / "users.csv",
        folder / "features.json",
    )
