"""The whole training job: load -> split -> encode -> train both networks -> export an artifact."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trainers.config import TrainConfig
from trainers.data import load_dataset, resolve_dataset, split_leave_last_out
from trainers.encoding import EncodedData, encode
from trainers.holdout import holdout_set

if TYPE_CHECKING:
    from trainers.models import CandidateModel, Ranker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the artifact went, the validation metrics, and the trained torch networks."""

    artifact: Path
    metrics: dict[str, float]
    seconds: float
    data: EncodedData
    candidate_model: CandidateModel
    ranker: Ranker


def prepare_data(data: str | Path, max_history: int) -> EncodedData:
    """Resolve (name or folder), load, split by time per user, and encode a dataset."""
    dataset = load_dataset(resolve_dataset(str(data)))
    split = split_leave_last_out(dataset.interactions)
    log.info(
        "%s: %d train / %d valid / %d test interactions, %d users, %d items",
        dataset.name,
        len(split.train),
        len(split.valid),
        len(split.test),
        len(dataset.users.user_ids),
        len(dataset.items.item_ids),
    )
    return encode(dataset, split, max_history)


def train_and_export(data: str | Path, out: Path, config: TrainConfig) -> TrainResult:
    """Train the candidate generator and the ranker on ``data`` and publish an artifact at ``out``."""
    from export.artifact_builder import build_artifact
    from export.bundle import check_destination
    from trainers.train_candidates import train_candidates
    from trainers.train_ranker import train_ranker

    check_destination(out)
    start = time.perf_counter()
    encoded = prepare_data(data, config.candidate.max_history)
    valid = holdout_set(encoded, "valid")
    candidate_model, candidate_metrics = train_candidates(
        encoded, config.candidate, valid, config.seed
    )
    ranker, ranker_metrics = train_ranker(
        encoded, candidate_model, config.ranker, valid, config.seed
    )
    metrics = {**candidate_metrics, **ranker_metrics}
    artifact = build_artifact(out, encoded, candidate_model, ranker, config, valid, metrics)
    seconds = time.perf_counter() - start
    log.info("trained and exported %s in %.0fs", artifact, seconds)
    return TrainResult(artifact, metrics, seconds, encoded, candidate_model, ranker)
