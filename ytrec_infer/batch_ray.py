"""Recommendations for every user of a Parquet log with Ray Data (the optional ``ray`` extra).

The log is read column-wise (``read_parquet``), each user's rows are grouped into one history
in time order (``groupby(user).map_groups``), and a pool of actors, each holding one
:class:`~ytrec_infer.recommender.Recommender`, answers batches of users with
:meth:`~ytrec_infer.recommender.Recommender.recommend_batch` (``map_batches``); the answers are
written as Parquet, one row per (user, rank, item, score). Ray and pyarrow are imported inside
the functions, so the runtime's base import stays free of them; on a cluster, the artifact and
the log must be readable at the same path on every node (docs/distributed.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.results import Recommendations

RAY_HINT = "needs the ray extra: pip install 'ytrec-infer[ray]'"
OUTPUT_COLUMNS = ("user", "rank", "item", "score")
"""The columns of the written Parquet: the log's user id, 1-based rank, catalog id, score."""


@dataclass(frozen=True)
class LogColumns:
    """Names of the log's user, item and timestamp columns."""

    user: str = "user"
    item: str = "item"
    timestamp: str = "timestamp"


@dataclass(frozen=True)
class BatchSettings:
    """What each user gets (``k`` of ``n_candidates``) and how the work is spread: ``actors``
    Recommender actors answering ``batch_size`` users per call, ``threads`` each."""

    k: int = 10
    n_candidates: int = 100
    actors: int = 2
    batch_size: int = 256
    threads: int = 1


def answer_rows(users: Sequence[Any], results: Sequence[Recommendations]) -> dict[str, Any]:
    """The output rows of ``results`` (aligned with ``users``) as columns of OUTPUT_COLUMNS."""
    counts = [len(r) for r in results]
    return {
        "user": np.repeat(np.asarray(list(users), dtype=object), counts).tolist(),
        "rank": np.concatenate([np.arange(1, n + 1) for n in counts] or [np.zeros(0, int)]),
        "item": [item.item_id for r in results for item in r],
        "score": np.array([item.score for r in results for item in r], dtype=np.float64),
    }


class RecommendActor:
    """One Ray actor's Recommender, loaded once, answering batches of (user, history) rows."""

    def __init__(self, artifact: str, settings: BatchSettings) -> None:
        from ytrec_infer.recommender import Recommender

        self.rec = Recommender.load(artifact, threads=settings.threads)
        self.settings = settings

    def __call__(self, batch: Any) -> Any:
        """A pyarrow batch of ``user``/``history`` rows -> a table of OUTPUT_COLUMNS rows."""
        import pyarrow as pa

        users = batch.column("user").to_pylist()
        results = self.rec.recommend_batch(
            batch.column("history").to_pylist(),
            k=self.settings.k,
            n_candidates=self.settings.n_candidates,
        )
        return pa.table(answer_rows(users, results))


def group_history(group: Any, columns: LogColumns) -> Any:
    """One user's rows (a pyarrow table) -> one row: the user and their items in time order
    (ties by item id, so the order does not depend on how Ray split the log)."""
    import pyarrow as pa

    stamps = group.column(columns.timestamp).to_numpy()
    items = group.column(columns.item).to_numpy(zero_copy_only=False)
    order = np.lexsort((items, stamps))
    user = group.column(columns.user)[0].as_py()
    return pa.table({"user": [user], "history": [items[order].tolist()]})


def recommend_log(
    artifact: str | Path,
    log: str | Path,
    out: str | Path,
    settings: BatchSettings = BatchSettings(),
    columns: LogColumns = LogColumns(),
    address: str | None = None,
) -> int:
    """Recommend for every user of the Parquet ``log`` (a file or folder) with ``artifact`` and
    write the answers as Parquet files into the folder ``out``; returns how many rows it wrote.

    Connects to the Ray cluster at ``address`` (e.g. ``ray://head:10001`` or ``auto``) or, with
    None, uses the running Ray or starts a local one (stopped again at the end). Every user's
    whole history is passed, so everything they watched is excluded, as in ``ytrec recommend``.

    >>> recommend_log("artifacts/ml100k", "log.parquet", "recs/")  # doctest: +SKIP
    9430
    """
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(f"batch recommendation with Ray {RAY_HINT} ({exc.name} is missing)")
    target = str(out)
    local = Path(target)
    if "://" not in target and local.exists() and (not local.is_dir() or any(local.iterdir())):
        raise FileExistsError(f"output {target} exists and is not an empty folder")
    for name, value in (("k", settings.k), ("actors", settings.actors)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, log_to_driver=False)
    try:
        return _run(ray, str(Path(artifact).resolve()), str(log), target, settings, columns)
    finally:
        if started:
            ray.shutdown()


def _run(
    ray: Any, artifact: str, log: str, out: str, settings: BatchSettings, columns: LogColumns
) -> int:
    """The Ray Data pipeline of :func:`recommend_log`."""
    names = [columns.user, columns.item, columns.timestamp]
    logged = ray.data.read_parquet(log)
    found = logged.schema().names
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"log {log} has no column(s) {missing} (it has {found})")
    logged = logged.select_columns(names)
    # Materialised (spilled to disk past the object store) before the actors start: an actor
    # pool holding every CPU would otherwise starve the shuffle that groups the log.
    histories = (
        logged.groupby(columns.user)
        .map_groups(group_history, fn_args=(columns,), batch_format="pyarrow")
        .materialize()
    )
    answers = histories.map_batches(
        RecommendActor,
        fn_constructor_args=(artifact, settings),
        batch_size=settings.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=settings.actors),
        num_cpus=settings.threads,
    )
    answers.write_parquet(out)
    return int(ray.data.read_parquet(out).count())
