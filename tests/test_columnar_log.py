"""The column-wise log reader gives what the row-wise reader gives, without falling back to it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from trainers.data import DataError
from trainers.data.own_log import read_interactions, read_interactions_by_row

CSV_LOGS = {
    "integer ids, blank line, empty rating": (
        "user,item,timestamp,rating\n3,10,100,\n\n3,11,90,4.5\n-1,10,95,2\n"
    ),
    "string ids, tabs, ISO times": (
        "user_id\titem_id\ttime\nu-1\t007\t2024-01-02T03:04:05Z\nu-2\tx\t2024-01-02\n"
    ),
    "float seconds, quoted, spaces": 'uid,iid,ts\n" 5 ",6, 881250949.0\n5,7,881250950\n',
    "19-digit id is a string": "user,item,timestamp\n1,1234567890123456789,5\n1,2,6\n",
    "context columns": "user,item,timestamp,device,hour\n1,2,5, tv ,3\n1,3,6,,4\n",
}


def _same(a, b) -> None:
    for column in ("user_ids", "item_ids", "ratings", "timestamps"):
        got, want = getattr(a, column), getattr(b, column)
        assert got.dtype.kind == want.dtype.kind, column
        np.testing.assert_array_equal(got, want, err_msg=column)
    assert a.columns.keys() == b.columns.keys() and a.source == b.source
    for name in a.columns:
        assert a.columns[name].tolist() == b.columns[name].tolist(), name


@pytest.mark.parametrize("text", CSV_LOGS.values(), ids=CSV_LOGS.keys())
def test_csv_columns_equal_rows(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / ("log.tsv" if "\t" in text else "log.csv")
    log.write_text(text)
    with caplog.at_level(logging.WARNING):
        got = read_interactions(log)
    assert "row by row" not in caplog.text, "a well-formed log must not need the slow path"
    _same(got, read_interactions_by_row(log))


def test_parquet_typed_columns_equal_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "user": pa.array(["a", "b", "a"]).dictionary_encode(),
            "item": pa.array([3.0, 4.0, 3.0]),
            "timestamp": pa.array([10**9, 10**9 + 5, 10**9 + 9], type=pa.timestamp("ms")),
            "rating": pa.array([None, float("nan"), 3.0]),
            "device": pa.array(["tv", None, "mobile"]),
        }
    )
    pq.write_table(table, tmp_path / "log.parquet")
    with caplog.at_level(logging.WARNING):
        got = read_interactions(tmp_path / "log.parquet")
    assert "row by row" not in caplog.text
    assert got.item_ids.dtype == np.int64 and got.ratings.tolist() == [1.0, 1.0, 3.0]
    assert got.timestamps.tolist() == [10**6] * 3
    _same(got, read_interactions_by_row(tmp_path / "log.parquet"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user,item,timestamp,rating\n1,2,3,4\n1,2,3,inf\n", "line 3: rating 'inf' is not finite"),
        ("user,item,timestamp\n1,2,3\n\n1,2,3.5\n", "line 4: timestamp '3.5' is neither"),
        ("user,item,timestamp\n1,2,3\n4,5,6,7\n", "line 3: expected 3 fields, got 4"),
        ("user,item,timestamp\n1,2,3\n ,5,6\n", "line 3: empty user id"),
    ],
)
def test_bad_cells_are_named_by_line(tmp_path: Path, text: str, message: str) -> None:
    log = tmp_path / "log.csv"
    log.write_text(text)
    with pytest.raises(DataError, match=message):
        read_interactions(log)
