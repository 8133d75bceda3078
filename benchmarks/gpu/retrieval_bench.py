"""Exact top-k retrieval on onnxruntime: the blocked graph against the naive MatMul + TopK graph.

For each synthetic catalog size, batch size and dtype: the graph alone (queries, item matrix
and outputs on the device through IO binding), recall@k of its result against numpy's exact
float32 top-k, and the served path (``ExactRetriever.search_many``: host queries in, host
codes out, float32 re-scoring of float16 results). Every variant runs in its own try block,
so one failure is recorded and the rest still run.

    python benchmarks/gpu/retrieval_bench.py --device cuda --sizes 100000 1000000 10000000 --out r.json
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    environment,
    exact_topk,
    preload_cuda,
    providers,
    recall,
    synthetic_catalog,
    time_calls,
    write_json,
)

from topk_variants import block_max, build_variant_graph, naive_plan

from ytrec_infer.onnx_model import session_options
from ytrec_infer.retrieval.exact_onnx import MAX_ELEMENTS, ExactRetriever
from ytrec_infer.retrieval.onnx_writer import FLOAT16, Graph
from ytrec_infer.retrieval.topk_graph import TopKPlan, item_factors, plan_topk

K = 100
RECALL_QUERIES = 64
STAGE_BATCH = 256
"""Batch at which the first stages alone (MatMul; MatMul + block max) are timed too."""


def graph_variant(
    plan: TopKPlan,
    reduce: str,
    items_major: bool,
    items: np.ndarray,
    queries: np.ndarray,
    device: str,
    cuda_graph: bool,
    reps: int,
    budget: float,
) -> tuple[dict[str, float], np.ndarray]:
    """Time one graph with every input and output bound on the device; returns its indices."""
    dtype = np.float16 if plan.float16 else np.float32
    place = "cuda" if device == "cuda" else "cpu"
    options = session_options(None if device == "cuda" else 0)
    session = ort.InferenceSession(
        build_variant_graph(plan, reduce, items_major),
        options,
        providers=providers(device, cuda_graph),
    )
    if device == "cuda" and session.get_providers()[0] != "CUDAExecutionProvider":
        raise RuntimeError(f"session fell back to {session.get_providers()}")
    host: dict[str, np.ndarray] = {}
    if plan.main_items:
        host["items"] = np.ascontiguousarray(items[: plan.main_items], dtype=dtype)
    if plan.tail_items:
        host["tail_items"] = np.ascontiguousarray(items[plan.main_items :], dtype=dtype)
    values = {name: ort.OrtValue.ortvalue_from_numpy(a, place, 0) for name, a in host.items()}
    rows = max(1, MAX_ELEMENTS // plan.num_items)
    bindings, outputs = [], []
    for start in range(0, len(queries), rows):
        part = np.ascontiguousarray(queries[start : start + rows], dtype=dtype)
        binding = session.io_binding()
        keep = {"queries": ort.OrtValue.ortvalue_from_numpy(part, place, 0)}
        for name, value in {**values, **keep}.items():
            binding.bind_ortvalue_input(name, value)
        shape = [len(part), plan.k]
        keep["scores"] = ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, place, 0)
        keep["indices"] = ort.OrtValue.ortvalue_from_shape_and_type(shape, np.int64, place, 0)
        binding.bind_ortvalue_output("scores", keep["scores"])
        binding.bind_ortvalue_output("indices", keep["indices"])
        bindings.append(binding)
        outputs.append(keep)

    def run() -> None:
        for binding in bindings:
            session.run_with_iobinding(binding)

    stats = time_calls(run, reps, budget)
    stats["calls"] = len(bindings)
    return stats, np.concatenate([o["indices"].numpy() for o in outputs])


def stage_variant(
    items: np.ndarray, queries: np.ndarray, reduce: str | None, reps: int, budget: float
) -> dict[str, float]:
    """Time the MatMul alone (``reduce`` None) or MatMul + max of blocks of 32, float16, on
    CUDA, with the [B, N] or [B, N / 32] result left on the device."""
    n, dim = items.shape
    g = Graph(f"stage_{reduce}")
    g.inputs += [("queries", FLOAT16, ["batch", dim]), ("items", FLOAT16, [n, dim])]
    out = g.add("Gemm", ["queries", "items"], "scores" if reduce is None else "s", transB=1)
    width = n
    if reduce is not None:
        width = n // 32
        g.add("Identity", [block_max(g, reduce, out, 32, width, 1)], "scores")
    g.outputs.append(("scores", FLOAT16, ["batch", width]))
    session = ort.InferenceSession(g.to_bytes(), session_options(None), providers=providers("cuda"))
    binding = session.io_binding()
    host = {
        "queries": np.ascontiguousarray(queries, np.float16),
        "items": np.ascontiguousarray(items[: width * (n // width)], np.float16),
    }
    keep = {k: ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0) for k, v in host.items()}
    for name, value in keep.items():
        binding.bind_ortvalue_input(name, value)
    result = ort.OrtValue.ortvalue_from_shape_and_type([len(queries), width], np.float16, "cuda", 0)
    binding.bind_ortvalue_output("scores", result)
    return time_calls(lambda: session.run_with_iobinding(binding), reps, budget)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--budget", type=float, default=1.5, help="seconds per timed variant")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.device == "cuda":
        preload_cuda()
    started = time.time()
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {"environment": environment(), "k": K, "dim": args.dim, "rows": rows}
    for size in args.sizes:
        t0 = time.time()
        items, queries = synthetic_catalog(size, args.dim, seed=size)
        truth = exact_topk(items, queries[:RECALL_QUERIES], K)
        print(f"catalog {size}: data + numpy reference in {time.time() - t0:.1f} s", flush=True)
        factors = item_factors(size, K)
        for batch in args.batches:
            q = queries[:batch]
            variants = [
                ("naive", False, False, "maxpool", False),
                ("naive", True, False, "maxpool", False),
                ("blocked", False, False, "maxpool", False),
                ("blocked", True, False, "maxpool", False),
                ("blocked", True, False, "reducemax", False),
                ("blocked", True, False, "maxpool", True),
                ("blocked", True, False, "reducemax", True),
            ]
            if args.device == "cuda":
                variants.append(("blocked", True, True, "maxpool", False))
            for kind, half, cuda_graph, reduce, items_major in variants:
                row: dict[str, Any] = {
                    "n_items": size,
                    "batch": batch,
                    "graph": kind,
                    "dtype": "float16" if half else "float32",
                    "cuda_graph": cuda_graph,
                    "reduce": reduce if kind == "blocked" else None,
                    "items_major": items_major,
                }
                try:
                    plan = (
                        plan_topk(size, args.dim, K, factors, half)
                        if kind == "blocked"
                        else naive_plan(size, args.dim, K, half)
                    )
                    row.update(factors=list(plan.factors[: plan.levels]), tail=plan.tail_items)
                    stats, found = graph_variant(
                        plan,
                        reduce,
                        items_major,
                        items,
                        q,
                        args.device,
                        cuda_graph,
                        args.reps,
                        args.budget,
                    )
                    row.update(stats)
                    row["recall_at_100"] = recall(found, truth)
                except Exception as exc:  # noqa: BLE001 (recorded; the other variants still run)
                    row["error"] = f"{type(exc).__name__}: {exc}"[:500]
                    traceback.print_exc()
                rows.append(row)
                print({k: v for k, v in row.items() if k not in ("p10_ms", "p90_ms")}, flush=True)
            stages = (None, "maxpool", "reducemax")
            for reduce in stages if batch == STAGE_BATCH and args.device == "cuda" else ():
                row = {"n_items": size, "batch": batch, "graph": f"stage_matmul_{reduce or 'only'}"}
                row["dtype"] = "float16"
                try:
                    row.update(stage_variant(items, q[: MAX_ELEMENTS // size], reduce, 20, 0.5))
                    row["batch"] = min(batch, MAX_ELEMENTS // size)
                except Exception as exc:  # noqa: BLE001 (recorded; the other variants still run)
                    row["error"] = f"{type(exc).__name__}: {exc}"[:500]
                    traceback.print_exc()
                rows.append(row)
                print(row, flush=True)
            for half in (None, False) if args.device == "cuda" else (None,):
                row = {"n_items": size, "batch": batch, "graph": "served", "dtype": None}
                try:
                    retriever = ExactRetriever(items, args.device, float16=half)
                    row["dtype"] = "float16" if retriever.float16 else "float32"
                    excludes = [np.zeros(0, np.int64)] * batch
                    search = partial(retriever.search_many, q, K, excludes)
                    row.update(time_calls(search, args.reps, args.budget))
                    row["recall_at_100"] = recall(np.stack([c for c, _ in search()]) - 1, truth)
                    del retriever, search
                except Exception as exc:  # noqa: BLE001 (recorded; the other variants still run)
                    row["error"] = f"{type(exc).__name__}: {exc}"[:500]
                    traceback.print_exc()
                rows.append(row)
                print(row, flush=True)
            write_json(args.out, result)
        del items, queries
    result["ratios"] = ratios(rows)
    result["seconds"] = time.time() - started
    write_json(args.out, result)


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """naive / blocked median time for each size, batch and dtype measured in this run."""
    out = []
    for row in rows:
        if row["graph"] != "blocked" or row.get("cuda_graph") or "median_ms" not in row:
            continue
        if row["dtype"] == "float16" and (row.get("reduce") != "maxpool" or row["items_major"]):
            continue
        naive = next(
            (
                r
                for r in rows
                if r["graph"] == "naive"
                and "median_ms" in r
                and (r["n_items"], r["batch"], r["dtype"])
                == (row["n_items"], row["batch"], row["dtype"])
            ),
            None,
        )
        if naive is not None:
            out.append(
                {
                    "n_items": row["n_items"],
                    "batch": row["batch"],
                    "dtype": row["dtype"],
                    "naive_ms": naive["median_ms"],
                    "blocked_ms": row["median_ms"],
                    "speedup": naive["median_ms"] / row["median_ms"],
                }
            )
    return out


if __name__ == "__main__":
    main()
