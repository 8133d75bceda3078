"""The exact top-k retrieval of the ranker's training lists, before and after issue 19, on the
same inputs in one run (ratios, not absolute times: the machine is shared).

    python -m benchmarks.scale.retrieval [--items 100000] [--users 8192] [--history 10]

"before" is the implementation ``trainers.inference.retrieve_exact`` replaced (chunks of 1024
users, the excluded cells built from per-row arrays); "after" is the current one. Both run on
one torch thread; the result checks that both return the same codes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np
import torch

from trainers.inference import retrieve_exact


@torch.inference_mode()
def retrieve_exact_before(
    vectors: torch.Tensor, item_matrix: torch.Tensor, exclude: Sequence[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The replaced implementation, kept here as the benchmark's reference."""
    codes, scores = [], []
    items = item_matrix[1:]
    for start in range(0, len(vectors), 1024):
        logits = vectors[start : start + 1024] @ items.T
        part = exclude[start : start + 1024]
        lengths = np.fromiter((len(c) for c in part), dtype=np.int64, count=len(part))
        columns = np.concatenate([np.asarray(c, dtype=np.int64) for c in part]) - 1
        rows = np.repeat(np.arange(len(part)), lengths)
        logits[torch.from_numpy(rows), torch.from_numpy(columns)] = -torch.inf
        top = torch.topk(logits, min(n, items.shape[0]), dim=1)
        codes.append(top.indices.numpy() + 1)
        scores.append(top.values.numpy())
    return np.concatenate(codes), np.concatenate(scores).astype(np.float32)


def inputs(
    users: int, items: int, history: int, dim: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """Unit user and item vectors (row 0 = padding) and ``history`` distinct codes per user."""
    rng = np.random.default_rng(seed)
    vectors = torch.nn.functional.normalize(torch.from_numpy(
        rng.standard_normal((users, dim), dtype=np.float32)), dim=1)
    matrix = torch.nn.functional.normalize(torch.from_numpy(
        rng.standard_normal((items + 1, dim), dtype=np.float32)), dim=1)
    exclude = [rng.choice(np.arange(1, items + 1), history, replace=False) for _ in range(users)]
    return vectors, matrix, exclude


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=8192)
    parser.add_argument("--history", type=int, default=10)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    vectors, matrix, exclude = inputs(args.users, args.items, args.history, args.dim, 0)
    seconds: dict[str, float] = {}
    results = {}
    for name, fn in (("before", retrieve_exact_before), ("after", retrieve_exact)):
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            results[name] = fn(vectors, matrix, exclude, args.n)
            best = min(best, time.perf_counter() - started)
        seconds[name] = best
    print(json.dumps({
        "items": args.items, "users": args.users, "history": args.history, "n": args.n,
        "seconds_before": round(seconds["before"], 3), "seconds_after": round(seconds["after"], 3),
        "us_per_user_before": round(seconds["before"] / args.users * 1e6, 1),
        "us_per_user_after": round(seconds["after"] / args.users * 1e6, 1),
        "speedup": round(seconds["before"] / seconds["after"], 2),
        "same_codes": bool(np.array_equal(results["before"][0], results["after"][0])),
    }))


if __name__ == "__main__":
    main()
