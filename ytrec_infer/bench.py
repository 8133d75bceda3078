"""``ytrec-bench``: single-request latency of each stage, load time and memory of an artifact.

Everything runs in one process on one thread, one request at a time, which is how the library
is embedded in a service. Synthetic histories are drawn from the catalog (popular items more
often) before timing starts, and every request runs the stages one by one and then the whole
``recommend``, so the stage and end-to-end numbers come from the same inputs.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click
import numpy as np

from ytrec_infer.catalog import Catalog
from ytrec_infer.devices import DeviceUnavailableError
from ytrec_infer.errors import ArtifactError
from ytrec_infer.recommender import Recommender

STAGES: tuple[tuple[str, str], ...] = (
    ("prepare", "prepare"),
    ("user_tower", "user tower"),
    ("retrieval", "retrieval"),
    ("ranking", "ranking"),
    ("end_to_end", "end to end"),
)
"""Machine-readable key and display label of each measured stage, in request order."""


@dataclass(frozen=True)
class Settings:
    """What was measured: request count, history length, k, candidates, threads, seed."""

    requests: int = 2000
    warmup: int = 200
    history_length: int = 20
    k: int = 10
    n_candidates: int = 100
    threads: int = 1
    seed: int = 0

    def check(self, num_items: int) -> None:
        """Raise ValueError for settings this catalog cannot serve, before anything is timed."""
        if self.requests < 1 or self.warmup < 0:
            raise ValueError("requests must be >= 1 and warmup >= 0")
        if not 1 <= self.history_length <= num_items:
            raise ValueError(f"history length must be in 1..{num_items} (the catalog size)")
        if not 1 <= self.n_candidates <= num_items:
            raise ValueError(f"n_candidates must be in 1..{num_items} (the catalog size)")
        if not 1 <= self.k <= self.n_candidates:
            raise ValueError(f"k ({self.k}) must be in 1..n_candidates ({self.n_candidates})")


@dataclass(frozen=True)
class LoadStats:
    """Wall time of ``Recommender.load`` and resident memory before and after it (MB).

    ``rss_source`` says where the memory figures come from: ``VmRSS`` (current resident set,
    Linux) or ``ru_maxrss`` (peak resident set, the fallback); ``None`` when neither exists.
    """

    seconds: float
    rss_mb: float | None
    rss_before_mb: float | None
    rss_source: str | None


@dataclass(frozen=True)
class BenchResult:
    """All numbers of one benchmark run; ``to_dict`` gives the JSON written by ``--json``."""

    artifact: str
    num_items: int
    ef_search: int
    settings: Settings
    stages: Mapping[str, Mapping[str, float]]
    requests_per_second: float
    environment: Mapping[str, Any]
    load: LoadStats | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "num_items": self.num_items,
            "ef_search": self.ef_search,
            "settings": asdict(self.settings),
            "stages": {name: dict(stats) for name, stats in self.stages.items()},
            "requests_per_second": self.requests_per_second,
            "load_seconds": None if self.load is None else self.load.seconds,
            "rss_mb": None if self.load is None else self.load.rss_mb,
            "rss_before_load_mb": None if self.load is None else self.load.rss_before_mb,
            "rss_source": None if self.load is None else self.load.rss_source,
            "environment": dict(self.environment),
            "notes": list(self.notes),
        }


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


def sample_histories(catalog: Catalog, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` histories [n, length] of distinct catalog ids, drawn with weight popularity + 1.

    Popular items come up more often, as in real traffic, while every item stays possible.
    """
    if not 1 <= length <= len(catalog):
        raise ValueError(f"history length must be in 1..{len(catalog)}, got {length}")
    weights = catalog.popularity.astype(np.float64) + 1.0
    weights /= weights.sum()
    rows = [rng.choice(len(catalog), size=length, replace=False, p=weights) for _ in range(n)]
    return catalog.item_ids[np.asarray(rows, dtype=np.int64).reshape(n, length)]


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


def load_timed(
    path: str | Path, threads: int | None = None, device: str = "cpu"
) -> tuple[Recommender, LoadStats]:
    """Load an artifact on ``device``, timing ``Recommender.load`` and reading memory before
    and after."""
    before, _ = resident_memory_mb()
    start = time.perf_counter_ns()
    rec = Recommender.load(path, threads=threads, device=device)
    seconds = (time.perf_counter_ns() - start) / 1e9
    after, source = resident_memory_mb()
    return rec, LoadStats(seconds, after, before, source)


def environment() -> dict[str, Any]:
    """Versions and machine facts that latency numbers depend on."""
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
    }


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while timing, as ``timeit`` does, to cut noise."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _time_request(rec: Recommender, history: np.ndarray, settings: Settings) -> tuple[int, ...]:
    """Run one request stage by stage, then as a whole; the five durations in ns."""
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
    rec.recommend(history, settings.k, n_candidates=settings.n_candidates)
    t5 = clock()
    return t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4


def run_benchmark(
    rec: Recommender,
    settings: Settings = Settings(),
    load: LoadStats | None = None,
    artifact: str | Path | None = None,
) -> BenchResult:
    """Time ``settings.requests`` single requests after ``settings.warmup`` untimed ones."""
    settings.check(rec.num_items)
    rng = np.random.default_rng(settings.seed)
    total = settings.warmup + settings.requests
    histories = sample_histories(rec.catalog, total, settings.history_length, rng)
    samples = np.zeros((settings.requests, len(STAGES)), dtype=np.int64)
    with _gc_paused():
        for history in histories[: settings.warmup]:
            _time_request(rec, history, settings)
        for i, history in enumerate(histories[settings.warmup :]):
            samples[i] = _time_request(rec, history, settings)
    stages = {key: percentiles(samples[:, column]) for column, (key, _) in enumerate(STAGES)}
    total_seconds = samples[:, -1].sum() / 1e9
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
    )


def format_table(result: BenchResult) -> str:
    """The fixed-width report printed by ``ytrec-bench``."""
    env, s = result.environment, result.settings
    lines = [
        f"ytrec-bench  {result.artifact}",
        f"items {result.num_items}  ef {result.ef_search}  k {s.k}  candidates {s.n_candidates}  "
        f"history {s.history_length}  requests {s.requests} (+{s.warmup} warmup)  "
        f"threads {s.threads}  seed {s.seed}",
        f"onnxruntime {env['onnxruntime']}  hnswlib {env['hnswlib']}  numpy {env['numpy']}  "
        f"python {env['python']}  cpu_count {env['cpu_count']}",
        "",
        f"{'stage':<12} | {'p50 µs':>10} | {'p95 µs':>10} | {'p99 µs':>10} | {'mean µs':>10}",
        f"{'-' * 12}-+-{'-' * 10}-+-{'-' * 10}-+-{'-' * 10}-+-{'-' * 10}",
    ]
    for key, label in STAGES:
        st = result.stages[key]
        lines.append(
            f"{label:<12} | {st['p50_us']:>10.1f} | {st['p95_us']:>10.1f} | "
            f"{st['p99_us']:>10.1f} | {st['mean_us']:>10.1f}"
        )
    rate = f"{result.requests_per_second:,.0f} requests/s"
    lines += ["", f"throughput   {rate} (end to end, one request at a time)"]
    if result.load is not None:
        lines.append(f"load         {result.load.seconds:.3f} s")
        if result.load.rss_mb is not None:
            kind = "current" if result.load.rss_source == "VmRSS" else "peak"
            lines.append(
                f"memory       {result.load.rss_mb:.1f} MB resident after load ({kind}, "
                f"{result.load.rss_source}; {result.load.rss_before_mb:.1f} MB before)"
            )
    lines += [f"note         {note}" for note in result.notes]
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--requests",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed requests.",
)
@click.option(
    "--warmup",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Untimed requests run first.",
)
@click.option(
    "--history-length",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Catalog ids in each synthetic history.",
)
@click.option(
    "-k",
    "k",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Items returned per request.",
)
@click.option(
    "--n-candidates",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Candidates retrieved and ranked per request.",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="onnxruntime intra-op threads per network.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the synthetic histories.",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    type=click.Choice(["cpu", "cuda"]),
    help="Run the networks (and, on cuda, exact retrieval) on this device.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write every number to this JSON file.",
)
def main(
    artifact: Path,
    requests: int,
    warmup: int,
    history_length: int,
    k: int,
    n_candidates: int,
    threads: int,
    seed: int,
    device: str,
    json_path: Path | None,
) -> None:
    """Measure load time, memory and per-stage single-request latency of an ARTIFACT folder."""
    settings = Settings(requests, warmup, history_length, k, n_candidates, threads, seed)
    try:
        rec, load = load_timed(artifact, threads, device)
    except (ArtifactError, DeviceUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        settings.check(rec.num_items)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    result = run_benchmark(rec, settings, load, artifact)
    click.echo(format_table(result))
    if json_path is not None:
        json_path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote        {json_path}")
