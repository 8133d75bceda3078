"""Load and fault benchmark of ``ytrec serve`` on 127.0.0.1, bounded in count and time.

    python -m benchmarks.serve.run ARTIFACT [--requests 3000] [--json PATH]

Starts ``ytrec serve`` on a root holding a copy of ARTIFACT's newest version, then measures,
all in one run: req/s and p50/p99 at concurrency 1, 8 and 64 for a fixed number of requests;
the overhead of HTTP over the in-process ``recommend`` at concurrency 1 (blocks of the two
taking turns on the same requests); the same load while a new version is published and
hot-reloaded and while a corrupted version is published; and the faults (malformed JSON,
huge bodies, wrong types, slow clients). Writes ``benchmarks/results/serve/<name>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.serve.faults import exchange, faulty_requests, slow_clients_during_load
from benchmarks.serve.loadgen import recommend_bodies, run_load
from benchmarks.serve.process import Server, publish, serving
from ytrec_infer import Recommender
from ytrec_infer.versions import resolve

RESULTS = Path(__file__).resolve().parents[1] / "results" / "serve"


def _load(server: Server, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    return asyncio.run(run_load(server.host, server.port, bodies, concurrency)).summary()


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_us": round(ordered[len(ordered) // 2] * 1e6, 1),
        "p99_us": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1e6, 1),
        "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
    }


def http_overhead(server: Server, rec: Recommender, bodies: list[bytes], block: int) -> dict:
    """Concurrency 1: the same requests in process and over HTTP, in alternating blocks."""
    local: list[float] = []
    remote: list[float] = []
    for start in range(0, len(bodies), block):
        part = bodies[start : start + block]
        for body in part:
            request = json.loads(body)
            began = time.perf_counter()
            rec.recommend(request["history"], k=request["k"])
            local.append(time.perf_counter() - began)
        result = asyncio.run(run_load(server.host, server.port, part, 1))
        assert result.failed == 0, result.summary()
        remote.extend(result.latencies)
    inproc, http = _percentiles(local), _percentiles(remote)
    return {
        "requests_each": len(bodies),
        "in_process": inproc,
        "http": http,
        "overhead_p50_us": round(http["p50_us"] - inproc["p50_us"], 1),
        "ratio_p50": round(http["p50_us"] / inproc["p50_us"], 2),
    }


def during(server: Server, bodies: list[bytes], action: Any, delay_s: float) -> dict[str, Any]:
    """A load run at concurrency 8 with ``action`` started on a thread after ``delay_s``."""
    timer = threading.Timer(delay_s, action)
    timer.start()
    summary = _load(server, bodies, 8)
    timer.join()
    return summary


def wait_until(condition: Any, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def faults(server: Server, item_ids: list[int], limit: int) -> dict[str, Any]:
    statuses = {}
    for name, (data, expected) in faulty_requests(server.host, server.port, limit).items():
        status, _ = asyncio.run(exchange(server.host, server.port, data))
        statuses[name] = {"status": status, "expected": expected}
    answers, load = asyncio.run(
        slow_clients_during_load(
            server.host, server.port, 50, recommend_bodies(item_ids, 1000, seed=9), 8
        )
    )
    return {
        "requests": statuses,
        "slow_clients": {
            "count": 50,
            "statuses": sorted(set(answers)),
            "load_meanwhile": load.summary(),
        },
    }


def run(artifact: Path, requests: int, out: Path) -> dict[str, Any]:
    source = resolve(artifact)
    rec = Recommender.load(source)
    item_ids = [int(i) for i in rec.catalog.item_ids[:5000]]
    limit = 1 << 20
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        publish(root, source)
        with serving(root, "--reload-interval", "0.25", log=Path(tmp) / "serve.log") as server:
            _load(server, recommend_bodies(item_ids, 300, seed=100), 8)  # warm up
            load = {
                str(c): _load(server, recommend_bodies(item_ids, requests, seed=c), c)
                for c in (1, 8, 64)
            }
            overhead = http_overhead(server, rec, recommend_bodies(item_ids, 1000, seed=7), 100)

            def version() -> str:
                return str(server.get("/readyz")[1]["model_version"])

            before = version()
            reload_run = during(
                server,
                recommend_bodies(item_ids, requests, seed=11),
                lambda: publish(root, source),
                0.3,
            )
            swapped = wait_until(lambda: version() != before)
            serving_now = version()
            corrupt_run = during(
                server,
                recommend_bodies(item_ids, requests, seed=12),
                lambda: publish(root, source, corrupt="ranker.onnx"),
                0.3,
            )
            refused = wait_until(lambda: server.get("/readyz")[1]["last_reload_error"] is not None)
            ready = server.get("/readyz")[1]
            fault_results = faults(server, item_ids, limit)
            metrics = server.get("/metrics")[1]
    report = {
        "artifact": str(source),
        "num_items": rec.num_items,
        "requests_per_run": requests,
        "server": {"threads": 4, "workers": 1, "intra_op_threads": 1},
        "load": load,
        "http_overhead_concurrency_1": overhead,
        "hot_reload": {
            "run": reload_run,
            "swapped": swapped,
            "versions": [before, serving_now],
        },
        "corrupted_version": {
            "run": corrupt_run,
            "refused": refused,
            "still_serving": ready["model_version"],
            "error": ready["last_reload_error"],
        },
        "faults": fault_results,
        "reload_metrics": [line for line in metrics.splitlines() if "reloads_total{" in line],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path, help="artifact folder or root of versions")
    parser.add_argument("--requests", type=int, default=3000, help="requests per load run")
    parser.add_argument("--json", type=Path, default=RESULTS / "ml100k.json", help="output")
    args = parser.parse_args(argv)
    report = run(args.artifact, args.requests, args.json)
    for c, row in report["load"].items():
        print(
            f"concurrency {c:>2}: {row['req_per_s']:>7} req/s  p50 {row['p50_ms']} ms  "
            f"p99 {row['p99_ms']} ms  failed {row['failed']}"
        )
    overhead = report["http_overhead_concurrency_1"]
    print(
        f"HTTP overhead at concurrency 1: p50 {overhead['http']['p50_us']} us over HTTP vs "
        f"{overhead['in_process']['p50_us']} us in process (+{overhead['overhead_p50_us']} us)"
    )
    for name in ("hot_reload", "corrupted_version"):
        print(f"{name}: failed {report[name]['run']['failed']} {report[name]['run']['versions']}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
