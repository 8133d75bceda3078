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
    rec = _load(artifact)
    ids = _ids(history, rec.catalog.string_ids)
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


if __name__ == "__main__":
    sys.exit(main())
