"""Per-request rules (``exclude=``, ``allowed=``) and the serving deny list.

Every retrieval path is checked against exact search over the allowed set: the exact numpy
search, HNSW widening its search, and HNSW's exact search over the set (``MAX_WIDTH`` lowered
to 0, so every allowed set takes it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommender, ServingRecommender
from ytrec_infer.retrieval import rules as rules_module

HISTORIES = ([50, 172, 181], [1, 2, 3, 4, 5], [300, 301], [7])


@pytest.fixture(scope="module", params=["exact-numpy", "hnsw", "hnsw-exact-over-set"])
def rec(request: pytest.FixtureRequest, artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir, retrieval=request.param.split("-exact")[0])


@pytest.fixture(autouse=True)
def exact_over_set(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """For "hnsw-exact-over-set", every allowed set is searched exactly, never widened."""
    if "hnsw-exact-over-set" in request.node.name:
        monkeypatch.setattr(rules_module, "MAX_WIDTH", 0)


def exact_top(rec: Recommender, history: list[int], n: int, pool: np.ndarray) -> list[int]:
    """Exact top ``n`` item ids of ``pool`` (ids) for the user, history excluded."""
    request = rec.prepare(history)
    vector = rec.embed(request)
    codes, _ = rec.catalog.codes(pool)
    codes = np.setdiff1d(codes, request.codes)
    scores = rec.item_vectors[codes - 1] @ vector
    return [int(i) for i in rec.catalog.ids(codes[np.argsort(-scores)[:n]])]


@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_allowed_equals_exact_search_over_the_set(rec: Recommender, share: float) -> None:
    rng = np.random.default_rng(int(share * 100))
    ids = rec.catalog.item_ids
    pool = rng.choice(ids, size=max(12, int(share * len(ids))), replace=False)
    recalls = []
    for history in HISTORIES:
        n = 10
        found = rec.candidates(history, n=n, allowed=pool)
        assert set(found.item_ids) <= set(pool.tolist()) and len(found) == n
        assert not set(found.item_ids) & set(history)
        expected = exact_top(rec, history, n, pool)
        if rec.retriever.kind == "exact-numpy":
            assert list(found.item_ids) == expected
        recalls.append(len(set(found.item_ids) & set(expected)) / n)
        ranked = rec.recommend(history, k=10, allowed=pool)
        assert len(ranked) == 10 and set(ranked.item_ids) <= set(pool.tolist())
    assert np.mean(recalls) >= 0.95


def test_exclude_never_returns_and_still_fills_k(rec: Recommender) -> None:
    history = [50, 172, 181]
    plain = rec.recommend(history, k=10)
    excluded = list(plain.item_ids[:5]) + list(range(400, 1400))  # 1,000 and more excluded
    got = rec.recommend(history, k=10, exclude=excluded)
    assert len(got) == 10 and not set(got.item_ids) & set(excluded)
    pool = np.setdiff1d(rec.catalog.item_ids, excluded)
    found = rec.candidates(history, n=20, exclude=excluded)
    expected = exact_top(rec, history, 20, pool)
    assert len(set(found.item_ids) & set(expected)) / 20 >= 0.95


def test_rules_combine_and_small_sets_are_never_short(rec: Recommender) -> None:
    allowed = [1, 2, 3, 4, 5, 6, 7]
    got = rec.recommend([50, 172], k=5, allowed=allowed, exclude=[3, 4])
    assert sorted(got.item_ids) == [1, 2, 5, 6, 7]
    assert len(rec.recommend([50, 172], k=10, allowed=allowed)) == 7  # fewer exist
    assert len(rec.recommend([50, 172], k=5, allowed=[])) == 0
    assert list(rec.recommend([50], k=3, allowed=[999999, 8]).item_ids) == [8]  # unknown ignored


def test_cold_start_and_batches_keep_the_rules(rec: Recommender) -> None:
    popular = rec.recommend([], k=5)
    without_top = rec.recommend([], k=5, exclude=[popular[0].item_id])
    assert without_top.cold_start and popular[0].item_id not in without_top.item_ids
    assert list(rec.recommend([], k=3, allowed=[10, 20, 30]).item_ids) == sorted(
        [10, 20, 30], key=lambda i: -int(rec.catalog.popularity[i - 1])
    )
    allowed = np.arange(1, 400)
    batch = rec.recommend_batch(list(HISTORIES), k=10, exclude=[1, 2], allowed=allowed)
    for history, result in zip(HISTORIES, batch):
        single = rec.recommend(history, k=10, exclude=[1, 2], allowed=allowed)
        assert list(result.item_ids) == list(single.item_ids)
    excluded = rec.recommend_batch(list(HISTORIES), k=10, exclude=list(range(100, 300)))
    assert all(not set(r.item_ids) & set(range(100, 300)) and len(r) == 10 for r in excluded)


def test_bad_rules_name_the_argument(artifact_dir: Path) -> None:
    rec = Recommender.load(artifact_dir)
    with pytest.raises(TypeError, match="exclude"):
        rec.recommend([50], exclude="50")
    with pytest.raises(TypeError, match=r"allowed\[1\]"):
        rec.recommend([50], allowed=[1, 2.5])


def test_deny_list_applies_at_once_without_a_reload(artifact_dir: Path) -> None:
    serving = ServingRecommender(artifact_dir)
    top = serving.recommend([50, 172, 181], k=10)
    serving.deny(list(top.item_ids[:3]))
    got = serving.recommend([50, 172, 181], k=10)
    assert len(got) == 10 and not set(got.item_ids) & set(top.item_ids[:3])
    assert not set(serving.candidates([50, 172], n=50).item_ids) & set(top.item_ids[:3])
    batch = serving.recommend_batch([[50, 172, 181]], k=10, exclude=[int(got[0].item_id)])
    assert not set(batch[0].item_ids) & ({int(got[0].item_id)} | set(top.item_ids[:3]))
    assert not set(serving.recommend([], k=50).item_ids) & set(top.item_ids[:3])
    serving.restore([int(top[0].item_id)])
    assert serving.denied.tolist() == sorted(int(i) for i in top.item_ids[1:3])
    assert top[0].item_id in serving.recommend([50, 172, 181], k=10).item_ids
