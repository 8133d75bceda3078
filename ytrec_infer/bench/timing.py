"""The bench's timing: percentiles, a timed load, single requests stage by stage and whole,
with the garbage collector paused, then recall and throughput (:func:`run_benchmark`)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ytrec_infer.bench.recall import measure_recall, user_vectors
from ytrec_infer.bench.report import STAGES, BenchResult, LoadStats, Settings
from ytrec_infer.bench.system import environment, files_mb, peak_memory_mb, resident_memory_mb
from ytrec_infer.bench.throughput import batch_throughput, threaded_throughput
from ytrec_infer.bench.workload import related_histories
from ytrec_infer.loading import LoadOptions
from ytrec_infer.recommender import Recommender


def percentiles(samples_ns: Sequence[int] | np.ndarray) -> dict[str, float]:
    """p50/p95/p99 and mean of nanosecond samples, in microseconds (linear interpolation)."""
    samples = np.asarray(samples_ns, dtype=np.float64)
    if samples.ndim != 1 or not samples.size:
        raise ValueError("percentiles needs a non-empty 1-D array of samples")
    p50, p95, p99 = np.percentile(samples, [50, 95, 99]) / 1e3
    return {
        "p50_us": float(p50),
        "p95_us": float(p95),
        "p99_us": float(p99),
        "mean_us": float(samples.mean() / 1e3),
        "count": int(samples.size),
    }


def load_timed(path: str | Path, options: LoadOptions) -> tuple[Recommender, LoadStats]:
    """Load an artifact as ``options`` say, timing ``Recommender.load`` and reading memory
    before and after."""
    before, _ = resident_memory_mb()
    start = time.perf_counter_ns()
    rec = Recommender.load(path, options=options)
    seconds = (time.perf_counter_ns() - start) / 1e9
    after, source = resident_memory_mb()
    return rec, LoadStats(seconds, after, before, source)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while timing, as ``timeit`` does, to cut noise."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_stages(rec: Recommender, history: np.ndarray, settings: Settings) -> tuple[int, ...]:
    """Run one request stage by stage; the four stage durations in ns."""
    clock = time.perf_counter_ns
    t0 = clock()
    request = rec.prepare(history)
    t1 = clock()
    vector = rec.embed(request)
    t2 = clock()
    codes, scores = rec.retrieve(request, vector, settings.n_candidates, exclude_history=True)
    t3 = clock()
    rec.score(request, codes, scores)
    t4 = clock()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3


def time_whole(rec: Recommender, history: np.ndarray, settings: Settings) -> int:
    """One whole ``recommend`` in ns."""
    start = time.perf_counter_ns()
    rec.recommend(history, settings.k, n_candidates=settings.n_candidates)
    return time.perf_counter_ns() - start


def run_benchmark(
    rec: Recommender,
    settings: Settings = Settings(),
    load: LoadStats | None = None,
    artifact: str | Path | None = None,
) -> BenchResult:
    """Time ``settings.requests`` single requests after ``settings.warmup`` untimed ones, then
    measure recall (``settings.recall_queries`` queries) and throughput."""
    settings.check(rec.num_items)
    rng = np.random.default_rng(settings.seed)
    total = settings.warmup + settings.requests
    histories = related_histories(rec, total, settings.history_length, rng)
    samples = np.zeros((settings.requests, len(STAGES)), dtype=np.int64)
    with gc_paused():
        for history in histories[: settings.warmup]:
            time_stages(rec, history, settings)
            time_whole(rec, history, settings)
        # Whole requests and stages in separate passes: repeating a request at once would find
        # the index pages it reads still in cache, which flatters large catalogs.
        for i, history in enumerate(histories[settings.warmup :]):
            samples[i, -1] = time_whole(rec, history, settings)
        for i, history in enumerate(histories[settings.warmup :]):
            samples[i, :-1] = time_stages(rec, history, settings)
    stages = {key: percentiles(samples[:, column]) for column, (key, _) in enumerate(STAGES)}
    total_seconds = samples[:, -1].sum() / 1e9
    timed = histories[settings.warmup :]
    recall = None
    if settings.recall_queries:
        queries = user_vectors(rec, timed[: settings.recall_queries])
        recall = measure_recall(rec, queries, k=min(100, rec.num_items))
    throughput = {
        f"batch_{settings.batch_size}": batch_throughput(
            rec, timed, settings.batch_size, settings.k, settings.n_candidates
        )
    }
    for threads in settings.concurrency:
        throughput[f"threads_{threads}"] = threaded_throughput(
            rec, timed, threads, settings.k, settings.n_candidates
        )
    notes: tuple[str, ...] = ("garbage collector paused while timing",)
    if settings.history_length > rec.schema.max_history:
        notes += (f"histories are longer than the model's max_history ({rec.schema.max_history})",)
    return BenchResult(
        artifact=str(artifact if artifact is not None else rec.manifest.root),
        num_items=rec.num_items,
        ef_search=rec.manifest.index.ef_search,
        settings=settings,
        stages=stages,
        requests_per_second=settings.requests / max(total_seconds, 1e-9),
        environment=environment(),
        load=load,
        notes=notes,
        recall=recall,
        throughput=throughput,
        search=rec.retriever.kind,
        files_mb=files_mb(rec),
        peak_rss_mb=peak_memory_mb(),
    )
