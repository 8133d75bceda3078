"""The item catalog of an artifact: ids, titles, popularity, and id <-> code mapping.

Codes are what the networks and the index use: row of the sorted ``item_ids`` + 1, with 0
reserved for history padding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.artifact import Manifest
from ytrec_infer.errors import ArtifactError
from ytrec_infer.safe_load import read_json, read_npy
from ytrec_infer.validation import MAX_LIST_LENGTH, item_id_array


@dataclass(frozen=True)
class Catalog:
    """Item ids (sorted, unique; int64, or unicode for a log with string ids), titles and
    training popularity, aligned by row."""

    item_ids: np.ndarray
    titles: tuple[str, ...]
    popularity: np.ndarray

    contiguous: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = self.item_ids
        dense = (
            not self.string_ids
            and bool(len(ids))
            and int(ids[-1]) - int(ids[0]) == len(ids) - 1
        )
        object.__setattr__(self, "contiguous", dense)

    @property
    def string_ids(self) -> bool:
        """Whether the catalog's ids are strings (then requests must use strings too)."""
        return bool(self.item_ids.dtype.kind == "U")

    def id_array(self, value: Any, name: str, maximum: int = MAX_LIST_LENGTH) -> np.ndarray:
        """Validated ids of this catalog's kind (see :func:`item_id_array`)."""
        return item_id_array(value, name, maximum, self.string_ids)

    @classmethod
    def load(cls, manifest: Manifest) -> Catalog:
        """Read and cross-check the catalog files of a verified manifest."""
        spec = manifest.catalog
        n = spec.num_items
        ids = read_npy(manifest.path(spec.item_ids), "int64|unicode", 1)
        popularity = read_npy(manifest.path(spec.popularity), "int64", 1)
        titles_path = manifest.path(spec.titles)
        titles = read_json(titles_path)
        if not isinstance(titles, list) or not all(isinstance(t, str) for t in titles):
            raise ArtifactError(titles_path, "must be a JSON list of strings")
        for name, size in (
            (spec.item_ids, len(ids)),
            (spec.popularity, len(popularity)),
            (spec.titles, len(titles)),
        ):
            if size != n:
                raise ArtifactError(manifest.path(name), f"has {size} rows, manifest says {n} items")
        if n and not np.all(ids[1:] > ids[:-1]):
            raise ArtifactError(manifest.path(spec.item_ids), "item ids must be sorted and unique")
        return cls(ids, tuple(titles), popularity)

    def __len__(self) -> int:
        return len(self.item_ids)

    def codes(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes of the known ids (in input order) and the ids that are not in the catalog.

        Contiguous ids (MovieLens, synthetic catalogs) map by subtraction; others by binary
        search, whose probes into a large id array miss the cache."""
        if self.contiguous:
            first, last = self.item_ids[0], self.item_ids[-1]
            known = (ids >= first) & (ids <= last)
            return ids[known] - first + 1, ids[~known]
        rows = np.minimum(np.searchsorted(self.item_ids, ids), max(len(self.item_ids) - 1, 0))
        known = self.item_ids[rows] == ids if len(self.item_ids) else np.zeros(len(ids), bool)
        return rows[known].astype(np.int64) + 1, ids[~known]

    def ids(self, codes: np.ndarray) -> np.ndarray:
        """Catalog ids of codes."""
        ids: np.ndarray = self.item_ids[codes - 1]
        return ids

    def title(self, code: int) -> str:
        return self.titles[code - 1]
