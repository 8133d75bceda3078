"""The whole pipeline on real MovieLens 100K: train, export, load, recommend, evaluate."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from click.testing import CliRunner

from trainers.evaluate import evaluate_artifact, evaluate_torch, most_popular_lists
from trainers.holdout import holdout_set
from trainers.metrics import summarize
from ytrec_infer import Recommender
from ytrec_infer.artifact import FORMAT_VERSION, MANIFEST, read_manifest
from ytrec_infer.cli import main


def test_artifact_is_complete_and_verified(artifact_dir: Path) -> None:
    manifest = read_manifest(artifact_dir)
    raw = json.loads((artifact_dir / MANIFEST).read_text())
    assert raw["format_version"] == FORMAT_VERSION
    assert set(raw["files"]) == {p.name for p in artifact_dir.iterdir()} - {MANIFEST}
    assert manifest.num_items == 1682
    assert raw["features"]["max_history"] > 0 and raw["features"]["user"][0]["scale"] > 0
    assert {"ef_search", "M", "ef_construction"} <= set(raw["index"])
    assert not list(artifact_dir.parent.glob(".*staging*")), "no staging folder left behind"


def test_recommends_star_wars_fans_something_sensible(artifact_dir: Path) -> None:
    rec = Recommender.load(artifact_dir)
    result = rec.recommend([50, 172, 181], k=10)
    assert len(result) == 10
    assert all(r.title for r in result)


def test_model_beats_most_popular_on_validation(artifact_dir: Path, ml100k: Path) -> None:
    """The small model, trained on the training split only, clearly beats MostPopular on the
    validation items through the artifact; the sabotaged model below shows the check can fail."""
    metrics = evaluate_artifact(str(artifact_dir), str(ml100k), split="valid")
    assert metrics["users"] == 943
    popular = metrics["most_popular"]
    assert metrics["two_stage"]["hr@10"] > 1.3 * popular["hr@10"]
    assert metrics["two_stage"]["ndcg@10"] > 1.3 * popular["ndcg@10"]
    assert metrics["candidates_only"]["ndcg@10"] > popular["ndcg@10"]
    assert metrics["candidate_recall@100"] > 0.3


def test_a_broken_model_fails_the_most_popular_check(trained) -> None:
    """Shuffling the item vectors (ids no longer match what was learned) drops the model below
    MostPopular: the check above catches a broken model rather than passing by construction."""
    broken = copy.deepcopy(trained.candidate_model)
    with torch.no_grad():
        rows = broken.item_vectors.weight
        rows[1:] = rows[1:][
            torch.randperm(rows.shape[0] - 1, generator=torch.Generator().manual_seed(0))
        ]
    metrics = evaluate_torch(broken, None, trained.data, split="valid")
    holdout = holdout_set(trained.data, "valid")
    popular = summarize(most_popular_lists(trained.data, holdout, 10), holdout.targets)
    assert metrics["two_stage"]["hr@10"] < popular["hr@10"]


def test_artifact_matches_torch_with_exact_search(trained, ml100k: Path) -> None:
    """ONNX + HNSW reproduce the torch networks with exact search (HNSW may lose a little)."""
    exact = evaluate_torch(trained.candidate_model, trained.ranker, trained.data, split="test")
    served = evaluate_artifact(str(trained.artifact), str(ml100k), split="test")
    assert served["candidate_recall@100"] >= 0.97 * exact["candidate_recall@100"]
    assert abs(served["two_stage"]["hr@10"] - exact["two_stage"]["hr@10"]) < 0.02


def test_cli_evaluate_prints_a_table_and_writes_json(
    artifact_dir: Path, ml100k: Path, tmp_path: Path
) -> None:
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(artifact_dir),
            "--data",
            str(ml100k),
            "--split",
            "valid",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "two_stage" in result.output and "recall@100" in result.output
    saved = json.loads(out.read_text())
    assert saved["split"] == "valid" and saved["users"] == 943
    assert 0 < saved["two_stage"]["ndcg@10"] <= saved["two_stage"]["hr@10"] <= 1


def test_cli_recommend_prints_titles(artifact_dir: Path) -> None:
    result = CliRunner().invoke(
        main, ["recommend", str(artifact_dir), "--history", "50,172,181", "-k", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "Star Wars" in result.output and result.output.count("\n") >= 7


def test_cli_recommend_takes_schema_fields_as_key_value_pairs(artifact_dir: Path) -> None:
    runner = CliRunner()
    args = ["recommend", str(artifact_dir), "--history", "50,172,181", "-k", "5", "--json"]
    typed = runner.invoke(main, [*args, "--user", "age=25", "--user", "gender=F", "--age", "25"])
    assert typed.exit_code == 2 and "age given both as a flag and with --user" in typed.output
    both = runner.invoke(main, [*args, "--user", "age=25", "--gender", "F", "--user", "zip_code=94043"])
    flags = runner.invoke(main, [*args, "--age", "25", "--gender", "F", "--zip-code", "94043"])
    assert both.exit_code == 0, both.output
    assert json.loads(both.output) == json.loads(flags.output)
    plain = runner.invoke(main, args)
    assert json.loads(both.output) != json.loads(plain.output)
    unknown = runner.invoke(main, [*args, "--user", "country=DE"])
    assert unknown.exit_code == 2
    assert "'country' is not a user field" in unknown.output
    assert "accepted: age, gender, occupation, zip_code, seconds_since_last" in unknown.output
    numeric = runner.invoke(main, [*args, "--user", "age=old"])
    assert numeric.exit_code == 2 and "--user age is numeric, got 'old'" in numeric.output
    malformed = runner.invoke(main, [*args, "--context", "hour"])
    assert malformed.exit_code == 2 and "expected KEY=VALUE" in malformed.output
    no_context = runner.invoke(main, [*args, "--context", "hour=21"])
    assert no_context.exit_code == 2 and "accepted: seconds_since_last" in no_context.output


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
    assert summary["request_fields"]["context"] == ["seconds_since_last"]
    assert (
        "history" in summary["models"]["user_tower"] and "candidates" in summary["models"]["ranker"]
    )
