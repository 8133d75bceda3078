"""Write an artifact folder: stage every file, checksum it into the manifest, publish atomically.

An export's destination is a root of published versions (``out/v000001``, ``out/v000002``,
...; see :mod:`ytrec_infer.versions`). The folder is assembled in a hidden staging folder inside
that root (same filesystem), every file and the folder are fsynced, the manifest is written
last, the runtime loads the staged copy as a final check, and only then is it renamed to the
next version name. Readers only ever see complete versions; a failed or interrupted export
leaves the published versions untouched. A destination that is an older plain artifact folder
(one ``manifest.json`` at its top) is replaced whole instead, as before versioning.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from export import staging_safety
from ytrec_infer import artifact, versions
from ytrec_infer.manifest import ArtifactDescription
from ytrec_infer.manifest_integrity import with_digest

KEEP_VERSIONS = 3


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh hidden folder on the filesystem of ``out``; removed if the block raises.

    Inside ``out`` when it is (or will become) a root of versions, beside it when ``out`` is
    a plain artifact folder that will be replaced whole. Staging folders left by exports that
    were killed are removed first; those of exports still running are left alone
    (:mod:`export.staging_safety`).
    """
    check_destination(out)
    if versions.is_plain_artifact(out):
        parent, prefix = out.parent, f".{out.name}.staging-"
    else:
        out.mkdir(parents=True, exist_ok=True)
        parent, prefix = out, ".staging-"
    staging_safety.remove_stale(parent, prefix)
    tmp = parent / f"{prefix}{uuid.uuid4().hex[:8]}"
    with staging_safety.held_lock(tmp):
        tmp.mkdir()
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def save_array(folder: Path, name: str, array: np.ndarray) -> None:
    """Save a plain numeric array (no object dtype, so it loads with allow_pickle=False)."""
    if array.dtype == object:
        raise TypeError(f"{name}: object arrays cannot go into an artifact")
    np.save(folder / name, array, allow_pickle=False)


def save_json(folder: Path, name: str, value: Any) -> None:
    (folder / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def finalize(folder: Path, description: ArtifactDescription) -> dict[str, Any]:
    """Checksum every file in ``folder`` into the manifest's ``files`` and write the manifest
    (``description`` with the format and the file list) last."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == artifact.MANIFEST:
            continue
        _fsync(path)
        entry = artifact.FileEntry(path.stat().st_size, artifact.sha256_file(path))
        files[path.name] = entry.to_dict()
    manifest = with_digest(
        {
            "format": artifact.FORMAT_NAME,
            "format_version": artifact.FORMAT_VERSION,
            **description.to_dict(),
            "files": files,
        }
    )
    manifest_path = folder / artifact.MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False), encoding="utf-8")
    _fsync(manifest_path)
    _fsync(folder)
    return manifest


def _is_version_root(out: Path) -> bool:
    """Every entry is a version folder or hidden (staging folders of running exports)."""
    return all(
        entry.name.startswith(".")
        or (versions.VERSION_PATTERN.fullmatch(entry.name) and entry.is_dir())
        for entry in out.iterdir()
    )


def check_destination(out: Path) -> None:
    """Refuse to write into anything but a root of versions, an old artifact, or nothing.

    Called before training starts, so a mistyped ``--out`` pointing at a folder of the user's
    own files fails at once instead of being written into after the export.
    """
    if not out.exists():
        return
    if not out.is_dir() or out.is_symlink():
        raise FileExistsError(f"{out} exists and is not a folder; choose another output path")
    if not versions.is_plain_artifact(out) and not _is_version_root(out):
        raise FileExistsError(
            f"{out} is a non-empty folder, not an artifact ({artifact.MANIFEST}) or a root of "
            "published versions (v000001, ...): refusing to write into it; choose another "
            "output path"
        )


def _replace_plain(staged: Path, out: Path) -> Path:
    """Swap the staged folder in for ``out`` in one atomic exchange (no instant without an
    artifact at ``out``), or with two renames where the OS cannot exchange."""
    if staging_safety.exchange(staged, out):
        shutil.rmtree(staged, ignore_errors=True)  # now the old artifact
    else:
        retired = out.parent / f".{out.name}.retired-{uuid.uuid4().hex[:8]}"
        os.replace(out, retired)
        os.replace(staged, out)
        shutil.rmtree(retired, ignore_errors=True)
    _fsync(out.parent)
    return out


def _prune(out: Path, keep: int) -> None:
    """Remove all but the newest ``keep`` versions (a process serving an older one keeps its
    open files and memory maps; only new loads stop seeing it)."""
    for _, old in versions.published_versions(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def publish(staged: Path, out: Path, keep: int | None = KEEP_VERSIONS) -> Path:
    """Make a finished staged artifact visible and return where it went.

    Into a root of versions: renamed to the next free version name (an atomic rename within
    one folder; a concurrent export that took the name first makes this one take the next),
    then versions beyond the newest ``keep`` are removed (``None`` keeps all). Onto a plain
    artifact folder: that folder is replaced whole.
    """
    check_destination(out)
    if versions.is_plain_artifact(out):
        return _replace_plain(staged, out)
    out.mkdir(parents=True, exist_ok=True)
    existing = versions.published_versions(out)
    number = existing[-1][0] + 1 if existing else 1
    while True:
        target = out / versions.version_name(number)
        try:
            target.mkdir()
        except FileExistsError:
            number += 1
            continue
        os.replace(staged, target)
        break
    _fsync(out)
    if keep is not None:
        _prune(out, max(keep, 1))
    return target
