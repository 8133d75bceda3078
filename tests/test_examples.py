"""The examples work: the web service answers real HTTP on localhost; the batch job covers all."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def service(artifact_dir: Path) -> Iterator[str]:
    """The web service started as its own process on a free localhost port; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "web_service.py"), str(artifact_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "serving ART on http://127.0.0.1:PORT"
        assert "http://127.0.0.1:" in line, line
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_web_service_recommends_over_http(service: str) -> None:
    status, health = call(f"{service}/health")
    assert status == 200 and health["status"] == "ok" and health["items"] > 1000

    status, got = call(f"{service}/recommend?history=50,172,181&k=5")
    assert status == 200 and got["stage"] == "ranked" and not got["cold_start"]
    assert len(got["items"]) == 5
    assert {50, 172, 181}.isdisjoint(r["item_id"] for r in got["items"])
    assert all(r["title"] and r["ranker_score"] is not None for r in got["items"])

    status, posted = call(
        f"{service}/recommend", {"history": [50, 172, 181], "k": 5, "user": {"age": 25}}
    )
    assert status == 200 and len(posted["items"]) == 5

    status, cold = call(f"{service}/recommend?k=3")
    assert status == 200 and cold["cold_start"] and cold["stage"] == "popular"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/recommend?history=1,x", None, 400, "integer item ids"),
        ("/recommend?history=1&k=0", None, 400, "k"),
        ("/recommend?colour=red", None, 400, "unknown query parameters: colour"),
        ("/recommend", {"history": [1], "user": {"shoe_size": 9}}, 400, "shoe_size"),
        ("/nowhere", None, 404, "no such path"),
    ],
)
def test_web_service_rejects_bad_requests(
    service: str, path: str, body: dict[str, Any] | None, status: int, message: str
) -> None:
    got_status, got = call(f"{service}{path}", body)
    assert got_status == status and message in got["error"]


def test_batch_job_writes_every_user(artifact_dir: Path, ml100k: Path, tmp_path: Path) -> None:
    batch = load_example("batch_recommend")
    log = ml100k / "ml-100k.inter"
    out = tmp_path / "recs.csv"
    assert batch.main([str(artifact_dir), str(log), str(out), "-k", "5"]) == 0
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    histories = batch.read_histories(log)
    assert len(histories) == 943 and len(rows) == 943 * 5
    first = [r for r in rows if r["user_id"] == "1"]
    assert [r["rank"] for r in first] == ["1", "2", "3", "4", "5"]
    assert not {int(r["item_id"]) for r in first} & set(histories[1])
    assert not list(tmp_path.glob(".recs.csv.*"))  # no temporary file left behind

    jsonl = tmp_path / "recs.jsonl"
    assert batch.main([str(artifact_dir), str(log), str(jsonl), "-k", "2"]) == 0
    lines = jsonl.read_text().splitlines()
    assert len(lines) == 943 and len(json.loads(lines[0])["items"]) == 2
