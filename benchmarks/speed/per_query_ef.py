"""HNSW search paths side by side: the pre-package search (``set_ef`` once, k = what is wanted,
re-implemented here), the served default (``HnswRetriever.search``) and an explicit per-query
``ef`` equal to the default (k = max(ef, wanted)); one index handle, same queries, alternating
query by query in one run; prints medians and their ratios to the old path.

    python benchmarks/speed/per_query_ef.py --items 100000 --ef 450
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

import hnswlib
import numpy as np

from ytrec_infer.manifest import IndexSpec
from ytrec_infer.retrieval import HnswRetriever
from ytrec_infer.retrieval.protocol import drop_excluded


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--ef", type=int, default=450, help="the manifest's ef_search")
    parser.add_argument("--n", type=int, default=100, help="candidates per request")
    parser.add_argument("--history", type=int, default=20, help="excluded codes per request")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6, help="a multiple of 6")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors, queries = _unit(rng, args.items, args.dim), _unit(rng, args.queries, args.dim)
    excludes = [rng.choice(args.items, args.history, replace=False) + 1 for _ in queries]
    index = hnswlib.Index(space="ip", dim=args.dim)
    index.init_index(max_elements=args.items, M=16, ef_construction=200, random_seed=0)
    index.add_items(vectors, np.arange(1, args.items + 1), num_threads=-1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.bin"
        index.save_index(str(path))
        spec = IndexSpec(path.name, "ip", args.dim, args.items, 16, 200, args.ef)
        served = HnswRetriever(path, spec)
    old = served.index  # the same memory for every path: no cache advantage for either

    def old_search(vector: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        excluded = np.unique(exclude)
        k = min(args.items, args.n + len(excluded))
        labels, distances = old.knn_query(vector.reshape(1, -1), k=k, num_threads=1)
        codes, _ = drop_excluded(labels[0].astype(np.int64), 1.0 - distances[0], excluded)
        return codes[: args.n]

    def new_search(vector: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        return served.search(vector, args.n, exclude)[0]

    def explicit_ef(vector: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        return served.search(vector, args.n, exclude, ef=args.ef)[0]

    paths = (("set_ef", old_search), ("default", new_search), ("explicit_ef", explicit_ef))
    times: dict[str, list[float]] = {name: [] for name, _ in paths}
    same = 0
    orders = list(itertools.permutations(paths))  # each path first, middle and last equally:
    for round_ in range(args.rounds):  # the first search of a query finds a colder cache
        for vector, exclude in zip(queries, excludes):
            for name, search in orders[round_ % len(orders)]:
                start = time.perf_counter_ns()
                search(vector, exclude)
                times[name].append((time.perf_counter_ns() - start) / 1e3)
    for vector, exclude in zip(queries, excludes):
        want = old_search(vector, exclude)
        same += np.array_equal(want, new_search(vector, exclude))
        same += np.array_equal(want, explicit_ef(vector, exclude))
    medians = {name: float(np.median(t)) for name, t in times.items()}
    print(f"items {args.items}, ef {args.ef}, n {args.n}, {args.history} excluded, "
          f"{args.queries} queries x {args.rounds} rounds, alternating")
    for name, median in medians.items():
        print(f"{name:10s} median {median:8.1f} us")
    for name in ("default", "explicit_ef"):
        print(f"{name} / set_ef = {medians[name] / medians['set_ef']:.3f}")
    print(f"identical results: {same}/{2 * len(queries)}")


if __name__ == "__main__":
    main()
