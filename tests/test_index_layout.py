"""The clustered index layout renumbers elements without changing a single answer."""

from __future__ import annotations

from pathlib import Path

import hnswlib
import numpy as np
import pytest

from export.index_layout import cluster_layout, locality_order, reorder_index
from ytrec_infer.manifest import IndexSpec
from ytrec_infer.hnsw_header import check_header, read_labels

COUNT, DIM, M = 6000, 16, 8


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((12, DIM))
    rows = centres[rng.integers(12, size=COUNT)] + 0.3 * rng.standard_normal((COUNT, DIM))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows.astype(np.float32)


def _saved_index(vectors: np.ndarray, path: Path) -> hnswlib.Index:
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=COUNT, M=M, ef_construction=40, random_seed=3)
    index.add_items(vectors, np.arange(1, COUNT + 1), num_threads=2)
    index.save_index(str(path))
    return index


def _query(path: Path, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    index = hnswlib.Index(space="ip", dim=DIM)
    index.load_index(str(path))
    index.set_ef(60)
    labels, distances = index.knn_query(queries, k=30, num_threads=1)
    return labels, distances


def test_clustered_layout_keeps_every_answer(vectors: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "items.hnsw"
    _saved_index(vectors, path)
    queries = np.random.default_rng(1).standard_normal((300, DIM)).astype(np.float32)
    before = _query(path, queries)
    labels_before = read_labels(path)
    cluster_layout(path, vectors, seed=0)
    after = _query(path, queries)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    spec = IndexSpec(path.name, "ip", DIM, COUNT, M, 40, 60)
    check_header(path, spec)  # the runtime's whole-graph walk accepts the rewritten file
    labels_after = read_labels(path)
    assert sorted(labels_after.tolist()) == list(range(1, COUNT + 1))
    assert not np.array_equal(labels_after, labels_before)


def test_layout_groups_similar_items(vectors: np.ndarray) -> None:
    """Consecutive elements after the reorder are far more alike than random pairs."""
    order = locality_order(vectors, seed=0)
    ordered = vectors[order]
    neighbours = float(np.mean(np.sum(ordered[1:] * ordered[:-1], axis=1)))
    shuffled = vectors[np.random.default_rng(2).permutation(COUNT)]
    random_pairs = float(np.mean(np.sum(shuffled[1:] * shuffled[:-1], axis=1)))
    assert neighbours > random_pairs + 0.3


def test_reorder_refuses_a_non_permutation(vectors: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "items.hnsw"
    _saved_index(vectors, path)
    original = path.read_bytes()
    with pytest.raises(ValueError, match="permutation"):
        reorder_index(path, np.zeros(COUNT, dtype=np.int64))
    assert path.read_bytes() == original
