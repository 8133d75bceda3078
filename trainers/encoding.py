"""Turn a loaded dataset and its split into model codes: items, users, per-user sequences.

Item code = row of the sorted item table + 1 (0 is history padding); the same mapping is
written to the artifact as ``item_ids.npy``. Everything computed here that feeds a model
(popularity, normalisation constants) is computed from the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainers.data import Dataset, Interactions, ItemTable, Split, UserTable
from trainers.data.tables import table_rows
from trainers.feature_encoding import (
    ContextColumns,
    item_columns,
    learn_context,
    learn_features,
    request_columns,
    resolve_schema,
    user_attributes,
)
from trainers.ragged import Ragged, run_offsets
from ytrec_infer.feature_declarations import DeclaredSchema
from ytrec_infer.feature_schema import FeatureSchema, LearnedFeature

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Sequences:
    """Per-user interaction sequences in time order, as item codes: sequence ``s`` belongs to
    user row ``user_rows[s]``; ``items``, ``timestamps`` and ``ratings`` are CSR arrays sharing
    one ``offsets`` (sorted by user row, then time). The flat arrays are in the order of the
    split part's rows, so flat position ``p`` is row ``p`` of ``split.train`` (where the context
    columns of that interaction are)."""

    user_rows: np.ndarray
    items: Ragged
    timestamps: Ragged
    ratings: Ragged

    @property
    def offsets(self) -> np.ndarray:
        """Where each sequence starts in the flat arrays (plus the total at the end)."""
        return self.items.offsets

    @property
    def starts(self) -> np.ndarray:
        """Each sequence's first row in its split part."""
        return self.items.offsets[:-1]


@dataclass(frozen=True)
class HeldOut:
    """One held-out interaction per user row (code 0 where a user has none); ``part`` is the
    split's part itself (its rows, with the log's other columns), ``rows`` the row of ``part``
    of each user row (-1 where none), ``context`` the context inputs per row of ``part``."""

    items: np.ndarray
    timestamps: np.ndarray
    ratings: np.ndarray
    part: Interactions
    rows: np.ndarray
    context: ContextColumns


@dataclass(frozen=True)
class EncodedData:
    """Everything the trainers need, in codes, plus the tables exported with the artifact.

    ``item_features`` [N, F] is the ranker's item table (the schema's ranker-side item
    features, then log popularity; its first ``match_width`` columns are multi-hot categories)
    and ``tower_item_features`` [N, Ft] the tower's; ``user_categorical`` / ``user_numeric``
    are the networks' user inputs per user row (:func:`trainers.feature_encoding.
    request_columns`: the user features, then the context features' missing encoding), and
    ``context`` the context inputs of each training interaction (:meth:`user_inputs`).
    """

    item_ids: np.ndarray
    titles: tuple[str, ...]
    popularity: np.ndarray
    item_features: np.ndarray
    item_feature_names: tuple[str, ...]
    match_width: int
    tower_item_features: np.ndarray
    user_ids: np.ndarray
    user_categorical: np.ndarray
    user_numeric: np.ndarray
    schema: FeatureSchema
    train: Sequences
    valid: HeldOut
    test: HeldOut
    train_end: float
    users: UserTable
    items: ItemTable
    context: ContextColumns

    def user_inputs(
        self, user_rows: np.ndarray, interactions: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The networks' ``user_categorical`` and ``user_numeric`` for these user rows, with the
        context of the given training interactions (rows of ``train``; None: no context)."""
        return self.context.apply(
            self.user_categorical[user_rows], self.user_numeric[user_rows], interactions
        )

    def user_attributes(self, row: int) -> dict[str, object]:
        """The raw attributes of a user row, as a runtime ``user`` mapping."""
        return user_attributes(self.schema.user, self.users, row)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def padded_rows(self, table: np.ndarray) -> np.ndarray:
        """Prepend the padding row (code 0) to a per-item table."""
        return np.concatenate([np.zeros((1,) + table.shape[1:], dtype=table.dtype), table])


def codes_of(sorted_ids: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Map raw ids to codes (row + 1) in a sorted id table; ids must be present."""
    rows, present = table_rows(sorted_ids, raw)
    if not present.all():
        raise ValueError(f"ids not in the table: {raw[~present][:5].tolist()}")
    rows += 1
    return rows


def _group(part: Interactions, user_ids: np.ndarray, item_ids: np.ndarray) -> Sequences:
    """``part`` is in (user, time) order (``split_leave_last_out``), so each user's rows are
    one contiguous run of the flat arrays."""
    user_rows = codes_of(user_ids, part.user_ids) - 1
    offsets = run_offsets(user_rows)
    return Sequences(
        user_rows=user_rows[offsets[:-1]],
        items=Ragged(codes_of(item_ids, part.item_ids), offsets),
        timestamps=Ragged(part.timestamps, offsets),
        ratings=Ragged(part.ratings, offsets),
    )


def _held_out(
    part: Interactions, user_ids: np.ndarray, item_ids: np.ndarray, context: ContextColumns
) -> HeldOut:
    items = np.zeros(len(user_ids), dtype=np.int64)
    timestamps = np.zeros(len(user_ids), dtype=np.int64)
    ratings = np.zeros(len(user_ids), dtype=np.float32)
    part_rows = np.full(len(user_ids), -1, dtype=np.int64)
    rows = codes_of(user_ids, part.user_ids) - 1
    items[rows] = codes_of(item_ids, part.item_ids)
    timestamps[rows] = part.timestamps
    ratings[rows] = part.ratings
    part_rows[rows] = np.arange(len(part))
    return HeldOut(items, timestamps, ratings, part, part_rows, context)


def _log_popularity(popularity: np.ndarray) -> np.ndarray:
    """Training popularity as log1p(count) scaled to [0, 1], the ranker's built-in item column."""
    return (np.log1p(popularity) / max(np.log1p(popularity.max()), 1.0)).astype(np.float32)


def _network_items(features: tuple[LearnedFeature, ...], network: str) -> tuple[LearnedFeature, ...]:
    return tuple(f for f in features if network in f.spec.networks)


def _gaps(train: Sequences) -> np.ndarray:
    """Seconds between consecutive interactions of the same user (one 0 if there are none)."""
    stamps, offsets = train.timestamps.values, train.offsets
    within = np.ones(len(stamps), dtype=bool)
    within[offsets[:-1]] = False  # a sequence's first interaction has no predecessor
    diffs = np.diff(stamps.astype(np.float64), prepend=0.0)[within]
    return diffs if len(diffs) else np.zeros(1)


def encode(
    dataset: Dataset,
    split: Split,
    max_history: int,
    features: str | Path | DeclaredSchema | None = None,
) -> EncodedData:
    """Encode a dataset split with a feature schema (a file, ``"movielens"``, an object, or
    None for the default); vocabularies, constants and popularity come from ``split.train``."""
    item_ids = dataset.items.item_ids
    user_ids = dataset.users.user_ids
    declared = resolve_schema(features, dataset.users, dataset.items)
    train = _group(split.train, user_ids, item_ids)
    popularity = np.bincount(train.items.values - 1, minlength=len(item_ids))
    training_users = np.zeros(len(user_ids), dtype=bool)
    training_users[train.user_rows] = True
    user_features, item_features = learn_features(
        declared, dataset.users, dataset.items, training_users
    )
    context_features = learn_context(declared, split.train)
    ranker_items, match_width, names = item_columns(
        _network_items(item_features, "ranker"), dataset.items, declared.source
    )
    tower_items, _, _ = item_columns(
        _network_items(item_features, "tower"), dataset.items, declared.source
    )
    train_start, train_end = (
        float(split.train.timestamps.min()),
        float(split.train.timestamps.max()),
    )
    gaps = _gaps(train)
    schema = FeatureSchema(
        max_history=max_history,
        user=user_features,
        item=item_features,
        example_age_scale_days=max((train_end - train_start) / SECONDS_PER_DAY, 1.0),
        gap_fill_seconds=float(np.median(gaps)),
        gap_scale=float(max(np.log1p(np.percentile(gaps, 99) / 3600.0), 1.0)),
        context=context_features,
    )
    categorical, numeric = request_columns(schema, dataset.users, declared.source)

    def context_of(part: Interactions) -> ContextColumns:
        return ContextColumns.encode(context_features, part, declared.source)

    return EncodedData(
        item_ids=item_ids,
        titles=tuple(dataset.items.titles),
        popularity=popularity.astype(np.int64),
        item_features=np.column_stack([ranker_items, _log_popularity(popularity)]),
        item_feature_names=names + ("log_popularity",),
        match_width=match_width,
        tower_item_features=tower_items,
        user_ids=user_ids,
        user_categorical=categorical,
        user_numeric=numeric,
        schema=schema,
        train=train,
        valid=_held_out(split.valid, user_ids, item_ids, context_of(split.valid)),
        test=_held_out(split.test, user_ids, item_ids, context_of(split.test)),
        train_end=train_end,
        users=dataset.users,
        items=dataset.items,
        context=context_of(split.train),
    )
