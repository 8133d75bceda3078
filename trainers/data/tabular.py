"""Reading a CSV or Parquet table into rows of text cells, with column names matched loosely.

Own interaction logs arrive as CSV (header row, comma separated) or Parquet (read with pyarrow,
else pandas, when one is installed). Every cell becomes text so that the same parsers, and the
same "<file> row <n>: ..." errors, serve both formats. Item and user tables are read this way;
an interaction log is read column-wise (:mod:`.columnar`) and comes here only to name the line
of a problem the columnar reader found.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from .errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES


def column_key(name: str) -> str:
    """A spelling-insensitive key: "User ID", "user_id" and "userId" all give "userid"."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _cell(value: Any) -> str:
    """Text for one Parquet cell; missing values (None, NaN) become the empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return "|".join(_cell(v) for v in value)
    if hasattr(value, "timestamp") and callable(value.timestamp):  # datetime-like
        return str(int(value.timestamp()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_csv(path: Path) -> tuple[TextIO, Any, list[str], str]:
    """The open file, its csv reader past the header, the header and the delimiter (a tab
    for ``.tsv`` or a tab-separated first 64 KiB, else a comma)."""
    handle = path.open("r", encoding="utf-8-sig", newline="")
    try:
        sample = handle.read(64 * 1024)
        handle.seek(0)
        delimiter = "\t" if path.suffix == ".tsv" or ("\t" in sample and "," not in sample) else ","
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
    except (UnicodeDecodeError, csv.Error) as exc:
        handle.close()
        raise DataError(f"{path}: cannot read as UTF-8 CSV ({exc}); is it the right file?") from exc
    if header is None:
        handle.close()
        raise DataError(f"{path}: file is empty; expected a header row naming the columns")
    return handle, reader, header, delimiter


def csv_header(path: Path) -> tuple[list[str], str]:
    """The header row of a CSV file and its delimiter (what the columnar reader needs)."""
    handle, _, header, delimiter = _open_csv(path)
    handle.close()
    return header, delimiter


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    handle, reader, header, _ = _open_csv(path)

    def rows() -> Iterator[tuple[int, list[str]]]:
        with handle:
            try:
                for cells in reader:
                    if any(cell.strip() for cell in cells):
                        yield reader.line_num, cells
            except (UnicodeDecodeError, csv.Error) as exc:
                raise DataError(f"{path} line {reader.line_num}: unreadable CSV ({exc})") from exc

    return header, rows()


def _parquet_columns(path: Path) -> dict[str, list[Any]]:
    """Column name -> values, with pyarrow when importable, else pandas."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    if pq is not None:
        try:
            return dict(pq.read_table(path).to_pydict())
        except Exception as exc:  # pyarrow raises its own error types for bad files
            raise DataError(f"{path}: cannot read as Parquet ({exc})") from exc
    try:
        import pandas as pd
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow: `pip install 'ytrec-infer[parquet]'` "
            "(or save the table as CSV)"
        ) from None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pandas picks an engine and raises its errors
        raise DataError(f"{path}: cannot read as Parquet ({exc})") from exc
    return {str(name): frame[name].tolist() for name in frame.columns}


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    columns = _parquet_columns(path)
    header = list(columns)
    values = [columns[name] for name in header]
    count = len(values[0]) if values else 0

    def rows() -> Iterator[tuple[int, list[str]]]:
        for i in range(count):
            yield i + 1, [_cell(column[i]) for column in values]

    return header, rows()


def table_format(path: Path) -> str:
    """``"parquet"`` or ``"csv"`` by file suffix; a missing file or other suffix: DataError."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise DataError(
        f"{path}: unknown table format {path.suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}"
    )


def _open_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """Header, rows and the unit of a row in messages ("line" or "row"), by file suffix."""
    if table_format(path) == "parquet":
        header, rows = _parquet_rows(path)
        return header, rows, "row"
    header, rows = _csv_rows(path)
    return header, rows, "line"


def read_columns(path: Path) -> dict[str, tuple[str, ...]]:
    """Every column of a table as text cells, in file order (the rows :func:`read_table`
    yields): what a declared feature schema reads its features from."""
    header, rows, unit = _open_rows(path)
    cells = []
    for number, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path} {unit} {number}: expected {len(header)} fields, got {len(row)}")
        cells.append(row)
    return {name: tuple(row[i].strip() for row in cells) for i, name in enumerate(header)}


def read_table(
    path: Path, required: Mapping[str, tuple[str, ...]], optional: Mapping[str, tuple[str, ...]]
) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield ``(where, {field: cell})`` per row; fields are found by any of their column aliases.

    ``required`` and ``optional`` map a field name to its accepted column names; a missing
    required column is a DataError listing the columns the file has. Optional fields that the
    file lacks are absent from the row dicts.
    """
    header, rows, unit = _open_rows(path)
    keys = [column_key(name) for name in header]
    positions: dict[str, int] = {}
    for field, aliases in {**required, **optional}.items():
        found = [keys.index(column_key(a)) for a in aliases if column_key(a) in keys]
        if found:
            positions[field] = found[0]
        elif field in required:
            raise DataError(
                f"{path}: no {field} column (any of {', '.join(aliases)}); "
                f"the file has {', '.join(header) or 'no columns'}"
            )
    for number, cells in rows:
        where = f"{path} {unit} {number}"
        if len(cells) != len(header):
            raise DataError(f"{where}: expected {len(header)} fields, got {len(cells)}")
        yield where, {field: cells[i].strip() for field, i in positions.items()}
