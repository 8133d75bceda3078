"""The whole pipeline on real MovieLens 100K: train, export, load, recommend, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from trainers.evaluate import evaluate_artifact
from ytrec_infer import Recommender
from ytrec_infer.artifact import FORMAT_VERSION, MANIFEST, read_manifest
from ytrec_infer.cli import main


def test_artifact_is_complete_and_verified(artifact_dir: Path) -> None:
    manifest = read_manifest(artifact_dir)
    raw = json.loads((artifact_dir / MANIFEST).read_text())
    assert raw["format_version"] == FORMAT_VERSION
    assert set(raw["files"]) == {p.name for p in artifact_dir.iterdir()} - {MANIFEST}
    assert manifest.num_items == 1682
    assert raw["features"]["max_history"] > 0 and raw["features"]["age"]["scale"] > 0
    assert {"ef_search", "M", "ef_construction"} <= set(raw["index"])
    assert not list(artifact_dir.parent.glob(".*staging*")), "no staging folder left behind"


def test_recommends_star_wars_fans_something_sensible(artifact_dir: Path) -> None:
    rec = Recommender.load(artifact_dir)
    result = rec.recommend([50, 172, 181], k=10)
    assert len(result) == 10
    assert all(r.title for r in result)


def test_model_beats_most_popular_on_validation(artifact_dir: Path, ml100k: Path) -> None:
    """A broken model (wrong features, shuffled ids, untrained tower) falls to or below MostPopular."""
    metrics = evaluate_artifact(str(artifact_dir), str(ml100k), split="valid")
    assert metrics["users"] == 943
    assert metrics["two_stage"]["hr@10"] > metrics["most_popular"]["hr@10"]
    assert metrics["candidates_only"]["ndcg@10"] > metrics["most_popular"]["ndcg@10"]
    assert metrics["candidate_recall@100"] > 0.3


def test_cli_recommend_prints_titles(artifact_dir: Path) -> None:
    result = CliRunner().invoke(
        main, ["recommend", str(artifact_dir), "--history", "50,172,181", "-k", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "Star Wars" in result.output and result.output.count("\n") >= 7


def test_cli_reports_bad_input_without_traceback(artifact_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad_ids = runner.invoke(main, ["recommend", str(artifact_dir), "--history", "50,abc"])
    assert bad_ids.exit_code == 2 and "integer item ids" in bad_ids.output
    not_artifact = runner.invoke(main, ["recommend", str(tmp_path), "--history", "50"])
    assert not_artifact.exit_code == 1 and "manifest.json" in not_artifact.output
    assert "Traceback" not in bad_ids.output + not_artifact.output


def test_cli_train_refuses_to_overwrite_a_non_artifact_folder(tmp_path: Path, ml100k: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["train", "--data", str(ml100k), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "not an artifact" in result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_cli_info_prints_the_verified_manifest(artifact_dir: Path) -> None:
    result = CliRunner().invoke(main, ["info", str(artifact_dir)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["num_items"] == 1682 and summary["index"]["ef_search"] >= 100
    assert (
        "history" in summary["models"]["user_tower"] and "candidates" in summary["models"]["ranker"]
    )
