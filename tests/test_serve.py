"""``ytrec serve`` over real sockets: answers, errors, limits, metrics, load, reloads, shutdown.

One server process per session (``server`` in conftest) on a root of versions; the load runs
are short (a few hundred requests) and bounded in time, on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")

from benchmarks.serve.faults import chunked, exchange, faulty_requests, slow_clients_during_load
from benchmarks.serve.loadgen import load_until, recommend_bodies, request_bytes, run_load
from benchmarks.serve.process import Server, publish, serving
from ytrec_infer import Recommender
from ytrec_infer.serve.app import create_app
from ytrec_infer.serve.options import ServeOptions
from ytrec_infer.serve.payloads import BATCH_FIELDS, RECOMMEND_FIELDS


@pytest.fixture(scope="module")
def rec(artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir)


def raw(server: Server, data: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are on a fresh connection; the status and JSON answer."""
    status, body = asyncio.run(exchange(server.host, server.port, data))
    return status, json.loads(body)


def test_recommend_equals_the_in_process_call(server: Server, rec: Recommender) -> None:
    user = {"age": 30, "gender": "F"}
    status, got = server.post("/recommend", {"history": [50, 172, 181], "k": 7, "user": user})
    expected = rec.recommend([50, 172, 181], k=7, user=user).to_dict()
    assert status == 200 and got["model_version"].startswith("v")
    assert [r["item_id"] for r in got["items"]] == [r["item_id"] for r in expected["items"]]
    assert got["items"][0]["retrieval_score"] == pytest.approx(
        expected["items"][0]["retrieval_score"], abs=1e-5
    )
    status, batch = server.post("/recommend_batch", {"histories": [[50, 172], [], [1, 2, 3]]})
    assert status == 200 and len(batch["results"]) == 3
    assert batch["results"][1]["cold_start"] and batch["results"][0]["stage"] == "ranked"
    assert [r["item_id"] for r in batch["results"][2]["items"]] == list(
        rec.recommend([1, 2, 3]).item_ids
    )


def test_rules_act_over_http(server: Server, rec: Recommender) -> None:
    allowed, exclude = list(range(1, 200)), [1, 2, 3]
    body = {"history": [50, 172], "k": 10, "allowed": allowed, "exclude": exclude}
    status, got = server.post("/recommend", body)
    expected = rec.recommend([50, 172], k=10, allowed=allowed, exclude=exclude)
    assert status == 200 and [r["item_id"] for r in got["items"]] == list(expected.item_ids)
    status, batch = server.post("/recommend_batch", {"histories": [[50], []], "exclude": [100]})
    assert status == 200 and all(
        100 not in [r["item_id"] for r in result["items"]] for result in batch["results"]
    )
    where = {"genres": ["Comedy"], "release_year": {"min": 1990}}
    status, got = server.post("/recommend", {"history": [50, 172], "k": 10, "where": where})
    expected = rec.recommend([50, 172], k=10, where=where)
    assert status == 200 and [r["item_id"] for r in got["items"]] == list(expected.item_ids)


def test_catalog_schema_health_and_openapi(server: Server, rec: Recommender) -> None:
    assert server.get("/healthz") == (200, {"status": "alive"})
    status, ready = server.get("/readyz")
    assert status == 200 and ready["ready"] and ready["num_items"] == rec.num_items
    assert server.get("/items/50")[1]["title"] == rec.catalog.title(50)
    status, missing = server.get("/items/999999")
    assert status == 404 and missing["field"] == "item_id" and "999999" in missing["error"]
    status, found = server.get("/items?q=STAR&limit=5")
    assert status == 200 and 0 < len(found["items"]) <= 5
    assert all("star" in r["title"].lower() for r in found["items"])
    popularity = [r["popularity"] for r in found["items"]]
    assert popularity == sorted(popularity, reverse=True)
    assert server.get("/items?limit=0")[0] == 422
    schema = server.get("/schema")[1]
    fields = {f["name"]: f for f in schema["user_fields"]}
    assert fields["gender"]["values"] == list(rec.schema.user[1].vocabulary)
    assert fields["age"]["type"] == "number" and schema["item_id_type"] == "integer"
    document = server.get("/openapi.json")[1]
    routes = {route.path for route in create_app(ServeOptions("unused")).routes}  # type: ignore[attr-defined]
    described = set(document["paths"]) | {"/items/{item_id:path}"} - {"/items/{item_id}"}
    assert {r for r in routes if not r.startswith("/static/")} <= described
    paths = document["paths"]
    for path, fields_accepted in (
        ("/recommend", RECOMMEND_FIELDS),
        ("/recommend_batch", BATCH_FIELDS),
    ):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["properties"]) == set(fields_accepted)


@pytest.mark.parametrize(
    ("path", "body", "status", "field", "message"),
    [
        ("/recommend", b"{not json", 400, None, "not valid JSON"),
        ("/recommend", b"[1, 2]", 400, None, "JSON object"),
        ("/recommend", b'{"history": [1], "colour": "red"}', 422, "colour", "unknown field"),
        ("/recommend", b'{"k": 3}', 422, "history", "missing field"),
        ("/recommend", b'{"history": "50,172"}', 422, "history", "JSON array"),
        ("/recommend", b'{"history": [50], "k": 0}', 422, "k", "from 1 to 50"),
        ("/recommend", b'{"history": [50], "k": 51}', 422, "k", "from 1 to 50"),
        ("/recommend", b'{"history": [50], "k": true}', 422, "k", "integer"),
        ("/recommend", b'{"history": [50, 1.5]}', 422, "history", "history[1]"),
        ("/recommend", b'{"history": [50], "user": [25]}', 422, "user", "JSON object"),
        ("/recommend", b'{"history": [50], "user": {"shoe_size": 9}}', 422, "user", "shoe_size"),
        ("/recommend", b'{"history": [50], "user": {"age": "old"}}', 422, "user", "age"),
        (
            "/recommend",
            b'{"history": [50], "strict": true, "k": 2, "exclude_history": 1}',
            422,
            "exclude_history",
            "true or false",
        ),
        ("/recommend", b'{"history": [50, 999999], "strict": true}', 422, "history", "999999"),
        ("/recommend", b'{"history": [50], "exclude": "172"}', 422, "exclude", "JSON array"),
        ("/recommend", b'{"history": [50], "allowed": [1, 1.5]}', 422, "allowed", "allowed[1]"),
        ("/recommend", b'{"history": [50], "where": ["genres"]}', 422, "where", "JSON object"),
        ("/recommend", b'{"history": [50], "where": {"colour": "red"}}', 422, "where", "colour"),
        ("/recommend_batch", b'{"histories": [[1]], "users": []}', 422, "users", "1 objects"),
        ("/recommend_batch", b'{"histories": [[1], "2"]}', 422, "histories[1]", "JSON array"),
        (
            "/recommend_batch",
            json.dumps({"histories": [[1]] * 65}).encode(),
            422,
            "histories",
            "at most 64",
        ),
    ],
)
def test_bad_requests_name_the_field(
    server: Server, path: str, body: bytes, status: int, field: str | None, message: str
) -> None:
    got_status, got = raw(server, request_bytes(server.host, server.port, path, body))
    assert got_status == status, got
    assert got["field"] == field and message in got["error"], got


def test_unknown_routes_and_methods_answer_json(server: Server) -> None:
    assert server.get("/nowhere")[0] == 404
    status, got = raw(server, b"GET /recommend HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 405 and "GET /recommend" in got["error"]


def test_faulty_requests_get_their_status(server: Server) -> None:
    for name, (data, status) in faulty_requests(server.host, server.port, 65536).items():
        assert raw(server, data)[0] == status, name


def test_huge_bodies_are_refused(server: Server) -> None:
    declared = b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
    status, got = raw(server, declared)  # refused from the header, before any body is sent
    assert status == 413 and "10000000 bytes" in got["error"]
    status, got = raw(server, chunked("/recommend", 80000))  # counted while reading
    assert status == 413 and "65536" in got["error"]


def test_slow_clients_time_out_without_stalling_others(server: Server) -> None:
    bodies = recommend_bodies(range(1, 1001), 100, seed=1)
    answers, load = asyncio.run(slow_clients_during_load(server.host, server.port, 10, bodies, 8))
    assert load.failed == 0 and len(load.latencies) == 100
    assert max(load.latencies) < 1.0  # none waited for the slow bodies' 1 s timeout
    assert answers == [408] * 10


def test_metrics_count_statuses_and_time_stages(server: Server) -> None:
    server.post("/recommend", {"history": [50], "k": 2})
    server.post("/recommend", {"history": [50], "k": 0})
    status, text = server.get("/metrics")
    assert status == 200
    assert 'ytrec_requests_total{route="/recommend",status="200"}' in text
    assert 'ytrec_requests_total{route="/recommend",status="422"}' in text
    for stage in ("queue", "parse", "model", "encode", "total"):
        assert f'ytrec_stage_seconds_count{{route="/recommend",stage="{stage}"}}' in text
    version = server.get("/readyz")[1]["model_version"]
    assert f'ytrec_model_info{{version="{version}"}} 1' in text
    assert "# TYPE ytrec_stage_seconds histogram" in text


def _stage_count(text: str, route: str, stage: str) -> int:
    """The ``_count`` of one ``ytrec_stage_seconds`` histogram (0 when absent)."""
    prefix = f'ytrec_stage_seconds_count{{route="{route}",stage="{stage}"}} '
    found = [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]
    return int(found[0]) if found else 0


def test_metrics_time_the_model_stages_of_recommend(server: Server, rec: Recommender) -> None:
    body = {"history": [50, 172, 181], "k": 5, "exclude": [1, 2]}
    status, got = server.post("/recommend", body)
    expected = rec.recommend([50, 172, 181], k=5, exclude=[1, 2]).to_dict()
    assert status == 200
    assert [r["item_id"] for r in got["items"]] == [r["item_id"] for r in expected["items"]]
    cold_status, cold = server.post("/recommend", {"history": [], "k": 3})
    assert cold_status == 200 and cold["cold_start"]
    assert [r["item_id"] for r in cold["items"]] == list(rec.recommend([], k=3).item_ids)
    text = server.get("/metrics")[1]
    for stage in ("prepare", "embed", "retrieve", "rank"):
        assert _stage_count(text, "/recommend", stage) > 0, stage
        bucket = f'ytrec_stage_seconds_bucket{{route="/recommend",stage="{stage}",le="+Inf"}}'
        assert bucket in text
    # a cold start has no user vector or ranker: it is timed in prepare and retrieve only
    assert _stage_count(text, "/recommend", "retrieve") > _stage_count(text, "/recommend", "rank")


def _load(server: Server, count: int, concurrency: int) -> dict[str, Any]:
    bodies = recommend_bodies(range(1, 1001), count, seed=concurrency)
    return asyncio.run(run_load(server.host, server.port, bodies, concurrency)).summary()


def _across(server: Server, action: Any, done: Any) -> dict[str, Any]:
    """Load at concurrency 8 in rounds of 200 requests while ``action`` runs on a thread,
    until ``done()`` holds and one round more."""
    threading.Timer(0.1, action).start()
    bodies = recommend_bodies(range(1, 1001), 200, seed=5)
    return load_until(server.host, server.port, bodies, 8, done, rounds=100).summary()


@pytest.mark.parametrize("concurrency", [1, 8, 64])
def test_load_has_no_errors(server: Server, concurrency: int) -> None:
    got = _load(server, 40 * min(concurrency, 8) + concurrency, concurrency)
    assert got["failed"] == 0 and got["statuses"] == {"200": got["requests"]}, got


def _version(server: Server) -> str:
    status, ready = server.get("/readyz")
    assert status == 200
    return str(ready["model_version"])


def _wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_hot_reload_under_load_fails_no_request(
    server: Server, serve_root: Path, artifact_dir: Path
) -> None:
    before = _version(server)
    got = _across(
        server, lambda: publish(serve_root, artifact_dir), lambda: _version(server) != before
    )
    assert got["failed"] == 0, got
    assert before in got["versions"] and len(got["versions"]) == 2, got  # swapped mid-run

    serving_now = _version(server)

    def corrupt() -> None:
        publish(serve_root, artifact_dir, corrupt="ranker.onnx")

    def refused() -> bool:
        return server.get("/readyz")[1]["last_reload_error"] is not None

    got = _across(server, corrupt, refused)
    assert got["failed"] == 0 and set(got["versions"]) == {serving_now}, got
    ready = server.get("/readyz")[1]
    assert ready["model_version"] == serving_now and "ranker.onnx" in ready["last_reload_error"]
    assert 'ytrec_reloads_total{outcome="failed"}' in server.get("/metrics")[1]

    fixed = publish(serve_root, artifact_dir)  # a good version after the broken one
    _wait_for(lambda: _version(server) == fixed.name)
    assert server.get("/readyz")[1]["last_reload_error"] is None


def test_graceful_shutdown_finishes_requests_in_flight(serve_root: Path) -> None:
    with serving(serve_root, "--workers", "2", "--reload-interval", "0") as two:
        body = json.dumps({"history": [50, 172, 181], "k": 5}).encode()
        request = request_bytes(two.host, two.port, "/recommend", body)
        half = len(request) - 10
        in_flight = socket.create_connection((two.host, two.port), timeout=10)
        in_flight.sendall(request[:half])
        time.sleep(0.3)  # the request has reached a worker
        two.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # shutting down, and this request is not complete yet
        in_flight.sendall(request[half:])
        answer = in_flight.makefile("rb").read()
        in_flight.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert b'"stage": "ranked"' in answer
        assert two.process.wait(timeout=30) == 0


def test_a_broken_artifact_fails_at_start_with_the_file_named(
    artifact_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    publish(root, artifact_dir, corrupt="user_tower.onnx")
    done = subprocess.run(
        [sys.executable, "-m", "ytrec_infer.cli", "serve", str(root), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "user_tower.onnx" in done.stderr and "could not serve" in done.stderr
