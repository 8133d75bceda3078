"""Examples/s of the candidate generator's training step in the checkout it is run from, on a
scale log: to compare two commits side by side, run it from each checkout in turn.

    git worktree add /tmp/before <commit>
    for tree in /tmp/before .; do (cd $tree && python $OLDPWD/benchmarks/training/step_rate.py \\
        --log /tmp/s10m --threads 1 --steps 6); done

The script puts the current directory first on the import path, so the checkout it runs in
supplies ``trainers`` and ``benchmarks.training.loop``; it uses only what every commit since
issue 19 has (``current_step``, ``_examples``, ``prepare_data``). Each round times ``--steps``
steps of the default ``CandidateConfig`` after three warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="a benchmarks/scale log folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.getcwd())
    from benchmarks.training.loop import _examples, current_step
    from trainers.config import CandidateConfig
    from trainers.pipeline import prepare_data

    config = CandidateConfig()
    folder = args.log
    data = prepare_data(
        folder / "log.parquet",
        config.max_history,
        folder / "items.csv",
        folder / "users.csv",
        folder / "features.json",
    )
    examples, order, config = _examples(data, config, args.threads)
    step = current_step(data, examples, config, args.steps * args.rounds + 3)
    size = config.batch_size
    for index in range(3):
        step(order[index * size : (index + 1) * size], index)
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for index in range(args.steps):
            step(order[index * size : (index + 1) * size], index)
        rates.append(args.steps * size / (time.perf_counter() - started))
    print(json.dumps({"tree": os.getcwd(), "log": str(folder), "batch": size,
                      "threads": args.threads, "ex_per_s": [round(r) for r in rates]}))


if __name__ == "__main__":
    main()
