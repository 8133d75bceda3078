"""The whole training job: load -> split -> encode -> train both networks -> export an artifact."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from trainers.config import TrainConfig
from trainers.distributed import LOCAL, Parallel
from trainers.data import Interactions, open_dataset, split_leave_last_out
from trainers.encoding import EncodedData, encode
from trainers.feature_encoding import resolve_schema
from trainers.holdout import HoldoutSet, holdout_set
from trainers.memory import log_peak_rss
from trainers.progress import EpochRecord
from ytrec_infer.feature_declarations import DeclaredSchema

if TYPE_CHECKING:
    from trainers.models import CandidateModel, Ranker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the artifact went, the validation metrics, and the trained torch networks.

    ``history`` holds one record per epoch of each stage (stage, epoch, loss, validation
    metrics, seconds), the data of the training curves.
    """

    artifact: Path
    metrics: dict[str, float]
    seconds: float
    data: EncodedData
    candidate_model: CandidateModel
    ranker: Ranker
    history: tuple[EpochRecord, ...] = ()


def _declared_columns_only(
    interactions: Interactions, schema: DeclaredSchema | None
) -> Interactions:
    """The log without the other columns that no declared context feature reads (the default
    schema declares none): they would be copied into the split for nothing (a 10M-row log's
    undeclared ``watch_fraction`` cells: 150 MiB, and as much again in the split)."""
    used = {spec.column for spec in schema.side("context")} if schema is not None else set()
    kept = {name: cells for name, cells in interactions.columns.items() if name in used}
    if len(kept) == len(interactions.columns) or len(kept) < len(used):
        return interactions  # (a declared column missing: encoding names the log's columns)
    return replace(interactions, columns=kept)


def prepare_data(
    data: str | Path,
    max_history: int,
    items: str | Path | None = None,
    users: str | Path | None = None,
    features: str | Path | DeclaredSchema | None = None,
) -> EncodedData:
    """Load (name, folder, or log file with optional item/user tables), split by time per user,
    and encode a dataset with a feature schema (a JSON file, ``"movielens"``, a
    :class:`~ytrec_infer.feature_schema.DeclaredSchema`; None: the default, see
    :func:`trainers.feature_encoding.default_schema`)."""
    if features is not None and not isinstance(features, DeclaredSchema):
        features = resolve_schema(features, None, None)
    dataset = open_dataset(data, items=items, users=users)
    log_peak_rss("ingest")
    # The parts hold every row and encoding reads only the tables: the log is given up to the
    # split, which builds the train part in its arrays.
    split = split_leave_last_out(
        _declared_columns_only(dataset.interactions, features), consume=True
    )
    dataset = replace(dataset, interactions=split.valid)
    log_peak_rss("split")
    log.info(
        "%s: %d train / %d valid / %d test interactions, %d users, %d items",
        dataset.name,
        len(split.train),
        len(split.valid),
        len(split.test),
        len(dataset.users.user_ids),
        len(dataset.items.item_ids),
    )
    encoded = encode(dataset, split, max_history, features)
    log_peak_rss("encoding")
    return encoded


def train_networks(
    encoded: EncodedData,
    config: TrainConfig,
    valid: HoldoutSet,
    history: list[EpochRecord] | None = None,
    parallel: Parallel = LOCAL,
) -> tuple[CandidateModel, Ranker, dict[str, float]]:
    """Train the candidate generator, the ranker's list source (``config.ranker.list_folds``)
    and the ranker; return both served networks and their validation metrics. Under
    torchrun, ``parallel`` shares both networks' steps among the processes (out-of-fold list
    generators train whole in every process)."""
    from trainers.out_of_fold import list_source
    from trainers.train_candidates import train_candidates
    from trainers.train_ranker import train_ranker

    candidate_model, candidate_metrics = train_candidates(
        encoded, config.candidate, valid, config.seed, history=history, parallel=parallel
    )
    log_peak_rss("candidate generator")
    source = list_source(
        encoded, candidate_model, config.candidate, config.ranker.list_folds, valid, config.seed
    )
    ranker, ranker_metrics = train_ranker(
        encoded,
        candidate_model,
        config.ranker,
        valid,
        config.seed,
        lists_from=source,
        history=history,
        parallel=parallel,
    )
    log_peak_rss("ranker")
    return candidate_model, ranker, {**candidate_metrics, **ranker_metrics}


def train_and_export(
    data: str | Path,
    out: Path,
    config: TrainConfig,
    items: str | Path | None = None,
    users: str | Path | None = None,
    features: str | Path | DeclaredSchema | None = None,
    parallel: Parallel = LOCAL,
) -> TrainResult:
    """Train both networks on ``data`` and publish an artifact at ``out``.

    ``data`` is a dataset name, a dataset folder, or an interaction log file (CSV/Parquet of
    user, item, timestamp[, rating]) with optional ``items`` and ``users`` feature tables;
    ``features`` the feature schema (see :func:`prepare_data`). Under torchrun (``parallel``,
    ``trainers/distributed.py``) every process trains and rank 0 alone exports; the others
    return the version folder rank 0 wrote.

    >>> result = train_and_export("log.csv", Path("artifacts/mine"), TrainConfig.small())
    ... # doctest: +SKIP
    """
    from export.artifact_builder import build_artifact
    from export.bundle import check_destination

    check_destination(out)
    start = time.perf_counter()
    encoded = prepare_data(data, config.candidate.max_history, items, users, features)
    valid = holdout_set(encoded, "valid")
    history: list[EpochRecord] = []
    candidate_model, ranker, metrics = train_networks(encoded, config, valid, history, parallel)
    artifact = parallel.on_main(
        lambda: str(build_artifact(out, encoded, candidate_model, ranker, config, valid, metrics))
    )
    log_peak_rss("export")
    seconds = time.perf_counter() - start
    log.info("trained and exported %s in %.0fs", artifact, seconds)
    return TrainResult(
        Path(artifact), metrics, seconds, encoded, candidate_model, ranker, tuple(history)
    )
