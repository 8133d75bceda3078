"""Files replaced under a running server: redeploying in place must not kill it or change answers.

``cp -r`` and ``rsync --inplace`` over the served folder truncate each file and write it again.
A server that still reads an artifact file through a memory map dies with SIGBUS when the
mapped pages vanish. The server here runs in its own process and answers requests (and calls
``reload()``) while this process rewrites every file of its folder in place, again and again;
it must end normally with every answer equal to the first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVER = r"""
import json, sys, time
from ytrec_infer import ServingRecommender
folder, retrieval, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
serving = ServingRecommender(folder, retrieval=retrieval, probe_timeout_s=None)
history = [50, 172, 181]
expected = serving.recommend(history, k=10).item_ids.tolist()
print("ready", flush=True)
served = wrong = reload_errors = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(20):
        if serving.recommend(history, k=10).item_ids.tolist() != expected:
            wrong += 1
        served += 1
    if serving.reload().error is not None:
        reload_errors += 1
print(json.dumps({"served": served, "wrong": wrong, "reload_errors": reload_errors}), flush=True)
"""


def _rewrite_in_place(folder: Path, server: subprocess.Popen) -> int:
    """What ``rsync --inplace`` does to each file (truncate it, write it again in pieces), over
    and over until the server ends; returns how many rounds ran."""
    contents = {p: p.read_bytes() for p in sorted(folder.iterdir())}
    rounds = 0
    while server.poll() is None:
        rounds += 1
        for path, data in contents.items():
            with open(path, "r+b") as handle:
                handle.truncate(0)
                handle.flush()
                time.sleep(0.002)
                for start in range(0, len(data), 1 << 16):
                    handle.write(data[start : start + (1 << 16)])
                    handle.flush()
    return rounds


@pytest.mark.parametrize("retrieval", ["exact-numpy", "hnsw"])
def test_rewriting_the_served_folder_in_place_neither_kills_nor_changes_answers(
    artifact_dir: Path, tmp_path: Path, retrieval: str
) -> None:
    folder = tmp_path / "served"
    shutil.copytree(artifact_dir, folder)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(folder), retrieval, "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "ready"
    rounds = _rewrite_in_place(folder, server)
    out, err = server.communicate(timeout=120)
    assert rounds > 1
    assert server.returncode == 0, f"the server died (exit {server.returncode}): {err[-2000:]}"
    result = json.loads(out.strip().splitlines()[-1])
    assert result["served"] > 0
    assert result["wrong"] == 0, result
