"""The whole pipeline (user tower, retrieval, ranker) of a trained artifact on CPU and CUDA.

For each configuration: one user at a time through ``recommend`` and 256 users through one
``recommend_batch`` call, and how often the top-10 list equals that of the CPU exact path.

    python benchmarks/gpu/end_to_end_bench.py artifacts/ml100k --device cuda --out e2e.json
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment, preload_cuda, time_calls, write_json

from ytrec_infer import Recommender
from ytrec_infer.bench import sample_histories


def _cycle(rec: Recommender, histories: list[np.ndarray], counter: Iterator[int]) -> object:
    """Recommend for the next history of ``histories`` (round robin)."""
    return rec.recommend(histories[next(counter) % len(histories)], k=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per timed variant")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.device == "cuda":
        preload_cuda()
    configs = [("cpu", "hnsw", None), ("cpu", "exact", None)]
    if args.device == "cuda":
        configs += [("cuda", "exact", True), ("cuda", "exact", False)]
    reference = Recommender.load(args.artifact, device="cpu", retrieval="exact")
    histories = sample_histories(reference.catalog, args.batch, 20, np.random.default_rng(0))
    expected = [r.item_ids for r in reference.recommend_batch(list(histories), k=10)]
    rows: list[dict[str, Any]] = []
    for device, retrieval, half in configs:
        row: dict[str, Any] = {"device": device, "retrieval": retrieval, "float16": half}
        try:
            t0 = time.perf_counter()
            rec = Recommender.load(args.artifact, device=device, retrieval=retrieval, float16=half)
            row["load_s"] = time.perf_counter() - t0
            batch = list(histories)
            one_at_a_time = partial(_cycle, rec, batch, iter(range(10**9)))
            row["recommend_1"] = time_calls(one_at_a_time, 2000, args.budget, 20)
            whole = partial(rec.recommend_batch, batch, k=10)
            row[f"recommend_batch_{args.batch}"] = time_calls(whole, 200, args.budget)
            got = rec.recommend_batch(batch, k=10)
            row["same_top10_as_cpu_exact"] = float(
                np.mean([np.array_equal(g.item_ids, e) for g, e in zip(got, expected)])
            )
            one_by_one = [rec.recommend(h, k=10).item_ids for h in batch]
            row["batch_equals_single"] = float(
                np.mean([np.array_equal(g.item_ids, s) for g, s in zip(got, one_by_one)])
            )
        except Exception as exc:  # noqa: BLE001 (recorded; the other configurations still run)
            row["error"] = f"{type(exc).__name__}: {exc}"[:500]
            traceback.print_exc()
        rows.append(row)
        print(row, flush=True)
    write_json(
        args.out,
        {
            "environment": environment(),
            "artifact": str(args.artifact),
            "num_items": reference.num_items,
            "batch": args.batch,
            "rows": rows,
        },
    )
    wrong = differences(rows)
    for line in wrong:
        print(f"FAIL {line}", file=sys.stderr, flush=True)
    if wrong:
        sys.exit(1)


def differences(rows: list[dict[str, Any]]) -> list[str]:
    """Every exact configuration whose top-10 lists are not the CPU exact ones, or whose batch
    and single results differ, or that failed (HNSW is approximate and only recorded)."""
    out = []
    for row in rows:
        name = f"{row['device']} {row['retrieval']} float16={row['float16']}"
        if "error" in row:
            out.append(f"{name}: {row['error']}")
        elif row["retrieval"] == "exact" and row["same_top10_as_cpu_exact"] < 1.0:
            out.append(f"{name}: top-10 equals CPU exact for {row['same_top10_as_cpu_exact']:.2%}")
        elif row["batch_equals_single"] < 1.0:
            out.append(f"{name}: batch equals single for {row['batch_equals_single']:.2%}")
    return out


if __name__ == "__main__":
    main()
