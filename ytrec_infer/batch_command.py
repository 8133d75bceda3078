"""``ytrec batch-recommend``: recommendations for every user of a Parquet log, on Ray Data."""

from __future__ import annotations

import json

import click

from ytrec_infer.batch_ray import BatchSettings, LogColumns, recommend_log


@click.command("batch-recommend")
@click.option(
    "--artifact",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="Artifact folder (or root of versions), readable at this path on every Ray node.",
)
@click.option("--log", "log_path", required=True, help="Parquet log: a file or a folder of files.")
@click.option("--out", required=True, help="Output folder (new or empty) for the Parquet answers.")
@click.option(
    "--ray-address", default=None, help="Ray cluster to join (e.g. auto); default: a local Ray."
)
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Items per user."
)
@click.option(
    "--n-candidates",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Candidates retrieved and ranked per user.",
)
@click.option(
    "--actors",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Recommender actors (each loads the artifact once).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Users per recommend_batch call.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="CPUs per actor (onnxruntime threads per network).",
)
@click.option("--user-column", default="user", show_default=True, help="The log's user column.")
@click.option("--item-column", default="item", show_default=True, help="The log's item column.")
@click.option(
    "--time-column", default="timestamp", show_default=True, help="The log's timestamp column."
)
def batch_recommend(
    artifact: str,
    log_path: str,
    out: str,
    ray_address: str | None,
    k: int,
    n_candidates: int,
    actors: int,
    batch_size: int,
    threads: int,
    user_column: str,
    item_column: str,
    time_column: str,
) -> None:
    """Recommend k items for every user of a Parquet log with Ray Data and write Parquet rows
    (user, rank, item, score) into OUT. Needs the 'ray' extra.

    \b
    Example:
      ytrec batch-recommend --artifact artifacts/ml100k --log log.parquet --out recs/
    """
    settings = BatchSettings(k, n_candidates, actors, batch_size, threads)
    columns = LogColumns(user_column, item_column, time_column)
    try:
        rows = recommend_log(artifact, log_path, out, settings, columns, ray_address)
    except (RuntimeError, ValueError, FileExistsError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"out": out, "rows": rows}))
