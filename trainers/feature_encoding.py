"""Learn a declared feature schema's vocabularies and constants, and encode the tables with it.

Everything is learned from the training split: user vocabularies and constants from the users
with training interactions, item ones from the catalog (item attributes are static metadata).
Values below a feature's ``min_count`` fold into one rare bucket; values never seen map to
unknown (code 0). A problem with the schema against the data (a column the table lacks, text in
a numeric column) is a :class:`~ytrec_infer.errors.SchemaError` naming the file, the feature
and the problem, raised before any training starts.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainers.data import Interactions, ItemTable, UserTable
from ytrec_infer.errors import SchemaError
from ytrec_infer.feature_declarations import DeclaredSchema, FeatureSpec
from ytrec_infer.feature_schema import FeatureSchema, LearnedFeature
from ytrec_infer.features import encode_user

BUILT_IN_SCHEMAS = ("movielens",)
SCHEMAS = Path(__file__).parent / "schemas"


def built_in_schema(name: str = "movielens") -> DeclaredSchema:
    """A schema shipped with the training side (``trainers/schemas/<name>.json``)."""
    if name not in BUILT_IN_SCHEMAS:
        raise SchemaError(f"no built-in schema {name!r}; choose from {list(BUILT_IN_SCHEMAS)}")
    text = (SCHEMAS / f"{name}.json").read_text("utf-8")
    return DeclaredSchema.from_dict(json.loads(text), f"built-in schema {name!r}")


def default_schema(users: UserTable, items: ItemTable) -> DeclaredSchema:
    """The MovieLens schema restricted to the columns the tables really carry (an own log
    without ``--features``: its optional age/gender/occupation/zip_code and genres/year)."""
    movielens = built_in_schema()
    kept = [
        spec
        for spec in movielens.features
        if _has_values((users if spec.side == "user" else items).column(spec.column))
    ]
    return DeclaredSchema(tuple(kept), movielens.source)


def resolve_schema(
    features: str | Path | DeclaredSchema | None,
    users: UserTable | None,
    items: ItemTable | None,
) -> DeclaredSchema:
    """A schema file, a built-in name (``"movielens"``), an object, or None: the default for
    these tables (which must then be given)."""
    if isinstance(features, DeclaredSchema):
        return features
    if features is None:
        if users is None or items is None:
            raise ValueError("the default schema depends on the tables: pass them")
        return default_schema(users, items)
    if str(features) in BUILT_IN_SCHEMAS:
        return built_in_schema(str(features))
    return DeclaredSchema.from_file(features)


def _has_values(cells: Sequence[str] | None) -> bool:
    return cells is not None and any(cell.strip() for cell in cells)


Table = UserTable | ItemTable | Interactions
"""Where a feature's column is: the user or item table, or the log (context features)."""


def _cells(spec: FeatureSpec, table: Table, source: str) -> Sequence[str]:
    cells = table.column(spec.column)
    if cells is None:
        have = ", ".join(table.columns) or "no feature columns"
        owner = "the log" if spec.side == "context" else f"the {spec.side} table"
        raise SchemaError(
            f"{source}: feature {spec.name!r}: column {spec.column!r} is not in "
            f"{table.source or owner} (it has {have})"
        )
    return cells


def _numbers(spec: FeatureSpec, cells: Sequence[str], where: str) -> np.ndarray:
    """Floats of a numeric column, NaN where empty; text is a SchemaError naming the row."""
    out = np.full(len(cells), np.nan)
    for row, cell in enumerate(cells):
        text = cell.strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise SchemaError(
                f"{where}: feature {spec.name!r} is numeric but column {spec.column!r} holds "
                f"{text!r} (row {row + 1})"
            ) from None
        if not math.isfinite(value):
            raise SchemaError(
                f"{where}: feature {spec.name!r}: column {spec.column!r} holds {text!r} "
                f"(row {row + 1}); numbers must be finite"
            )
        out[row] = value
    return out


def _values(spec: FeatureSpec, feature: LearnedFeature, cell: str) -> list[str]:
    """The vocabulary keys of one cell (several for a multi-categorical feature)."""
    parts = cell.split(spec.separator) if spec.kind == "multi_categorical" else [cell]
    return [key for key in (feature.key(p) for p in parts) if key]


def multi_hot(feature: LearnedFeature, cells: Sequence[str]) -> np.ndarray:
    """[rows, width] float32: 1 where a row's cell holds a value (the rare bucket's column
    first when there is one); one column set for a categorical feature, several for a
    multi-categorical one, none for an empty or unseen value."""
    block = np.zeros((len(cells), feature.width), dtype=np.float32)
    for row, cell in enumerate(cells):
        for key in _values(feature.spec, feature, cell):
            code = feature.code(key)
            if code:
                block[row, code - 1] = 1.0
    return block


def learn_feature(
    spec: FeatureSpec, cells: Sequence[str], training: np.ndarray, where: str
) -> LearnedFeature:
    """Vocabulary or constants of one feature from the rows selected by ``training``."""
    if spec.kind == "numeric":
        values = _numbers(spec, cells, where)
        seen = values[training & np.isfinite(values)]
        if not len(seen):
            return LearnedFeature(spec, fill=0.0, center=0.0, scale=1.0)
        fill = float(seen.mean())
        if spec.transform == "standardize":
            return LearnedFeature(spec, fill=fill, center=fill, scale=float(seen.std()) or 1.0)
        transformed = np.log1p(np.maximum(seen, 0.0)) if spec.transform == "log1p" else seen
        return LearnedFeature(spec, fill=fill, scale=float(transformed.max()) or 1.0)
    probe = LearnedFeature(spec)
    counts = Counter(
        key for row in np.flatnonzero(training) for key in set(_values(spec, probe, cells[row]))
    )
    vocabulary = tuple(sorted(key for key, n in counts.items() if n >= spec.min_count))
    return LearnedFeature(
        spec, vocabulary=vocabulary, rare_bucket=len(vocabulary) < len(counts)
    )


def learn_features(
    schema: DeclaredSchema,
    users: UserTable,
    items: ItemTable,
    training_users: np.ndarray,
) -> tuple[tuple[LearnedFeature, ...], tuple[LearnedFeature, ...]]:
    """Learned user and item features; ``training_users`` masks the user rows with training
    interactions."""
    everything = np.ones(len(items), dtype=bool)
    learned_users = tuple(
        learn_feature(spec, _cells(spec, users, schema.source), training_users, _where(users, schema))
        for spec in schema.side("user")
    )
    learned_items = tuple(
        learn_feature(spec, _cells(spec, items, schema.source), everything, _where(items, schema))
        for spec in schema.side("item")
    )
    return learned_users, learned_items


def learn_context(schema: DeclaredSchema, train: Interactions) -> tuple[LearnedFeature, ...]:
    """Learned context features, from every training interaction's cell of their log column."""
    everything = np.ones(len(train), dtype=bool)
    return tuple(
        learn_feature(spec, _cells(spec, train, schema.source), everything, _where(train, schema))
        for spec in schema.side("context")
    )


def _where(table: Table, schema: DeclaredSchema) -> str:
    return f"{table.source or 'table'} (schema {schema.source})"


def user_columns(
    features: Sequence[LearnedFeature], users: Table, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """The networks' ``user_categorical`` [U, 1 + C] and ``user_numeric`` [U, 1 + N] per user
    row (or, for context features, per interaction of ``users``, a part of the log), each led
    by the constant column (a multi-categorical feature takes a multi-hot block of ``N``);
    missing values take the "missing" encoding."""
    categorical = [np.zeros(len(users), dtype=np.int64)]
    numeric = [np.zeros((len(users), 1), dtype=np.float32)]
    for feature in features:
        cells = _cells(feature.spec, users, source)
        if feature.spec.kind == "multi_categorical":
            numeric.append(multi_hot(feature, cells))
        elif feature.spec.kind == "numeric":
            values = _numbers(feature.spec, cells, source)
            numeric.append(
                np.array(
                    [feature.normalise(None if np.isnan(v) else float(v)) for v in values],
                    dtype=np.float32,
                )[:, None]
            )
        else:
            categorical.append(np.array([feature.code(c) for c in cells], dtype=np.int64))
    return np.stack(categorical, axis=1), np.concatenate(numeric, axis=1)


def request_columns(
    schema: FeatureSchema, users: UserTable, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`user_columns` of the user features followed by the context features' missing
    encoding (what a request without ``context=`` sends), so that the per-user tables have the
    networks' full input width; :class:`ContextColumns` puts an example's own context in."""
    categorical, numeric = user_columns(schema.user, users, source)
    missing = encode_user(None, schema)
    return (
        np.column_stack(
            [categorical, np.tile(missing.categorical[categorical.shape[1] :], (len(users), 1))]
        ).astype(np.int64),
        np.column_stack(
            [numeric, np.tile(missing.numeric[numeric.shape[1] :], (len(users), 1))]
        ).astype(np.float32),
    )


@dataclass(frozen=True)
class ContextColumns:
    """The context features' network inputs per training interaction (the rows of the training
    split, in its order): codes [T, Cc] and normalised numbers [T, Cn], which are the last Cc
    and Cn columns of the networks' ``user_categorical`` and ``user_numeric``."""

    categorical: np.ndarray
    numeric: np.ndarray

    @classmethod
    def encode(
        cls, features: Sequence[LearnedFeature], train: Interactions, source: str
    ) -> ContextColumns:
        categorical, numeric = user_columns(features, train, source)
        return cls(categorical[:, 1:], numeric[:, 1:])

    def take(self, rows: np.ndarray) -> ContextColumns:
        """The context inputs of the interactions ``rows``, in that order."""
        return ContextColumns(self.categorical[rows], self.numeric[rows])

    def apply(
        self, categorical: np.ndarray, numeric: np.ndarray, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-user inputs [B, 1 + C] and [B, 1 + N] with their context columns set to those of
        the interactions ``rows`` [B] (None: left as they are, copies otherwise)."""
        if rows is None:
            return categorical, numeric
        return self.take(rows).overlay(categorical, numeric)

    def overlay(
        self, categorical: np.ndarray, numeric: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-user inputs [B, 1 + C] and [B, 1 + N] (B = this object's rows) with their context
        columns set to these interactions' (copies; the inputs themselves without context)."""
        width_c, width_n = self.categorical.shape[1], self.numeric.shape[1]
        if not width_c + width_n:
            return categorical, numeric
        categorical, numeric = categorical.copy(), numeric.copy()
        if width_c:
            categorical[:, -width_c:] = self.categorical
        if width_n:
            numeric[:, -width_n:] = self.numeric
        return categorical, numeric


def user_attributes(
    features: Sequence[LearnedFeature], users: Table, row: int
) -> dict[str, object]:
    """The raw attributes of one row of a table as a runtime ``user`` (or, for context features
    and a part of the log, ``context``) mapping: numbers as floats, categories as text; empty
    cells left out."""
    out: dict[str, object] = {}
    for feature in features:
        cells = users.column(feature.spec.column)
        cell = "" if cells is None else str(cells[row]).strip()
        if not cell:
            continue
        if feature.spec.kind == "multi_categorical":
            out[feature.name] = [p.strip() for p in cell.split(feature.spec.separator) if p.strip()]
        else:
            out[feature.name] = float(cell) if feature.spec.kind == "numeric" else cell
    return out


def item_columns(
    features: Sequence[LearnedFeature], items: ItemTable, source: str
) -> tuple[np.ndarray, int, tuple[str, ...]]:
    """An item table [N, F] of the given features: multi-hot category columns first (their
    count is returned as the match width), then the numeric ones (one standardised column,
    or x, x**2, sqrt x of the normalised value); and the column names."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for feature in (f for f in features if f.spec.kind != "numeric"):
        offset = 1 if feature.rare_bucket else 0
        blocks.append(multi_hot(feature, _cells(feature.spec, items, source)))
        names += ([f"{feature.name}:(rare)"] if offset else []) + [
            f"{feature.name}:{v}" for v in feature.vocabulary
        ]
    match_width = sum(b.shape[1] for b in blocks)
    for feature in (f for f in features if f.spec.kind == "numeric"):
        values = _numbers(feature.spec, _cells(feature.spec, items, source), source)
        x = np.array(
            [feature.normalise(None if np.isnan(v) else float(v)) for v in values],
            dtype=np.float32,
        )
        if feature.spec.transform == "standardize":
            blocks.append(x[:, None])
            names.append(f"{feature.name}_z")
        else:
            x = np.maximum(x, 0.0)
            blocks.append(np.stack([x, x * x, np.sqrt(x)], axis=1))
            names += [f"{feature.name}", f"{feature.name}^2", f"sqrt({feature.name})"]
    if not blocks:
        return np.zeros((len(items), 1), dtype=np.float32), 0, ("(none)",)
    return np.concatenate(blocks, axis=1).astype(np.float32), match_width, tuple(names)
