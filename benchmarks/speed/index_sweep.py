"""Choose the HNSW parameters by measurement: build time, and query latency at recall@100 >= target.

    python -m benchmarks.speed.index_sweep --items 100000 --params 16:100,16:200,24:100,32:64

Items and queries come from the synthetic catalog and its user tower (queries are held-out
user vectors, as at export). For each (M, ef_construction) the index is built on all cores, ef
is raised until recall@100 reaches the target, and single-query latency (one thread) is timed
at that ef. Results go to ``benchmarks/results/speed/index_sweep_<items>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from export.index import build_index
from export.synthetic import HELD_OUT_USERS, user_feeds, synthetic_models, synthetic_schema
from trainers.config import IndexConfig
from ytrec_infer.synthetic import make_catalog, synthetic_histories, synthetic_users


def _p50_us(index: object, queries: np.ndarray, k: int) -> float:
    samples = []
    for query in queries:
        start = time.perf_counter_ns()
        index.knn_query(query[None], k=k, num_threads=1)  # type: ignore[attr-defined]
        samples.append(time.perf_counter_ns() - start)
    return float(np.median(samples) / 1e3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--params", default="16:100,16:200,24:100,32:64")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/speed"))
    args = parser.parse_args(argv)
    catalog = make_catalog(args.items, seed=args.seed)
    schema = synthetic_schema()
    tower, _ = synthetic_models(catalog, schema, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    histories = synthetic_histories(catalog, HELD_OUT_USERS, 20, rng)
    with torch.inference_mode():
        queries = tower(**user_feeds(schema, histories, synthetic_users(HELD_OUT_USERS, rng)))
    queries_np = queries.numpy()
    tune, timed = queries_np[:500], queries_np[500:]
    rows = []
    for spec in args.params.split(","):
        m, efc = (int(x) for x in spec.split(":"))
        config = IndexConfig(M=m, ef_construction=efc, recall_target=args.target, recall_k=100)
        built = build_index(catalog.item_vectors, tune, config, args.seed)
        row = {
            "M": m,
            "ef_construction": efc,
            "build_seconds": built.build_seconds,
            "build_cpu_seconds": built.build_cpu_seconds,
            "load_average": list(os.getloadavg()),
            "ef_search": built.ef_search,
            "recall": built.recall,
            "query_p50_us": _p50_us(built.index, timed, 100),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"index_sweep_{args.items}.json"
    out.write_text(
        json.dumps({"items": args.items, "target": args.target, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
