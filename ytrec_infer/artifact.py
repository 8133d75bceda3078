"""The artifact format: one folder, one versioned ``manifest.json``, checksummed files.

This module is the single description of the format (see ``docs/artifact-format.md`` for the
prose version). ``export/`` writes artifacts with the names and helpers defined here, and the
runtime reads them through :func:`read_manifest`, which verifies every file's size and sha256
*before* any byte reaches onnxruntime or hnswlib. Nothing in an artifact executes code: models
are ONNX, arrays are ``.npy`` read with ``allow_pickle=False``, metadata is JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ytrec_infer.errors import ArtifactError
from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.manifest import (
    ArtifactDescription,
    AttributeFiles,
    CatalogSpec,
    IndexSpec,
    ModelSpec,
)
from ytrec_infer.manifest_fields import MANIFEST as MANIFEST
from ytrec_infer.manifest_fields import require
from ytrec_infer.manifest_integrity import (
    bounded_int,
    check_feature_fills,
    check_manifest_digest,
)
from ytrec_infer.safe_load import artifact_errors, read_json

FORMAT_NAME = "ytrec-artifact"
FORMAT_VERSION = "2.1"
"""2.1 adds the optional ``features.context`` (context features); 2.0 artifacts read as before."""

USER_TOWER = "user_tower.onnx"
RANKER = "ranker.onnx"
INDEX = "items.hnsw"
ITEM_IDS = "item_ids.npy"
ITEM_VECTORS = "item_vectors.npy"
POPULARITY = "popularity.npy"
TITLES = "titles.json"

_CHUNK = 1 << 20
MAX_ITEMS = (1 << 32) - 2
"""hnswlib's element ids are uint32."""
MAX_DIM = 1 << 16
MAX_M = 1 << 14
"""Link counts are 16-bit words, and level 0 holds 2M links."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large indexes do not need to fit twice in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A verified manifest: its typed :class:`~ytrec_infer.manifest.ArtifactDescription`, the
    checked file list, and the raw JSON (for display only)."""

    root: Path
    raw: Mapping[str, Any]
    description: ArtifactDescription
    files: Mapping[str, FileEntry]

    @property
    def num_items(self) -> int:
        return self.description.catalog.num_items

    @property
    def catalog(self) -> CatalogSpec:
        return self.description.catalog

    @property
    def models(self) -> Mapping[str, ModelSpec]:
        return self.description.models

    @property
    def index(self) -> IndexSpec:
        return self.description.index

    @property
    def features(self) -> FeatureSchema:
        return self.description.features

    @property
    def item_attributes(self) -> Mapping[str, AttributeFiles]:
        """Per filterable item feature, its kind and array files (optional, see
        :mod:`ytrec_infer.item_attributes`)."""
        return self.description.catalog.item_attributes

    def path(self, name: str) -> Path:
        """Absolute path of a listed file."""
        return self.root / name


@dataclass(frozen=True)
class FileEntry:
    """Size and sha256 of one listed file."""

    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256}


def _check_version(version: str, root: Path) -> tuple[int, int]:
    try:
        major, minor = (int(part) for part in version.split("."))
    except ValueError:
        raise ArtifactError(
            root / MANIFEST, f"format_version {version!r} is not 'MAJOR.MINOR': corrupted?"
        ) from None
    ours = int(FORMAT_VERSION.split(".")[0])
    if major > ours:
        raise ArtifactError(
            root / MANIFEST,
            f"format_version {version} is newer than this runtime reads ({FORMAT_VERSION}): "
            "written by a newer ytrec-infer? Upgrade ytrec-infer.",
        )
    if major < ours:
        raise ArtifactError(
            root / MANIFEST,
            f"format_version {version} is older than {ours}.0, the oldest this runtime reads "
            "(2.0 declares its feature schema and feeds user_numeric): re-export it by "
            "training again with this version, `ytrec train --data DATA --out DIR`",
        )
    return major, minor


def _verify_files(root: Path, files: Mapping[str, Any]) -> dict[str, FileEntry]:
    """Every listed file is a regular file inside ``root`` with the recorded size and sha256,
    and ``root`` holds nothing else: an artifact is exactly what its manifest says."""
    resolved_root = root.resolve()
    entries = {}
    for name, entry in files.items():
        if (
            not isinstance(name, str)
            or name != os.path.basename(name)
            or name in {"", ".", ".."}
            or "\0" in name
        ):
            raise ArtifactError(
                root / MANIFEST, f"file name {name!r} is not a plain name inside the artifact"
            )
        path = root / name
        if path.is_symlink():
            raise ArtifactError(path, "is a symbolic link; artifacts hold regular files only")
        if not path.is_file():
            raise ArtifactError(path, "is listed in the manifest but missing")
        if path.resolve().parent != resolved_root:
            raise ArtifactError(path, "resolves outside the artifact folder")
        size = require(entry, "size", int, f"files.{name}.")
        expected = require(entry, "sha256", str, f"files.{name}.")
        actual_size = path.stat().st_size
        if actual_size != size:
            raise ArtifactError(
                path, f"size {actual_size} bytes, manifest says {size}: truncated or replaced"
            )
        if sha256_file(path) != expected:
            raise ArtifactError(
                path, "sha256 does not match the manifest: the file is corrupted or was modified"
            )
        entries[name] = FileEntry(size, expected)
    extra = sorted(p.name for p in root.iterdir() if p.name != MANIFEST and p.name not in files)
    if extra:
        raise ArtifactError(root, f"files not listed in the manifest: {', '.join(extra)}")
    return entries


def _check_index_bounds(index: IndexSpec, path: Path) -> None:
    """Index parameters within what hnswlib can hold (ids are uint32, counts 16 bits) and an
    ``ef_search`` it accepts: a negative one is a TypeError inside hnswlib, a huge one only
    repeats an exhaustive search."""
    bounded_int(index.dim, 1, MAX_DIM, "index.dim", path)
    bounded_int(index.M, 1, MAX_M, "index.M", path)
    bounded_int(index.ef_search, 1, max(index.num_elements, 1), "index.ef_search", path)


def read_manifest(root: str | Path) -> Manifest:
    """Parse and verify an artifact folder; raises :class:`ArtifactError` naming the bad file."""
    root = Path(root)
    with artifact_errors(root / MANIFEST):
        return _read_manifest(root)


def _read_manifest(root: Path) -> Manifest:
    manifest_path = root / MANIFEST
    if not root.is_dir():
        raise ArtifactError(root, "is not an artifact folder (no such directory)")
    if not manifest_path.is_symlink() and not manifest_path.is_file():
        raise ArtifactError(
            manifest_path, "missing: not an artifact folder, or an export that did not finish"
        )
    raw = read_json(manifest_path)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME:
        raise ArtifactError(manifest_path, f"is not a {FORMAT_NAME} manifest")
    version = _check_version(require(raw, "format_version", str, ""), root)
    check_manifest_digest(raw, version, manifest_path)
    files = _verify_files(root, require(raw, "files", dict, ""))
    check_feature_fills(require(raw, "features", dict, ""), manifest_path)
    try:
        description = ArtifactDescription.from_dict(raw)
    except ArtifactError as exc:
        raise ArtifactError(manifest_path, exc.reason) from None
    bounded_int(description.catalog.num_items, 0, MAX_ITEMS, "catalog.num_items", manifest_path)
    for where, name in description.referenced_files().items():
        if name not in files:
            raise ArtifactError(manifest_path, f"{where} {name!r} names a file that is not listed")
    index = description.index
    _check_index_bounds(index, manifest_path)
    if index.num_elements != description.catalog.num_items:
        raise ArtifactError(
            manifest_path,
            f"index.num_elements {index.num_elements} != catalog.num_items "
            f"{description.catalog.num_items}",
        )
    return Manifest(root, raw, description, files)
