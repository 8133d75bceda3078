"""ytrec-bench: the measuring functions and the click command (no timing thresholds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ytrec_infer import Recommender
from ytrec_infer.bench import STAGES, Settings, main, percentiles, run_benchmark, sample_histories

STAGE_KEYS = [key for key, _ in STAGES]


@pytest.fixture(scope="module")
def rec(artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir)


def test_percentiles_of_a_known_array() -> None:
    stats = percentiles(np.arange(1, 101) * 1000)
    assert stats["p50_us"] == pytest.approx(50.5)
    assert stats["p95_us"] == pytest.approx(95.05)
    assert stats["p99_us"] == pytest.approx(99.01)
    assert stats["mean_us"] == pytest.approx(50.5)
    assert stats["count"] == 100
    with pytest.raises(ValueError):
        percentiles([])


def test_sample_histories_are_distinct_catalog_ids_and_seeded(rec: Recommender) -> None:
    first = sample_histories(rec.catalog, 30, 15, np.random.default_rng(7))
    again = sample_histories(rec.catalog, 30, 15, np.random.default_rng(7))
    assert first.shape == (30, 15)
    np.testing.assert_array_equal(first, again)
    assert np.isin(first, rec.catalog.item_ids).all()
    assert all(len(set(row.tolist())) == 15 for row in first)
    with pytest.raises(ValueError):
        sample_histories(rec.catalog, 1, rec.num_items + 1, np.random.default_rng(0))


def test_run_benchmark_measures_every_stage(rec: Recommender) -> None:
    settings = Settings(requests=40, warmup=5, history_length=10, k=5, n_candidates=50)
    result = run_benchmark(rec, settings)
    assert list(result.stages) == STAGE_KEYS
    for key, stats in result.stages.items():
        assert 0 < stats["p50_us"] <= stats["p95_us"] <= stats["p99_us"], key
        assert stats["mean_us"] > 0 and stats["count"] == 40
    assert result.stages["end_to_end"]["mean_us"] >= result.stages["user_tower"]["mean_us"]
    assert result.stages["end_to_end"]["p50_us"] >= result.stages["user_tower"]["p50_us"]
    assert result.requests_per_second > 0
    assert json.loads(json.dumps(result.to_dict()))["settings"]["requests"] == 40


def test_run_benchmark_refuses_impossible_settings(rec: Recommender) -> None:
    with pytest.raises(ValueError, match="k"):
        run_benchmark(rec, Settings(requests=1, warmup=0, k=20, n_candidates=10))


def test_cli_prints_the_table_and_writes_json(artifact_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    args = [str(artifact_dir), "--requests", "50", "--warmup", "5", "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for _, label in STAGES:
        assert label in result.output
    assert str(artifact_dir) in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["stages"]) == set(STAGE_KEYS)
    assert report["stages"]["user_tower"]["p50_us"] > 0
    assert report["load_seconds"] > 0
    assert report["settings"]["requests"] == 50
    assert {"onnxruntime", "hnswlib", "numpy", "cpu_count"} <= set(report["environment"])


def test_cli_on_a_folder_that_is_not_an_artifact(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [str(tmp_path), "--requests", "5"])
    assert result.exit_code == 1
    assert "manifest.json" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_cli_bad_option_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [str(tmp_path), "--requests", "0"])
    assert result.exit_code == 2
    assert "--requests" in result.output


def test_cli_k_above_candidates_is_a_usage_error(artifact_dir: Path) -> None:
    result = CliRunner().invoke(main, [str(artifact_dir), "-k", "20", "--n-candidates", "10"])
    assert result.exit_code == 2
    assert "n_candidates" in result.output
