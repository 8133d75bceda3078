"""The ``ytrec`` command: recommend and inspect here; fetch data, train, evaluate from plugins.

``recommend`` and ``info`` need only the runtime. ``data``, ``train`` and ``evaluate`` live with
the training code (``trainers/cli.py``) and join this group through the ``ytrec.commands``
entry-point group, so this package never imports the training side: where it is not
installed, those commands are missing and :func:`main` names the fix.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ytrec_infer import ArtifactError, Recommender, __version__
from ytrec_infer.batch_command import batch_recommend
from ytrec_infer.cli_fields import merged, typed_fields
from ytrec_infer.plugins import COMMANDS, plugins


TRAINING_COMMANDS = ("data", "train", "evaluate")
TRAINING_HINT = (
    "needs the training side: `pip install torch==2.13.0` then `pip install 'ytrec-infer[train]'` "
    "(from a checkout: `pip install -e '.[train]'`)"
)


def setup_logging(quiet: bool) -> None:
    """Progress and logs to stderr, the exporters' chatter silenced (shared by plugins)."""
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("onnxscript", "onnx_ir", "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _ids(text: str, strings: bool) -> list[int] | list[str]:
    """Comma-separated ids: strings for a catalog of string ids, else integers."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if strings:
        return parts
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integer item ids, got {text!r}"
        ) from None


def _load(path: str) -> Recommender:
    try:
        return Recommender.load(path)
    except ArtifactError as exc:
        raise click.ClickException(str(exc)) from None


class _PluginGroup(click.Group):
    """``ytrec``: its own commands plus those of the ``ytrec.commands`` entry points, loaded
    when first listed or called; a training command without the training side names the fix."""

    def _plugins(self) -> dict[str, click.Command]:
        return {
            name: command
            for name, command in plugins(COMMANDS).items()
            if isinstance(command, click.Command)
        }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name) or self._plugins().get(cmd_name)
        if command is None and cmd_name in TRAINING_COMMANDS:
            raise click.ClickException(f"'ytrec {cmd_name}' {TRAINING_HINT}")
        return command


@click.group(cls=_PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option(
    "--user",
    "user_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A user feature of the artifact's schema (repeatable), e.g. --user country=DE.",
)
@click.option(
    "--context",
    "context_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A context feature of the artifact's schema (repeatable), e.g. --context hour=21.",
)
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
    user_pairs: tuple[str, ...],
    context_pairs: tuple[str, ...],
    include_history: bool,
    as_json: bool,
) -> None:
    """Recommend k items for a history of item ids (no PyTorch involved).

    --user and --context take any feature of the artifact's schema (`ytrec info` lists them
    as request_fields; numeric ones are parsed as numbers); --age, --gender, --occupation and
    --zip-code are the MovieLens user features by name.
    """
    rec = _load(artifact)
    ids = _ids(history, rec.catalog.string_ids)
    flags = {"age": age, "gender": gender, "occupation": occupation, "zip_code": zip_code}
    user = merged(
        {key: value for key, value in flags.items() if value is not None},
        typed_fields(user_pairs, rec.schema, "user"),
    )
    context = typed_fields(context_pairs, rec.schema, "context")
    try:
        result = rec.recommend(
            ids,
            k=k,
            user=user or None,
            n_candidates=n_candidates,
            exclude_history=not include_history,
            context=context or None,
        )
    except (TypeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None

    def render() -> None:
        codes, _ = rec.catalog.codes(rec.catalog.id_array(ids, "history"))
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
def info(artifact: str) -> None:
    """Verify an artifact and print its manifest summary as JSON ("path" is the folder that was
    loaded: for a root of published versions, its newest version)."""
    rec = _load(artifact)
    described = rec.manifest.description
    summary = {
        "format_version": rec.manifest.raw["format_version"],
        "created": described.created,
        "producer": dict(described.producer),
        "index": described.index.to_dict(),
        "metrics": dict(described.metrics),
        "path": str(rec.manifest.root),
        "num_items": rec.num_items,
        "request_fields": {"user": rec.schema.fields, "context": rec.schema.context_fields},
        "models": {
            name: [t.name for t in spec.inputs] for name, spec in described.models.items()
        },
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


main.add_command(batch_recommend)

if __name__ == "__main__":
    sys.exit(main())
