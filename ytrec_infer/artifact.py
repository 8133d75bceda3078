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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ytrec_infer.errors import ArtifactError
from ytrec_infer.item_attributes import manifest_entries
from ytrec_infer.manifest_integrity import (
    bounded_int,
    check_feature_fills,
    check_manifest_digest,
)
from ytrec_infer.safe_load import artifact_errors, read_json

FORMAT_NAME = "ytrec-artifact"
FORMAT_VERSION = "2.0"
MANIFEST = "manifest.json"

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
class TensorSpec:
    """Name, element type and shape of one model input or output (str dims are dynamic)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelSpec:
    """One ONNX network of the artifact and the tensors it exchanges."""

    file: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class IndexSpec:
    """The hnswlib index: its parameters are recorded because the file does not keep ``ef``."""

    file: str
    space: str
    dim: int
    num_elements: int
    M: int
    ef_construction: int
    ef_search: int


@dataclass(frozen=True)
class Manifest:
    """A verified manifest: typed views of the parts the runtime needs, plus the raw JSON."""

    root: Path
    raw: Mapping[str, Any]
    num_items: int
    models: Mapping[str, ModelSpec]
    index: IndexSpec
    features: Mapping[str, Any]
    item_attributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per filterable item feature, its kind and array files (optional, see
    :mod:`ytrec_infer.item_attributes`)."""

    def path(self, name: str) -> Path:
        """Absolute path of a listed file."""
        return self.root / name


def _require(
    mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str
) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise ArtifactError(MANIFEST, f"missing '{where}{key}'")
    value = mapping[key]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ArtifactError(MANIFEST, f"'{where}{key}' has the wrong type ({type(value).__name__})")
    return value


def _tensor_specs(items: Any, where: str) -> tuple[TensorSpec, ...]:
    if not isinstance(items, list) or not items:
        raise ArtifactError(MANIFEST, f"'{where}' must be a non-empty list")
    specs = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]."
        shape = _require(item, "shape", list, at)
        if not all(isinstance(d, (int, str)) and not isinstance(d, bool) for d in shape):
            raise ArtifactError(MANIFEST, f"'{at}shape' must hold ints and names")
        specs.append(
            TensorSpec(
                _require(item, "name", str, at), _require(item, "dtype", str, at), tuple(shape)
            )
        )
    return tuple(specs)


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
            f"format_version {version} is older than {FORMAT_VERSION}, which this runtime reads "
            "(2.0 declares its feature schema and feeds user_numeric): re-export it by "
            "training again with this version, `ytrec train --data DATA --out DIR`",
        )
    return major, minor


def _verify_files(root: Path, files: Mapping[str, Any]) -> None:
    """Every listed file is a regular file inside ``root`` with the recorded size and sha256,
    and ``root`` holds nothing else: an artifact is exactly what its manifest says."""
    resolved_root = root.resolve()
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
        size = _require(entry, "size", int, f"files.{name}.")
        expected = _require(entry, "sha256", str, f"files.{name}.")
        actual_size = path.stat().st_size
        if actual_size != size:
            raise ArtifactError(
                path, f"size {actual_size} bytes, manifest says {size}: truncated or replaced"
            )
        if sha256_file(path) != expected:
            raise ArtifactError(
                path, "sha256 does not match the manifest: the file is corrupted or was modified"
            )
    extra = sorted(p.name for p in root.iterdir() if p.name != MANIFEST and p.name not in files)
    if extra:
        raise ArtifactError(root, f"files not listed in the manifest: {', '.join(extra)}")


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
    version = _check_version(_require(raw, "format_version", str, ""), root)
    check_manifest_digest(raw, version, manifest_path)
    files = _require(raw, "files", dict, "")
    _verify_files(root, files)

    catalog = _require(raw, "catalog", dict, "")
    num_items = _require(catalog, "num_items", int, "catalog.")
    bounded_int(num_items, 0, MAX_ITEMS, "catalog.num_items", manifest_path)
    for key in ("item_ids", "titles", "popularity", "item_vectors"):
        if _require(catalog, key, str, "catalog.") not in files:
            raise ArtifactError(manifest_path, f"catalog.{key} names a file that is not listed")
    attributes = manifest_entries(catalog, files, manifest_path)

    models = {}
    for name, spec in _require(raw, "models", dict, "").items():
        file = _require(spec, "file", str, f"models.{name}.")
        if file not in files:
            raise ArtifactError(manifest_path, f"models.{name}.file {file!r} is not listed")
        models[name] = ModelSpec(
            file,
            _tensor_specs(spec.get("inputs"), f"models.{name}.inputs"),
            _tensor_specs(spec.get("outputs"), f"models.{name}.outputs"),
        )
    for required in ("user_tower", "ranker"):
        if required not in models:
            raise ArtifactError(manifest_path, f"models.{required} is missing")

    idx = _require(raw, "index", dict, "")
    index = IndexSpec(
        file=_require(idx, "file", str, "index."),
        space=_require(idx, "space", str, "index."),
        dim=_require(idx, "dim", int, "index."),
        num_elements=_require(idx, "num_elements", int, "index."),
        M=_require(idx, "M", int, "index."),
        ef_construction=_require(idx, "ef_construction", int, "index."),
        ef_search=_require(idx, "ef_search", int, "index."),
    )
    if index.file not in files:
        raise ArtifactError(manifest_path, f"index.file {index.file!r} is not listed")
    _check_index_bounds(index, manifest_path)
    if index.num_elements != num_items:
        raise ArtifactError(
            manifest_path,
            f"index.num_elements {index.num_elements} != catalog.num_items {num_items}",
        )
    features = _require(raw, "features", dict, "")
    check_feature_fills(features, manifest_path)
    return Manifest(root, raw, num_items, models, index, features, attributes)
