"""Turn a loaded dataset and its split into model codes: items, users, per-user sequences.

Item code = row of the sorted item table + 1 (0 is history padding); the same mapping is
written to the artifact as ``item_ids.npy``. Everything computed here that feeds a model
(popularity, normalisation constants) is computed from the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainers.data import Dataset, Interactions, Split, UserTable
from ytrec_infer.features import FeatureSchema

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Sequences:
    """Per-user interaction sequences in time order, as item codes."""

    user_rows: np.ndarray
    items: tuple[np.ndarray, ...]
    timestamps: tuple[np.ndarray, ...]
    ratings: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class HeldOut:
    """One held-out interaction per user row (code 0 where a user has none)."""

    items: np.ndarray
    timestamps: np.ndarray
    ratings: np.ndarray


@dataclass(frozen=True)
class EncodedData:
    """Everything the trainers need, in codes, plus the tables exported with the artifact."""

    item_ids: np.ndarray
    titles: tuple[str, ...]
    popularity: np.ndarray
    item_features: np.ndarray
    item_feature_names: tuple[str, ...]
    num_genres: int
    user_ids: np.ndarray
    user_categorical: np.ndarray
    user_age: np.ndarray
    schema: FeatureSchema
    train: Sequences
    valid: HeldOut
    test: HeldOut
    train_end: float
    users: UserTable

    def user_attributes(self, row: int) -> dict[str, object]:
        """The raw attributes of a user row, as a runtime ``user`` mapping."""
        age = float(self.users.ages[row])
        return {
            "age": age if np.isfinite(age) else None,
            "gender": self.users.genders[row],
            "occupation": self.users.occupations[row],
            "zip_code": self.users.zip_codes[row],
        }

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def padded_rows(self, table: np.ndarray) -> np.ndarray:
        """Prepend the padding row (code 0) to a per-item table."""
        return np.concatenate([np.zeros((1,) + table.shape[1:], dtype=table.dtype), table])


def codes_of(sorted_ids: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Map raw ids to codes (row + 1) in a sorted id table; ids must be present."""
    rows = np.searchsorted(sorted_ids, raw)
    rows = np.minimum(rows, len(sorted_ids) - 1)
    if not np.array_equal(sorted_ids[rows], raw):
        missing = raw[sorted_ids[rows] != raw][:5]
        raise ValueError(f"ids not in the table: {missing.tolist()}")
    return rows + 1


def _group(part: Interactions, user_ids: np.ndarray, item_ids: np.ndarray) -> Sequences:
    user_rows = codes_of(user_ids, part.user_ids) - 1
    starts = np.flatnonzero(np.r_[True, user_rows[1:] != user_rows[:-1]])
    ends = np.r_[starts[1:], len(user_rows)]
    codes = codes_of(item_ids, part.item_ids)
    return Sequences(
        user_rows=user_rows[starts],
        items=tuple(codes[s:e] for s, e in zip(starts, ends, strict=False)),
        timestamps=tuple(part.timestamps[s:e] for s, e in zip(starts, ends, strict=False)),
        ratings=tuple(part.ratings[s:e] for s, e in zip(starts, ends, strict=False)),
    )


def _held_out(part: Interactions, user_ids: np.ndarray, item_ids: np.ndarray) -> HeldOut:
    items = np.zeros(len(user_ids), dtype=np.int64)
    timestamps = np.zeros(len(user_ids), dtype=np.int64)
    ratings = np.zeros(len(user_ids), dtype=np.float32)
    rows = codes_of(user_ids, part.user_ids) - 1
    items[rows] = codes_of(item_ids, part.item_ids)
    timestamps[rows] = part.timestamps
    ratings[rows] = part.ratings
    return HeldOut(items, timestamps, ratings)


def _item_features(dataset: Dataset, popularity: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Ranker-side item features: genre flags, standardised release year, scaled log popularity."""
    items = dataset.items
    years = items.release_years.astype(np.float64)
    known = np.isfinite(years)
    mean, std = (years[known].mean(), years[known].std() or 1.0) if known.any() else (0.0, 1.0)
    year = np.where(known, (years - mean) / std, 0.0)
    log_pop = np.log1p(popularity) / max(np.log1p(popularity.max()), 1.0)
    table = np.column_stack([items.genres.astype(np.float64), year, log_pop]).astype(np.float32)
    names = tuple(f"genre:{g}" for g in items.genre_names) + ("release_year_z", "log_popularity")
    return table, names


def _gaps(train: Sequences) -> np.ndarray:
    diffs = [np.diff(ts) for ts in train.timestamps if len(ts) > 1]
    return np.concatenate(diffs).astype(np.float64) if diffs else np.zeros(1)


def encode(dataset: Dataset, split: Split, max_history: int) -> EncodedData:
    """Encode a dataset split; constants and popularity come from ``split.train`` alone."""
    item_ids = dataset.items.item_ids
    user_ids = dataset.users.user_ids
    train = _group(split.train, user_ids, item_ids)
    popularity = np.bincount(codes_of(item_ids, split.train.item_ids) - 1, minlength=len(item_ids))
    item_features, names = _item_features(dataset, popularity)

    users = dataset.users
    ages = users.ages.astype(np.float64)
    known_age = np.isfinite(ages)
    train_start, train_end = (
        float(split.train.timestamps.min()),
        float(split.train.timestamps.max()),
    )
    gaps = _gaps(train)
    schema = FeatureSchema(
        max_history=max_history,
        genders=tuple(sorted({g for g in users.genders if g})),
        occupations=tuple(sorted({o for o in users.occupations if o})),
        age_fill=float(ages[known_age].mean()) if known_age.any() else 30.0,
        age_scale=float(ages[known_age].max()) if known_age.any() else 100.0,
        example_age_scale_days=max((train_end - train_start) / SECONDS_PER_DAY, 1.0),
        gap_fill_seconds=float(np.median(gaps)),
        gap_scale=float(max(np.log1p(np.percentile(gaps, 99) / 3600.0), 1.0)),
        genre_names=tuple(dataset.items.genre_names),
    )
    categorical = np.array(
        [
            schema.encode_categorical(g, o, z)
            for g, o, z in zip(users.genders, users.occupations, users.zip_codes, strict=False)
        ],
        dtype=np.int64,
    ).reshape(-1, 3)
    return EncodedData(
        item_ids=item_ids,
        titles=tuple(dataset.items.titles),
        popularity=popularity.astype(np.int64),
        item_features=item_features,
        item_feature_names=names,
        num_genres=len(dataset.items.genre_names),
        user_ids=user_ids,
        user_categorical=categorical,
        user_age=np.where(known_age, ages, schema.age_fill).astype(np.float32),
        schema=schema,
        train=train,
        valid=_held_out(split.valid, user_ids, item_ids),
        test=_held_out(split.test, user_ids, item_ids),
        train_end=train_end,
        users=dataset.users,
    )
