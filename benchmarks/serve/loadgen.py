"""A small asyncio HTTP/1.1 load generator for ``ytrec serve``, on loopback addresses only.

Each of ``concurrency`` clients keeps one keep-alive connection and sends the next request as
soon as the previous answer is read, until a fixed number of requests has been sent: the run
is bounded in count, and every read has a timeout, so it ends by itself. Used by the test
suite (a short run) and by ``benchmarks/serve/run.py`` (the full one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def check_loopback(host: str) -> None:
    """Refuse any target but this machine: load and fault tests never leave it."""
    address = "127.0.0.1" if host == "localhost" else host
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"load tests target loopback addresses only, got {host!r}")


def request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    """One HTTP/1.1 POST with a JSON body, keeping the connection open."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(
    reader: asyncio.StreamReader, timeout_s: float
) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of one response with a Content-Length."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout_s)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await asyncio.wait_for(reader.readexactly(length), timeout_s)
    return status, headers, body


@dataclass
class LoadResult:
    """What one run measured: per-request latency, status counts, errors, versions seen."""

    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    versions: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        """Requests without a 200 answer (connection errors included)."""
        return len(self.errors) + sum(n for status, n in self.statuses.items() if status != 200)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def quantile(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3 if ordered else 0.0

        return {
            "concurrency": self.concurrency,
            "requests": len(self.latencies) + len(self.errors),
            "failed": self.failed,
            "req_per_s": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(quantile(0.50), 3),
            "p99_ms": round(quantile(0.99), 3),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "versions": dict(sorted(self.versions.items())),
            "errors": self.errors[:5],
        }


async def run_load(
    host: str,
    port: int,
    bodies: Sequence[bytes],
    concurrency: int,
    path: str = "/recommend",
    timeout_s: float = 30.0,
) -> LoadResult:
    """Send every body once, ``concurrency`` at a time over keep-alive connections."""
    check_loopback(host)
    result = LoadResult(concurrency)
    queue = list(reversed(bodies))

    async def client() -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while queue:
            body = queue.pop()
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = await asyncio.wait_for(
                        asyncio.open_connection(host, port), timeout_s
                    )
                reader, writer = connection
                writer.write(request_bytes(host, port, path, body))
                await writer.drain()
                status, headers, _ = await read_response(reader, timeout_s)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}")
                connection = None
                continue
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
            result.versions[headers.get("x-model-version", "-")] += 1
            if headers.get("connection", "").lower() == "close":
                connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def load_until(
    host: str,
    port: int,
    bodies: Sequence[bytes],
    concurrency: int,
    done: Callable[[], bool],
    rounds: int = 50,
) -> LoadResult:
    """Send ``bodies`` round after round until ``done()`` holds, then one round more, at most
    ``rounds`` rounds: load that surely spans an event (a reload) however fast the server."""
    total = LoadResult(concurrency)
    last = False
    for _ in range(rounds):
        result = asyncio.run(run_load(host, port, bodies, concurrency))
        total.seconds += result.seconds
        total.latencies += result.latencies
        total.statuses.update(result.statuses)
        total.errors += result.errors
        total.versions.update(result.versions)
        if last:
            break
        last = done()
    return total


def recommend_bodies(item_ids: Sequence[int], count: int, seed: int = 0) -> list[bytes]:
    """``count`` /recommend bodies with random histories of 1 to 20 catalog items."""
    rng = random.Random(seed)
    return [
        json.dumps({"history": rng.sample(list(item_ids), rng.randint(1, 20)), "k": 10}).encode()
        for _ in range(count)
    ]
