"""The ``ytrec`` command: fetch data, train and export, recommend, evaluate, inspect.

``recommend`` and ``info`` need only the runtime. ``data``, ``train`` and ``evaluate`` use the
training code (``trainers/``, ``export/``), present in a development install with the
``train`` extra; they are imported only inside those commands, so the runtime never loads torch.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
import numpy as np

from ytrec_infer import ArtifactError, Recommender, __version__


def _training_code(what: str) -> None:
    """Fail with the fix when the training side is not installed."""
    try:
        import trainers  # noqa: F401
    except ImportError:
        raise click.ClickException(
            f"'{what}' needs the training code: from a source checkout run "
            "`pip install torch==2.13.0` and `pip install -e '.[train]'`"
        ) from None


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("onnxscript", "onnx_ir", "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integer item ids, got {text!r}"
        ) from None


def _load(path: str) -> Recommender:
    try:
        return Recommender.load(path)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ytrec")
def main() -> None:
    """ytrec: train, export and serve the YouTube DNN two-stage recommender.

    Every command has --help. Exit status: 0 on success, 1 on an error the message explains
    (bad data, damaged artifact), 2 on a usage error. Progress and logs go to stderr; results
    to stdout (--json where machines read them).

    \b
    Typical session:
      ytrec data fetch movielens-100k
      ytrec train --data movielens-100k --out artifacts/ml100k --curves curves.png
      ytrec recommend artifacts/ml100k --history 50,172,181 -k 10
      ytrec evaluate artifacts/ml100k --data movielens-100k
    """


@main.group()
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
    _training_code("data fetch")
    from trainers.data import DataError, fetch_movielens_100k

    _setup_logging(quiet=False)
    try:
        folder = fetch_movielens_100k(cache_dir=cache_dir, wheel=wheel)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: verified files in {folder}")


@main.command()
@click.option(
    "--data",
    "data_spec",
    required=True,
    help="A dataset name (movielens-100k, after `ytrec data fetch`), a dataset folder, or your "
    "own interaction log: a CSV/Parquet file of user, item, timestamp[, rating].",
)
@click.option(
    "--items",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With a log file: item table (item, and optional title, year, genres as a|b|c).",
)
@click.option(
    "--users",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With a log file: user table (user, and optional age, gender, occupation, zip_code).",
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
    "-q", "--quiet", is_flag=True, help="No progress lines: only warnings and the result."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the result (artifact, metrics) as JSON."
)
def train(
    data_spec: str,
    items: Path | None,
    users: Path | None,
    out: Path,
    preset: str,
    seed: int,
    epochs: int | None,
    curves: Path | None,
    history_path: Path | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Train both networks on a dataset, export them, build the index, write an artifact.

    Progress (epoch, loss, validation metric, time left) goes to stderr through logging.

    \b
    Examples:
      ytrec train --data movielens-100k --out artifacts/ml100k --curves curves.png
      ytrec train --data log.csv --items items.csv --users users.csv --out artifacts/mine
    """
    _training_code("train")
    from dataclasses import replace

    from trainers.config import TrainConfig
    from trainers.curves import plot_training_curves, require_matplotlib, write_history
    from trainers.data import DataError
    from trainers.models import CandidateModel  # noqa: F401  (torch sets its log levels on import)
    from trainers.pipeline import train_and_export

    if curves is not None:
        try:
            require_matplotlib()
        except ImportError as exc:
            raise click.ClickException(str(exc)) from None
    _setup_logging(quiet)
    config = TrainConfig.small(seed) if preset == "small" else TrainConfig(seed=seed)
    if epochs is not None:
        config = replace(config, candidate=replace(config.candidate, epochs=epochs))
    try:
        result = train_and_export(data_spec, out, config, items=items, users=users)
    except (DataError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
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


@main.command()
@click.argument("artifact", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--history", required=True, help="Comma-separated item ids, oldest first (e.g. 50,172,181)."
)
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Items to return."
)
@click.option(
    "--n-candidates",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Candidates retrieved from the index and scored by the ranker.",
)
@click.option("--age", type=click.FloatRange(min=0), default=None, help="User's age in years.")
@click.option("--gender", default=None, help="User's gender as in the training data (M/F).")
@click.option("--occupation", default=None, help="User's occupation as in the training data.")
@click.option("--zip-code", default=None, help="User's zip code (its first digit is used).")
@click.option("--include-history", is_flag=True, help="Allow items already in the history.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def recommend(
    artifact: str,
    history: str,
    k: int,
    n_candidates: int,
    age: float | None,
    gender: str | None,
    occupation: str | None,
    zip_code: str | None,
    include_history: bool,
    as_json: bool,
) -> None:
    """Recommend k items for a history of item ids (no PyTorch involved)."""
    ids = _ids(history)
    rec = _load(artifact)
    user = {
        key: value
        for key, value in {
            "age": age,
            "gender": gender,
            "occupation": occupation,
            "zip_code": zip_code,
        }.items()
        if value is not None
    }
    try:
        result = rec.recommend(
            ids,
            k=k,
            user=user or None,
            n_candidates=n_candidates,
            exclude_history=not include_history,
        )
    except (TypeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None

    def render() -> None:
        codes, _ = rec.catalog.codes(np.asarray(ids, dtype=np.int64))
        titles = [rec.catalog.title(int(code)) for code in codes]
        click.echo("history: " + "; ".join(titles) if titles else "history: (no known items)")
        if result.unknown_ids:
            click.echo(f"skipped unknown ids: {', '.join(map(str, result.unknown_ids))}")
        if result.cold_start:
            click.echo("cold start: no known history, showing the most popular items")
        click.echo(f"{'rank':>4}  {'item':>6}  {'score':>8}  title")
        for rank, item in enumerate(result, 1):
            click.echo(f"{rank:>4}  {item.item_id:>6}  {item.score:>8.3f}  {item.title}")

    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render()


@main.command()
@click.argument("artifact", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--data", "data_spec", required=True, help="Dataset name or folder the artifact was trained on."
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
def evaluate(artifact: str, data_spec: str, split: str, json_path: Path | None) -> None:
    """Score the artifact on a held-out split: HR/NDCG/MRR@10, Recall@50/100, coverage."""
    _training_code("evaluate")
    from trainers.data import DataError
    from trainers.evaluate import evaluate_artifact

    try:
        metrics = evaluate_artifact(artifact, data_spec, split)
    except (DataError, ArtifactError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{metrics['users']} users, {split} split, full ranking with the user's history excluded"
    )
    click.echo(f"{'list':<16} {'HR@10':>7} {'NDCG@10':>8} {'MRR@10':>7}")
    for name in ("two_stage", "candidates_only", "most_popular"):
        row = metrics[name]
        click.echo(f"{name:<16} {row['hr@10']:>7.4f} {row['ndcg@10']:>8.4f} {row['mrr@10']:>7.4f}")
    click.echo(
        f"candidate recall@50={metrics['candidate_recall@50']:.4f} "
        f"recall@100={metrics['candidate_recall@100']:.4f} coverage@10={metrics['coverage@10']:.4f}"
    )
    if json_path is not None:
        json_path.write_text(json.dumps(metrics, indent=2))


@main.command()
@click.argument("artifact", type=click.Path(exists=True, file_okay=False))
def info(artifact: str) -> None:
    """Verify an artifact and print its manifest summary as JSON ("path" is the folder that was
    loaded: for a root of published versions, its newest version)."""
    rec = _load(artifact)
    raw = rec.manifest.raw
    summary = {
        key: raw[key]
        for key in ("format_version", "created", "producer", "index", "metrics")
        if key in raw
    }
    summary["path"] = str(rec.manifest.root)
    summary["num_items"] = rec.num_items
    summary["models"] = {
        name: [t["name"] for t in spec["inputs"]] for name, spec in raw["models"].items()
    }
    click.echo(json.dumps(summary, indent=2))


@main.command()
@click.argument("artifact", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes; each loads its own model and keeps its own metrics.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Requests computed at once per worker (the rest wait their turn).",
)
@click.option(
    "--intra-op-threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="onnxruntime threads per network.",
)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds between checks of ARTIFACT for a newer published version (0: never).",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=1 << 20,
    show_default=True,
    help="Larger request bodies are answered 413.",
)
@click.option("--max-k", type=click.IntRange(min=1), default=100, show_default=True, help="Most k.")
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Most users in one /recommend_batch request.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send its body (408 after).",
)
@click.option(
    "--graceful-timeout",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Seconds requests in flight get to finish on SIGTERM/SIGINT.",
)
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
def serve(
    artifact: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    intra_op_threads: int,
    reload_interval: float,
    max_body_bytes: int,
    max_k: int,
    max_batch: int,
    body_timeout: float,
    graceful_timeout: int,
    quiet: bool,
) -> None:
    """Serve ARTIFACT (a folder or a root of versions) as a JSON HTTP service, with a page at /.

    Routes: POST /recommend, POST /recommend_batch, GET /items?q=, GET /items/{id},
    /schema, /healthz, /readyz, /metrics (Prometheus), /openapi.json. Newer versions
    published under ARTIFACT are loaded, verified and warmed, then swapped in; a broken one
    is logged and the old one keeps serving. Needs the 'serve' extra.

    \b
    Example:
      ytrec serve artifacts/ml100k --port 8000
      curl -d '{"history": [50, 172, 181], "k": 5}' localhost:8000/recommend
    """
    try:
        from ytrec_infer.serve.options import ServeOptions
        from ytrec_infer.serve.server import run
    except ImportError as exc:
        raise click.ClickException(
            f"'serve' needs the serve extra ({exc.name} is missing): "
            "pip install 'ytrec-infer[serve]'"
        ) from None
    options = ServeOptions(
        artifact,
        reload_interval_s=reload_interval,
        threads=threads,
        intra_op_threads=intra_op_threads,
        max_body_bytes=max_body_bytes,
        max_k=max_k,
        max_batch=max_batch,
        body_timeout_s=body_timeout,
    )
    level = "WARNING" if quiet else "INFO"
    if not run(options, click.echo, host, port, workers, graceful_timeout, level):
        raise click.ClickException(f"could not serve {artifact}: see the error logged above")


if __name__ == "__main__":
    sys.exit(main())
