"""Out-of-fold candidate lists for the ranker's training examples.

The served candidate generator is trained on every user's training positions, so the lists it
retrieves for those same positions are easier than the lists it retrieves at serving time (the
target was a training label). With ``RankerConfig.list_folds = F > 0`` users are split into F
folds, one auxiliary generator per fold is trained (same configuration) on the other folds'
users only, and each user's ranker training lists come from the generator that never saw that
user. The auxiliary generators are used only for those lists; they are not exported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from trainers.config import CandidateConfig
from trainers.encoding import EncodedData
from trainers.feature_encoding import ContextColumns
from trainers.holdout import HoldoutSet
from trainers.inference import retrieve_candidates
from trainers.models import CandidateModel

log = logging.getLogger(__name__)

FOLD_SEED_OFFSET = 1000
"""Auxiliary generator f is trained with seed ``seed + FOLD_SEED_OFFSET * (f + 1)``."""


class ListSource(Protocol):
    """Retrieves the candidate lists the ranker is trained on."""

    def retrieve(
        self, data: EncodedData, user_rows: np.ndarray, histories: Sequence[np.ndarray], n: int,
        context: ContextColumns | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n codes and scores [E, n] per example, history excluded; ``context`` (aligned
        with ``user_rows``) is each example's own interaction's context (None: none)."""
        ...


@dataclass(frozen=True)
class InSample:
    """Lists from the served generator itself (trained on the same positions)."""

    model: CandidateModel

    def retrieve(
        self, data: EncodedData, user_rows: np.ndarray, histories: Sequence[np.ndarray], n: int,
        context: ContextColumns | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        _, codes, scores = retrieve_candidates(
            self.model, data, user_rows, histories, n, context=context
        )
        return codes, scores


@dataclass(frozen=True)
class OutOfFold:
    """Lists for a user from the auxiliary generator trained without that user's fold."""

    models: tuple[CandidateModel, ...]
    fold: np.ndarray
    """Fold index per user row."""

    def retrieve(
        self, data: EncodedData, user_rows: np.ndarray, histories: Sequence[np.ndarray], n: int,
        context: ContextColumns | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        codes = np.zeros((len(user_rows), n), dtype=np.int64)
        scores = np.zeros((len(user_rows), n), dtype=np.float32)
        folds = self.fold[user_rows]
        for f, model in enumerate(self.models):
            rows = np.flatnonzero(folds == f)
            if len(rows) == 0:
                continue
            _, codes[rows], scores[rows] = retrieve_candidates(
                model,
                data,
                user_rows[rows],
                [histories[int(r)] for r in rows],
                n,
                context=None if context is None else context.take(rows),
            )
        return codes, scores


def assign_folds(num_users: int, folds: int, seed: int) -> np.ndarray:
    """A fold index in [0, folds) per user row, balanced and shuffled by ``seed``."""
    if folds < 2:
        raise ValueError(f"out-of-fold lists need at least 2 folds, got {folds}")
    rng = np.random.default_rng(seed + FOLD_SEED_OFFSET)
    return rng.permutation(num_users) % folds


def train_out_of_fold(
    data: EncodedData, config: CandidateConfig, folds: int, valid: HoldoutSet, seed: int
) -> OutOfFold:
    """Train one auxiliary generator per fold on the other folds' users."""
    from trainers.train_candidates import train_candidates

    fold = assign_folds(len(data.user_ids), folds, seed)
    models = []
    for f in range(folds):
        model, metrics = train_candidates(
            data, config, valid, seed + FOLD_SEED_OFFSET * (f + 1), users=fold != f
        )
        log.info("out-of-fold generator %d/%d: %s", f + 1, folds, metrics)
        models.append(model)
    return OutOfFold(tuple(models), fold)


def list_source(
    data: EncodedData,
    candidate_model: CandidateModel,
    config: CandidateConfig,
    folds: int,
    valid: HoldoutSet,
    seed: int,
) -> ListSource:
    """In-sample lists for ``folds == 0``, else out-of-fold ones."""
    if folds == 0:
        return InSample(candidate_model)
    return train_out_of_fold(data, config, folds, valid, seed)
