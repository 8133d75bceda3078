"""Published versions: a root folder of complete artifacts named ``v000001``, ``v000002``, ...

An export assembles its artifact in a hidden staging folder inside the root and renames it to
the next version name only once every file and the manifest are written and fsynced, so a
version folder is always complete. :func:`resolve` turns what a user passes to
``Recommender.load`` into one artifact folder: a plain artifact folder (one with
``manifest.json``) is itself; a root of versions gives its newest version. The newest version
is never skipped for an older one when it is damaged: loading it raises instead, so a host app
does not silently serve an old model (see :mod:`ytrec_infer.reloading` for keeping the old one
while a bad new one is reported).
"""

from __future__ import annotations

import re
from pathlib import Path

from ytrec_infer.artifact import MANIFEST
from ytrec_infer.errors import ArtifactError

VERSION_PATTERN = re.compile(r"v(\d{6,})")


def version_name(number: int) -> str:
    """The folder name of version ``number`` (zero-padded so names sort like numbers)."""
    return f"v{number:06d}"


def published_versions(root: Path) -> list[tuple[int, Path]]:
    """The complete versions under ``root`` (regular folders holding a manifest), oldest first.

    Hidden entries (staging folders of exports in progress), symbolic links and folders
    without a manifest are not versions.
    """
    found = []
    for entry in root.iterdir():
        match = VERSION_PATTERN.fullmatch(entry.name)
        if match is None or entry.is_symlink() or not entry.is_dir():
            continue
        if (entry / MANIFEST).is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def is_plain_artifact(path: Path) -> bool:
    """True when ``path`` is itself an artifact folder (it holds ``manifest.json``)."""
    return (path / MANIFEST).is_file()


def resolve(path: str | Path) -> Path:
    """The artifact folder to load for ``path``: itself if plain, else its newest version."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(path, "is not an artifact folder (no such directory)")
    if is_plain_artifact(path):
        return path
    versions = published_versions(path)
    if not versions:
        raise ArtifactError(
            path,
            f"holds neither {MANIFEST} nor a published version (v000001, ...): not an artifact, "
            "or an export that did not finish",
        )
    return versions[-1][1]
