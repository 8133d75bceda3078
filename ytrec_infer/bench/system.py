"""System probes: resident and peak memory from ``/proc``, artifact size, and the environment
that latency numbers depend on (versions, CPU, load)."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from ytrec_infer.recommender import Recommender


def resident_memory_mb() -> tuple[float | None, str | None]:
    """Resident memory of this process in MB and its source (``VmRSS`` or ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024, "VmRSS"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None, None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return peak / scale, "ru_maxrss"


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process in MB (``VmHWM``), or None where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def files_mb(rec: Recommender) -> float:
    """Total size in MB of the artifact's files, as listed in its manifest."""
    return sum(entry.size for entry in rec.manifest.files.values()) / (1024 * 1024)


def environment() -> dict[str, Any]:
    """Versions and machine facts that latency numbers depend on, and the load on the machine."""
    import onnxruntime

    try:
        hnswlib_version = version("hnswlib")
    except PackageNotFoundError:
        hnswlib_version = "unknown"
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "onnxruntime": onnxruntime.__version__,
        "hnswlib": hnswlib_version,
        "numpy": np.__version__,
        "cpu_model": _cpu_model(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
