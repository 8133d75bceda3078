"""``ytrec-bench``'s command line: options, the synthetic artifact, the table, JSON and plot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ytrec_infer.bench.plot import write_plot
from ytrec_infer.bench.report import Settings, format_table
from ytrec_infer.bench.timing import load_timed, run_benchmark
from ytrec_infer.bench.workload import synthetic_path
from ytrec_infer.devices import DeviceUnavailableError
from ytrec_infer.errors import ArtifactError
from ytrec_infer.loading import LoadOptions
from ytrec_infer.retrieval import RETRIEVAL_MODES


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise click.BadParameter(f"expected positive integers, got {text!r}")
    return values


def _synthetic_artifact(num_items: int, seed: int, out: Path | None) -> Path:
    """An existing synthetic artifact of this size and seed, or a new one built now."""
    from ytrec_infer.synthetic import build_synthetic_artifact

    path = out if out is not None else synthetic_path(num_items, seed)
    if (path / "manifest.json").is_file():
        click.echo(f"synthetic    reusing {path}")
        return path
    click.echo(f"synthetic    building {num_items:,} items into {path} (once; minutes at 1M)")
    start = time.perf_counter()
    try:
        build_synthetic_artifact(path, num_items, seed)
    except (RuntimeError, ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"synthetic    built in {time.perf_counter() - start:.0f} s")
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("artifact", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--synthetic",
    type=click.IntRange(min=2),
    help="Benchmark a synthetic catalog of this many items (built once, then reused).",
)
@click.option(
    "--synthetic-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the synthetic artifact (default ~/.cache/ytrec/synthetic/items-N-seed-S).",
)
@click.option(
    "--requests",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Timed requests.",
)
@click.option(
    "--warmup",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="Untimed requests run first.",
)
@click.option(
    "--history-length",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Catalog ids in each synthetic history.",
)
@click.option(
    "-k",
    "k",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Items returned per request.",
)
@click.option(
    "--n-candidates",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Candidates retrieved and ranked per request.",
)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="onnxruntime intra-op threads per network.",
)
@click.option(
    "--recall-queries",
    default=200,
    show_default=True,
    type=click.IntRange(min=0),
    help="User vectors for recall@100 and the ef curve (0 skips them).",
)
@click.option(
    "--batch-size",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Batch size of the recommend_batch throughput run.",
)
@click.option(
    "--concurrency",
    default="1,2",
    show_default=True,
    help="Thread counts sharing one Recommender for the throughput runs.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seed of the histories (and of the synthetic catalog).",
)
@click.option(
    "--device",
    default="cpu",
    show_default=True,
    type=click.Choice(["cpu", "cuda"]),
    help="Run the networks (and, on cuda, exact retrieval) on this device.",
)
@click.option(
    "--retrieval",
    type=click.Choice(list(RETRIEVAL_MODES)),
    help="Stage one's search (default: exact on cuda, exact-numpy up to 5,000 items, else hnsw).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write every number to this JSON file.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="PNG of the curves (default: beside --json); needs matplotlib (extra 'plot').",
)
def main(
    artifact: Path | None,
    synthetic: int | None,
    synthetic_dir: Path | None,
    requests: int,
    warmup: int,
    history_length: int,
    k: int,
    n_candidates: int,
    threads: int,
    recall_queries: int,
    batch_size: int,
    concurrency: str,
    seed: int,
    device: str,
    retrieval: str | None,
    json_path: Path | None,
    plot_path: Path | None,
) -> None:
    """Measure an ARTIFACT folder (or a --synthetic catalog): load time, memory, per-stage
    latency, throughput, and stage one's recall against exact search."""
    if (artifact is None) == (synthetic is None):
        raise click.UsageError("give an ARTIFACT folder or --synthetic N, not both or neither")
    settings = Settings(
        requests,
        warmup,
        history_length,
        k,
        n_candidates,
        threads,
        seed,
        recall_queries,
        batch_size,
        _ints(concurrency),
    )
    if synthetic is not None:
        artifact = _synthetic_artifact(synthetic, seed, synthetic_dir)
    assert artifact is not None
    try:
        options = LoadOptions(device=device, threads=threads, retrieval=retrieval)
        rec, load = load_timed(artifact, options)
    except (ArtifactError, DeviceUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None
    if synthetic is not None and rec.num_items != synthetic:
        raise click.ClickException(
            f"{artifact} holds {rec.num_items} items, not {synthetic}: choose another --synthetic-dir"
        )
    try:
        settings.check(rec.num_items)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    result = run_benchmark(rec, settings, load, artifact)
    click.echo(format_table(result))
    report = result.to_dict()
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        click.echo(f"wrote        {json_path}")
        plot_path = plot_path or json_path.with_suffix(".png")
    if plot_path is not None:
        if write_plot(report, plot_path):
            click.echo(f"wrote        {plot_path}")
        else:
            click.echo("plot         skipped: matplotlib is not installed (pip install matplotlib)")
