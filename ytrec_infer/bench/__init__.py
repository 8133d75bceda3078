"""``ytrec-bench``: latency of each stage, throughput, recall, load time and memory of an artifact.

Latency is measured in one process on one thread, one request at a time, which is how the
library is embedded in a service. Histories are drawn before timing starts: each from the
neighbourhoods of one to three items picked by popularity, as real users watch related items
(which also makes the user vectors realistic queries for the recall measurement). Every request
runs the stages one by one and as a whole ``recommend``, so the stage and end-to-end
numbers come from the same inputs (in two passes, so that no request repeats while its index
pages are still cached). Then: recall@100 of stage one against exact search and the
ef/latency/recall curve (:mod:`.recall`), and the throughput of ``recommend_batch`` and of
threads sharing one ``Recommender`` (:mod:`.throughput`). ``--synthetic N`` first builds (or
reuses) an artifact over a synthetic catalog of N items (``ytrec_infer.synthetic``).

Modules: :mod:`.workload` (histories), :mod:`.system` (memory and environment probes),
:mod:`.timing` (the timed runs), :mod:`.report` (records and table), :mod:`.recall`,
:mod:`.throughput`, :mod:`.plot`, and :mod:`.cli` (``main``, the ``ytrec-bench`` command).
The names below are the public helpers ``benchmarks/`` builds on.
"""

from __future__ import annotations

from ytrec_infer.bench.cli import main
from ytrec_infer.bench.report import STAGES, BenchResult, LoadStats, Settings, format_table
from ytrec_infer.bench.system import environment, files_mb, peak_memory_mb, resident_memory_mb
from ytrec_infer.bench.timing import gc_paused, load_timed, percentiles, run_benchmark
from ytrec_infer.bench.workload import related_histories, sample_histories, synthetic_path

__all__ = [
    "STAGES",
    "BenchResult",
    "LoadStats",
    "Settings",
    "environment",
    "files_mb",
    "format_table",
    "gc_paused",
    "load_timed",
    "main",
    "peak_memory_mb",
    "percentiles",
    "related_histories",
    "resident_memory_mb",
    "run_benchmark",
    "sample_histories",
    "synthetic_path",
]
