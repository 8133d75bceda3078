"""Tests for the data layer: loading three layouts, leave-last-out split, verified fetch."""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ml100k_path
from trainers.data import (
    DataError,
    Dataset,
    Interactions,
    fetch_movielens_100k,
    load_dataset,
    resolve_dataset,
    split_leave_last_out,
)
from trainers.data.fetch import extract_verified
from trainers.data.movielens import GROUPLENS_100K_GENRES, ML_1M_OCCUPATIONS

RECBOLE_FILES = ("ml-100k.inter", "ml-100k.item", "ml-100k.user")


@pytest.fixture(scope="module")
def ml100k() -> Dataset:
    return load_dataset(ml100k_path())


def _genre_sets(dataset: Dataset) -> list[frozenset[str]]:
    items = dataset.items
    return [frozenset(np.asarray(items.genre_names)[row].tolist()) for row in items.genres]


def _assert_same(loaded: Dataset, expected: Dataset) -> None:
    for column in ("user_ids", "item_ids", "ratings", "timestamps"):
        np.testing.assert_array_equal(
            getattr(loaded.interactions, column), getattr(expected.interactions, column)
        )
    np.testing.assert_array_equal(loaded.items.item_ids, expected.items.item_ids)
    assert loaded.items.titles == expected.items.titles
    np.testing.assert_array_equal(loaded.items.release_years, expected.items.release_years)
    assert _genre_sets(loaded) == _genre_sets(expected)
    np.testing.assert_array_equal(loaded.users.user_ids, expected.users.user_ids)
    np.testing.assert_array_equal(loaded.users.ages, expected.users.ages)
    assert loaded.users.genders == expected.users.genders
    assert loaded.users.zip_codes == expected.users.zip_codes


def _with_interactions(dataset: Dataset, interactions: Interactions) -> Dataset:
    return Dataset(
        name=dataset.name, interactions=interactions, items=dataset.items, users=dataset.users
    )


# Loading ----------------------------------------------------------------------------------


def test_real_ml100k_loads(ml100k: Dataset) -> None:
    assert len(ml100k.interactions) == 100_000
    assert len(ml100k.users) == 943 and len(np.unique(ml100k.interactions.user_ids)) == 943
    assert len(ml100k.items) == 1682 and len(np.unique(ml100k.interactions.item_ids)) == 1682
    # "unknown" means no genre, so 18 genres remain.
    assert len(ml100k.items.genre_names) == 18 and "unknown" not in ml100k.items.genre_names
    assert ml100k.items.genre_names == tuple(sorted(ml100k.items.genre_names))
    assert ml100k.name == "ml-100k"

    toy = int(np.searchsorted(ml100k.items.item_ids, 1))
    assert ml100k.items.item_ids[toy] == 1
    assert ml100k.items.titles[toy] == "Toy Story"
    assert ml100k.items.release_years[toy] == 1995
    assert _genre_sets(ml100k)[toy] == {"Animation", "Children's", "Comedy"}

    first = int(np.searchsorted(ml100k.users.user_ids, 1))
    users = ml100k.users
    assert (
        users.ages[first],
        users.genders[first],
        users.occupations[first],
        users.zip_codes[first],
    ) == (
        24,
        "M",
        "technician",
        "85711",
    )

    inter = ml100k.interactions
    assert (inter.user_ids[0], inter.item_ids[0], inter.ratings[0], inter.timestamps[0]) == (
        196,
        242,
        3,
        881250949,
    )
    assert inter.timestamps.dtype == np.int64 and inter.ratings.dtype == np.float32
    # The release_year cell of item 1412 is "V"; its title carries the year instead.
    assert ml100k.items.release_years[np.searchsorted(ml100k.items.item_ids, 1412)] == 1995


def _title_with_year(title: str, year: float) -> str:
    return title if math.isnan(year) else f"{title} ({int(year)})"


def _write_grouplens_100k(dataset: Dataset, folder: Path) -> None:
    folder.mkdir()
    inter = dataset.interactions
    (folder / "u.data").write_text(
        "".join(
            f"{u}\t{i}\t{r:g}\t{t}\n"
            for u, i, r, t in zip(
                inter.user_ids, inter.item_ids, inter.ratings, inter.timestamps, strict=False
            )
        ),
        encoding="latin-1",
    )
    item_lines = []
    for item_id, title, year, genres in zip(
        dataset.items.item_ids,
        dataset.items.titles,
        dataset.items.release_years,
        _genre_sets(dataset),
        strict=False,
    ):
        flags = ["0" if genres else "1"] + [
            "1" if g in genres else "0" for g in GROUPLENS_100K_GENRES[1:]
        ]
        full_title = _title_with_year(title, year)
        date = "" if math.isnan(year) else f"01-Jan-{int(year)}"
        item_lines.append(
            "|".join([str(item_id), full_title, date, "", "http://example.invalid", *flags]) + "\n"
        )
    (folder / "u.item").write_text("".join(item_lines), encoding="latin-1")
    users = dataset.users
    (folder / "u.user").write_text(
        "".join(
            f"{u}|{a:g}|{g}|{o}|{z}\n"
            for u, a, g, o, z in zip(
                users.user_ids,
                users.ages,
                users.genders,
                users.occupations,
                users.zip_codes,
                strict=False,
            )
        ),
        encoding="latin-1",
    )


def _write_ml_1m(dataset: Dataset, folder: Path, codes: dict[str, int]) -> None:
    folder.mkdir()
    inter = dataset.interactions
    (folder / "ratings.dat").write_text(
        "".join(
            f"{u}::{i}::{r:g}::{t}\n"
            for u, i, r, t in zip(
                inter.user_ids, inter.item_ids, inter.ratings, inter.timestamps, strict=False
            )
        ),
        encoding="latin-1",
    )
    (folder / "movies.dat").write_text(
        "".join(
            f"{i}::{_title_with_year(title, year)}::{'|'.join(sorted(genres))}\n"
            for i, title, year, genres in zip(
                dataset.items.item_ids,
                dataset.items.titles,
                dataset.items.release_years,
                _genre_sets(dataset),
                strict=False,
            )
        ),
        encoding="latin-1",
    )
    users = dataset.users
    (folder / "users.dat").write_text(
        "".join(
            f"{u}::{g}::{a:g}::{codes[o]}::{z}\n"
            for u, a, g, o, z in zip(
                users.user_ids,
                users.ages,
                users.genders,
                users.occupations,
                users.zip_codes,
                strict=False,
            )
        ),
        encoding="latin-1",
    )


@pytest.mark.parametrize("layout", ["grouplens-100k", "ml-1m"])
def test_other_layouts_load_to_same_content(ml100k: Dataset, tmp_path: Path, layout: str) -> None:
    expected = _with_interactions(ml100k, ml100k.interactions.take(np.arange(3000)))
    folder = tmp_path / layout
    if layout == "grouplens-100k":
        _write_grouplens_100k(expected, folder)
        expected_occupations = ml100k.users.occupations
    else:
        codes = {
            name: n % len(ML_1M_OCCUPATIONS)
            for n, name in enumerate(sorted(set(ml100k.users.occupations)))
        }
        _write_ml_1m(expected, folder, codes)
        expected_occupations = tuple(ML_1M_OCCUPATIONS[codes[o]] for o in ml100k.users.occupations)

    loaded = load_dataset(folder)

    assert loaded.name == layout
    _assert_same(loaded, expected)
    assert loaded.users.occupations == expected_occupations
    assert loaded.items.genre_names == ml100k.items.genre_names


def test_recbole_columns_found_by_header_name(tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "tiny.inter").write_text(
        "timestamp:float\titem_id:token\tuser_id:token\trating:float\n100\t7\t1\t4\n",
        encoding="utf-8",
    )
    (folder / "tiny.item").write_text(
        "class:token_seq\titem_id:token\tmovie_title:token_seq\trelease_year:token\n"
        "Sci-Fi unknown\t7\tAlien\t\n",
        encoding="utf-8",
    )
    (folder / "tiny.user").write_text("zip_code:token\tuser_id:token\n02139\t1\n", encoding="utf-8")

    loaded = load_dataset(folder)

    assert (loaded.interactions.user_ids[0], loaded.interactions.item_ids[0]) == (1, 7)
    assert (loaded.interactions.timestamps[0], loaded.interactions.ratings[0]) == (100, 4)
    assert loaded.items.titles == ("Alien",) and math.isnan(loaded.items.release_years[0])
    assert loaded.items.genre_names == ("Sci-Fi",)
    assert loaded.users.zip_codes == ("02139",) and math.isnan(loaded.users.ages[0])


def _tiny_grouplens(folder: Path, data: str) -> Path:
    folder.mkdir()
    (folder / "u.data").write_text(data, encoding="latin-1")
    (folder / "u.item").write_text("7|Alien (1979)|01-Jan-1979||url|" + "|".join(["0"] * 19) + "\n")
    (folder / "u.user").write_text("1|30|F|writer|02139\n")
    return folder


def test_bad_rows_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"u\.data line 2: item id 'x7'"):
        load_dataset(_tiny_grouplens(tmp_path / "a", "1\t7\t4\t100\n1\tx7\t4\t101\n"))
    with pytest.raises(DataError, match=r"u\.data line 1: rating 'nan' is not finite"):
        load_dataset(_tiny_grouplens(tmp_path / "b", "1\t7\tnan\t100\n"))
    with pytest.raises(DataError, match=r"u\.data line 1: timestamp '100.5'"):
        load_dataset(_tiny_grouplens(tmp_path / "c", "1\t7\t4\t100.5\n"))


def test_interaction_with_unknown_item_names_the_id(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"item id 8 is not in .*u\.item"):
        load_dataset(_tiny_grouplens(tmp_path / "a", "1\t7\t4\t100\n1\t8\t4\t101\n"))


def test_missing_side_file_names_expected_files(tmp_path: Path) -> None:
    folder = _tiny_grouplens(tmp_path / "a", "1\t7\t4\t100\n")
    (folder / "u.user").unlink()
    with pytest.raises(DataError, match=r"missing u\.user.*u\.data, u\.item, u\.user"):
        load_dataset(folder)
    with pytest.raises(DataError, match="no dataset found"):
        load_dataset(tmp_path)


# Split ------------------------------------------------------------------------------------


def test_split_orders_by_time_then_file_order() -> None:
    # user 1: times 10, 30, 30, 20 -> order items 100, 103, 101, 102: the tie keeps file order.
    # user 2: two rows -> all train. user 3: three rows interleaved with user 1.
    interactions = Interactions(
        user_ids=np.array([1, 3, 1, 1, 2, 3, 1, 2, 3]),
        item_ids=np.array([100, 300, 101, 102, 200, 301, 103, 201, 302]),
        ratings=np.ones(9),
        timestamps=np.array([10, 5, 30, 30, 7, 6, 20, 8, 6]),
    )

    split = split_leave_last_out(interactions)

    assert split.test.item_ids.tolist() == [102, 302]
    assert split.valid.item_ids.tolist() == [101, 301]
    assert split.train.item_ids.tolist() == [100, 103, 200, 201, 300]
    assert split.train.user_ids.tolist() == [1, 1, 2, 2, 3]


def test_a_consuming_split_gives_the_same_parts_in_the_logs_own_arrays() -> None:
    """``consume=True`` (what training does) builds the train part over the log's writable
    arrays instead of a copy of them; the parts are those of a copying split, string ids and
    other columns included, and a read-only column (a view of pyarrow's buffer) is copied."""
    rng = np.random.default_rng(0)
    users = np.array([f"u{u}" for u in rng.integers(0, 40, 600)])
    items = np.array([f"v{i}" for i in rng.permutation(600)])
    hours = np.array([str(h) for h in rng.integers(0, 24, 600)])
    stamps = rng.integers(0, 50, 600)
    stamps.flags.writeable = False

    def log() -> Interactions:
        return Interactions(
            user_ids=users.copy(),
            item_ids=items.copy(),
            ratings=np.ones(600, dtype=np.float32),
            timestamps=stamps,
            columns={"hour": hours.copy()},
        )

    copied = split_leave_last_out(log())
    consumed_log = log()
    consumed = split_leave_last_out(consumed_log, consume=True)
    for name in ("train", "valid", "test"):
        a, b = getattr(copied, name), getattr(consumed, name)
        for column in ("user_ids", "item_ids", "ratings", "timestamps"):
            np.testing.assert_array_equal(getattr(a, column), getattr(b, column))
        np.testing.assert_array_equal(a.columns["hour"], b.columns["hour"])
    assert np.shares_memory(consumed.train.item_ids, consumed_log.item_ids)
    assert not np.shares_memory(consumed.train.timestamps, stamps)
    assert np.array_equal(consumed_log.timestamps, stamps)


def test_split_real_data(ml100k: Dataset) -> None:
    split = split_leave_last_out(ml100k.interactions)
    parts = (split.train, split.valid, split.test)

    assert sum(len(p) for p in parts) == len(ml100k.interactions)
    all_users = np.unique(ml100k.interactions.user_ids)
    for part in (split.valid, split.test):
        np.testing.assert_array_equal(part.user_ids, all_users)  # one row per user, in user order
    for part in parts:
        keys = np.stack([part.user_ids, part.timestamps], axis=1)
        assert np.all(np.diff(part.user_ids) >= 0)
        same_user = keys[1:, 0] == keys[:-1, 0]
        assert np.all(keys[1:, 1][same_user] >= keys[:-1, 1][same_user])
    last_train = np.full(all_users.max() + 1, np.iinfo(np.int64).min)
    np.maximum.at(last_train, split.train.user_ids, split.train.timestamps)
    assert np.all(split.test.timestamps >= split.valid.timestamps)
    assert np.all(split.valid.timestamps >= last_train[split.valid.user_ids])
    original = sorted(
        zip(
            *(
                getattr(ml100k.interactions, c).tolist()
                for c in ("user_ids", "item_ids", "timestamps")
            ),
            strict=False,
        )
    )
    combined = sorted(
        (u, i, t)
        for p in parts
        for u, i, t in zip(
            p.user_ids.tolist(), p.item_ids.tolist(), p.timestamps.tolist(), strict=False
        )
    )
    assert combined == original


# Fetch ------------------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def fake_wheel(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    contents = {"pkg/data/a.inter": b"user_id:token\n1\n", "pkg/data/a.item": b"item_id:token\n7\n"}
    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
        archive.writestr("pkg/__init__.py", b"")
    members = {name: _sha(data) for name, data in contents.items()}
    return wheel, _sha(wheel.read_bytes()), members


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_extract_verified_writes_files_and_sums(
    fake_wheel: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    wheel, wheel_sha, members = fake_wheel
    cache = tmp_path / "cache"

    dest = extract_verified(wheel, wheel_sha, members, cache / "fake")

    assert dest == cache / "fake"
    assert sorted(p.name for p in cache.iterdir()) == ["fake"]
    assert (dest / "a.inter").read_bytes() == b"user_id:token\n1\n"
    assert (dest / "SHA256SUMS").read_text().splitlines() == [
        f"{members['pkg/data/a.inter']}  a.inter",
        f"{members['pkg/data/a.item']}  a.item",
    ]


@pytest.mark.parametrize("fault", ["wheel digest", "member digest", "missing member"])
def test_extract_verified_failure_leaves_no_partial_and_keeps_good_copy(
    fake_wheel: tuple[Path, str, dict[str, str]], tmp_path: Path, fault: str
) -> None:
    wheel, wheel_sha, members = fake_wheel
    cache = tmp_path / "cache"
    if fault == "wheel digest":
        wheel_sha = "0" * 64
    elif fault == "member digest":
        members = {**members, "pkg/data/a.item": "0" * 64}
    else:
        members = {**members, "pkg/data/a.user": "0" * 64}

    with pytest.raises(DataError):
        extract_verified(wheel, wheel_sha, members, cache / "fresh")
    assert not cache.exists() or list(cache.iterdir()) == []

    good = extract_verified(*fake_wheel, cache / "good")
    before = _tree(good)
    with pytest.raises(DataError):
        extract_verified(wheel, wheel_sha, members, good)
    assert _tree(good) == before
    assert sorted(p.name for p in cache.iterdir()) == ["good"]


def test_extract_verified_replaces_damaged_copy(
    fake_wheel: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    dest = extract_verified(*fake_wheel, tmp_path / "cache" / "fake")
    (dest / "a.item").write_bytes(b"damaged")

    extract_verified(*fake_wheel, dest)

    assert (dest / "a.item").read_bytes() == b"item_id:token\n7\n"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fake"]


def _no_subprocess(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"subprocess.run called: {args}")


def _cached_copy(cache: Path) -> Path:
    shared = ml100k_path()
    folder = cache / "movielens-100k"
    folder.mkdir(parents=True)
    for name in RECBOLE_FILES:
        shutil.copyfile(shared / name, folder / name)
    return folder


def test_fetch_uses_verified_cache_without_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _cached_copy(tmp_path)
    monkeypatch.setattr(subprocess, "run", _no_subprocess)

    assert fetch_movielens_100k(cache_dir=tmp_path) == folder
    monkeypatch.setenv("YTREC_DATA_HOME", str(tmp_path))
    assert fetch_movielens_100k() == folder
    assert resolve_dataset("movielens-100k") == folder
    assert load_dataset(folder).name == "movielens-100k"


def test_fetch_reports_pip_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command[1:6] == ["-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        assert "recbole==1.2.1" in command
        return subprocess.CompletedProcess(command, 1, stdout="", stderr="ERROR: no network")

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(DataError, match="no network"):
        fetch_movielens_100k(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "movielens-100k").exists()


def test_fetch_rejects_wrong_local_wheel(
    fake_wheel: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    with pytest.raises(DataError, match="does not match"):
        fetch_movielens_100k(cache_dir=tmp_path / "cache", wheel=fake_wheel[0])
    assert not (tmp_path / "cache" / "movielens-100k").exists()


def test_resolve_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run", _no_subprocess)
    assert resolve_dataset(str(tmp_path)) == tmp_path
    with pytest.raises(DataError, match="ytrec data fetch"):
        resolve_dataset("no-such-dataset", cache_dir=tmp_path)
    with pytest.raises(DataError, match="ytrec data fetch movielens-100k"):
        resolve_dataset("movielens-100k", cache_dir=tmp_path / "empty")
    folder = _cached_copy(tmp_path / "cache")
    (folder / "ml-100k.user").write_text("damaged")
    with pytest.raises(DataError, match="ytrec data fetch movielens-100k"):
        resolve_dataset("movielens-100k", cache_dir=tmp_path / "cache")
