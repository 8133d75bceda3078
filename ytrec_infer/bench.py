"""``ytrec-bench``: latency of each stage, throughput, recall, load time and memory of an artifact.

Latency is measured in one process on one thread, one request at a time, which is how the
library is embedded in a service. Histories are drawn before timing starts: each from the
neighbourhoods of one to three items picked by popularity, as real users watch related items
(which also makes the user vectors realistic queries for the recall measurement). Every request
runs the stages one by one and as a whole ``recommend``, so the stage and end-to-end
numbers come from the same inputs (in two passes, so that no request repeats while its index
pages are still cached). Then: recall@100 of stage one against exact search and the
ef/latency/recall curve (``bench_recall``), and the throughput of ``recommend_batch`` and of
threads sharing one ``Recommender`` (``bench_throughput``). ``--synthetic N`` first builds (or
reuses) an artifact over a synthetic catalog of N items (``ytrec_infer.synthetic``).
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

from ytrec_infer.bench_plot import write_plot
from ytrec_infer.bench_recall import RecallReport, measure_recall, user_vectors
from ytrec_infer.bench_throughput import batch_throughput, threaded_throughput
from ytrec_infer.catalog import Catalog
from ytrec_infer.devices import DeviceUnavailableError
from ytrec_infer.errors import ArtifactError
from ytrec_infer.loading import LoadOptions
from ytrec_infer.recommender import Recommender
from ytrec_infer.retrieval import RETRIEVAL_MODES

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
    recall_queries: int = 200
    batch_size: int = 64
    concurrency: tuple[int, ...] = (1, 2)

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
    recall: RecallReport | None = None
    throughput: Mapping[str, float] = field(default_factory=dict)
    search: str = "hnsw"
    files_mb: float | None = None
    peak_rss_mb: float | None = None

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
            "peak_rss_mb": self.peak_rss_mb,
            "files_mb": self.files_mb,
            "rss_over_files": (
                None
                if self.load is None or self.load.rss_mb is None or not self.files_mb
                else self.load.rss_mb / self.files_mb
            ),
            "search": self.search,
            "recall": None if self.recall is None else self.recall.to_dict(),
            "throughput_rps": dict(self.throughput),
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


def related_histories(
    rec: Recommender, n: int, length: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` histories [n, length] of distinct ids, from the neighbourhoods of 1-3 anchor items.

    Anchors are drawn with weight popularity + 1; each history takes ``length`` items at random
    among the anchors' ``2 * length`` nearest items (by the item vectors), like a user who
    watched a few related things.
    """
    if not 1 <= length <= rec.num_items:
        raise ValueError(f"history length must be in 1..{rec.num_items}, got {length}")
    weights = rec.catalog.popularity.astype(np.float64) + 1.0
    anchors = rng.choice(rec.num_items, size=(n, 3), p=weights / weights.sum())
    vectors = np.asarray(rec.item_vectors[anchors.reshape(-1)])
    none = [np.zeros(0, dtype=np.int64)] * len(vectors)
    found = rec.retriever.search_many(vectors, 2 * length, none)
    near = np.stack([codes for codes, _ in found]).reshape(n, 3, -1)
    out = np.empty((n, length), dtype=np.int64)
    for row in range(n):
        pool = np.unique(near[row, : rng.integers(1, 4)])
        if len(pool) < length:
            pool = np.arange(1, rec.num_items + 1)
        out[row] = rng.choice(pool, size=length, replace=False)
    return rec.catalog.ids(out)


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
    files = rec.manifest.raw["files"]
    return sum(int(entry["size"]) for entry in files.values()) / (1024 * 1024)


def load_timed(path: str | Path, options: LoadOptions) -> tuple[Recommender, LoadStats]:
    """Load an artifact as ``options`` say, timing ``Recommender.load`` and reading memory
    before and after."""
    before, _ = resident_memory_mb()
    start = time.perf_counter_ns()
    rec = Recommender.load(path, options=options)
    seconds = (time.perf_counter_ns() - start) / 1e9
    after, source = resident_memory_mb()
    return rec, LoadStats(seconds, after, before, source)


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


def _time_stages(rec: Recommender, history: np.ndarray, settings: Settings) -> tuple[int, ...]:
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


def _time_whole(rec: Recommender, history: np.ndarray, settings: Settings) -> int:
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
    with _gc_paused():
        for history in histories[: settings.warmup]:
            _time_stages(rec, history, settings)
            _time_whole(rec, history, settings)
        # Whole requests and stages in separate passes: repeating a request at once would find
        # the index pages it reads still in cache, which flatters large catalogs.
        for i, history in enumerate(histories[settings.warmup :]):
            samples[i, -1] = _time_whole(rec, history, settings)
        for i, history in enumerate(histories[settings.warmup :]):
            samples[i, :-1] = _time_stages(rec, history, settings)
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


def format_table(result: BenchResult) -> str:
    """The fixed-width report printed by ``ytrec-bench``."""
    env, s = result.environment, result.settings
    lines = [
        f"ytrec-bench  {result.artifact}",
        (
            f"items {result.num_items}  search {result.search}  ef {result.ef_search}  k {s.k}  "
            f"candidates {s.n_candidates}  history {s.history_length}  "
            f"requests {s.requests} (+{s.warmup} warmup)  threads {s.threads}  seed {s.seed}"
        ),
        (
            f"onnxruntime {env['onnxruntime']}  hnswlib {env['hnswlib']}  numpy {env['numpy']}  "
            f"python {env['python']}  cpu_count {env['cpu_count']}  load average "
            f"{' '.join(f'{x:.2f}' for x in env.get('load_average') or [])}"
        ),
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
    for name, value in result.throughput.items():
        what = name.replace("_", " ")
        lines.append(f"             {value:,.0f} requests/s ({what})")
    if result.recall is not None:
        r = result.recall
        lines.append(
            f"recall       recall@{r.k} {r.recall:.4f} vs exact ({r.search}, ef {r.ef_search}, "
            f"{r.queries} queries); exact numpy search {r.exact_p50_us:.0f} µs p50"
        )
        if r.curve:
            lines.append(
                "ef curve     "
                + "  ".join(f"ef {p.ef}: {p.recall:.3f} @ {p.p50_us:.0f} µs" for p in r.curve)
            )
    if result.load is not None:
        lines.append(f"load         {result.load.seconds:.3f} s")
        if result.load.rss_mb is not None:
            kind = "current" if result.load.rss_source == "VmRSS" else "peak"
            lines.append(
                f"memory       {result.load.rss_mb:.1f} MB resident after load ({kind}, "
                f"{result.load.rss_source}; {result.load.rss_before_mb:.1f} MB before)"
            )
    if result.files_mb is not None:
        ratio = result.to_dict()["rss_over_files"]
        extra = "" if ratio is None else f"; resident after load / files = {ratio:.2f}"
        lines.append(f"files        {result.files_mb:.1f} MB{extra}")
    if result.peak_rss_mb is not None:
        lines.append(f"peak memory  {result.peak_rss_mb:.1f} MB (VmHWM, whole run)")
    lines += [f"note         {note}" for note in result.notes]
    return "\n".join(lines)


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"expected positive integers, got {text!r}")
    return values


def synthetic_path(num_items: int, seed: int) -> Path:
    """Where ``--synthetic`` keeps its artifacts: ``$YTREC_CACHE`` or ``~/.cache/ytrec``."""
    root = Path(os.environ.get("YTREC_CACHE", Path.home() / ".cache" / "ytrec"))
    return root / "synthetic" / f"items-{num_items}-seed-{seed}"


def _synthetic_artifact(num_items: int, seed: int, out: Path | None) -> Path:
    """An existing synthetic artifact of this size and seed, or a new one built now."""
    from ytrec_infer.synthetic import build_synthetic_artifact

    path = out if out is not None else synthetic_path(num_items, seed)
    if (path / "manifest.json").is_file():
        click.echo(f"synthetic    reusing {path}")
        return path
    click.echo(f"synthetic    building {num_items:,} items into {path} (once; minutes at 1M)")
    start = time.perf_counter()
    try:
        build_synthetic_artifact(path, num_items, seed)
    except (RuntimeError, ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"synthetic    built in {time.perf_counter() - start:.0f} s")
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--synthetic",
    type=click.IntRange(min=2),
    help="Benchmark a synthetic catalog of this many items (built once, then reused).",
)
@click.option(
    "--synthetic-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the synthetic artifact (default ~/.cache/ytrec/synthetic/items-N-seed-S).",
)
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
    "--recall-queries",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="User vectors for recall@100 and the ef curve (0 skips them).",
)
@click.option(
    "--batch-size",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Batch size of the recommend_batch throughput run.",
)
@click.option(
    "--concurrency",
    default="1,2",
    show_default=True,
    help="Thread counts sharing one Recommender for the throughput runs.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the histories (and of the synthetic catalog).",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    type=click.Choice(["cpu", "cuda"]),
    help="Run the networks (and, on cuda, exact retrieval) on this device.",
)
@click.option(
    "--retrieval",
    type=click.Choice(list(RETRIEVAL_MODES)),
    help="Stage one's search (default: exact on cuda, exact-numpy up to 5,000 items, else hnsw).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write every number to this JSON file.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="PNG of the curves (default: beside --json); needs matplotlib (extra 'plot').",
)
def main(
    artifact: Path | None,
    synthetic: int | None,
    synthetic_dir: Path | None,
    requests: int,
    warmup: int,
    history_length: int,
    k: int,
    n_candidates: int,
    threads: int,
    recall_queries: int,
    batch_size: int,
    concurrency: str,
    seed: int,
    device: str,
    retrieval: str | None,
    json_path: Path | None,
    plot_path: Path | None,
) -> None:
    """Measure an ARTIFACT folder (or a --synthetic catalog): load time, memory, per-stage
    latency, throughput, and stage one's recall against exact search."""
    if (artifact is None) == (synthetic is None):
        raise click.UsageError("give an ARTIFACT folder or --synthetic N, not both or neither")
    settings = Settings(
        requests,
        warmup,
        history_length,
        k,
        n_candidates,
        threads,
        seed,
        recall_queries,
        batch_size,
        _ints(concurrency),
    )
    if synthetic is not None:
        artifact = _synthetic_artifact(synthetic, seed, synthetic_dir)
    assert artifact is not None
    try:
        options = LoadOptions(device=device, threads=threads, retrieval=retrieval)
        rec, load = load_timed(artifact, options)
    except (ArtifactError, DeviceUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None
    if synthetic is not None and rec.num_items != synthetic:
        raise click.ClickException(
            f"{artifact} holds {rec.num_items} items, not {synthetic}: choose another --synthetic-dir"
        )
    try:
        settings.check(rec.num_items)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    result = run_benchmark(rec, settings, load, artifact)
    click.echo(format_table(result))
    report = result.to_dict()
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote        {json_path}")
        plot_path = plot_path or json_path.with_suffix(".png")
    if plot_path is not None:
        if write_plot(report, plot_path):
            click.echo(f"wrote        {plot_path}")
        else:
            click.echo("plot         skipped: matplotlib is not installed (pip install matplotlib)")
