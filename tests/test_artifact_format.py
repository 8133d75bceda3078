"""The loader refuses damaged or tampered artifacts before any native library reads them,
and a failed export never replaces a good artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export import bundle
from ytrec_infer import ArtifactError, Recommender
from ytrec_infer.artifact import INDEX, MANIFEST, RANKER, read_manifest
from ytrec_infer.manifest_integrity import with_digest


@pytest.fixture()
def copy(artifact_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "artifact"
    shutil.copytree(artifact_dir, target)
    return target


def _edit_manifest(folder: Path, change) -> None:
    path = folder / MANIFEST
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(with_digest(data)))


def test_a_good_artifact_loads(copy: Path) -> None:
    assert Recommender.load(copy).num_items == 1682


def test_flipped_bytes_in_the_ranker_are_caught(copy: Path) -> None:
    raw = bytearray((copy / RANKER).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (copy / RANKER).write_bytes(bytes(raw))
    with pytest.raises(ArtifactError, match=r"ranker\.onnx.*sha256"):
        Recommender.load(copy)


def test_truncated_index_is_caught_before_hnswlib(copy: Path) -> None:
    raw = (copy / INDEX).read_bytes()
    (copy / INDEX).write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ArtifactError, match=r"items\.hnsw.*truncated"):
        Recommender.load(copy)


def test_index_header_is_checked_against_the_manifest(copy: Path) -> None:
    _edit_manifest(copy, lambda m: m["index"].update(dim=m["index"]["dim"] + 1))
    with pytest.raises(ArtifactError, match=r"dim \d+, manifest says"):
        Recommender.load(copy)


def test_missing_and_extra_files_are_refused(copy: Path) -> None:
    (copy / "notes.txt").write_text("hello")
    with pytest.raises(ArtifactError, match="not listed in the manifest: notes.txt"):
        Recommender.load(copy)
    (copy / "notes.txt").unlink()
    (copy / RANKER).unlink()
    with pytest.raises(ArtifactError, match=r"ranker\.onnx.*missing"):
        Recommender.load(copy)


def test_symlinks_are_refused(copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.onnx"
    shutil.move(copy / RANKER, outside)
    (copy / RANKER).symlink_to(outside)
    with pytest.raises(ArtifactError, match="symbolic link"):
        Recommender.load(copy)


def test_path_traversal_is_refused(copy: Path) -> None:
    _edit_manifest(
        copy, lambda m: m.update(files={"../outside.onnx": m["files"][RANKER], **m["files"]})
    )
    with pytest.raises(ArtifactError, match="not a plain name"):
        read_manifest(copy)


def test_newer_format_says_so(copy: Path) -> None:
    _edit_manifest(copy, lambda m: m.update(format_version="3.0"))
    with pytest.raises(ArtifactError, match="newer ytrec-infer"):
        Recommender.load(copy)


def test_garbage_manifest_says_corrupted(copy: Path) -> None:
    (copy / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Recommender.load(copy)


def test_failed_export_keeps_the_previous_artifact(copy: Path) -> None:
    before = (copy / MANIFEST).read_text()
    with pytest.raises(RuntimeError, match="export failed"), bundle.staging(copy) as folder:
        (folder / "partial.bin").write_bytes(b"half")
        raise RuntimeError("export failed")
    assert (copy / MANIFEST).read_text() == before
    assert not list(copy.parent.glob(".*staging*"))
    Recommender.load(copy)


def test_publish_replaces_an_existing_artifact_whole(copy: Path, artifact_dir: Path) -> None:
    with bundle.staging(copy) as folder:
        for path in artifact_dir.iterdir():
            shutil.copy(path, folder / path.name)
        bundle.publish(folder, copy)
    assert Recommender.load(copy).num_items == 1682
    assert sorted(p.name for p in copy.parent.iterdir()) == ["artifact"]


def test_export_never_replaces_a_folder_that_is_not_an_artifact(tmp_path: Path) -> None:
    precious = tmp_path / "my-documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="not an artifact"):
        bundle.check_destination(precious)
    with pytest.raises(FileExistsError), bundle.staging(precious) as folder:
        bundle.publish(folder, precious)
    assert (precious / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-documents"]
    bundle.check_destination(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    bundle.check_destination(tmp_path / "empty")
