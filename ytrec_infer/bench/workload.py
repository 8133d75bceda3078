"""The bench's workload: histories drawn before timing starts, and where synthetic catalogs live."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ytrec_infer.catalog import Catalog
from ytrec_infer.recommender import Recommender


def sample_histories(catalog: Catalog, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` histories [n, length] of distinct catalog ids, drawn with weight popularity + 1.

    Popular items come up more often, as in real traffic, while every item stays possible.
    """
    if not 1 <= length <= len(catalog):
        raise ValueError(f"history length must be in 1..{len(catalog)}, got {length}")
    weights = catalog.popularity.astype(np.float64) + 1.0
    weights /= weights.sum()
    rows = [rng.choice(len(catalog), size=length, replace=False, p=weights) for _ in range(n)]
    return catalog.item_ids[np.asarray(rows, dtype=np.int64).reshape(n, length)]


def related_histories(
    rec: Recommender, n: int, length: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` histories [n, length] of distinct ids, from the neighbourhoods of 1-3 anchor items.

    Anchors are drawn with weight popularity + 1; each history takes ``length`` items at random
    among the anchors' ``2 * length`` nearest items (by the item vectors), like a user who
    watched a few related things.
    """
    if not 1 <= length <= rec.num_items:
        raise ValueError(f"history length must be in 1..{rec.num_items}, got {length}")
    weights = rec.catalog.popularity.astype(np.float64) + 1.0
    anchors = rng.choice(rec.num_items, size=(n, 3), p=weights / weights.sum())
    vectors = np.asarray(rec.item_vectors[anchors.reshape(-1)])
    none = [np.zeros(0, dtype=np.int64)] * len(vectors)
    found = rec.retriever.search_many(vectors, 2 * length, none)
    near = np.stack([codes for codes, _ in found]).reshape(n, 3, -1)
    out = np.empty((n, length), dtype=np.int64)
    for row in range(n):
        pool = np.unique(near[row, : rng.integers(1, 4)])
        if len(pool) < length:
            pool = np.arange(1, rec.num_items + 1)
        out[row] = rng.choice(pool, size=length, replace=False)
    return rec.catalog.ids(out)


def synthetic_path(num_items: int, seed: int) -> Path:
    """Where ``--synthetic`` keeps its artifacts: ``$YTREC_CACHE`` or ``~/.cache/ytrec``."""
    root = Path(os.environ.get("YTREC_CACHE", Path.home() / ".cache" / "ytrec"))
    return root / "synthetic" / f"items-{num_items}-seed-{seed}"
