"""Faulty clients for ``ytrec serve``: raw bytes, bodies that are too large, slow senders.

Shared by the test suite and ``benchmarks/serve/run.py``; loopback addresses only, and every
read has a timeout.
"""

from __future__ import annotations

import asyncio

from benchmarks.serve.loadgen import (
    LoadResult,
    check_loopback,
    read_response,
    request_bytes,
    run_load,
)


async def exchange(host: str, port: int, data: bytes, timeout_s: float = 10.0) -> tuple[int, bytes]:
    """Send ``data`` as it is on a fresh connection; the answer's status and body."""
    check_loopback(host)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(data)
        await writer.drain()
        status, _, body = await read_response(reader, timeout_s)
    finally:
        writer.close()
    return status, body


def chunked(path: str, size: int) -> bytes:
    """A POST whose body (``size`` bytes in two chunks) comes with no Content-Length."""
    half = b"x" * (size // 2)
    chunk = b"%x\r\n" % len(half) + half + b"\r\n"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    return head + chunk * 2 + b"0\r\n\r\n"


def faulty_requests(host: str, port: int, limit: int) -> dict[str, tuple[bytes, int]]:
    """Named bad requests and the status each must get, for a server limiting bodies to
    ``limit`` bytes."""

    def post(body: bytes) -> bytes:
        return request_bytes(host, port, "/recommend", body)

    declared = f"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Length: {limit * 10}\r\n\r\n"
    return {
        "malformed JSON": (post(b'{"history": [50,'), 400),
        "not an object": (post(b"[50, 172]"), 400),
        "history of the wrong type": (post(b'{"history": "50,172"}'), 422),
        "float id": (post(b'{"history": [50.5]}'), 422),
        "k out of range": (post(b'{"history": [50], "k": 100000}'), 422),
        "unknown field": (post(b'{"history": [50], "colour": 1}'), 422),
        "huge body, declared": (declared.encode(), 413),
        "huge body, chunked": (chunked("/recommend", limit * 2), 413),
    }


async def slow_clients_during_load(
    host: str, port: int, slow: int, bodies: list[bytes], concurrency: int
) -> tuple[list[int], LoadResult]:
    """``slow`` clients each promise a 100-byte body and send 10 bytes, while a load run goes
    on; the statuses the slow ones finally get (408 after the body timeout) and the run."""
    check_loopback(host)
    stalled = []
    for _ in range(slow):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        writer.write(b'{"history"')
        stalled.append((reader, writer))
    load = await run_load(host, port, bodies, concurrency)
    answers = []
    for reader, writer in stalled:
        answers.append((await read_response(reader, 30.0))[0])
        writer.close()
    return answers, load
