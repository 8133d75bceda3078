"""Synthetic catalogs of any size, deterministic from a seed, for benchmarks at scale.

Item vectors are a mixture of clusters on the unit sphere (real item embeddings cluster by
topic, and HNSW recall depends on that structure), with genre flags shared within a cluster,
a release year and a Zipf-like popularity. Synthetic users watch items from one to three
clusters, so their histories, and the user vectors computed from them, look like real ones
rather than random points. Only numpy is needed here; building an artifact from a catalog
needs the training side (``export.synthetic``), found through the ``ytrec.builders`` entry point by
:func:`build_synthetic_artifact`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ytrec_infer.plugins import BUILDERS, plugins

GENRES = tuple(f"genre{i:02d}" for i in range(18))
GENDERS = ("F", "M")
OCCUPATIONS = ("artist", "engineer", "student", "writer", "other")
ITEMS_PER_CLUSTER = 1000
CLUSTER_SPREAD = 1.0
"""Norm of the within-cluster noise relative to the unit cluster centre (cosine to centre ~0.7)."""


@dataclass(frozen=True)
class SyntheticCatalog:
    """Items 1..N with unit vectors, ranker features, popularity, and their cluster."""

    item_vectors: np.ndarray
    item_features: np.ndarray
    feature_names: tuple[str, ...]
    popularity: np.ndarray
    clusters: np.ndarray
    seed: int

    @property
    def num_items(self) -> int:
        return len(self.item_vectors)

    @property
    def item_ids(self) -> np.ndarray:
        """Catalog ids: 1..N, so id = code."""
        return np.arange(1, self.num_items + 1, dtype=np.int64)

    def titles(self) -> list[str]:
        return [f"synthetic item {i}" for i in range(1, self.num_items + 1)]


def make_catalog(num_items: int, dim: int = 64, seed: int = 0) -> SyntheticCatalog:
    """A clustered catalog of ``num_items`` items (one cluster per ~1000 items, at least 8)."""
    if num_items < 2 or dim < 2:
        raise ValueError(
            f"a synthetic catalog needs >= 2 items and dim >= 2 (got {num_items}, {dim})"
        )
    rng = np.random.default_rng(seed)
    num_clusters = max(8, num_items // ITEMS_PER_CLUSTER)
    centres = rng.standard_normal((num_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    clusters = rng.integers(num_clusters, size=num_items)
    vectors = np.empty((num_items, dim), dtype=np.float32)
    step = 1 << 16
    for start in range(0, num_items, step):
        part = slice(start, start + step)
        noise = rng.standard_normal((len(clusters[part]), dim)).astype(np.float32)
        block = centres[clusters[part]] + noise * np.float32(CLUSTER_SPREAD / np.sqrt(dim))
        vectors[part] = block / np.linalg.norm(block, axis=1, keepdims=True)
    cluster_genres = rng.random((num_clusters, len(GENRES))) < 2.0 / len(GENRES)
    genres = cluster_genres[clusters] | (rng.random((num_items, len(GENRES))) < 0.02)
    ranks = rng.permutation(num_items) + 1
    popularity = np.floor(5000.0 / ranks**0.9).astype(np.int64)
    log_pop = np.log1p(popularity) / max(float(np.log1p(popularity.max())), 1.0)
    year = rng.standard_normal(num_items)
    features = np.column_stack([genres, year, log_pop]).astype(np.float32)
    names = tuple(f"genre:{g}" for g in GENRES) + ("release_year_z", "log_popularity")
    return SyntheticCatalog(vectors, features, names, popularity, clusters, seed)


def synthetic_histories(
    catalog: SyntheticCatalog, n: int, length: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` histories [n, length] of item ids, each from one to three clusters of the catalog."""
    if not 1 <= length <= catalog.num_items:
        raise ValueError(f"history length must be in 1..{catalog.num_items}, got {length}")
    order = np.argsort(catalog.clusters, kind="stable")
    bounds = np.searchsorted(catalog.clusters[order], np.arange(catalog.clusters.max() + 2))
    out = np.empty((n, length), dtype=np.int64)
    for row in range(n):
        chosen = rng.choice(len(bounds) - 1, size=rng.integers(1, 4), replace=False)
        members = np.concatenate([order[bounds[c] : bounds[c + 1]] for c in chosen])
        if len(members) < length:
            members = np.arange(catalog.num_items)
        out[row] = rng.choice(members, size=length, replace=False) + 1
    return out


def synthetic_users(n: int, rng: np.random.Generator) -> list[dict[str, object]]:
    """``n`` user-attribute mappings as ``Recommender.recommend(user=...)`` takes them."""
    return [
        {
            "age": float(rng.integers(15, 70)),
            "gender": GENDERS[int(rng.integers(len(GENDERS)))],
            "occupation": OCCUPATIONS[int(rng.integers(len(OCCUPATIONS)))],
            "zip_code": f"{int(rng.integers(100000)):05d}",
            "seconds_since_last": float(rng.exponential(86400.0)),
        }
        for _ in range(n)
    ]


def build_synthetic_artifact(out: str | Path, num_items: int, seed: int = 0) -> Path:
    """Build an artifact over a synthetic catalog of ``num_items`` items into ``out``.

    The networks get deterministic synthetic weights (not trained), so quality numbers mean
    nothing, but shapes, files and costs are those of a real artifact of that size. Needs the
    training side (torch, onnx), which the runtime wheel does not include.
    """
    build = plugins(BUILDERS).get("synthetic")
    if build is None:
        raise RuntimeError(
            "building a synthetic artifact needs the training side: `pip install torch==2.13.0` "
            "then `pip install 'ytrec-infer[train]'` (from a checkout: `pip install -e '.[train]'`), "
            "or pass an existing artifact folder instead"
        )
    built: Path = build(Path(out), num_items, seed)
    return built
