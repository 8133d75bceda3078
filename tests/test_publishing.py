"""Versioned publishing: exports become complete ``vNNNNNN`` folders; loads pick the newest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from export import bundle
from ytrec_infer import ArtifactError, Recommender
from ytrec_infer.artifact import MANIFEST, RANKER
from ytrec_infer.versions import published_versions, resolve


def _export(artifact_dir: Path, root: Path, keep: int | None = None) -> Path:
    """Publish a copy of the session's artifact into ``root`` the way the exporter does."""
    with bundle.staging(root) as folder:
        for path in artifact_dir.iterdir():
            shutil.copy(path, folder / path.name)
        return bundle.publish(folder, root, keep=keep)


def test_exports_become_numbered_versions_and_load_picks_the_newest(
    artifact_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    first = _export(artifact_dir, root)
    second = _export(artifact_dir, root)
    assert (first.name, second.name) == ("v000001", "v000002")
    assert sorted(p.name for p in root.iterdir()) == ["v000001", "v000002"], "no staging left"
    assert Recommender.load(root).manifest.root == second
    assert Recommender.load(first).manifest.root == first, "a version folder loads by itself"


def test_a_half_written_export_is_never_picked(artifact_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    good = _export(artifact_dir, root)
    with pytest.raises(RuntimeError, match="killed"), bundle.staging(root) as folder:
        shutil.copy(artifact_dir / RANKER, folder / RANKER)
        raise RuntimeError("killed mid-export")
    unfinished = root / ".staging-crashed"  # what a killed process leaves behind
    shutil.copytree(artifact_dir, unfinished)
    copying = root / "v000007"  # a version folder whose manifest has not arrived yet
    copying.mkdir()
    shutil.copy(artifact_dir / RANKER, copying / RANKER)
    assert resolve(root) == good
    assert [p for _, p in published_versions(root)] == [good]
    assert Recommender.load(root).manifest.root == good


def test_a_taken_version_name_is_skipped_not_overwritten(
    artifact_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    _export(artifact_dir, root)
    (root / "v000002").mkdir()  # a concurrent export reserved this name first
    assert _export(artifact_dir, root).name == "v000003"


def test_old_versions_beyond_keep_are_pruned(artifact_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    for _ in range(4):
        newest = _export(artifact_dir, root, keep=2)
    assert [p.name for _, p in published_versions(root)] == ["v000003", "v000004"]
    assert Recommender.load(root).manifest.root == newest


def test_a_damaged_newest_version_raises_instead_of_serving_an_older_one(
    artifact_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    _export(artifact_dir, root)
    newest = _export(artifact_dir, root)
    (newest / RANKER).write_bytes(b"junk")
    with pytest.raises(ArtifactError, match=r"v000002/ranker\.onnx"):
        Recommender.load(root)


def test_a_root_without_versions_is_not_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtifactError, match="neither manifest.json nor a published version"):
        Recommender.load(tmp_path / "empty")


def test_a_plain_artifact_folder_still_loads_and_is_replaced_whole(
    artifact_dir: Path, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(artifact_dir, plain)
    assert Recommender.load(plain).manifest.root == plain
    assert _export(artifact_dir, plain) == plain
    assert (plain / MANIFEST).is_file() and not published_versions(plain)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain"]


def test_exports_never_write_into_a_folder_of_other_files(tmp_path: Path) -> None:
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="not an artifact"):
        bundle.check_destination(precious)
    with pytest.raises(FileExistsError), bundle.staging(precious):
        pass
    assert [p.name for p in precious.iterdir()] == ["thesis.txt"]
