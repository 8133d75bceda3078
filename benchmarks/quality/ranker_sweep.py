"""Compare ranker configurations on the validation split with one generator per seed.

    python -m benchmarks.quality.ranker_sweep --seeds 0,1,2 --variants "default,loss=listwise"

The candidate generator is trained once per seed (default configuration) and cached under
``--cache``; every ranker variant is then trained on top of it, so differences between rows
come from the ranker alone. Each row reports validation NDCG@10 of the ranked list and the
gain over the generator's own order; ``--test`` adds the test split (diagnosis only: settings
are chosen on validation).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from trainers.config import RankerConfig, TrainConfig
from trainers.encoding import EncodedData
from trainers.evaluate import evaluate_torch
from trainers.holdout import holdout_set
from trainers.models import CandidateModel
from trainers.pipeline import prepare_data
from trainers.train_candidates import train_candidates
from trainers.train_ranker import train_ranker

log = logging.getLogger("ranker_sweep")


def parse_variant(text: str) -> dict[str, Any]:
    """``"hidden=64-32 loss=listwise epochs=12"`` -> RankerConfig overrides (``default``: none);
    tuples are dash-separated, booleans are 0/1."""
    fields = RankerConfig.__dataclass_fields__
    overrides: dict[str, Any] = {}
    for item in text.split():
        if item == "default":
            continue
        key, value = item.split("=", 1)
        if key not in fields:
            raise ValueError(f"unknown RankerConfig field {key!r}")
        kind = type(getattr(RankerConfig(), key))
        if kind is tuple:
            overrides[key] = tuple(int(v) for v in value.split("-") if v)
        elif kind is bool:
            overrides[key] = bool(int(value))
        else:
            overrides[key] = kind(value)
    return overrides


def _generator(data: EncodedData, seed: int, cache: Path) -> CandidateModel:
    """The default candidate generator of ``seed``, trained once and cached as a pickled module."""
    path = cache / f"generator_seed{seed}.pt"
    if path.is_file():
        return torch.load(path, weights_only=False)
    config = TrainConfig(seed=seed)
    model, _ = train_candidates(data, config.candidate, holdout_set(data, "valid"), seed)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(model, path)
    return model


def run(names: list[str], seeds: list[int], cache: Path, out: Path, test: bool) -> None:
    """Train every variant on every seed's cached generator; append one JSON line per run."""
    data = prepare_data("movielens-100k", TrainConfig().candidate.max_history)
    valid = holdout_set(data, "valid")
    for seed in seeds:
        generator = _generator(data, seed, cache)
        for name in names:
            config = replace(TrainConfig(seed=seed).ranker, **parse_variant(name))
            start = time.perf_counter()
            history: list[dict[str, Any]] = []
            ranker, _ = train_ranker(data, generator, config, valid, seed, history=history)
            seconds = time.perf_counter() - start
            row: dict[str, Any] = {"variant": name, "seed": seed, "seconds": seconds}
            for split in ("valid", "test") if test else ("valid",):
                metrics = evaluate_torch(generator, ranker, data, split)
                row[split] = {
                    "ndcg@10": metrics["two_stage"]["ndcg@10"],
                    "hr@10": metrics["two_stage"]["hr@10"],
                    "gain": metrics["two_stage"]["ndcg@10"]
                    - metrics["candidates_only"]["ndcg@10"],
                }
            row["curve"] = [r.get("valid_ndcg@10") for r in history]
            with out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            log.info("%s seed %d: %s (%.0f s)", name, seed, row["valid"], seconds)


def summary(path: Path) -> str:
    """One Markdown row per variant: validation NDCG@10 gain per seed, its mean and the mean
    NDCG@10 of the kept model and of the last epoch's model."""
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        runs.setdefault(row["variant"], {})[row["seed"]] = row
    lines = [
        "| variant | seeds | valid gain per seed | mean gain | NDCG@10 kept | NDCG@10 last epoch |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_seed in runs.items():
        rows = [by_seed[seed] for seed in sorted(by_seed)]
        gains = [row["valid"]["gain"] for row in rows]
        kept = sum(row["valid"]["ndcg@10"] for row in rows) / len(rows)
        last = sum(row["curve"][-1] for row in rows) / len(rows)
        shown = ", ".join(f"{gain:+.4f}" for gain in gains)
        lines.append(
            f"| {name} | {len(rows)} | {shown} | {sum(gains) / len(gains):+.4f} "
            f"| {kept:.4f} | {last:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--cache", type=Path, default=Path("artifacts/ranker_sweep"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/ranker_sweep/runs.jsonl"))
    parser.add_argument("--test", action="store_true")
    parser.add_argument("--summary", action="store_true", help="print the table of --out and stop")
    args = parser.parse_args()
    if args.summary:
        print(summary(args.out))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    for name in names:
        parse_variant(name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    run(names, [int(s) for s in args.seeds.split(",")], args.cache, args.out, args.test)


if __name__ == "__main__":
    main()
