"""Ingest, split, encoding, holdouts and training examples of one log, for two code trees.

Each tree runs the same phases in its own process (``PYTHONPATH=TREE``, one torch thread, under
``/usr/bin/time -v`` where it exists) so that times and peak memory are side by side in one run
and the ratios are what counts, not the absolute seconds of a shared machine:

    python benchmarks/ingest/compare.py make-log /tmp/log1m.csv --rows 1000000
    git archive main | tar -x -C /tmp/before      # the tree to compare against
    python benchmarks/ingest/compare.py run /tmp/log1m.csv --before /tmp/before --after .

The ranker phase retrieves each example's candidates with an untrained generator (the cost of
retrieval does not depend on the weights) and builds its training lists through
``trainers.train_ranker.training_lists`` (public since issue 19; older trees: ``--no-ranker``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def make_log(path: Path, rows: int, users: int, items: int, seed: int) -> None:
    """A CSV log of integer ids with Unix seconds and 1-5 ratings: the scale benchmark's
    generator (taste clusters, Zipf popularity, ``benchmarks/scale/generator.py``)."""
    from benchmarks.scale.generator import spec_for, write_integer_log

    write_integer_log(path, spec_for(rows, seed, users, items), ratings=True)


def phases(log: Path, ranker: bool = True) -> dict[str, Any]:
    """Time and peak RSS after each phase, in this process (run by :func:`run`)."""
    import resource

    import numpy as np
    import torch

    from trainers.config import CandidateConfig, RankerConfig
    from trainers.data import open_dataset, split_leave_last_out
    from trainers.encoding import encode
    from trainers.examples import build_examples, sample_positions
    from trainers.holdout import holdout_set
    from trainers.models import CandidateModel
    from trainers.out_of_fold import InSample
    from trainers.train_ranker import training_lists

    torch.set_num_threads(1)
    torch.manual_seed(0)
    out: dict[str, Any] = {"seconds": {}, "peak_rss_mib": {}}
    clock = time.perf_counter()

    def done(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        out["seconds"][phase] = round(now - clock, 3)
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["peak_rss_mib"][phase] = round(peak_kib / 1024)
        clock = now

    dataset = open_dataset(log)
    done("ingest")
    split = split_leave_last_out(dataset.interactions)
    done("split")
    config = CandidateConfig()
    data = encode(dataset, split, config.max_history)
    interactions = len(dataset.interactions)
    del dataset, split  # as in trainers.pipeline.prepare_data, which returns only the encoding
    done("encoding")
    holdout_set(data, "valid"), holdout_set(data, "test")
    done("holdouts")
    rng = np.random.default_rng(0)
    examples = build_examples(
        data, sample_positions(data, config.max_examples_per_user, rng), config.max_history
    )
    done("candidate examples")
    order = rng.permutation(len(examples))
    lazy = hasattr(examples, "histories")
    for start in range(0, len(order), config.batch_size):
        batch = order[start : start + config.batch_size]
        examples.histories(batch) if lazy else examples.history[batch]  # type: ignore[attr-defined]
    done("one epoch of history batches")
    out["examples"] = len(examples)
    if ranker:
        items = torch.from_numpy(data.padded_rows(data.tower_item_features))
        model = CandidateModel(items, data.schema, config).eval()
        lists = training_lists(data, data, InSample(model), RankerConfig(), rng)
        done("ranker lists")
        out["ranker_lists"] = len(lists["labels"])
    out["interactions"] = interactions
    return out


def _child(tree: Path, log: Path, ranker: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "phases", str(log)] + ([] if ranker else ["--no-ranker"])
    timer = shutil.which("time")
    if timer:
        command = [timer, "-v", *command]
    env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: phases failed\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if peak:
        result["time_v_max_rss_mib"] = round(int(peak.group(1)) / 1024)
    return result


def run(log: Path, before: Path, after: Path, ranker: bool) -> dict[str, Any]:
    """Both trees' phases, then after/before ratios of time and peak RSS."""
    results = {"before": _child(before, log, ranker), "after": _child(after, log, ranker)}
    old, new = results["before"], results["after"]
    results["time_ratio_after_over_before"] = {
        phase: round(new["seconds"][phase] / max(old["seconds"][phase], 1e-9), 3)
        for phase in old["seconds"]
    }
    total = [sum(r["seconds"][p] for p in r["seconds"] if p != "ranker lists") for r in (old, new)]
    results["ingest_to_examples_seconds"] = {
        "before": round(total[0], 3),
        "after": round(total[1], 3),
    }
    results["ingest_to_examples_speedup"] = round(total[0] / max(total[1], 1e-9), 2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make-log", help="write a synthetic CSV log")
    make.add_argument("path", type=Path)
    make.add_argument("--rows", type=int, default=1_000_000)
    make.add_argument("--users", type=int, default=20_000)
    make.add_argument("--items", type=int, default=10_000)
    make.add_argument("--seed", type=int, default=0)
    compare = commands.add_parser("run", help="run the phases for two trees, print JSON")
    compare.add_argument("log", type=Path)
    compare.add_argument("--before", type=Path, required=True)
    compare.add_argument("--after", type=Path, default=Path("."))
    compare.add_argument("--json", type=Path, default=None, help="also write the result here")
    compare.add_argument("--no-ranker", action="store_true", help="skip the ranker lists")
    child = commands.add_parser("phases", help=argparse.SUPPRESS)
    child.add_argument("log", type=Path)
    child.add_argument("--no-ranker", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "make-log":
        make_log(args.path, args.rows, args.users, args.items, args.seed)
    elif args.command == "phases":
        print(json.dumps(phases(args.log, not args.no_ranker)))
    else:
        result = run(args.log, args.before, args.after, not args.no_ranker)
        text = json.dumps(result, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
