"""One timed training job on a scale log, run by :mod:`benchmarks.scale.run` in a fresh process.

    python -m benchmarks.scale.job --log DIR --out ARTIFACT_ROOT --json RESULT.json

It trains as ``ytrec train --data DIR/log.parquet --items DIR/items.csv --users DIR/users.csv
--features DIR/features.json`` does (the same :func:`trainers.pipeline.train_and_export` and
default :class:`~trainers.config.TrainConfig`, optionally with fewer epochs, and the same
``--threads`` rule: default half the cores), with a
:class:`~benchmarks.scale.timeline.Timeline` on the root logger, and writes the phase times,
peak memory, example rates and validation metrics as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.scale.timeline import Timeline, phases


def _config(preset: str, candidate_epochs: int | None, ranker_epochs: int | None) -> Any:
    from trainers.config import TrainConfig

    config = TrainConfig.small() if preset == "small" else TrainConfig()
    if candidate_epochs is not None:
        config = replace(config, candidate=replace(config.candidate, epochs=candidate_epochs))
    if ranker_epochs is not None:
        config = replace(config, ranker=replace(config.ranker, epochs=ranker_epochs))
    return config


def _epochs(history: tuple[dict[str, Any], ...], stage: str) -> dict[str, Any]:
    """Epochs run and mean seconds per epoch (validation included) of one stage, and the
    training steps' own examples per second where the pipeline records them."""
    records = [r for r in history if r["stage"] == stage]
    seconds = float(records[-1]["seconds"]) if records else 0.0
    rates = [float(r["examples_per_s"]) for r in records if "examples_per_s" in r]
    return {
        "epochs": len(records),
        "seconds_per_epoch": round(seconds / len(records), 2) if records else None,
        "train_examples_per_second": round(sum(rates) / len(rates)) if rates else None,
    }


def run_job(
    log_dir: Path,
    out: Path,
    preset: str = "default",
    candidate_epochs: int | None = None,
    ranker_epochs: int | None = None,
    threads: int | None = None,
    log_file: str = "log.parquet",
) -> dict[str, Any]:
    """Train, export and index on ``log_dir / log_file``; return the measurements."""
    import torch

    import export.artifact_builder  # noqa: F401  (imported before the clock starts: not ingest)
    from trainers.models import CandidateModel  # noqa: F401  (torch sets its log levels on import)
    from trainers.pipeline import train_and_export
    from trainers.threads import use_threads
    from ytrec_infer.cli import setup_logging

    setup_logging(quiet=False)
    use_threads(threads)
    config = _config(preset, candidate_epochs, ranker_epochs)
    with Timeline() as timeline:
        result = train_and_export(
            log_dir / log_file,
            out,
            config,
            items=log_dir / "items.csv",
            users=log_dir / "users.csv",
            features=log_dir / "features.json",
        )
        end = timeline.now()
    manifest = json.loads((result.artifact / "manifest.json").read_text())
    index = manifest["index"]
    measured = phases(timeline, end, index["build_seconds"] + index["layout_seconds"])
    stages = {"candidate_generator": "candidates", "ranker": "ranker"}
    examples = {"candidate_generator": measured["candidate_examples"],
                "ranker": measured["ranker_lists"]}
    networks = {}
    for phase, stage in stages.items():
        epochs = _epochs(result.history, stage)
        seconds = measured["phases"][phase]["seconds"]
        networks[phase] = {
            **epochs,
            "examples": examples[phase],
            "examples_per_second": round(examples[phase] * epochs["epochs"] / seconds)
            if seconds > 0
            else None,
        }
    return {
        "phases": measured["phases"],
        "networks": networks,
        "total_seconds": round(end, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "metrics": result.metrics,
        "index": {key: index[key] for key in ("num_elements", "ef_search", "build_seconds",
                                               "build_cpu_seconds", "layout_seconds")},
        "torch_threads": torch.get_num_threads(),
        "config": {
            "preset": preset,
            "candidate_epochs": config.candidate.epochs,
            "ranker_epochs": config.ranker.epochs,
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: one job, its measurements written as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, required=True, help="folder of a scale log")
    parser.add_argument("--out", type=Path, required=True, help="artifact root")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--preset", choices=["default", "small"], default="default")
    parser.add_argument("--candidate-epochs", type=int, default=None)
    parser.add_argument("--ranker-epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--log-file", default="log.parquet", help="log.parquet or log.csv")
    args = parser.parse_args(argv)
    measured = run_job(
        args.log, args.out, args.preset, args.candidate_epochs, args.ranker_epochs, args.threads,
        args.log_file,
    )
    args.json.write_text(json.dumps(measured, indent=2))


if __name__ == "__main__":
    main()
