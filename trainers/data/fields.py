"""Reading data files line by line and parsing their cells.

Every parser takes ``where`` ("<file> line <n>") so that a bad cell is
reported as a DataError the user can find and fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import DataError

_YEAR_AT_END = re.compile(r"(\d{4})\s*$")
_TITLE_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")


def read_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each non-blank line, without its line ending."""
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip("\r\n")
                if text.strip():
                    yield number, text
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: cannot decode as {encoding} ({exc.reason}); is it the right file?"
        ) from exc


def parse_id(text: str, where: str, column: str) -> int:
    """An integer id; ids are kept as the raw integers found in the file."""
    try:
        return int(text)
    except ValueError:
        raise DataError(f"{where}: {column} {text!r} is not an integer id") from None


def parse_finite(text: str, what: str, where: str) -> float:
    """A finite number; ``what`` names the field in the error."""
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {what} {text!r} is not finite")
    return value


def parse_rating(text: str, where: str) -> float:
    """A finite rating value."""
    return parse_finite(text, "rating", where)


def parse_timestamp(text: str, where: str) -> int:
    """Unix seconds; a float spelling such as ``881250949.0`` is accepted when integral."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: timestamp {text!r} is not a number") from None
    if not math.isfinite(value) or not value.is_integer():
        raise DataError(f"{where}: timestamp {text!r} is not a whole number of seconds")
    return int(value)


def parse_age(text: str, where: str) -> float:
    """Age in years; empty means unknown (NaN)."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: age {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise DataError(f"{where}: age {text!r} is not a valid age in years")
    return value


def parse_gender(text: str, where: str) -> str:
    """``"M"``, ``"F"`` or ``""`` for unknown."""
    gender = text.strip().upper()
    if gender not in ("M", "F", ""):
        raise DataError(f"{where}: gender {text!r} is not M, F or empty")
    return gender


def year_at_end(text: str) -> float:
    """The four-digit year ending ``text`` ("1995", "01-Jan-1995"), NaN when there is none."""
    match = _YEAR_AT_END.search(text)
    return float(match.group(1)) if match else math.nan


def split_title_year(title: str) -> tuple[str, float]:
    """Split "Toy Story (1995)" into ("Toy Story", 1995.0); NaN when no trailing year."""
    match = _TITLE_YEAR.search(title)
    if match is None:
        return title.strip(), math.nan
    return title[: match.start()].strip(), float(match.group(1))
