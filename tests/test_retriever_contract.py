"""One contract for every stage-one backend and precision (as implicit runs one mixin against
every ANN backend): sorted scores that are the true inner products, codes in range, exclusions
honoured (duplicates too), short results when the catalog runs out, single and batched search
agreeing, and recall against numpy's exact search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import hnswlib
import numpy as np
import onnxruntime as ort
import pytest

from ytrec_infer.manifest import IndexSpec
from ytrec_infer.retrieval import ExactRetriever, HnswRetriever, NumpyRetriever, Retriever

NO_CUDA = "CUDAExecutionProvider" not in ort.get_available_providers()
DIM = 16
LARGE = 36_000
"""Items of the main catalog: enough for the ONNX graph's blocked plan (32 x 1024 items)."""
SMALL = 150
"""Items of the catalog that runs out: every backend must return all that is left."""


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _hnsw(vectors: np.ndarray, folder: Path) -> HnswRetriever:
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=len(vectors), M=16, ef_construction=100, random_seed=0)
    index.add_items(vectors, np.arange(1, len(vectors) + 1), num_threads=-1)
    path = folder / "index.bin"
    index.save_index(str(path))
    return HnswRetriever(path, IndexSpec(path.name, "ip", DIM, len(vectors), 16, 100, 200))


Make = Callable[[np.ndarray, Path], Retriever]
BACKENDS: dict[str, Make] = {
    "hnsw": _hnsw,
    "numpy": lambda v, _: NumpyRetriever(v),
    "onnx-cpu-fp32": lambda v, _: ExactRetriever(v, "cpu", float16=False),
    "onnx-cpu-fp16": lambda v, _: ExactRetriever(v, "cpu", float16=True),
    "onnx-cuda-fp32": lambda v, _: ExactRetriever(v, "cuda", float16=False),
    "onnx-cuda-fp16": lambda v, _: ExactRetriever(v, "cuda", float16=True),
}
MIN_RECALL = {"hnsw": 0.95}
"""Recall@100 against numpy; exact backends must return numpy's codes."""


def _params() -> list[object]:
    marks = {"reason": "no CUDA execution provider in this onnxruntime"}
    return [
        pytest.param(name, marks=pytest.mark.skipif(NO_CUDA, **marks) if "cuda" in name else ())
        for name in BACKENDS
    ]


@pytest.fixture(scope="module")
def catalogs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"large": _unit(rng, LARGE), "small": _unit(rng, SMALL), "queries": _unit(rng, 24)}


@pytest.fixture(scope="module", params=_params())
def backend(
    request: pytest.FixtureRequest,
    catalogs: dict[str, np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, Retriever, Retriever]:
    """(name, retriever over the large catalog, retriever over the small one)."""
    name = request.param
    make = BACKENDS[name]
    large = make(catalogs["large"], tmp_path_factory.mktemp(f"{name}_large"))
    small = make(catalogs["small"], tmp_path_factory.mktemp(f"{name}_small"))
    return name, large, small


def _exact(vectors: np.ndarray, query: np.ndarray, exclude: np.ndarray, n: int) -> np.ndarray:
    scores = vectors @ query
    scores[np.unique(exclude) - 1] = -np.inf
    order = np.argsort(-scores, kind="stable")
    return order[np.isfinite(scores[order])][:n] + 1


def _excludes(queries: np.ndarray, vectors: np.ndarray) -> list[np.ndarray]:
    """Per query: nothing, its own best items (some twice), or random codes."""
    rng = np.random.default_rng(1)
    out = []
    for row, query in enumerate(queries):
        best = _exact(vectors, query, np.zeros(0, np.int64), 30)
        if row % 3 == 0:
            out.append(np.zeros(0, np.int64))
        elif row % 3 == 1:
            out.append(np.concatenate([best[::2], best[:5]]))  # duplicates too
        else:
            out.append(rng.integers(1, len(vectors) + 1, 40))
    return out


def test_results_are_sorted_true_scores_of_codes_in_range(backend, catalogs) -> None:
    name, retriever, _ = backend
    vectors, queries = catalogs["large"], catalogs["queries"]
    assert retriever.size == LARGE
    for (codes, scores), query in zip(
        retriever.search_many(queries, 100, _excludes(queries, vectors)), queries
    ):
        assert codes.dtype == np.int64 and len(codes) == 100 == len(scores)
        assert codes.min() >= 1 and codes.max() <= LARGE and len(np.unique(codes)) == 100
        assert np.all(np.diff(scores) <= 0), f"{name}: scores not best first"
        np.testing.assert_allclose(scores, vectors[codes - 1] @ query, rtol=0, atol=1e-5)


def test_exclusions_are_honoured_with_duplicates(backend, catalogs) -> None:
    _, retriever, _ = backend
    vectors, queries = catalogs["large"], catalogs["queries"]
    excludes = _excludes(queries, vectors)
    for (codes, _), exclude in zip(retriever.search_many(queries, 100, excludes), excludes):
        assert not set(codes.tolist()) & set(exclude.tolist())
        assert len(codes) == 100, "duplicates in the exclusion list must not shorten the result"


def test_n_beyond_what_is_left_returns_all_that_is_left(backend, catalogs) -> None:
    name, _, retriever = backend
    vectors, query = catalogs["small"], catalogs["queries"][0]
    exclude = np.array([3, 3, 7, 150, 1], dtype=np.int64)
    codes, scores = retriever.search(query, SMALL + 10, exclude)
    assert sorted(codes.tolist()) == sorted(set(range(1, SMALL + 1)) - {1, 3, 7, 150}), name
    assert np.all(np.diff(scores) <= 0)
    everything = retriever.search(query, SMALL, np.arange(1, SMALL + 1))
    assert len(everything[0]) == 0 == len(everything[1])


def test_single_and_batched_search_agree(backend, catalogs) -> None:
    _, retriever, _ = backend
    vectors, queries = catalogs["large"], catalogs["queries"]
    excludes = _excludes(queries, vectors)
    batched = retriever.search_many(queries, 50, excludes)
    for (codes, scores), query, exclude in zip(batched, queries, excludes):
        one_codes, one_scores = retriever.search(query, 50, exclude)
        np.testing.assert_array_equal(one_codes, codes)
        np.testing.assert_allclose(one_scores, scores, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="exclusion lists"):
        retriever.search_many(queries, 5, excludes[:-1])


def test_recall_against_numpy(backend, catalogs) -> None:
    name, retriever, _ = backend
    vectors, queries = catalogs["large"], catalogs["queries"]
    excludes = _excludes(queries, vectors)
    found = retriever.search_many(queries, 100, excludes)
    recall = [
        len(np.intersect1d(codes, _exact(vectors, query, exclude, 100))) / 100
        for (codes, _), query, exclude in zip(found, queries, excludes)
    ]
    if name in MIN_RECALL:
        assert np.mean(recall) >= MIN_RECALL[name], f"{name}: recall {np.mean(recall):.3f}"
    else:
        assert min(recall) == 1.0, f"{name} is exact but missed items: {recall}"
