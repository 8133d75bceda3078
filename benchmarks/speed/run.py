"""The comparative speed suite: ytrec-infer against the same model in PyTorch, in one process.

    python -m benchmarks.speed.run --catalogs ml100k,100000,1000000 --out benchmarks/results/speed

For each catalog (MovieLens 100K trained here with the small preset, or a synthetic catalog of
N items built once and reused), the same histories go through every path, interleaved request
by request so that load on the machine hits all paths alike:

- ``ours``: ``Recommender.recommend`` (onnxruntime + the search the runtime picks);
- ``ours_exact_numpy`` / ``ours_hnsw``: the runtime with the other stage-one search;
- ``torch_exact``: the torch modules with exact ``torch.topk`` over all item vectors;
- ``torch_hnswlib``: the torch modules with the artifact's hnswlib index;

plus each stage on its own (user tower and ranker in onnxruntime vs torch; HNSW vs exact numpy
vs torch matmul + topk). Then ``ytrec-bench`` runs on the artifact in a fresh process (load
time, memory, recall@100 and the ef curve, throughput), and import times are measured in fresh
interpreters. Everything goes to ``<out>/<catalog>.json`` and a Markdown summary is printed.
"""

from __future__ import annotations

import os

# One thread for every path, BLAS included: OpenBLAS's threads otherwise spin after each
# product and, on a small shared machine, slow whatever runs next (set before numpy loads).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import copy
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.speed.torch_paths import TorchModel
from ytrec_infer import Recommender
from ytrec_infer.bench import (
    gc_paused,
    environment,
    percentiles,
    related_histories,
    synthetic_path,
)
from ytrec_infer.recommender import Request
from ytrec_infer.retrieval import HnswRetriever, NumpyRetriever

log = logging.getLogger("benchmarks.speed")
ML100K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ml-100k"
N_CANDIDATES = 100
K = 10
HISTORY = 20
BLOCK = 20
"""Consecutive requests a path runs before the next path takes its turn."""


def _models_ml100k(data: Path, work: Path) -> tuple[Path, Any, Any]:
    from trainers.config import TrainConfig
    from trainers.pipeline import train_and_export

    trained = train_and_export(data, work / "ml100k", TrainConfig.small())
    return trained.artifact, trained.candidate_model, trained.ranker


def _models_synthetic(num_items: int, seed: int) -> tuple[Path, Any, Any]:
    from export.synthetic import build, synthetic_models, synthetic_schema
    from ytrec_infer.synthetic import make_catalog

    path = synthetic_path(num_items, seed)
    if not (path / "manifest.json").is_file():
        start = time.perf_counter()
        build(path, num_items, seed)
        log.info("built %s in %.0f s", path, time.perf_counter() - start)
    tower, ranker = synthetic_models(make_catalog(num_items, seed=seed), synthetic_schema(), seed)
    return path, tower, ranker


def _with_retriever(rec: Recommender, retriever: Any) -> Recommender:
    """A shallow copy of ``rec`` whose stage one uses ``retriever`` (same networks, same files)."""
    other = copy.copy(rec)
    other._retriever = retriever
    return other


def _timed(fn: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - start


def _paths(
    rec: Recommender,
    other_name: str,
    other: Recommender,
    model: TorchModel,
    hnsw: HnswRetriever,
    exact: NumpyRetriever,
    history: np.ndarray,
    request: Request,
) -> dict[str, Callable[[], object]]:
    """Every timed path and stage for one request, as calls without arguments."""
    feeds = model.feeds(request)
    vector = rec.embed(request)
    torch_vector = model.user_vector(feeds)
    codes, scores = hnsw.search(vector, N_CANDIDATES, request.codes)
    t_codes, t_scores = torch.from_numpy(codes), torch.from_numpy(scores)
    return {
        "ours": lambda: rec.recommend(history, K),
        other_name: lambda: other.recommend(history, K),
        "torch_exact": lambda: model.recommend_exact(rec.prepare(history), N_CANDIDATES, K),
        "torch_hnswlib": lambda: model.recommend_hnsw(rec.prepare(history), hnsw, N_CANDIDATES, K),
        "stage_tower_onnx": lambda: rec.embed(request),
        "stage_tower_torch": lambda: model.user_vector(feeds),
        "stage_ranker_onnx": lambda: rec.score(request, codes, scores),
        "stage_ranker_torch": lambda: model.rank(feeds, t_codes, t_scores, K),
        "stage_search_hnsw": lambda: hnsw.search(vector, N_CANDIDATES, request.codes),
        "stage_search_exact_numpy": lambda: exact.search(vector, N_CANDIDATES, request.codes),
        "stage_search_torch_topk": lambda: model.exact(torch_vector, request.codes, N_CANDIDATES),
    }


def compare(rec: Recommender, model: TorchModel, requests: int, seed: int) -> dict[str, Any]:
    """Single-request timings of every path and stage, one thread, GC paused.

    Paths take turns in blocks of :data:`BLOCK` different requests, the order rotating from
    block to block: load on the machine hits every path alike, and each path runs as it would
    in a server doing only that (per-request interleaving would let the exact searches, which
    stream the whole item matrix, evict the index and tables of the path timed next)."""
    torch.set_num_threads(1)
    hnsw = (
        rec.retriever
        if isinstance(rec.retriever, HnswRetriever)
        else HnswRetriever(rec.manifest.path(rec.manifest.index.file), rec.manifest.index)
    )
    exact = NumpyRetriever(rec.item_vectors)
    searches_exactly = not isinstance(rec.retriever, HnswRetriever)
    other_name = "ours_hnsw" if searches_exactly else "ours_exact_numpy"
    other = _with_retriever(rec, hnsw if searches_exactly else exact)
    histories = related_histories(rec, requests, HISTORY, np.random.default_rng(seed))
    requests_prepared = [rec.prepare(h) for h in histories]
    samples: dict[str, list[int]] = {}
    warm = max(10, requests // 10)
    with gc_paused():
        for start in range(0, requests, BLOCK):
            block = range(start, min(start + BLOCK, requests))
            calls = [
                _paths(
                    rec, other_name, other, model, hnsw, exact, histories[i], requests_prepared[i]
                )
                for i in block
            ]
            names = list(calls[0])
            shift = (start // BLOCK) % len(names)
            for name in names[shift:] + names[:shift]:
                for i, paths in zip(block, calls):
                    duration = _timed(paths[name])
                    if i >= warm:
                        samples.setdefault(name, []).append(duration)
    agree = []
    for history, request in zip(histories[:50], requests_prepared[:50]):
        ours = set(_with_retriever(rec, exact).recommend(history, K).item_ids.tolist())
        theirs = rec.catalog.ids(model.recommend_exact(request, N_CANDIDATES, K).numpy()).tolist()
        agree.append(len(ours & set(theirs)) / K)
    stats = {name: percentiles(values) for name, values in samples.items()}
    ours_p50 = stats["ours"]["p50_us"]
    return {
        "search": rec.retriever.kind,
        "ef_search": rec.manifest.index.ef_search,
        "requests_timed": requests - warm,
        "latency": stats,
        "speedup_p50": {
            name: stats[name]["p50_us"] / ours_p50
            for name in ("torch_exact", "torch_hnswlib", other_name)
        },
        "top10_agreement_ours_exact_vs_torch_exact": float(np.mean(agree)),
    }


def import_seconds(module: str, repeats: int = 5) -> float:
    """Best wall time of ``import module`` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return min(runs)


def bench_subprocess(artifact: Path, requests: int) -> dict[str, Any]:
    """``ytrec-bench`` on the artifact in a fresh process (so memory is the runtime's alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from ytrec_infer.bench import main; main()",
                str(artifact),
                "--requests",
                str(requests),
                "--json",
                str(out),
                "--plot",
                str(Path(tmp) / "unused.png"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return report


def run_catalog(name: str, work: Path, requests: int, seed: int) -> dict[str, Any]:
    if name == "ml100k":
        artifact, tower, ranker = _models_ml100k(ML100K, work)
    else:
        artifact, tower, ranker = _models_synthetic(int(name), seed)
    start = time.perf_counter()
    rec = Recommender.load(artifact)
    load_seconds = time.perf_counter() - start
    model = TorchModel.of(tower, ranker, np.asarray(rec.item_vectors))
    result = {
        "catalog": name,
        "num_items": rec.num_items,
        "artifact": str(artifact),
        "index": {k: v for k, v in rec.manifest.index.to_dict().items() if k != "file"},
        "load_seconds_in_suite": load_seconds,
        "comparison": compare(rec, model, requests, seed),
    }
    del rec, model
    result["ytrec_bench"] = bench_subprocess(artifact, min(requests, 2000))
    return result


def summary(results: list[dict[str, Any]], imports: dict[str, float]) -> str:
    """The Markdown table for the README: suite columns are interleaved medians of one run,
    ``bench`` columns come from ``ytrec-bench`` in a fresh process."""
    lines = [
        (
            "| items | search (ef) | recall@100 | bench e2e p50 | bench ranker p50 "
            "| ours p50 | torch exact p50 | torch + hnswlib p50 | torch exact / ours "
            "| ranker onnx / torch | load | RSS / files | load avg |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, b = r["comparison"], r["ytrec_bench"]
        lat = c["latency"]
        recall = b["recall"]["recall"] if b.get("recall") else float("nan")
        load_avg = b["environment"].get("load_average") or [float("nan")]
        lines.append(
            f"| {r['num_items']:,} | {c['search']} ({c['ef_search']}) | {recall:.3f} "
            f"| {b['stages']['end_to_end']['p50_us']:.0f} µs "
            f"| {b['stages']['ranking']['p50_us']:.0f} µs "
            f"| {lat['ours']['p50_us']:.0f} µs | {lat['torch_exact']['p50_us']:.0f} µs "
            f"| {lat['torch_hnswlib']['p50_us']:.0f} µs "
            f"| {c['speedup_p50']['torch_exact']:.1f}x "
            f"| {lat['stage_ranker_onnx']['p50_us']:.0f} / {lat['stage_ranker_torch']['p50_us']:.0f} µs "
            f"| {b['load_seconds']:.3f} s | {b['rss_over_files']:.2f} | {load_avg[0]:.1f} |"
        )
    lines.append("")
    lines.append(
        f"import ytrec_infer {imports['ytrec_infer']:.2f} s, import torch {imports['torch']:.2f} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogs", default="ml100k,100000,1000000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/speed"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("onnxscript", "onnx_ir", "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    args.out.mkdir(parents=True, exist_ok=True)
    imports = {m: import_seconds(m) for m in ("ytrec_infer", "torch")}
    results = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.catalogs.split(","):
            log.info("catalog %s", name)
            result = run_catalog(name.strip(), Path(work), args.requests, args.seed)
            result["imports_seconds"] = imports
            result["environment"] = environment()
            (args.out / f"{name.strip()}.json").write_text(
                json.dumps(result, indent=2) + "\n", encoding="utf-8"
            )
            results.append(result)
            print(summary([result], imports), flush=True)
    table = summary(results, imports)
    (args.out / "summary.md").write_text(table + "\n", encoding="utf-8")
    print(table)
    print(f"machine: {environment()['cpu_model']}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
