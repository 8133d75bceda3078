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
