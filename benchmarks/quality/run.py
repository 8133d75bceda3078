"""Regenerate the quality results: the main table over seeds, the baselines, the ablations.

    python -m benchmarks.quality.run --data movielens-100k            # everything
    python -m benchmarks.quality.run --parts main --seeds 0,1,2       # the main table only

The main table trains and exports the default configuration once per seed and evaluates the
artifact (ONNX + HNSW) next to the same networks in torch with exact search, on both splits;
the baselines are tuned once on the validation split and then fitted per seed (the
sequential ones, SASRec and GRU4Rec, early-stopped on the validation split for every grid
point and seed). Ablations train without export and are evaluated in torch with exact
search. Results are JSON (plus a Markdown rendering) under ``--out``; each part is rewritten
after every run, so an interrupted job keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.quality.report import render
from benchmarks.quality.variants import VARIANTS
from trainers.baselines import (
    BASELINES,
    SEQUENTIAL,
    SequentialBaseline,
    fit_and_score,
    sequential_run,
    tune,
    tune_sequential,
)
from trainers.config import TrainConfig
from trainers.encoding import EncodedData
from trainers.evaluate import evaluate_artifact, evaluate_torch
from trainers.holdout import holdout_set
from trainers.pipeline import prepare_data, train_and_export, train_networks

log = logging.getLogger("quality")
SPLITS = ("valid", "test")


def _write(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (a temporary file renamed into place)."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)


def _config(preset: str, seed: int) -> TrainConfig:
    return TrainConfig.small(seed) if preset == "small" else TrainConfig(seed=seed)


SMOKE_SEQUENTIAL = {"max_epochs": 2, "patience": 1}
"""The sequential baselines' settings under ``--preset small`` (a smoke run, not results)."""


def run_baselines(
    data: str, seeds: list[int], preset: str = "default", names: list[str] | None = None
) -> dict[str, Any]:
    """Each baseline (all, or ``names``) tuned once on the validation split (seed
    ``seeds[0]``), then per seed fitted and scored on both splits."""
    encoded = prepare_data(data, TrainConfig().candidate.max_history)
    started = time.perf_counter()
    baselines: dict[str, Any] = {}
    for name, (make, grid) in BASELINES.items():
        if names is not None and name not in names:
            continue
        start = time.perf_counter()
        grid = grid[:1] if preset == "small" else grid
        params, valid_score = tune(make, grid, encoded, seed=seeds[0])
        baselines[name] = {"params": params, "valid_ndcg@10": valid_score, "runs": []}
        log.info("%s: chose %s (valid NDCG@10 %.4f)", name, params, valid_score)
        for seed in seeds:
            begin = time.perf_counter()
            metrics = fit_and_score(make, params, encoded, SPLITS, seed)
            baselines[name]["runs"].append(
                {"seed": seed, "seconds": time.perf_counter() - begin, **metrics}
            )
        baselines[name]["seconds"] = time.perf_counter() - start
    for name, (make_sequential, grid) in SEQUENTIAL.items():
        if names is not None and name not in names:
            continue
        baselines[name] = run_sequential(make_sequential, grid, encoded, seeds, preset)
    return {"baselines": baselines, "baseline_seconds": time.perf_counter() - started}


def run_sequential(
    make: type[SequentialBaseline],
    grid: list[dict[str, Any]],
    encoded: EncodedData,
    seeds: list[int],
    preset: str,
) -> dict[str, Any]:
    """A sequential baseline: every grid point early-stopped on validation with seed
    ``seeds[0]`` (the chosen point's run is that seed's result), then the other seeds."""
    start = time.perf_counter()
    if preset == "small":
        grid = [point | SMOKE_SEQUENTIAL for point in grid[:1]]
    params, tried = tune_sequential(make, grid, encoded, seed=seeds[0])
    chosen = next(run for run in tried if run["params"] == params)
    log.info("%s: chose %s (valid NDCG@10 %.4f)", make.name, params, chosen["valid"]["ndcg@10"])
    runs = [{key: value for key, value in chosen.items() if key != "params"}]
    for seed in seeds[1:]:
        runs.append(sequential_run(make, params, encoded, seed))
        log.info("%s seed %d: test %s", make.name, seed, runs[-1]["test"])
    return {
        "params": params,
        "valid_ndcg@10": chosen["valid"]["ndcg@10"],
        "grid": [
            {
                "params": run["params"],
                "valid_ndcg@10": run["valid"]["ndcg@10"],
                "best_epoch": run["best_epoch"],
                "epochs_run": run["epochs_run"],
                "seconds": run["seconds"],
            }
            for run in tried
        ],
        "runs": runs,
        "seconds": time.perf_counter() - start,
    }


def run_main(
    data: str,
    seeds: list[int],
    artifacts: Path,
    out: Path,
    preset: str = "default",
    keep_baselines: bool = False,
) -> dict[str, Any]:
    """Default model through the artifact and in torch, per seed, plus the tuned baselines
    (``keep_baselines``: those of the existing main.json, which the model changes leave alone)."""
    started = time.perf_counter()
    payload: dict[str, Any] = {"data": data, "seeds": seeds, "preset": preset, "runs": []}
    if keep_baselines:
        previous = json.loads((out / "main.json").read_text())
        keys = ("baselines", "baseline_tuning_seconds", "baseline_seconds")
        payload |= {key: previous[key] for key in keys}
    else:
        payload |= run_baselines(data, seeds, preset)
    for seed in seeds:
        result = train_and_export(data, artifacts / f"seed{seed}", _config(preset, seed))
        run: dict[str, Any] = {"seed": seed, "train_export_seconds": result.seconds}
        for split in SPLITS:
            run[split] = {
                "artifact": evaluate_artifact(str(result.artifact), data, split),
                "torch_exact": evaluate_torch(
                    result.candidate_model, result.ranker, result.data, split
                ),
            }
        payload["runs"].append(run)
        _write(out / "main.json", payload)
        log.info("seed %d done: %s", seed, run["test"]["artifact"]["two_stage"])
    payload["seconds"] = time.perf_counter() - started
    _write(out / "main.json", payload)
    return payload


def rerun_baselines(data: str, out: Path, names: list[str] | None = None) -> dict[str, Any]:
    """Redo the baselines (all, or ``names``) of an existing main.json (same seeds and preset),
    keeping the model runs and the other baselines; the main table's wall time is adjusted by
    the difference in baseline time."""
    payload: dict[str, Any] = json.loads((out / "main.json").read_text())
    if names is None:
        before = payload.get("baseline_seconds", 0.0)
    else:
        before = sum(payload["baselines"].get(name, {}).get("seconds", 0.0) for name in names)
    redone = run_baselines(data, payload["seeds"], payload["preset"], names)
    payload["baselines"] = payload["baselines"] | redone["baselines"]
    spent = redone["baseline_seconds"]
    payload["baseline_seconds"] = payload.get("baseline_seconds", 0.0) - before + spent
    payload["seconds"] = payload.get("seconds", 0.0) - before + spent
    _write(out / "main.json", payload)
    return payload


def run_ablations(
    data: str,
    seeds: list[int],
    out: Path,
    main: dict[str, Any] | None,
    preset: str = "default",
    names: list[str] | None = None,
) -> dict[str, Any]:
    """Each variant (all, or ``names``) trained per seed and evaluated in torch with exact
    search (no export); results of variants not run this time are kept from ``ablations.json``."""
    reuse = {run["seed"]: run for run in (main or {}).get("runs", [])}
    path = out / "ablations.json"
    payload: dict[str, Any] = {"data": data, "preset": preset, "variants": {}, "seconds": 0.0}
    if path.is_file():
        payload = json.loads(path.read_text())
    started = time.perf_counter()
    for name in names or list(VARIANTS):
        change = VARIANTS[name]
        runs = payload["variants"][name] = []
        for seed in seeds:
            if name == "default" and seed in reuse and main and main["preset"] == preset:
                done = reuse[seed]
                runs.append(
                    {"seed": seed, "seconds": done["train_export_seconds"], "reused": True}
                    | {split: done[split]["torch_exact"] for split in SPLITS}
                )
                continue
            config = change(_config(preset, seed))
            start = time.perf_counter()
            encoded = prepare_data(data, config.candidate.max_history)
            valid = holdout_set(encoded, "valid")
            model, ranker, _ = train_networks(encoded, config, valid)
            run: dict[str, Any] = {"seed": seed, "seconds": time.perf_counter() - start}
            for split in SPLITS:
                run[split] = evaluate_torch(model, ranker, encoded, split)
            runs.append(run)
            _write(path, payload)
            log.info("%s seed %d: test %s", name, seed, run["test"]["two_stage"])
    payload["seconds"] = payload.get("seconds", 0.0) + time.perf_counter() - started
    _write(path, payload)
    return payload


def _seeds(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="movielens-100k")
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2])
    parser.add_argument("--ablation-seeds", type=_seeds, default=[0])
    parser.add_argument(
        "--parts",
        default="main,ablations",
        help="main, ablations, or baselines (redo only the baselines of an existing main.json)",
    )
    parser.add_argument(
        "--variants",
        type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
        default=None,
        help=f"ablation variants to (re)run, comma-separated (default all: {', '.join(VARIANTS)})",
    )
    parser.add_argument(
        "--baselines",
        type=lambda text: [v.strip() for v in text.split(",") if v.strip()],
        default=None,
        help="with --parts baselines: redo only these, comma-separated (default all: "
        + ", ".join([*BASELINES, *SEQUENTIAL])
        + ")",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/quality"))
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts/quality"))
    parser.add_argument(
        "--preset",
        choices=["default", "small"],
        default="default",
        help="'small': few epochs and one grid point per baseline (a smoke run, not results)",
    )
    parser.add_argument(
        "--keep-baselines",
        action="store_true",
        help="main: reuse the baselines of the existing main.json (same data, split and seeds)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("onnxscript", "onnx_ir", "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    start = time.perf_counter()
    main_path = args.out / "main.json"
    main_payload: dict[str, Any] | None = None
    if "main" in parts:
        main_payload = run_main(
            args.data, args.seeds, args.artifacts, args.out, args.preset, args.keep_baselines
        )
    elif "baselines" in parts:
        unknown = set(args.baselines or []) - set(BASELINES) - set(SEQUENTIAL)
        if unknown:
            parser.error(f"unknown baselines {sorted(unknown)}; choose from {[*BASELINES, *SEQUENTIAL]}")
        main_payload = rerun_baselines(args.data, args.out, args.baselines)
    elif main_path.is_file():
        main_payload = json.loads(main_path.read_text())
    if "ablations" in parts:
        unknown = set(args.variants or []) - set(VARIANTS)
        if unknown:
            parser.error(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")
        run_ablations(
            args.data, args.ablation_seeds, args.out, main_payload, args.preset, args.variants
        )
    log.info("%s done in %.0f s", ",".join(sorted(parts)), time.perf_counter() - start)
    markdown = render(args.out)
    (args.out / "results.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
