"""The blocked exact top-k graph on the CPU provider against numpy, and the retriever around it."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from benchmarks.gpu.topk_variants import build_naive_graph, build_variant_graph
from ytrec_infer.retrieval import exact_onnx
from ytrec_infer.retrieval.exact_onnx import ExactRetriever
from ytrec_infer.retrieval.topk_graph import TopKPlan, build_topk_graph, item_factors, plan_topk


def _unit(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _run(
    plan: TopKPlan, items: np.ndarray, queries: np.ndarray, graph: bytes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    model = build_topk_graph(plan) if graph is None else graph
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    dtype = np.float16 if plan.float16 else np.float32
    feeds = {"queries": queries.astype(dtype)}
    if plan.main_items:
        feeds["items"] = items[: plan.main_items].astype(dtype)
    if plan.tail_items:
        feeds["tail_items"] = items[plan.main_items :].astype(dtype)
    if plan.rescore:
        feeds["items_f32"], feeds["queries_f32"] = items, queries
    scores, indices = session.run(None, feeds)
    return scores, indices


def _numpy_topk(items: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ items.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, top, 1), top


@pytest.fixture(scope="module")
def million() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return _unit(rng, 1_000_003), _unit(rng, 3)


def test_blocked_graph_equals_numpy_topk_at_one_million_items(million) -> None:
    items, queries = million
    plan = plan_topk(len(items), 64, 100, item_factors(len(items), 100))
    assert plan.levels == 2 and plan.tail_items > 0  # two block levels plus a tail
    scores, indices = _run(plan, items, queries)
    want_scores, want = _numpy_topk(items, queries, 100)
    np.testing.assert_array_equal(indices, want)
    np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-5)


@pytest.mark.parametrize("reduce", ["maxpool", "reducemax"])
@pytest.mark.parametrize("items_major", [False, True])
@pytest.mark.parametrize(("n", "k"), [(50_000, 100), (50_000, 1000), (4_000, 10)])
def test_every_graph_variant_is_exact(reduce: str, items_major: bool, n: int, k: int) -> None:
    rng = np.random.default_rng(n + k)
    items, queries = _unit(rng, n), _unit(rng, 5)
    plan = plan_topk(n, 64, k, item_factors(n, min(k, 128)))
    assert plan.levels >= 1
    _, indices = _run(plan, items, queries, build_variant_graph(plan, reduce, items_major))
    np.testing.assert_array_equal(indices, _numpy_topk(items, queries, k)[1])


def test_plan_uses_fewer_levels_for_large_k_and_none_for_small_catalogs() -> None:
    factors = item_factors(1_000_000, 1024)
    assert factors == (32, 16)
    assert plan_topk(1_000_000, 64, 100, factors).levels == 2
    assert plan_topk(1_000_000, 64, 3000, factors).levels == 1
    assert plan_topk(1_000_000, 64, 40_000, factors).levels == 0
    assert item_factors(1_682, 100) == ()
    with pytest.raises(ValueError, match="k must be in 1..10"):
        plan_topk(10, 64, 11, ())


def test_naive_graph_equals_numpy() -> None:
    rng = np.random.default_rng(3)
    items, queries = _unit(rng, 3_000), _unit(rng, 2)
    session = ort.InferenceSession(
        build_naive_graph(3_000, 64, 50), providers=["CPUExecutionProvider"]
    )
    _, indices = session.run(None, {"queries": queries, "tail_items": items})
    np.testing.assert_array_equal(indices, _numpy_topk(items, queries, 50)[1])


def test_float16_graph_rescores_in_float32() -> None:
    rng = np.random.default_rng(5)
    items, queries = _unit(rng, 200_000), _unit(rng, 4)
    plan = plan_topk(200_000, 64, 128, item_factors(200_000, 128), float16=True, rescore=True)
    scores, indices = _run(plan, items, queries)
    exact = np.einsum("bkd,bd->bk", items[indices], queries)
    np.testing.assert_allclose(scores, exact, rtol=0, atol=1e-6)
    assert np.all(np.diff(scores, axis=1) <= 0)
    _, want = _numpy_topk(items, queries, 100)
    overlap = np.mean([len(set(a[:100]) & set(b)) / 100 for a, b in zip(indices, want)])
    assert overlap >= 0.99


def test_graph_is_valid_onnx_with_an_ir_version_onnxruntime_gpu_reads() -> None:
    onnx = pytest.importorskip("onnx")
    plan = plan_topk(100_000, 64, 100, item_factors(100_000, 100), float16=True, rescore=True)
    model = onnx.load_from_string(build_topk_graph(plan))
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version <= 13  # onnxruntime-gpu 1.31 reads IR 13 at most


def test_retriever_excludes_codes_and_matches_numpy() -> None:
    rng = np.random.default_rng(11)
    vectors, queries = _unit(rng, 40_000), _unit(rng, 3)
    retriever = ExactRetriever(vectors, "cpu")
    _, want = _numpy_topk(vectors, queries, 120)
    drop = [want[0, :5] + 1, np.zeros(0, np.int64), want[2, ::2][:10] + 1]
    found = retriever.search_many(queries, 100, drop)
    for row, (codes, scores) in enumerate(found):
        expected = [c for c in want[row] + 1 if c not in set(drop[row])][:100]
        np.testing.assert_array_equal(codes, expected)
        np.testing.assert_allclose(scores, vectors[codes - 1] @ queries[row], atol=1e-5)
    single = retriever.search(queries[0], 100, drop[0])
    np.testing.assert_array_equal(single[0], found[0][0])


def test_retriever_splits_batches_that_exceed_the_element_limit(monkeypatch) -> None:
    rng = np.random.default_rng(13)
    vectors, queries = _unit(rng, 20_000), _unit(rng, 7)
    retriever = ExactRetriever(vectors, "cpu", float16=True)
    whole = retriever.topk(queries, 64)
    monkeypatch.setattr(exact_onnx, "MAX_ELEMENTS", 2 * 20_000)  # two queries per call
    split = retriever.topk(queries, 64)
    np.testing.assert_array_equal(whole[1], split[1])
    np.testing.assert_array_equal(whole[0], split[0])


def test_retriever_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        ExactRetriever(np.zeros(5, np.float32))
    retriever = ExactRetriever(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match="k must be in 1..4"):
        retriever.topk(np.ones((1, 4), np.float32), 5)
    with pytest.raises(ValueError, match="2 query vectors but 1 exclusion"):
        retriever.search_many(np.ones((2, 4), np.float32), 2, [np.zeros(0, np.int64)])
