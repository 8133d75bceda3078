"""Render the quality JSON (main.json, ablations.json) as the Markdown tables of the README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainers.metrics import mean_std

COLUMNS = (
    ("HR@10", "hr@10"),
    ("NDCG@10", "ndcg@10"),
    ("MRR@10", "mrr@10"),
)


def _cell(values: list[float]) -> str:
    stats = mean_std(values)
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}" if stats["n"] > 1 else f"{stats['mean']:.4f}"


def _model_rows(runs: list[dict[str, Any]], split: str) -> list[tuple[str, dict[str, list[float]]]]:
    """Two-stage and candidates-only rows per path, for requests with the user's features and
    (where the runs measured it) for the history alone (``recommend(history)``)."""
    rows = []
    requests = [("", None)]
    if all("history_only" in run[split]["artifact"] for run in runs):
        requests.append(("history only: ", "history_only"))
    for prefix, part in requests:
        for path, label in (("artifact", "ONNX + HNSW"), ("torch_exact", "torch, exact")):
            for lst, name in (("two_stage", "two-stage"), ("candidates_only", "candidates only")):
                values: dict[str, list[float]] = {}
                for run in runs:
                    m = run[split][path] if part is None else run[split][path][part]
                    for _, key in COLUMNS:
                        values.setdefault(key, []).append(m[lst][key])
                    for key in ("candidate_recall@50", "candidate_recall@100"):
                        values.setdefault(key, []).append(m[key])
                    cov = "coverage@10" if lst == "two_stage" else "candidates_coverage@10"
                    values.setdefault("coverage@10", []).append(m[cov])
                rows.append((f"{prefix}{name} ({label})", values))
    return rows


def _baseline_rows(
    baselines: dict[str, Any], split: str
) -> list[tuple[str, dict[str, list[float]]]]:
    rows = []
    for name, entry in baselines.items():
        values: dict[str, list[float]] = {}
        for run in entry["runs"]:
            for key, value in run[split].items():
                values.setdefault(key, []).append(value)
        rows.append((name, values))
    return rows


def _training(runs: list[dict[str, Any]], seconds_key: str) -> tuple[str, str]:
    """The epochs column (kept / run, mean over seeds; early-stopped models only) and the
    mean training seconds per seed."""
    epochs = "–"
    if runs and "best_epoch" in runs[0]:
        best = sum(r["best_epoch"] for r in runs) / len(runs)
        ran = sum(r["epochs_run"] for r in runs) / len(runs)
        epochs = f"{best:.0f} / {ran:.0f}"
    seconds = [r[seconds_key] for r in runs if seconds_key in r]
    return epochs, f"{sum(seconds) / len(seconds):.0f}" if seconds else "–"


def main_table(main: dict[str, Any], split: str) -> str:
    """Mean ± standard deviation over seeds of every list on one split, with each method's
    epochs (best / run, for early-stopped baselines) and training seconds per seed."""
    head = "| list | " + " | ".join(c for c, _ in COLUMNS)
    head += " | Recall@50 | Recall@100 | coverage@10 | epochs | train s |\n|---|"
    lines = [head + "---|" * (len(COLUMNS) + 5)]
    model_time = _training(main["runs"], "train_export_seconds")
    rows = [(name, values, model_time) for name, values in _model_rows(main["runs"], split)]
    rows += [
        (name, values, _training(main["baselines"][name]["runs"], "seconds"))
        for name, values in _baseline_rows(main["baselines"], split)
    ]
    for name, values, (epochs, seconds) in rows:
        cells = [_cell(values[key]) for _, key in COLUMNS]
        cells += [
            _cell(values[key]) if key in values else "–"
            for key in ("candidate_recall@50", "candidate_recall@100")
        ]
        cells += [_cell(values["coverage@10"]), epochs, seconds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def convergence_table(baselines: dict[str, Any]) -> str:
    """Per early-stopped baseline and seed: the kept epoch, the epochs run, the best validation
    NDCG@10 and the mean and range of the last ``patience`` epochs (a flat tail = converged)."""
    lines = [
        "| baseline | seed | best epoch | epochs run | best valid NDCG@10 "
        "| last epochs: mean | last epochs: range | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in baselines.items():
        for run in entry["runs"]:
            if "best_epoch" not in run:
                break
            lines.append(
                f"| {name} | {run['seed']} | {run['best_epoch']} | {run['epochs_run']} "
                f"| {run['best_valid_ndcg@10']:.4f} | {run['tail_valid_ndcg@10_mean']:.4f} "
                f"| {run['tail_valid_ndcg@10_range']:.4f} | {run['seconds']:.0f} |"
            )
    return "\n".join(lines)


def grid_table(baselines: dict[str, Any]) -> str:
    """Every grid point of the early-stopped baselines with its validation NDCG@10 (tuning seed)."""
    lines = ["| baseline | setting | valid NDCG@10 | best epoch / run | train s |", "|---|---|---|---|---|"]
    for name, entry in baselines.items():
        for point in entry.get("grid", []):
            lines.append(
                f"| {name} | {point['params']} | {point['valid_ndcg@10']:.4f} "
                f"| {point['best_epoch']} / {point['epochs_run']} | {point['seconds']:.0f} |"
            )
    return "\n".join(lines)


def checks(main: dict[str, Any]) -> dict[str, Any]:
    """The issue's acceptance checks on the test split, from the per-seed numbers."""
    runs = main["runs"]
    model = {
        key: [r["test"]["artifact"]["two_stage"][key] for r in runs] for key in ("hr@10", "ndcg@10")
    }
    out: dict[str, Any] = {"beats_baselines": {}}
    for name, entry in main["baselines"].items():
        for key in ("hr@10", "ndcg@10"):
            ours, theirs = mean_std(model[key]), mean_std([r["test"][key] for r in entry["runs"]])
            margin = ours["mean"] - theirs["mean"]
            spread = max(ours["std"], theirs["std"])
            out["beats_baselines"][f"{name} {key}"] = {
                "margin": margin,
                "larger_std": spread,
                "margin_in_std": margin / spread if spread > 0 else float("inf"),
                "passes": margin > 2 * spread,
            }
    exact = [r["test"]["torch_exact"]["candidate_recall@100"] for r in runs]
    hnsw = [r["test"]["artifact"]["candidate_recall@100"] for r in runs]
    losses = [1 - h / e for h, e in zip(hnsw, exact, strict=True)]
    out["hnsw_relative_recall@100_loss"] = {"per_seed": losses, "max": max(losses)}
    gains = [
        r["test"]["artifact"]["two_stage"]["ndcg@10"]
        - r["test"]["artifact"]["candidates_only"]["ndcg@10"]
        for r in runs
    ]
    out["ranker_ndcg@10_gain"] = {"per_seed": gains, **mean_std(gains)}
    if all("history_only" in r["test"]["artifact"] for r in runs):
        bare = [r["test"]["artifact"]["history_only"] for r in runs]
        gains = [b["two_stage"]["ndcg@10"] - b["candidates_only"]["ndcg@10"] for b in bare]
        out["history_only_ranker_ndcg@10_gain"] = {"per_seed": gains, **mean_std(gains)}
    return out


def _checks_text(result: dict[str, Any]) -> str:
    lines = ["| check (test split, through the artifact) | value | passes |", "|---|---|---|"]
    for name, c in result["beats_baselines"].items():
        lines.append(
            f"| two-stage beats {name} by > 2 std | {c['margin']:+.4f} "
            f"({c['margin_in_std']:.1f} std) | {'yes' if c['passes'] else 'no'} |"
        )
    loss = result["hnsw_relative_recall@100_loss"]
    lines.append(
        f"| HNSW loses <= 1% relative Recall@100 vs exact | max {100 * loss['max']:.2f}% | "
        f"{'yes' if loss['max'] <= 0.01 else 'no'} |"
    )
    for key, request in (
        ("ranker_ndcg@10_gain", ""),
        ("history_only_ranker_ndcg@10_gain", ", history only"),
    ):
        if key not in result:
            continue
        gain = result[key]
        lines.append(
            f"| ranker improves NDCG@10 over the candidate order{request} | {gain['mean']:+.4f} ± "
            f"{gain['std']:.4f} | {'yes' if min(gain['per_seed']) > 0 else 'no'} |"
        )
    return "\n".join(lines)


def ablation_table(ablations: dict[str, Any]) -> str:
    """Per variant: validation and test NDCG/HR@10 of the two-stage list and without the ranker."""
    lines = [
        (
            "| variant | seeds | valid HR@10 | valid NDCG@10 | test HR@10 | test NDCG@10 "
            "| test NDCG@10, ranking off | test Recall@100 | train s |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in ablations["variants"].items():
        if not runs:
            continue

        def col(split: str, lst: str, key: str, rs: list[dict[str, Any]] = runs) -> str:
            return _cell([r[split][lst][key] if lst else r[split][key] for r in rs])

        seconds = sum(r["seconds"] for r in runs) / len(runs)
        lines.append(
            f"| {name} | {len(runs)} | {col('valid', 'two_stage', 'hr@10')} "
            f"| {col('valid', 'two_stage', 'ndcg@10')} | {col('test', 'two_stage', 'hr@10')} "
            f"| {col('test', 'two_stage', 'ndcg@10')} "
            f"| {col('test', 'candidates_only', 'ndcg@10')} "
            f"| {col('test', '', 'candidate_recall@100')} | {seconds:.0f} |"
        )
    return "\n".join(lines)


def render(folder: Path) -> str:
    """All tables for the JSON files present in ``folder``."""
    parts = []
    main_path, ablation_path = folder / "main.json", folder / "ablations.json"
    if main_path.is_file():
        main = json.loads(main_path.read_text())
        seeds = ", ".join(str(r["seed"]) for r in main["runs"])
        parts += [
            f"### Test split (mean ± std over seeds {seeds})",
            main_table(main, "test"),
            "### Validation split",
            main_table(main, "valid"),
            "### Checks",
            _checks_text(checks(main)),
            "Baseline hyperparameters (chosen on validation NDCG@10): "
            + "; ".join(f"{n} {e['params']}" for n, e in main["baselines"].items()),
        ]
        if any("grid" in entry for entry in main["baselines"].values()):
            parts += [
                "### Early-stopped baselines: convergence per seed",
                convergence_table(main["baselines"]),
                "### Early-stopped baselines: tuning grid",
                grid_table(main["baselines"]),
            ]
        parts += [
            f"Main table wall time: {main.get('seconds', 0):.0f} s.",
        ]
    if ablation_path.is_file():
        ablations = json.loads(ablation_path.read_text())
        parts += [
            "### Ablations (torch, exact search, no export)",
            ablation_table(ablations),
            "Training time summed over the rows: "
            + f"{sum(r['seconds'] for rs in ablations['variants'].values() for r in rs):.0f} s.",
        ]
    return "\n\n".join(parts) + "\n"
