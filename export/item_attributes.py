"""Write the per-item attribute arrays that ``where=`` filters on (format in
:mod:`ytrec_infer.item_attributes`): one set of checksummed ``.npy`` files per item feature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from export import bundle
from trainers.data import ItemTable
from ytrec_infer.feature_schema import LearnedFeature
from ytrec_infer.item_attributes import AttributeColumn, file_name
from ytrec_infer.manifest import AttributeFiles


def _number(cell: str) -> float:
    """A numeric cell (already validated by the encoding), NaN when empty."""
    text = cell.strip()
    return float(text) if text else float("nan")


def csr(rows: Sequence[Sequence[int]]) -> AttributeColumn:
    """A multi-categorical column from each item's codes."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = [code for row in rows for code in row]
    return AttributeColumn("multi_categorical", codes=np.array(flat, np.int32), offsets=offsets)


def table_column(feature: LearnedFeature, cells: Sequence[str]) -> AttributeColumn:
    """One feature's raw per-item values from the item table's text cells, encoded with the
    learned vocabulary (as the item tables the networks see)."""
    spec = feature.spec
    if spec.kind == "numeric":
        return AttributeColumn("numeric", values=np.array([_number(c) for c in cells], np.float32))
    if spec.kind == "categorical":
        codes = np.array([feature.code(c) for c in cells], np.int32)
        return AttributeColumn("categorical", codes=codes)
    return csr(
        [
            sorted({feature.code(part) for part in cell.split(spec.separator) if feature.key(part)})
            for cell in cells
        ]
    )


def table_attributes(
    features: Sequence[LearnedFeature], items: ItemTable
) -> dict[str, AttributeColumn]:
    """Every item feature's column from the item table (features whose column is absent are
    left out)."""
    out = {}
    for feature in features:
        cells = items.column(feature.spec.column)
        if cells is not None:
            out[feature.name] = table_column(feature, cells)
    return out


def write_item_attributes(
    folder: Path, columns: Mapping[str, AttributeColumn]
) -> dict[str, AttributeFiles]:
    """Save the arrays into ``folder``; the manifest's ``catalog.item_attributes``."""
    entries: dict[str, AttributeFiles] = {}
    for position, (name, column) in enumerate(columns.items()):
        files = {}
        for part, array in column.arrays().items():
            files[part] = file_name(position, part)
            bundle.save_array(folder, files[part], array)
        entries[name] = AttributeFiles(column.kind, files)
    return entries
