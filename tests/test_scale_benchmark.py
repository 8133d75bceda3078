"""The scale benchmark's generator plants what it promises; its runner measures end to end."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks.scale import run
from benchmarks.scale.generator import generate, spec_for, write_scale_log
from benchmarks.scale.report import growth
from benchmarks.scale.timeline import (
    Event,
    Timeline,
    completed_phases,
    events_from_log,
    phases,
)
from trainers.synthetic_log import TAGS

pytest.importorskip("pyarrow")

SPEC = spec_for(20_000, seed=3, users=400, items=2000)


@pytest.fixture(scope="module")
def columns() -> dict[str, np.ndarray]:
    return generate(SPEC)


def test_ids_are_strings_and_each_pair_occurs_once_in_time_order(
    columns: dict[str, np.ndarray],
) -> None:
    assert all(re.fullmatch(r"u-[0-9a-f]{8}", u) for u in columns["user_ids"])
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{11}", i) for i in columns["item_ids"])
    assert len(set(columns["user_ids"])) == SPEC.users
    assert len(set(columns["item_ids"])) == SPEC.items
    pairs = columns["log_user"].astype(np.int64) * SPEC.items + columns["log_item"]
    assert len(np.unique(pairs)) == len(pairs)
    assert np.all(np.diff(columns["log_time"]) >= 0)
    per_user = np.bincount(columns["log_user"], minlength=SPEC.users)
    assert per_user.min() >= SPEC.min_per_user
    assert 0.95 * SPEC.rows <= len(pairs) <= SPEC.rows


def test_popularity_is_zipf_like(columns: dict[str, np.ndarray]) -> None:
    counts = np.sort(np.bincount(columns["log_item"], minlength=SPEC.items))[::-1]
    rank = np.arange(1, len(counts) + 1)
    fit = (rank >= 5) & (rank <= 500)
    slope = np.polyfit(np.log(rank[fit]), np.log(counts[fit]), 1)[0]
    assert slope < -0.4  # uniform popularity would give ~0
    assert counts[: SPEC.items // 10].sum() / counts.sum() > 0.35  # uniform: 0.10


def test_planted_clusters_are_recoverable_from_the_log_alone(
    columns: dict[str, np.ndarray],
) -> None:
    """An item's most co-watched item is from its planted cluster far above chance (1/K)."""
    watched = np.zeros((SPEC.users, SPEC.items))
    watched[columns["log_user"], columns["log_item"]] = 1.0
    together = watched.T @ watched
    np.fill_diagonal(together, -1.0)
    cluster = columns["item_cluster"]
    seen = watched.sum(axis=0) >= 3
    agree = (cluster[together.argmax(axis=1)] == cluster)[seen].mean()
    assert agree > 0.8 > 4.0 / SPEC.clusters


def test_written_files_hold_the_columns_the_schema_declares(tmp_path: Path) -> None:
    written = write_scale_log(tmp_path, spec_for(2000, users=100, items=250))
    schema = json.loads(written.features.read_text())
    for side, table in (("user", written.users), ("item", written.items)):
        with table.open() as handle:
            rows = list(csv.DictReader(handle))
        for feature in schema[side]:
            assert feature["name"] in rows[0], (side, feature["name"])
    with written.items.open() as handle:
        items = list(csv.DictReader(handle))
    assert all(tag in TAGS for row in items for tag in row["tags"].split("|") if tag)
    assert all(int(row["duration_seconds"]) > 0 for row in items)
    import pyarrow.parquet as pq

    log = pq.read_table(written.log)
    assert log.column_names == ["user_id", "video_id", "timestamp", "watch_fraction"]
    assert set(log.column("video_id").to_pylist()) <= {row["video_id"] for row in items}


def test_phases_come_from_the_pipeline_log_lines() -> None:
    timeline = Timeline()
    lines = [
        (1.5, "trainers.memory", "peak RSS after ingest: 300 MiB"),
        (2.0, "trainers.pipeline", "log: 900 train / 50 valid / 50 test interactions"),
        (3.0, "trainers.train_candidates", "candidate generator: 800 examples, 90 items"),
        (9.0, "trainers.train_candidates", "candidates epoch 2/2 loss=1.0"),
        (10.0, "trainers.train_ranker", "ranker: 700 lists of 21 candidates"),
        (14.0, "trainers.train_ranker", "ranker epoch 1/1 loss=1.0"),
    ]
    timeline.events = [Event(t, name, message) for t, name, message in lines]
    measured = phases(timeline, end=20.0, index_seconds=1.5)
    seconds = {name: phase["seconds"] for name, phase in measured["phases"].items()}
    assert seconds == {
        "ingest": 2.0,
        "encoding": 1.0,
        "candidate_generator": 6.0,
        "ranker_lists": 1.0,
        "ranker": 4.0,
        "export": 4.5,
        "index_build": 1.5,
    }
    assert (measured["candidate_examples"], measured["ranker_lists"]) == (800, 700)
    assert (measured["phases"]["ingest"]["read_seconds"],
            measured["phases"]["ingest"]["split_seconds"]) == (1.5, 0.5)
    timeline.events = timeline.events[:3]
    with pytest.raises(RuntimeError, match="trainers.train_ranker"):
        phases(timeline, end=20.0, index_seconds=1.5)


def test_growth_is_the_ratio_and_100m_is_marked_extrapolated() -> None:
    def fake(rows: int, scale: float) -> dict[str, object]:
        names = ("ingest", "encoding", "candidate_generator", "ranker_lists", "ranker",
                 "export", "index_build")
        return {
            "label": "x",
            "rows_requested": rows,
            "phases": {name: {"seconds": scale * (i + 1)} for i, name in enumerate(names)},
            "total_seconds": 28.0 * scale,
            "peak_rss_mb": 100.0 * scale,
        }

    (grown,) = growth([fake(1_000_000, 1.0), fake(10_000_000, 12.0)])
    assert grown["ratio_10m_over_1m"]["ranker"] == 12.0
    assert grown["rows_100m"]["extrapolated"] is True
    assert grown["rows_100m"]["total_seconds"] == pytest.approx(28.0 * 144)
    assert growth([fake(1_000_000, 1.0)]) == []
    stopped = fake(10_000_000, 12.0)
    stopped["partial"] = True
    del stopped["phases"]["ranker"]  # type: ignore[attr-defined]
    (grown,) = growth([fake(1_000_000, 1.0), stopped])
    assert grown["ratio_10m_over_1m"]["ingest"] == 12.0
    assert grown["ratio_10m_over_1m"]["ranker"] is None
    assert grown["ratio_10m_over_1m"]["total_seconds"] is None


def test_runner_measures_a_tiny_log_end_to_end(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# scale\n")
    results = tmp_path / "scale.json"
    run.main([
        "--rows", "2000", "--users", "100", "--items", "250", "--preset", "small",
        "--candidate-epochs", "1", "--ranker-epochs", "1", "--label", "tiny",
        "--data-dir", str(tmp_path / "data"), "--results", str(results),
        "--readme", str(readme),
    ])
    (measured,) = json.loads(results.read_text())["runs"]
    assert measured["rows"] > 1900 and measured["users"] == 100
    assert set(measured["phases"]) >= {"ingest", "encoding", "candidate_generator", "ranker",
                                       "export", "index_build"}
    assert all(phase["seconds"] >= 0 for phase in measured["phases"].values())
    parts = sum(phase["seconds"] for phase in measured["phases"].values())
    assert parts == pytest.approx(measured["total_seconds"], abs=0.1)
    assert measured["peak_rss_mb"] > 50
    assert measured["networks"]["candidate_generator"]["examples_per_second"] > 0
    assert 0.0 < measured["metrics"]["valid_recall@100"] <= 1.0
    assert "| tiny | " in readme.read_text()


def test_a_stopped_job_keeps_the_phases_it_finished() -> None:
    text = "\n".join([
        "13:59:58 INFO trainers.threads: torch uses 1 of 2 available cores",
        "14:00:10 INFO trainers.pipeline: log: 90 train / 5 valid / 5 test interactions",
        "  a continuation line that is not a record",
        "14:00:12 INFO trainers.train_candidates: candidate generator: 80 examples, 9 items",
        "14:20:12 INFO trainers.train_candidates: candidates epoch 1/1 loss=7.0",
        "14:20:13 INFO trainers.memory: peak RSS after candidate generator: 2048 MiB",
        "14:30:13 INFO trainers.inference: still retrieving",
    ])
    done = completed_phases(events_from_log(text))
    assert {name: phase["seconds"] for name, phase in done["phases"].items()} == {
        "ingest": 12.0, "encoding": 2.0, "candidate_generator": 1201.0,
    }
    assert done["phases"]["candidate_generator"]["peak_rss_mb"] == 2048.0
    assert (done["stopped_in"], done["stopped_in_seconds"]) == ("ranker_lists", 600.0)
