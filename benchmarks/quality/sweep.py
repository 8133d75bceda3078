"""Compare training configurations on the validation split, one generator per seed and setting.

    python -m benchmarks.quality.sweep --seeds 0,1,2 --variants "default,loss=listwise"
    python -m benchmarks.quality.sweep --seeds 0,1,2 --variants "gen.average_last=1,default"

A variant is a space-separated list of overrides: ``field=value`` changes the ``RankerConfig``,
``gen.field=value`` the ``CandidateConfig``. Each distinct generator configuration is trained
once per seed and cached under ``--cache`` (keyed by its settings); every ranker variant is
then trained on top of it, so rows that share a generator differ by the ranker alone. Each
row reports validation NDCG@10 of the ranked list, the gain over the generator's own order and
the generator's Recall@100; ``--test`` adds the test split (diagnosis only: settings are chosen
on validation).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from trainers.config import CandidateConfig, RankerConfig, TrainConfig
from trainers.encoding import EncodedData
from trainers.evaluate import evaluate_torch
from trainers.holdout import holdout_set
from trainers.models import CandidateModel
from trainers.pipeline import prepare_data
from trainers.train_candidates import train_candidates
from trainers.train_ranker import train_ranker

log = logging.getLogger("sweep")


def _typed(config: object, key: str, value: str) -> Any:
    """``value`` parsed as the type of ``config``'s field ``key`` (tuples dash-separated, of
    the default's element type: ``hidden=64-32``, ``blends=0.25-1``; booleans 0/1)."""
    if key not in getattr(config, "__dataclass_fields__", {}):
        raise ValueError(f"unknown {type(config).__name__} field {key!r}")
    default = getattr(config, key)
    kind = type(default)
    if kind is tuple:
        element = type(default[0]) if default else int
        return tuple(element(v) for v in value.split("-") if v)
    if kind is bool:
        return bool(int(value))
    return kind(value)


def parse_variant(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``"gen.average_last=1 hidden=64-32 loss=listwise"`` -> (CandidateConfig overrides,
    RankerConfig overrides); ``default`` means none."""
    generator: dict[str, Any] = {}
    ranker: dict[str, Any] = {}
    for item in text.split():
        if item == "default":
            continue
        key, value = item.split("=", 1)
        if key.startswith("gen."):
            generator[key[4:]] = _typed(CandidateConfig(), key[4:], value)
        else:
            ranker[key] = _typed(RankerConfig(), key, value)
    return generator, ranker


def _generator(
    data: EncodedData, config: CandidateConfig, seed: int, cache: Path
) -> CandidateModel:
    """The generator of ``config`` and ``seed``, trained once and cached as a pickled module
    (a local cache of this script, not an artifact) under a name derived from its settings."""
    key = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:12]
    path = cache / f"generator_{key}_seed{seed}.pt"
    if path.is_file():
        return torch.load(path, weights_only=False)
    model, _ = train_candidates(data, config, holdout_set(data, "valid"), seed)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(model, path)
    return model


def run(
    names: list[str], seeds: list[int], cache: Path, out: Path, test: bool, source: str
) -> None:
    """Train every variant on every seed (generators cached); append one JSON line per run."""
    data = prepare_data(source, TrainConfig().candidate.max_history)
    valid = holdout_set(data, "valid")
    for seed in seeds:
        for name in names:
            generator_changes, ranker_changes = parse_variant(name)
            base = TrainConfig(seed=seed)
            generator = _generator(data, replace(base.candidate, **generator_changes), seed, cache)
            config = replace(base.ranker, **ranker_changes)
            start = time.perf_counter()
            history: list[dict[str, Any]] = []
            ranker, _ = train_ranker(data, generator, config, valid, seed, history=history)
            seconds = time.perf_counter() - start
            row: dict[str, Any] = {"variant": name, "seed": seed, "seconds": seconds}
            for split in ("valid", "test") if test else ("valid",):
                metrics = evaluate_torch(generator, ranker, data, split)
                bare = metrics["history_only"]
                row[split] = {
                    "ndcg@10": metrics["two_stage"]["ndcg@10"],
                    "hr@10": metrics["two_stage"]["hr@10"],
                    "gain": metrics["two_stage"]["ndcg@10"] - metrics["candidates_only"]["ndcg@10"],
                    "recall@100": metrics["candidate_recall@100"],
                    "history_only": {
                        "ndcg@10": bare["two_stage"]["ndcg@10"],
                        "hr@10": bare["two_stage"]["hr@10"],
                        "gain": bare["two_stage"]["ndcg@10"] - bare["candidates_only"]["ndcg@10"],
                        "candidates_only_ndcg@10": bare["candidates_only"]["ndcg@10"],
                    },
                }
            row["curve"] = [r.get("valid_ndcg@10") for r in history]
            with out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            log.info("%s seed %d: %s (%.0f s)", name, seed, row["valid"], seconds)


def _mean(rows: list[dict[str, Any]], split: str, key: str) -> float:
    return sum(row[split][key] for row in rows) / len(rows)


def summary(path: Path) -> str:
    """One Markdown row per variant: validation NDCG@10 gain per seed and its mean, the mean
    NDCG@10 of the kept model and of the last epoch's model, the generator's Recall@100; with
    test runs, the mean test HR@10, NDCG@10 and the test gain per seed (rows without a
    field show "-")."""
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        runs.setdefault(row["variant"], {})[row["seed"]] = row
    header = (
        "| variant | seeds | valid gain per seed | mean gain | NDCG@10 kept | NDCG@10 last epoch "
        "| valid Recall@100 | test HR@10 | test NDCG@10 | test gain per seed |"
    )
    lines = [
        header,
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_seed in runs.items():
        rows = [by_seed[seed] for seed in sorted(by_seed)]
        gains = ", ".join(f"{row['valid']['gain']:+.4f}" for row in rows)
        last = sum(row["curve"][-1] for row in rows) / len(rows)
        recall = "-"
        if all("recall@100" in row["valid"] for row in rows):
            recall = f"{_mean(rows, 'valid', 'recall@100'):.4f}"
        test = ["-", "-", "-"]
        if all("test" in row for row in rows):
            test = [
                f"{_mean(rows, 'test', 'hr@10'):.4f}",
                f"{_mean(rows, 'test', 'ndcg@10'):.4f}",
                ", ".join(f"{row['test']['gain']:+.4f}" for row in rows),
            ]
        lines.append(
            f"| {name} | {len(rows)} | {gains} | {_mean(rows, 'valid', 'gain'):+.4f} "
            f"| {_mean(rows, 'valid', 'ndcg@10'):.4f} | {last:.4f} | {recall} | "
            + " | ".join(test)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="movielens-100k", help="dataset name or folder")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--cache", type=Path, default=Path("artifacts/sweep"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/sweep/runs.jsonl"))
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
    seeds = [int(s) for s in args.seeds.split(",")]
    run(names, seeds, args.cache, args.out, args.test, args.data)


if __name__ == "__main__":
    main()
