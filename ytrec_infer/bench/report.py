"""The bench's records (settings, load statistics, the whole result) and its text table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ytrec_infer.bench.recall import RecallReport

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
