"""Reading artifact files: every failure is an ArtifactError naming the file and the reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from export import staging_safety
from ytrec_infer.errors import ArtifactError
from ytrec_infer.safe_load import artifact_errors, parse_json, read_json, read_npy


@pytest.mark.parametrize(
    "raised",
    [
        PermissionError(13, "Permission denied", "/a/titles.json"),
        RecursionError("maximum recursion depth exceeded"),
        OverflowError("int too large"),
        MemoryError(),
        ValueError("Exceeds the limit (4300 digits)"),
    ],
)
def test_any_failure_while_reading_becomes_an_artifact_error(raised: BaseException) -> None:
    with pytest.raises(ArtifactError) as caught, artifact_errors(Path("/a/manifest.json")):
        raise raised
    named = "/a/titles.json" if isinstance(raised, OSError) else "/a/manifest.json"
    assert str(caught.value).startswith(named + ": cannot be read")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "NaN is not a number"),
        ('{"a": -Infinity}', "-Infinity is not a number"),
        ('{"a": 1e999}', "overflows a float"),
        ('{"a": ' + "7" * 20 + "}", "integer with 20 digits"),
    ],
)
def test_json_is_strict(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_json(text)
    plain = parse_json('{"a": [1, 2.5, -3, "x", null, true]}')
    assert plain == {"a": [1, 2.5, -3, "x", None, True]}


def test_json_nesting_and_symlinks_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 40 + "]" * 40)
    with pytest.raises(ArtifactError, match="deep.json: nests deeper than 32 levels"):
        read_json(deep)
    (tmp_path / "link.json").symlink_to(deep)
    with pytest.raises(ArtifactError, match="link.json: is a symbolic link"):
        read_json(tmp_path / "link.json")


def test_npy_shape_is_checked_against_the_file_size_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.arange(10, dtype=np.int64))
    array = read_npy(path, "int64", 1)
    assert array.tolist() == list(range(10)) and not array.flags.writeable
    header = np.lib.format.header_data_from_array_1_0(array)
    header["shape"] = (10**12,)
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(array.tobytes())
    with pytest.raises(ArtifactError, match=r"a\.npy: header says shape \(1000000000000,\)"):
        read_npy(path, "int64", 1)
    np.save(path, np.arange(10, dtype=np.int64))
    with pytest.raises(ArtifactError, match="expected a 1-D float32 array"):
        read_npy(path, "float32", 1)


def test_stale_staging_folders_go_and_live_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / ".staging-dead"
    (dead / "sub").mkdir(parents=True)
    live = tmp_path / ".staging-live"
    with staging_safety.held_lock(live):
        live.mkdir()
        removed = staging_safety.remove_stale(tmp_path, ".staging-")
        assert removed == [dead] and live.is_dir() and not dead.exists()
    assert staging_safety.remove_stale(tmp_path, ".staging-") == [live]
    assert not list(tmp_path.iterdir())


def test_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "which").write_text("old")
    (new / "which").write_text("new")
    if not staging_safety.exchange(new, old):
        pytest.skip("this OS cannot exchange paths atomically")
    assert (old / "which").read_text() == "new" and (new / "which").read_text() == "old"
    assert os.path.isdir(old)
