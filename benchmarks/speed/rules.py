"""Latency of ``recommend`` under per-request rules, next to no rule, in one process and run.

    python -m benchmarks.speed.rules [--items 1000000] [--requests 400]

Variants: no rule; ``allowed`` sets of 1%, 10% and 50% of the catalog (fixed random subsets);
1,000 ``exclude`` ids. They take turns in blocks of 20 requests on the same histories, so load
on the machine hits all alike; p50/p99 per variant and the ratio to no rule are reported, with
the recall@10 of ``candidates`` under each allowed set against exact search over that set.
Writes ``benchmarks/results/speed/rules_<items>.json``. The synthetic artifact is built once
(``ytrec_infer.bench.workload.synthetic_path``; needs the ``train`` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer import Recommender
from ytrec_infer.bench.workload import synthetic_path
from ytrec_infer.synthetic import build_synthetic_artifact, make_catalog, synthetic_histories

RESULTS = Path(__file__).resolve().parents[1] / "results" / "speed"
BLOCK = 20


def _artifact(num_items: int) -> Path:
    path = synthetic_path(num_items, 0)
    if not (path / "manifest.json").is_file():
        build_synthetic_artifact(path, num_items, seed=0)
    return path


def _recall(rec: Recommender, histories: list[list[int]], allowed: np.ndarray) -> float:
    """Mean share of the exact top 10 over ``allowed`` that ``candidates`` returns."""
    hits = []
    codes_allowed, _ = rec.catalog.codes(allowed)
    for history in histories:
        request = rec.prepare(history)
        pool = np.setdiff1d(codes_allowed, request.codes)
        scores = rec.item_vectors[pool - 1] @ rec.embed(request)
        exact = set(rec.catalog.ids(pool[np.argsort(-scores)[:10]]).tolist())
        found = set(rec.candidates(history, n=10, allowed=allowed).item_ids.tolist())
        hits.append(len(found & exact) / 10)
    return float(np.mean(hits))


def run(num_items: int, requests: int) -> dict[str, Any]:
    rec = Recommender.load(_artifact(num_items))
    rng = np.random.default_rng(0)
    catalog = make_catalog(num_items, seed=0)
    histories = [list(map(int, h)) for h in synthetic_histories(catalog, requests, 20, rng)]
    ids = rec.catalog.item_ids
    variants: dict[str, dict[str, Any]] = {"no rule": {}}
    for share in (0.01, 0.1, 0.5):
        chosen = np.sort(rng.choice(ids, size=int(share * len(ids)), replace=False))
        variants[f"allowed {share:.0%}"] = {"allowed": chosen}
    variants["exclude 1,000"] = {"exclude": rng.choice(ids, size=1000, replace=False)}
    for rules in variants.values():  # warm up every path
        for history in histories[:BLOCK]:
            rec.recommend(history, k=10, **rules)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for start in range(0, len(histories), BLOCK):
        for name, rules in variants.items():
            for history in histories[start : start + BLOCK]:
                began = time.perf_counter()
                result = rec.recommend(history, k=10, **rules)
                times[name].append(time.perf_counter() - began)
                assert len(result) == 10
    base = float(np.median(times["no rule"]))
    report: dict[str, Any] = {
        "items": num_items,
        "retrieval": rec.retriever.kind,
        "requests_per_variant": len(histories),
        "variants": {},
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    for name, seconds in times.items():
        row = {
            "p50_us": round(float(np.median(seconds)) * 1e6, 1),
            "p99_us": round(float(np.quantile(seconds, 0.99)) * 1e6, 1),
            "ratio_to_no_rule_p50": round(float(np.median(seconds)) / base, 2),
        }
        if "allowed" in variants[name]:
            row["candidates_recall@10"] = round(
                _recall(rec, histories[:50], variants[name]["allowed"]), 3
            )
        report["variants"][name] = row
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="synthetic catalog size")
    parser.add_argument("--requests", type=int, default=400, help="requests per variant")
    args = parser.parse_args(argv)
    report = run(args.items, args.requests)
    out = RESULTS / f"rules_{args.items}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, row in report["variants"].items():
        print(
            f"{name:>14}: p50 {row['p50_us']:>8} us  p99 {row['p99_us']:>8} us  x{row['ratio_to_no_rule_p50']}"
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
