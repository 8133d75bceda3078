"""Training curves: history JSON round-trips, the PNG is written whole, empty input is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainers.curves import plot_training_curves, write_history
from trainers.progress import EpochRecord

HISTORY: list[EpochRecord] = [
    {"stage": "candidates", "epoch": 1, "loss": 6.5, "valid_recall@100": 0.39, "seconds": 9.0},
    {"stage": "candidates", "epoch": 2, "loss": 5.7, "valid_recall@100": 0.50, "seconds": 18.0},
    {"stage": "ranker", "epoch": 1, "loss": 0.53, "valid_ndcg@10": 0.03, "seconds": 4.0},
]


def test_history_json_round_trips(tmp_path: Path) -> None:
    path = write_history(HISTORY, tmp_path / "sub" / "history.json")
    assert json.loads(path.read_text()) == HISTORY


def test_curves_png_is_written_without_leftovers(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_training_curves(HISTORY, tmp_path / "curves.png", title="test")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_empty_history_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no epochs"):
        plot_training_curves([], tmp_path / "curves.png")
    assert not list(tmp_path.iterdir())
