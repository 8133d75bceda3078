"""The acceptance checks of the quality report, on made-up per-seed numbers."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.quality.report import checks, render


def _run(seed: int, hr: float, ndcg: float, cand_ndcg: float, recall: float) -> dict[str, Any]:
    def lists(two: float, cand: float) -> dict[str, Any]:
        return {
            "two_stage": {"hr@10": hr, "ndcg@10": two, "mrr@10": two / 2},
            "candidates_only": {"hr@10": hr, "ndcg@10": cand, "mrr@10": cand / 2},
            "candidate_recall@50": recall / 2,
            "candidate_recall@100": recall,
            "coverage@10": 0.3,
            "candidates_coverage@10": 0.3,
        }

    split = {"artifact": lists(ndcg, cand_ndcg), "torch_exact": lists(ndcg, cand_ndcg)}
    split["torch_exact"]["candidate_recall@100"] = recall + 0.002
    return {"seed": seed, "train_export_seconds": 60.0, "valid": split, "test": split}


def _baseline(hrs: list[float]) -> dict[str, Any]:
    return {
        "params": {},
        "runs": [
            {
                split: {"hr@10": h, "ndcg@10": h / 2, "mrr@10": h / 4, "coverage@10": 0.1}
                for split in ("valid", "test")
            }
            for h in hrs
        ],
    }


def test_checks_pass_only_beyond_two_standard_deviations() -> None:
    main = {
        "runs": [_run(s, hr, 0.08, 0.07, 0.5) for s, hr in enumerate((0.14, 0.15, 0.16))],
        "baselines": {"Far": _baseline([0.10, 0.10, 0.10]), "Near": _baseline([0.135] * 3)},
    }
    result = checks(main)
    assert result["beats_baselines"]["Far hr@10"]["passes"]  # margin .05 > 2 * .01
    assert not result["beats_baselines"]["Near hr@10"]["passes"]  # margin .015 < 2 * .01
    assert result["beats_baselines"]["Near hr@10"]["margin_in_std"] == pytest.approx(1.5)
    assert result["hnsw_relative_recall@100_loss"]["max"] == pytest.approx(0.002 / 0.502)
    assert result["ranker_ndcg@10_gain"]["mean"] == pytest.approx(0.01)


def test_render_writes_every_table(tmp_path) -> None:
    import json

    main = {"runs": [_run(0, 0.15, 0.08, 0.07, 0.5)], "baselines": {"X": _baseline([0.1])}}
    (tmp_path / "main.json").write_text(json.dumps(main))
    text = render(tmp_path)
    assert "| two-stage (ONNX + HNSW) | 0.1500 |" in text and "| X | 0.1000 |" in text


def _sequential(hrs: list[float]) -> dict[str, Any]:
    entry = _baseline(hrs)
    for seed, run in enumerate(entry["runs"]):
        run |= {
            "seed": seed,
            "seconds": 100.0 + seed,
            "best_epoch": 20 + seed,
            "epochs_run": 28 + seed,
            "best_valid_ndcg@10": 0.11,
            "tail_valid_ndcg@10_mean": 0.108,
            "tail_valid_ndcg@10_range": 0.004,
        }
    entry["grid"] = [
        {"params": {"dropout": 0.2}, "valid_ndcg@10": 0.11, "best_epoch": 20, "epochs_run": 28, "seconds": 100.0}
    ]
    return entry


def test_a_stronger_baseline_fails_the_check_and_shows_its_epochs(tmp_path) -> None:
    import json

    runs = [_run(s, hr, 0.08, 0.07, 0.5) for s, hr in enumerate((0.14, 0.15, 0.16))]
    main = {"runs": runs, "baselines": {"Seq": _sequential([0.20, 0.20, 0.20])}}
    result = checks(main)["beats_baselines"]["Seq hr@10"]
    assert result["margin"] == pytest.approx(-0.05) and not result["passes"]
    (tmp_path / "main.json").write_text(json.dumps(main))
    text = render(tmp_path)
    assert "| two-stage beats Seq hr@10 by > 2 std | -0.0500 (-5.0 std) | no |" in text
    assert "| 21 / 29 | 101 |" in text, "epochs (best / run) and train s of the sequential row"
    assert "| Seq | 2 | 22 | 30 | 0.1100 | 0.1080 | 0.0040 | 102 |" in text


def test_rerunning_some_baselines_keeps_the_others(tmp_path, monkeypatch) -> None:
    import json

    from benchmarks.quality import run as quality_run

    main = {
        "seeds": [0],
        "preset": "default",
        "seconds": 300.0,
        "baseline_seconds": 100.0,
        "runs": [],
        "baselines": {"Old": _baseline([0.1]), "Seq": {**_baseline([0.2]), "seconds": 40.0}},
    }
    (tmp_path / "main.json").write_text(json.dumps(main))
    redone = {"baselines": {"Seq": _baseline([0.3])}, "baseline_seconds": 50.0}
    monkeypatch.setattr(quality_run, "run_baselines", lambda *args: redone)
    payload = quality_run.rerun_baselines("data", tmp_path, ["Seq"])
    assert list(payload["baselines"]) == ["Old", "Seq"]
    assert payload["baselines"]["Seq"]["runs"][0]["test"]["hr@10"] == 0.3
    assert payload["baselines"]["Old"] == main["baselines"]["Old"]
    assert payload["seconds"] == pytest.approx(310.0) and payload["baseline_seconds"] == 110.0
    assert json.loads((tmp_path / "main.json").read_text()) == payload
