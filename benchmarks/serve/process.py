"""Run ``ytrec serve`` as a child process on a free loopback port, and publish versions to it.

Shared by the test suite and ``benchmarks/serve/run.py``: both talk to a real server process
over real sockets, as a client app would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ytrec_infer.versions import published_versions, version_name


@dataclass
class Server:
    """A running ``ytrec serve``: its process, address and the lines it logged so far."""

    process: subprocess.Popen[str]
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get(self, path: str) -> tuple[int, Any]:
        """GET ``path``: status and decoded JSON (or text for /metrics)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                status, data = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        text = data.decode()
        return status, text if path == "/metrics" else json.loads(text)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST ``body`` as JSON to ``path``: status and decoded JSON answer."""
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ytrec serve exited with {self.process.returncode}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("ytrec serve did not become ready")

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful shutdown), then wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)


@contextmanager
def serving(root: Path, *options: str, log: Path | None = None) -> Iterator[Server]:
    """``ytrec serve ROOT --port 0 OPTIONS`` until the block ends (stopped with SIGTERM)."""
    command = [sys.executable, "-m", "ytrec_infer.cli", "serve", str(root), "--port", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    errors = open(log, "w") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [*command, *options], stdout=subprocess.PIPE, stderr=errors, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "serving ROOT on http://127.0.0.1:PORT"
        if "http://" not in line:
            raise RuntimeError(f"ytrec serve did not start: {line!r}")
        host, port = line.rsplit("/", 1)[1].strip().rsplit(":", 1)
        server = Server(process, host, int(port))
        server.wait_ready()
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if log is not None:
            errors.close()


def publish(root: Path, source: Path, corrupt: str | None = None) -> Path:
    """Publish a copy of ``source`` as the next version of ``root``, as an export does (a
    hidden staging folder renamed into place); ``corrupt`` names a file to damage first."""
    number = max((n for n, _ in published_versions(root)), default=0) + 1
    staging = root / f".staging-{number}"
    shutil.copytree(source, staging)
    if corrupt is not None:
        damaged = bytearray((staging / corrupt).read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        (staging / corrupt).write_bytes(bytes(damaged))
    target = root / version_name(number)
    staging.rename(target)
    return target
