"""Every blend of the ranker's and the generator's logits, scored on the same networks per seed.

    python -m benchmarks.quality.blends --seeds 0,1,2,3,4,5,6 --out artifacts/blends.json
    python -m benchmarks.quality.blends --chosen-epoch      # the ranker's former epochs

Trains the default configuration once per seed (no export), then scores the validation and
test splits, with the user's features and history only, at every share ``b`` of the
generator's logits in ``--blends`` (torch, exact search): the comparison of docs/evaluation.md,
"The ranker blended with the generator". A diagnosis: the served ``b`` is chosen on validation
while training (``RankerConfig.blends``); this shows what each ``b`` would have given on test.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from trainers.config import TrainConfig
from trainers.encoding import EncodedData
from trainers.evaluate import request_kinds
from trainers.holdout import holdout_set
from trainers.inference import rank_scores, reorder, retrieve_candidates
from trainers.metrics import summarize
from trainers.models import CandidateModel, Ranker
from trainers.pipeline import prepare_data, train_networks

log = logging.getLogger("blends")


def blend_metrics(
    model: CandidateModel, ranker: Ranker, data: EncodedData, split: str, blends: list[float]
) -> dict[str, dict[str, dict[str, float]]]:
    """Per request kind ("features", "history_only") and share b: HR@10 and NDCG@10 of
    ``(1 - b) * ranker logits + b * generator logits`` on ``split``."""
    holdout = holdout_set(data, split)
    scale = float(ranker.score_scale)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, (kind_data, kind, _) in request_kinds(data, holdout).items():
        _, codes, scores = retrieve_candidates(
            model, kind_data, kind.user_rows, kind.histories, 100, context=kind.context
        )
        logits = rank_scores(
            ranker,
            kind_data,
            kind.user_rows,
            kind.histories,
            codes,
            scores,
            kind.seconds_since_last,
            kind.context,
        )
        rows = out[key or "features"] = {}
        for share in blends:
            mixed = (1 - share) * logits + share * scale * scores
            metrics = summarize(reorder(codes, mixed), holdout.targets)
            rows[str(share)] = {"hr@10": metrics["hr@10"], "ndcg@10": metrics["ndcg@10"]}
    return out


def run(
    data: str, seeds: list[int], blends: list[float], chosen_epoch: bool = False
) -> dict[str, Any]:
    """Per seed: the share training chose and every share's metrics on both splits
    (``chosen_epoch``: the ranker's former epochs, the best of at most 15 on validation)."""
    results: dict[str, Any] = {}
    for seed in seeds:
        config = TrainConfig(seed=seed)
        if chosen_epoch:
            config = replace(config, ranker=replace(config.ranker, epochs=15, select_epoch=True))
        encoded = prepare_data(data, config.candidate.max_history)
        model, ranker, _ = train_networks(encoded, config, holdout_set(encoded, "valid"))
        chosen = float(ranker.passthrough)
        ranker.passthrough.fill_(0.0)
        results[str(seed)] = {"chosen": chosen} | {
            split: blend_metrics(model, ranker, encoded, split, blends)
            for split in ("valid", "test")
        }
        log.info("seed %d done (training chose b = %.2f)", seed, chosen)
    return results


def summary(results: dict[str, Any]) -> str:
    """Per seed and share: test history-only HR@10 / NDCG@10, "(below)" where either is under
    the candidates' own order (b = 1, when it was scored)."""
    lines = []
    for seed, run_ in results.items():
        rows = run_["test"]["history_only"]
        order = rows.get("1.0")
        cells = []
        for share, m in rows.items():
            below = order is not None and (
                m["hr@10"] < order["hr@10"] or m["ndcg@10"] < order["ndcg@10"]
            )
            cells.append(f"b={share}: {m['hr@10']:.4f}/{m['ndcg@10']:.4f}" + " (below)" * below)
        lines.append(f"seed {seed} (chose {run_['chosen']}): " + ", ".join(cells))
    return "\n".join(lines)


def _numbers(text: str) -> list[float]:
    """``"0,0.5,1"`` -> [0.0, 0.5, 1.0]."""
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blends", type=_numbers, default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--seeds", type=_numbers, default=[0, 1, 2])
    parser.add_argument("--data", default="movielens-100k", help="dataset name or folder")
    parser.add_argument("--out", type=Path, default=Path("artifacts/blends.json"))
    parser.add_argument("--chosen-epoch", action="store_true", help="the former ranker epochs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    results = run(args.data, [int(seed) for seed in args.seeds], args.blends, args.chosen_epoch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(summary(results))


if __name__ == "__main__":
    main()
