"""Write an artifact folder: stage every file, checksum it into the manifest, publish atomically.

The folder is assembled under a temporary name next to its destination (same filesystem),
every file and the folder are fsynced, the manifest is written last, the runtime loads the
staged copy as a final check, and only then is it renamed into place. A failed or interrupted
export leaves the previous artifact untouched.
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

from ytrec_infer import artifact


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``out``; removed if the block raises."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.staging-{uuid.uuid4().hex[:8]}"
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


def finalize(folder: Path, body: dict[str, Any]) -> dict[str, Any]:
    """Checksum every file in ``folder`` into ``body['files']`` and write the manifest last."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == artifact.MANIFEST:
            continue
        _fsync(path)
        files[path.name] = {"size": path.stat().st_size, "sha256": artifact.sha256_file(path)}
    manifest = {
        "format": artifact.FORMAT_NAME,
        "format_version": artifact.FORMAT_VERSION,
        **body,
        "files": files,
    }
    manifest_path = folder / artifact.MANIFEST
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=False), encoding="utf-8")
    _fsync(manifest_path)
    _fsync(folder)
    return manifest


def check_destination(out: Path) -> None:
    """Refuse to overwrite anything but an earlier artifact (or an empty folder).

    Called before training starts, so a mistyped ``--out`` pointing at a folder of the user's
    own files fails at once instead of being replaced after the export.
    """
    if not out.exists():
        return
    if not out.is_dir() or out.is_symlink():
        raise FileExistsError(f"{out} exists and is not a folder; choose another output path")
    if any(out.iterdir()) and not (out / artifact.MANIFEST).is_file():
        raise FileExistsError(
            f"{out} is a non-empty folder without {artifact.MANIFEST}, not an artifact: "
            "refusing to replace it; choose another output path"
        )


def publish(staged: Path, out: Path) -> Path:
    """Move a finished artifact into place; an existing one is replaced only after this succeeds."""
    check_destination(out)
    if out.exists():
        retired = out.parent / f".{out.name}.retired-{uuid.uuid4().hex[:8]}"
        os.replace(out, retired)
        os.replace(staged, out)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staged, out)
    _fsync(out.parent)
    return out
