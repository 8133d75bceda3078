"""Per-request cost of the stage output checks, next to the request they guard, in one run.

    python -m benchmarks.speed.output_checks ARTIFACT [--requests 2000]

For each request the whole ``recommend`` is timed, then the three checks it runs
(:func:`ytrec_infer.output_checks.checked` on its user vector, retrieval scores and ranker
logits) are timed on that request's own outputs; requests are interleaved so machine load hits
both alike. Prints p50 of both and their ratio (target: checks under 2% of a request's p50).
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ytrec_infer import Recommender
from ytrec_infer.output_checks import checked


def measure(artifact: Path, requests: int, seed: int = 0) -> dict[str, float]:
    """p50 (µs) of a whole request and of its three output checks, and their ratio."""
    rec = Recommender.load(artifact)
    rng = np.random.default_rng(seed)
    ids = rec.catalog.item_ids
    histories = [rng.choice(ids, size=20, replace=False) for _ in range(requests + 100)]
    clock = time.perf_counter_ns
    whole, checks = [], []
    path = Path("x")
    for i, history in enumerate(histories):
        start = clock()
        rec.recommend(history, k=10)
        elapsed = clock() - start
        request = rec.prepare(history)
        vector = rec.embed(request)
        codes, scores = rec.retrieve(request, vector, 100, True)
        logits = rec.score(request, codes, scores)
        raw_vector, raw_logits = vector.reshape(1, -1), logits.reshape(1, -1)
        start = clock()
        checked(raw_vector, raw_vector.shape, "user vector", path)
        checked(scores, codes.shape, "retrieval scores", path)
        checked(raw_logits, raw_logits.shape, "ranker logits", path)
        checking = clock() - start
        if i >= 100:  # warm-up
            whole.append(elapsed)
            checks.append(checking)
    request_p50 = float(np.percentile(whole, 50)) / 1e3
    checks_p50 = float(np.percentile(checks, 50)) / 1e3
    return {
        "items": rec.num_items,
        "retrieval": rec.retriever.kind,
        "request_p50_us": request_p50,
        "checks_p50_us": checks_p50,
        "checks_share": checks_p50 / request_p50,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(measure(args.artifact, args.requests)))


if __name__ == "__main__":
    main()
