"""Load an artifact once in a child process, bounded in time and memory, before the server does.

The checks before onnxruntime and hnswlib prove what they can (checksums, graph, operators,
sizes), but whether a network folds into a huge constant at session creation, or runs for
hours on the readiness request, is only known by running it. A server must not find out in its
own process: a hanging load would hold the reload lock forever (no good version published later
would ever be picked up), and one that exhausts memory or crashes takes every request down. So
:func:`probe` runs the complete ``Recommender.load`` (every check and the readiness replay) in a
fresh interpreter whose address space is capped (``RLIMIT_AS``) and which is killed after
``timeout_s``; only when it succeeds does the caller load the artifact itself. A crash, a hang
or an exhausted memory bound is an :class:`ArtifactError` naming the folder and what happened.

Run as ``python -m ytrec_infer.load_probe FOLDER OPTIONS_JSON MEMORY_BYTES``; it prints one
JSON line: ``{"ok": true}`` or ``{"path": ..., "reason": ...}``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from ytrec_infer.errors import ArtifactError

if TYPE_CHECKING:
    from ytrec_infer.loading import LoadOptions

TIMEOUT_S = 600.0
"""Default time bound of one probe (a 1M-item artifact loads in well under a minute)."""
BASE_MEMORY = 4 << 30
"""Address space of the interpreter, numpy, onnxruntime and hnswlib before any artifact."""
MEMORY_PER_ARTIFACT_BYTE = 6
"""Address space allowed per byte of the artifact's files (each is read, checked, and copied
into its library; the exact top-k graph keeps one more copy of the vectors)."""


def memory_budget(folder: Path) -> int:
    """Default address-space bound for probing ``folder``: a base plus a multiple of its size."""
    size = sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())
    return BASE_MEMORY + MEMORY_PER_ARTIFACT_BYTE * size


def probe(
    folder: Path,
    options: LoadOptions,
    timeout_s: float = TIMEOUT_S,
    memory_bytes: int | None = None,
) -> None:
    """Load ``folder`` with ``options`` in a bounded child process; ArtifactError unless it
    loaded (the child's own ArtifactError is raised again here, with its path and reason)."""
    limit = memory_budget(folder) if memory_bytes is None else memory_bytes
    command = [
        sys.executable,
        "-m",
        "ytrec_infer.load_probe",
        str(folder),
        json.dumps(asdict(options)),
        str(limit),
    ]
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        out, _ = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ArtifactError(
            folder,
            f"loading it did not finish within {timeout_s:g} s in a probe process (a network "
            "that runs without end?); not loaded",
        ) from None
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        raise ArtifactError(
            folder, f"loading it killed a probe process with {name}; not loaded"
        )
    lines = out.decode("utf-8", "replace").strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    if result.get("ok"):
        return
    if "reason" in result:
        raise ArtifactError(result.get("path", folder), result["reason"])
    raise ArtifactError(
        folder,
        f"loading it failed in a probe process (exit {child.returncode}) within a memory bound "
        f"of {limit / 2**30:.1f} GiB; not loaded",
    )


def _report(result: dict[str, object]) -> None:
    """The probe's one line of output to its parent."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def _main(folder: str, options_json: str, memory_bytes: str) -> int:
    import resource

    limit = int(memory_bytes)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from ytrec_infer.loading import LoadOptions
    from ytrec_infer.recommender import Recommender

    try:
        Recommender.load(folder, options=LoadOptions(**json.loads(options_json)))
    except ArtifactError as exc:
        _report({"path": str(exc.path), "reason": exc.reason})
        return 3
    except MemoryError:
        reason = f"loading it needs more than the probe's {limit / 2**30:.1f} GiB of memory"
        _report({"path": folder, "reason": reason + "; not loaded"})
        return 4
    _report({"ok": True})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(_main(*sys.argv[1:4]))
