"""Synthetic catalogs and artifacts: deterministic, clustered, and served like real ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ytrec_infer import Recommender
from ytrec_infer.bench import main
from ytrec_infer.synthetic import make_catalog, synthetic_histories

ITEMS = 2000


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from export.synthetic import build

    return build(tmp_path_factory.mktemp("synthetic") / "syn", ITEMS, seed=3)


def test_catalog_is_deterministic_unit_norm_and_clustered() -> None:
    first, again, other = make_catalog(3000, seed=1), make_catalog(3000, seed=1), make_catalog(3000)
    np.testing.assert_array_equal(first.item_vectors, again.item_vectors)
    assert not np.array_equal(first.item_vectors, other.item_vectors)
    np.testing.assert_allclose(np.linalg.norm(first.item_vectors, axis=1), 1.0, atol=1e-5)
    same = first.clusters[:, None] == first.clusters[None, :]
    cosine = first.item_vectors @ first.item_vectors.T
    np.fill_diagonal(same, False)
    assert cosine[same].mean() > 0.3 > abs(cosine[~same].mean())
    assert first.item_features.shape == (3000, len(first.feature_names))
    assert first.popularity.min() >= 0 and first.popularity.max() > 100 * np.median(
        first.popularity
    )


def test_histories_come_from_at_most_three_clusters() -> None:
    catalog = make_catalog(3000, seed=1)
    histories = synthetic_histories(catalog, 50, 20, np.random.default_rng(0))
    assert histories.shape == (50, 20) and histories.min() >= 1 and histories.max() <= 3000
    assert all(len(set(row)) == 20 for row in histories.tolist())
    assert all(len(set(catalog.clusters[row - 1].tolist())) <= 3 for row in histories)


def test_synthetic_artifact_records_its_tuned_ef_and_serves(synthetic_dir: Path) -> None:
    rec = Recommender.load(synthetic_dir)
    index = rec.manifest.raw["index"]
    from export.synthetic import SYNTHETIC_INDEX

    target = SYNTHETIC_INDEX.recall_target
    assert rec.num_items == ITEMS and index["recall_target"] == target
    assert index["recall_at_k"]["recall"] >= target and index["ef_search"] >= 100
    assert index["layout"] == "clustered"
    assert rec.manifest.raw["synthetic"]["seed"] == 3
    history = synthetic_histories(make_catalog(ITEMS, seed=3), 1, 10, np.random.default_rng(1))[0]
    top = rec.recommend(history, k=10)
    assert len(top) == 10 and not set(top.item_ids.tolist()) & set(history.tolist())
    batch = rec.recommend_batch([history, history[:3]], k=5)
    assert [r.item_ids.tolist() for r in batch] == [
        rec.recommend(history, k=5).item_ids.tolist(),
        rec.recommend(history[:3], k=5).item_ids.tolist(),
    ]


def test_exact_and_hnsw_search_agree(synthetic_dir: Path) -> None:
    exact = Recommender.load(synthetic_dir)
    hnsw = Recommender.load(synthetic_dir, retrieval="hnsw")
    assert (exact.retriever.kind, hnsw.retriever.kind) == ("exact-numpy", "hnsw")
    catalog = make_catalog(ITEMS, seed=3)
    overlap = []
    for history in synthetic_histories(catalog, 20, 15, np.random.default_rng(2)):
        a, b = exact.candidates(history, n=100), hnsw.candidates(history, n=100)
        assert not set(a.item_ids.tolist()) & set(history.tolist())
        assert np.all(np.diff(a.scores) <= 0)
        overlap.append(len(set(a.item_ids.tolist()) & set(b.item_ids.tolist())) / 100)
    assert np.mean(overlap) >= 0.95


def test_bench_measures_recall_curve_and_throughput(synthetic_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [str(synthetic_dir), "--requests", "40", "--warmup", "5", "--recall-queries", "30"]
    args += ["--retrieval", "hnsw"]
    result = CliRunner().invoke(main, [*args, "--concurrency", "1,2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    recall = report["recall"]
    assert report["search"] == "hnsw" and recall["queries"] == 30
    efs = [point["ef"] for point in recall["curve"]]
    assert efs == sorted(efs) and report["ef_search"] in efs
    recalls = [point["recall"] for point in recall["curve"]]
    assert recalls[-1] >= recalls[0] and recall["recall"] >= 0.9
    assert set(report["throughput_rps"]) == {"batch_64", "threads_1", "threads_2"}
    assert report["rss_over_files"] > 0 and report["files_mb"] > 0


def test_bench_synthetic_reuses_the_built_artifact(synthetic_dir: Path) -> None:
    args = ["--synthetic", str(ITEMS), "--seed", "3", "--synthetic-dir", str(synthetic_dir)]
    result = CliRunner().invoke(main, [*args, "--requests", "5", "--warmup", "0"])
    assert result.exit_code == 0, result.output
    assert "reusing" in result.output and "recall@100 1.0000" in result.output


def test_bench_needs_exactly_one_source(synthetic_dir: Path) -> None:
    for args in ([], [str(synthetic_dir), "--synthetic", "100"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "--synthetic" in result.output
