"""Training on your own interaction log: a CSV written here trains, exports and recommends."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from trainers.config import TrainConfig
from trainers.data import DataError, load_interaction_log, open_dataset

N_ITEMS, N_USERS, N_GROUPS = 400, 400, 4
GENRES = ("Jazz", "Rock", "Folk", "Pop")


def group_of(item: int) -> int:
    """Items 1..400 fall into four taste groups by id (1..100, 101..200, ...)."""
    return (item - 1) * N_GROUPS // N_ITEMS


def write_log(folder: Path, seed: int = 0) -> tuple[Path, Path, Path]:
    """A log where each user sticks to one taste group, plus item and user tables."""
    rng = np.random.default_rng(seed)
    per_group = N_ITEMS // N_GROUPS
    log, items, users = folder / "log.csv", folder / "items.csv", folder / "users.csv"
    with log.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["user_id", "item_id", "timestamp", "rating"])
        for user in range(1, N_USERS + 1):
            group = user % N_GROUPS
            picks = rng.choice(per_group, size=int(rng.integers(8, 20)), replace=False)
            for step, pick in enumerate(picks):
                item = group * per_group + int(pick) + 1
                rating = "" if step % 5 == 0 else int(rng.integers(1, 6))
                out.writerow([user, item, 1_600_000_000 + user * 1000 + step * 60, rating])
    with items.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["item_id", "title", "year", "genres"])
        for item in range(1, N_ITEMS + 1):
            out.writerow([item, f"Song {item}", 1990 + item % 30, GENRES[group_of(item)]])
    with users.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["user_id", "age", "gender", "occupation", "zip_code"])
        for user in range(1, N_USERS + 1):
            out.writerow([user, 20 + user % 40, "MF"[user % 2], "student", f"{user % 9}0000"])
    return log, items, users


def tiny_config() -> TrainConfig:
    """A configuration small enough to train on the synthetic log in seconds."""
    base = TrainConfig.small()
    return replace(
        base,
        candidate=replace(
            base.candidate,
            embedding_dim=16,
            output_dim=16,
            hidden=(32,),
            num_negatives=64,
            epochs=6,
            learning_rate=1e-2,
        ),
        ranker=replace(
            base.ranker,
            hidden=(16,),
            epochs=4,
            learning_rate=1e-2,
            positions_per_user=10,
            negatives_per_positive=5,
            n_candidates=30,
        ),
    )


def test_log_with_side_tables_loads(tmp_path: Path) -> None:
    log, items, users = write_log(tmp_path)
    dataset = open_dataset(log, items=items, users=users)
    assert len(dataset.items) == N_ITEMS and len(dataset.users) == N_USERS
    assert dataset.items.titles[0] == "Song 1"
    assert dataset.items.genre_names == tuple(sorted(GENRES))
    assert set(np.unique(dataset.interactions.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert dataset.users.genders[:2] == ("F", "M")  # users 1, 2


def test_log_alone_loads_with_placeholder_features(tmp_path: Path) -> None:
    log, _, _ = write_log(tmp_path)
    dataset = load_interaction_log(log)
    assert dataset.items.titles[0] == "item 1"
    # One all-false placeholder genre: zero-width genre matrices break onnxruntime < 1.24.
    assert dataset.items.genre_names == ("(no genre)",) and not dataset.items.genres.any()
    assert np.isnan(dataset.users.ages).all()


def test_iso_timestamps_and_column_aliases(tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text("userId,movieId,time\n7,3,2024-01-02T03:04:05Z\n7,4,2024-01-02T04:04:05\n")
    dataset = load_interaction_log(log)
    assert dataset.interactions.timestamps.tolist() == [1704164645, 1704168245]
    assert dataset.interactions.ratings.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user,item\n1,2\n", "no timestamp column"),
        ("user,item,timestamp\n1,,5\n", "line 2: empty item id"),
        ("user,item,timestamp\n1,2,yesterday\n", "neither Unix seconds nor an ISO 8601"),
        ("user,item,timestamp\n", "no interactions"),
        ("user,item,timestamp\n1,2\n", "expected 3 fields, got 2"),
    ],
)
def test_bad_logs_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    log = tmp_path / "log.csv"
    log.write_text(text)
    with pytest.raises(DataError, match=message):
        load_interaction_log(log)


def test_ids_are_strings_unless_every_one_is_a_plain_integer(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("user,item,timestamp\nu-1,dQw4w9WgXcQ,5\nu-1,007,6\nu-2,7,7\n")
    dataset = load_interaction_log(log)
    assert dataset.items.item_ids.dtype.kind == "U"
    assert dataset.items.item_ids.tolist() == ["007", "7", "dQw4w9WgXcQ"]
    assert dataset.users.user_ids.tolist() == ["u-1", "u-2"]
    log.write_text("user,item,timestamp\n1,12,5\n1,-3,6\n")
    dataset = load_interaction_log(log)
    assert dataset.items.item_ids.dtype == np.int64 and dataset.users.user_ids.dtype == np.int64


def test_items_missing_from_the_item_table_are_named(tmp_path: Path) -> None:
    log, _, _ = write_log(tmp_path)
    items = tmp_path / "few_items.csv"
    items.write_text("item_id,title\n1,One\n")
    with pytest.raises(DataError, match=r"item id \d+ is not in .*few_items.csv"):
        load_interaction_log(log, items=items)


def test_side_tables_need_a_log_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="go with an interaction log file"):
        open_dataset(tmp_path, items=tmp_path / "items.csv")


def test_parquet_log_equals_csv(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    log, _, _ = write_log(tmp_path)
    with log.open() as handle:
        rows = list(csv.DictReader(handle))
    table = pa.table(
        {
            "user_id": [int(r["user_id"]) for r in rows],
            "item_id": [int(r["item_id"]) for r in rows],
            "timestamp": [int(r["timestamp"]) for r in rows],
            "rating": [float(r["rating"]) if r["rating"] else None for r in rows],
        }
    )
    pq.write_table(table, tmp_path / "log.parquet")
    from_csv = load_interaction_log(log).interactions
    from_parquet = load_interaction_log(tmp_path / "log.parquet").interactions
    for column in ("user_ids", "item_ids", "ratings", "timestamps"):
        np.testing.assert_array_equal(getattr(from_parquet, column), getattr(from_csv, column))


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Tiny networks train fastest on one thread, above all on a shared, busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
def test_train_on_own_csv_then_recommend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The own-data path end to end through the CLI: `ytrec train --data log.csv --items ...
    --users ... --json --curves --history`, then recommend from the artifact it wrote."""
    from click.testing import CliRunner

    from ytrec_infer import Recommender
    from ytrec_infer.cli import main

    tiny = tiny_config()  # `--preset small`, shrunk further so this test trains in seconds
    monkeypatch.setattr(TrainConfig, "small", classmethod(lambda cls, seed=0: tiny))
    log, items, users = write_log(tmp_path)
    out_dir, curves, history_file = tmp_path / "artifact", tmp_path / "c.png", tmp_path / "h.json"
    plots = importlib.util.find_spec("matplotlib") is not None
    args = ["train", "--data", str(log), "--items", str(items), "--users", str(users)]
    args += ["--out", str(out_dir), "--preset", "small", "-q", "--json"]
    args += ["--history", str(history_file)] + (["--curves", str(curves)] if plots else [])
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert Path(summary["artifact"]).parent == out_dir  # a published version: out/v000001
    assert "valid_recall@100" in summary["metrics"]
    history = json.loads(history_file.read_text())
    assert [r["stage"] for r in history] == ["candidates"] * 6 + ["ranker"] * 4
    assert all(r["loss"] > 0 and "seconds" in r for r in history)
    if plots:
        assert curves.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    rec = Recommender.load(out_dir)
    history_ids = [1, 2, 3, 4, 5]  # all from taste group 0
    top = rec.recommend(history_ids, k=10, user={"age": 30, "gender": "F"}, n_candidates=30)
    assert len(top) == 10 and top.stage == "ranked"
    assert not set(top.item_ids.tolist()) & set(history_ids)
    assert all(r.title == f"Song {r.item_id}" for r in top)
    # Users stick to one group (a quarter of the catalog), so even this tiny model recommends
    # from the history's group; measured: 10 of 10 for both stages.
    candidates = rec.candidates(history_ids, n=10)
    assert sum(group_of(int(i)) == 0 for i in candidates.item_ids) >= 9
    assert sum(group_of(int(i)) == 0 for i in top.item_ids) >= 8

    out = CliRunner().invoke(
        main, ["recommend", str(out_dir), "--history", "1,2,3", "-k", "3", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["items"]) == 3


def test_train_cli_reports_bad_data_with_exit_code_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ytrec_infer.cli import main

    log = tmp_path / "log.csv"
    log.write_text("user,item\n1,2\n")
    run = CliRunner().invoke(main, ["train", "--data", str(log), "--out", str(tmp_path / "a")])
    assert run.exit_code == 1
    assert "no timestamp column" in run.output
    assert not (tmp_path / "a").exists()
