"""The ranker's list budget on a scale log: validation NDCG@10 and the cost of lists + ranker
for several ``RankerConfig.max_lists`` / ``list_sampling`` settings on one trained generator.

    python -m benchmarks.scale.list_budget --log DIR --variants 0:newest,200000:newest,...

The generator is trained once (default config, ``--candidate-epochs`` capped); then each
variant trains the ranker (``--ranker-epochs`` capped) from the same generator and seed, so
the variants differ only in which positions get a list. ``0`` = no budget (every user's last
``positions_per_user`` positions). Lists seconds = ``train_ranker``'s start to its
"ranker: N lists" log line; ranker seconds = the rest of ``train_ranker``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any


class _ListsDone(logging.Handler):
    """Stamps the time and the count of the ranker's "ranker: N lists" line."""

    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None
        self.lists: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = re.match(r"ranker: (\d+) lists", record.getMessage())
        if record.name == "trainers.train_ranker" and found:
            self.at, self.lists = time.perf_counter(), int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="a benchmarks.scale log folder")
    parser.add_argument("--variants", default="0:newest,200000:newest,200000:uniform")
    parser.add_argument("--candidate-epochs", type=int, default=None)
    parser.add_argument("--ranker-epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    from trainers.config import TrainConfig
    from trainers.holdout import holdout_set
    from trainers.pipeline import prepare_data
    from trainers.threads import use_threads
    from trainers.train_candidates import train_candidates
    from trainers.train_ranker import train_ranker
    from ytrec_infer.cli import setup_logging

    setup_logging(quiet=False)
    use_threads(1)
    config = TrainConfig(seed=args.seed)
    if args.candidate_epochs is not None:
        config = replace(config, candidate=replace(config.candidate, epochs=args.candidate_epochs))
    data = prepare_data(args.log / "log.parquet", config.candidate.max_history,
                        args.log / "items.csv", args.log / "users.csv",
                        args.log / "features.json")
    valid = holdout_set(data, "valid")
    started = time.perf_counter()
    generator, stage_one = train_candidates(data, config.candidate, valid, args.seed)
    result: dict[str, Any] = {
        "log": str(args.log), "candidate_epochs": args.candidate_epochs,
        "ranker_epochs": args.ranker_epochs, "generator_seconds":
        round(time.perf_counter() - started, 1), "stage_one": stage_one, "variants": [],
    }
    marker = _ListsDone()
    logging.getLogger("trainers.train_ranker").addHandler(marker)
    for variant in args.variants.split(","):
        budget, sampling = variant.split(":")
        ranker_config = replace(config.ranker, max_lists=int(budget), list_sampling=sampling,
                                epochs=args.ranker_epochs)
        history: list[Any] = []
        marker.at = None
        started = time.perf_counter()
        _, metrics = train_ranker(data, generator, ranker_config, valid, args.seed,
                                  history=history)
        ended = time.perf_counter()
        lists_done = marker.at if marker.at is not None else started
        result["variants"].append({
            "max_lists": int(budget), "sampling": sampling,
            "lists": marker.lists,
            "lists_seconds": round(lists_done - started, 1),
            "ranker_seconds": round(ended - lists_done, 1),
            "epochs": len(history), **metrics,
            "ndcg_per_epoch": [round(float(r["valid_ndcg@10"]), 4) for r in history],
        })
        print(json.dumps(result["variants"][-1]), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
