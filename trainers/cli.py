"""The training side's ``ytrec`` commands: ``data``, ``train`` and ``evaluate``.

They join the runtime's ``ytrec`` group through the ``ytrec.commands`` entry points declared
in ``pyproject.toml``, so the runtime package never imports this code (nor torch); the heavy
imports stay inside each command, so ``ytrec --help`` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ytrec_infer import ArtifactError
from ytrec_infer.cli import setup_logging
from ytrec_infer.errors import SchemaError


F = TypeVar("F", bound=Callable[..., Any])


def _table_option(name: str, help_text: str) -> Callable[[F], F]:
    """``--items`` / ``--users``: an existing table file, optional."""
    option: Callable[[F], F] = click.option(
        name, type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
        help=help_text,
    )
    return option


@click.group()
def data() -> None:
    """Obtain and verify datasets."""


@data.command("fetch")
@click.argument("name", type=click.Choice(["movielens-100k"]))
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where datasets are kept (default: $YTREC_DATA_HOME or ~/.cache/ytrec/data).",
)
@click.option(
    "--wheel",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Use this local recbole-1.2.1 wheel instead of downloading it with pip.",
)
def data_fetch(name: str, cache_dir: Path | None, wheel: Path | None) -> None:
    """Download NAME (from the recbole==1.2.1 wheel on PyPI), verify its checksums, cache it."""
    from trainers.data import DataError, fetch_movielens_100k

    setup_logging(quiet=False)
    try:
        folder = fetch_movielens_100k(cache_dir=cache_dir, wheel=wheel)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: verified files in {folder}")


@click.command()
@click.option(
    "--data",
    "data_spec",
    required=True,
    help="A dataset name (movielens-100k, after `ytrec data fetch`), a dataset folder, or your "
    "own interaction log: a CSV/Parquet file of user, item, timestamp[, rating].",
)
@_table_option(
    "--items", "With a log file: item table (item, and optional title and feature columns)."
)
@_table_option(
    "--users", "With a log file: user table (user, and feature columns such as country, age)."
)
@click.option(
    "--features",
    "features",
    default=None,
    help="Feature schema: a JSON file (docs/own-data.md) or 'movielens'. Default: the "
    "MovieLens schema's features whose columns the tables have.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Root of published versions: each run adds OUT/v000001, OUT/v000002, ... "
    "(complete or not at all); Recommender.load(OUT) loads the newest.",
)
@click.option(
    "--preset",
    type=click.Choice(["default", "small"]),
    default="default",
    show_default=True,
    help="'small' trains a few epochs (smoke tests).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="Override the candidate epochs."
)
@click.option(
    "--curves",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw the training curves (loss, validation metrics per epoch) to this PNG; "
    "needs the 'plot' extra (matplotlib).",
)
@click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the per-epoch history (loss, validation metrics, seconds) as JSON.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Torch CPU threads. Default: half the available cores, at least one, so that a busy "
    "neighbour core slows training by its share instead of stalling every step "
    "(docs/own-data.md).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress lines: only warnings and the result."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result (artifact, metrics) as JSON."
)
def train(
    data_spec: str,
    items: Path | None,
    users: Path | None,
    features: str | None,
    out: Path,
    preset: str,
    seed: int,
    epochs: int | None,
    curves: Path | None,
    history_path: Path | None,
    threads: int | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Train both networks on a dataset, export them, build the index, write an artifact.

    Progress (epoch, loss, validation metric, time left) goes to stderr through logging.
    Started by torchrun, each process trains on its part of every batch and rank 0 exports.

    \b
    Examples:
      ytrec train --data movielens-100k --out artifacts/ml100k --curves curves.png
      ytrec train --data log.csv --items items.csv --users users.csv --out artifacts/mine
      ytrec train --data log.csv --users users.csv --features features.json --out artifacts/mine
      torchrun --nproc-per-node 2 -m trainers.distributed_train --data log.csv --out artifacts/mine
    """
    from dataclasses import replace

    from trainers.config import TrainConfig
    from trainers.curves import plot_training_curves, require_matplotlib, write_history
    from trainers.data import DataError
    from trainers.distributed import from_environment
    from trainers.models import CandidateModel  # noqa: F401  (torch sets its log levels on import)
    from trainers.pipeline import train_and_export
    from trainers.threads import use_threads

    if curves is not None:
        try:
            require_matplotlib()
        except ImportError as exc:
            raise click.ClickException(str(exc)) from None
    parallel = from_environment()  # under torchrun: one of its processes (docs/distributed.md)
    setup_logging(quiet or not parallel.is_main)
    use_threads(parallel.threads(threads))
    config = TrainConfig.small(seed) if preset == "small" else TrainConfig(seed=seed)
    if epochs is not None:
        config = replace(config, candidate=replace(config.candidate, epochs=epochs))
    try:
        result = train_and_export(
            data_spec, out, config, items=items, users=users, features=features, parallel=parallel
        )
    except (DataError, SchemaError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None  # torchrun stops the other processes
    parallel.close()
    if not parallel.is_main:
        return
    if history_path is not None:
        write_history(result.history, history_path)
    if curves is not None:
        plot_training_curves(result.history, curves, title=f"training on {Path(data_spec).name}")
    if as_json:
        summary = {
            "artifact": str(result.artifact),
            "seconds": result.seconds,
            "metrics": result.metrics,
            "curves": str(curves) if curves else None,
            "history": str(history_path) if history_path else None,
        }
        click.echo(json.dumps(summary, indent=2))
        return
    shown = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    click.echo(f"artifact written to {result.artifact} in {result.seconds:.0f}s ({shown})")
    if curves is not None:
        click.echo(f"training curves: {curves}")




@click.command()
@click.argument("artifact", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--data", "data_spec", required=True, help="Dataset name or folder the artifact was trained on."
)
@_table_option("--items", "With a log file: the item table it was trained with.")
@_table_option(
    "--users", "With a log file: the user table it was trained with (its features are passed)."
)
@click.option(
    "--split",
    type=click.Choice(["test", "valid"]),
    default="test",
    show_default=True,
    help="Held-out item scored per user: the last (test) or the one before it (valid).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the metrics as JSON to this file.",
)
def evaluate(
    artifact: str,
    data_spec: str,
    items: Path | None,
    users: Path | None,
    split: str,
    json_path: Path | None,
) -> None:
    """Score the artifact on a held-out split: HR/NDCG/MRR@10, Recall@50/100, coverage.

    Rows: the two-stage list and the candidate generator's own order for requests with the
    user's features and, when the schema declares context features, each held-out
    interaction's own context (two_stage, candidates_only), the same without the context
    (no_context, no_context_cands; only with context features), for the history alone
    (history_only, history_cands), and MostPopular."""
    from trainers.data import DataError
    from trainers.evaluate import evaluate_artifact

    try:
        metrics = evaluate_artifact(artifact, data_spec, split, items=items, users=users)
    except (DataError, ArtifactError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{metrics['users']} users, {split} split, full ranking with the user's history excluded"
    )
    click.echo(f"{'list':<16} {'HR@10':>7} {'NDCG@10':>8} {'MRR@10':>7}")
    rows = {"two_stage": metrics["two_stage"], "candidates_only": metrics["candidates_only"]}
    for key, name, cands in (
        ("without_context", "no_context", "no_context_cands"),
        ("history_only", "history_only", "history_cands"),
    ):
        if key in metrics:
            rows[name], rows[cands] = metrics[key]["two_stage"], metrics[key]["candidates_only"]
    rows["most_popular"] = metrics["most_popular"]
    for name, row in rows.items():
        click.echo(f"{name:<16} {row['hr@10']:>7.4f} {row['ndcg@10']:>8.4f} {row['mrr@10']:>7.4f}")
    click.echo(
        f"candidate recall@50={metrics['candidate_recall@50']:.4f} "
        f"recall@100={metrics['candidate_recall@100']:.4f} coverage@10={metrics['coverage@10']:.4f}"
    )
    if json_path is not None:
        json_path.write_text(json.dumps(metrics, indent=2))
