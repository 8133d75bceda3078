"""Damaged artifacts end in ArtifactError, never in a signal or a wrong answer.

Each case is a damaged copy of the session's artifact, loaded in its own process: one probe
process imports the runtime once and forks a fresh child per case (a crash in hnswlib or
onnxruntime kills only that child, and shows as "signal SIGSEGV" for that case). Two layers
are exercised: plain damage (the checksums must catch it before any native library reads a
byte) and damage whose checksums were recomputed, as a buggy or malicious producer would
write it (the header and graph checks, the ONNX schema check and the readiness check must
catch it; several of these crash or silently mislead hnswlib/onnxruntime when unchecked).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer.artifact import (
    INDEX,
    ITEM_IDS,
    ITEM_VECTORS,
    MANIFEST,
    POPULARITY,
    RANKER,
    TITLES,
    USER_TOWER,
    sha256_file,
)
from ytrec_infer.readiness import READINESS

HISTORY = [50, 172, 181]
HEADER_BYTES = struct.calcsize("<QQQQQQiIQQQdQ")

PROBE = r"""
import json, os, signal, sys
from ytrec_infer import ArtifactError, Recommender
for line in sys.stdin:
    case = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            rec = Recommender.load(case["path"])
            out = {"outcome": "loaded", "ids": rec.recommend(case["history"], k=10).item_ids.tolist()}
        except ArtifactError as exc:
            out = {"outcome": "ArtifactError", "message": str(exc)}
        except BaseException as exc:
            out = {"outcome": type(exc).__name__, "message": str(exc)}
        with os.fdopen(write, "wb") as pipe:
            pipe.write(json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        result = {"outcome": "signal " + signal.Signals(os.WTERMSIG(status)).name}
    elif not data:
        result = {"outcome": "exit %d without a result" % os.WEXITSTATUS(status)}
    else:
        result = json.loads(data)
    print(json.dumps({"case": case["name"], **result}), flush=True)
"""


def _flip(path: Path, offset: int, mask: int = 0xFF) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset % len(raw)] ^= mask
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _edit_manifest(folder: Path, change: Callable[[dict], None]) -> None:
    data = json.loads((folder / MANIFEST).read_text())
    change(data)
    (folder / MANIFEST).write_text(json.dumps(data))


def _resign(folder: Path) -> None:
    """Recompute every listed file's size and sha256, as a producer of a bad file would."""

    def change(data: dict) -> None:
        for name in data["files"]:
            path = folder / name
            data["files"][name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}

    _edit_manifest(folder, change)


def _patch(path: Path, offset: int, fmt: str, value: float) -> None:
    raw = bytearray(path.read_bytes())
    struct.pack_into(fmt, raw, offset, value)
    path.write_bytes(bytes(raw))


def _index_counts(folder: Path) -> tuple[int, int]:
    """Element count and max_m0 of the index header."""
    fields = struct.unpack_from("<QQQQQQiIQQQdQ", (folder / INDEX).read_bytes())
    return fields[2], fields[9]


def _negate_onnx_weights(folder: Path) -> None:
    """Flip the sign bit of every float weight of the user tower, in place in the file."""
    onnx = pytest.importorskip("onnx")
    path = folder / USER_TOWER
    raw = bytearray(path.read_bytes())
    model = onnx.load(str(path))
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and len(init.raw_data) >= 256:
            start = raw.find(init.raw_data)
            assert start >= 0
            for i in range(start + 3, start + len(init.raw_data), 4):
                raw[i] ^= 0x80
    path.write_bytes(bytes(raw))


def _pickled_popularity(folder: Path) -> None:
    np.save(folder / POPULARITY, np.array([{"evil": 1}], dtype=object), allow_pickle=True)


def _symlink(folder: Path) -> None:
    outside = folder.parent / f"{folder.name}-outside.onnx"
    shutil.move(folder / RANKER, outside)
    (folder / RANKER).symlink_to(outside)


def _traversal(folder: Path, name: str) -> None:
    def change(data: dict) -> None:
        data["files"][name] = data["files"].pop(RANKER)
        data["models"]["ranker"]["file"] = name

    _edit_manifest(folder, change)


def _swap_networks(folder: Path) -> None:
    tower, ranker = (folder / USER_TOWER).read_bytes(), (folder / RANKER).read_bytes()
    (folder / USER_TOWER).write_bytes(ranker)
    (folder / RANKER).write_bytes(tower)


def _entry_point(folder: Path) -> None:
    count, _ = _index_counts(folder)
    _patch(folder / INDEX, 52, "<I", count + 1000)


def _neighbour(folder: Path) -> None:
    _patch(folder / INDEX, HEADER_BYTES + 4, "<I", 10**6)


def _upper_neighbour(folder: Path) -> None:
    """Point the first non-empty upper-level link list at an element that does not exist."""
    path = folder / INDEX
    raw = bytearray(path.read_bytes())
    fields = struct.unpack_from("<QQQQQQiIQQQdQ", raw)
    position = HEADER_BYTES + fields[2] * fields[3]
    while True:
        (size,) = struct.unpack_from("<I", raw, position)
        position += 4
        if size and struct.unpack_from("<I", raw, position)[0]:
            struct.pack_into("<I", raw, position + 4, 10**6)
            path.write_bytes(bytes(raw))
            return
        position += size


def _index_vector(folder: Path) -> None:
    _, max_m0 = _index_counts(folder)
    _patch(folder / INDEX, HEADER_BYTES + (max_m0 + 1) * 4, "<f", 0.5)


def _item_vectors_nan(folder: Path) -> None:
    vectors = np.load(folder / ITEM_VECTORS)
    vectors[7, 3] = np.nan
    np.save(folder / ITEM_VECTORS, vectors)


def _readiness_logits(folder: Path) -> None:
    sample = json.loads((folder / READINESS).read_text())
    sample["logits"] = [x + 1.0 for x in sample["logits"]]
    (folder / READINESS).write_text(json.dumps(sample))


def _titles_short(folder: Path) -> None:
    titles = json.loads((folder / TITLES).read_text())
    (folder / TITLES).write_text(json.dumps(titles[:-1]))


def _extra_folder(folder: Path) -> None:
    (folder / "sub").mkdir()


# name -> (damage, recompute checksums afterwards, text the message must contain)
CASES: dict[str, tuple[Callable[[Path], None], bool, str]] = {
    "truncated index": (lambda f: _truncate(f / INDEX), False, "items.hnsw: size"),
    "truncated ranker": (lambda f: _truncate(f / RANKER), False, "ranker.onnx: size"),
    "truncated manifest": (lambda f: _truncate(f / MANIFEST), False, "not valid JSON"),
    "flipped byte: index header": (lambda f: _flip(f / INDEX, 8), False, "items.hnsw: sha256"),
    "flipped byte: index body": (lambda f: _flip(f / INDEX, 5000), False, "items.hnsw: sha256"),
    "flipped byte: ONNX weights": (
        lambda f: _flip(f / USER_TOWER, -100),
        False,
        "user_tower.onnx: sha256",
    ),
    "flipped byte: item_vectors.npy": (
        lambda f: _flip(f / ITEM_VECTORS, -10),
        False,
        "item_vectors.npy: sha256",
    ),
    "flipped byte: item_ids.npy": (lambda f: _flip(f / ITEM_IDS, -3), False, "item_ids.npy: sha"),
    "flipped byte: titles.json": (lambda f: _flip(f / TITLES, 40, 0x01), False, "titles.json"),
    "flipped byte: readiness.json": (lambda f: _flip(f / READINESS, 30, 0x01), False, "readiness"),
    "flipped byte: manifest": (
        lambda f: _flip(f / MANIFEST, (f / MANIFEST).read_text().index('"sha256": "') + 12, 0x01),
        False,
        "sha256 does not match",
    ),
    "wrong dim in manifest": (
        lambda f: _edit_manifest(f, lambda m: m["index"].update(dim=m["index"]["dim"] + 1)),
        False,
        "dim",
    ),
    "wrong item count in manifest": (
        lambda f: _edit_manifest(f, lambda m: m["catalog"].update(num_items=5)),
        False,
        "num_items",
    ),
    "missing file": (lambda f: (f / RANKER).unlink(), False, "ranker.onnx: is listed"),
    "missing manifest": (lambda f: (f / MANIFEST).unlink(), False, "not an artifact"),
    "extra file": (lambda f: (f / "notes.txt").write_text("hi"), False, "not listed"),
    "extra folder": (_extra_folder, False, "not listed in the manifest: sub"),
    "symlink": (_symlink, False, "symbolic link"),
    "path traversal": (lambda f: _traversal(f, "../ranker.onnx"), False, "not a plain name"),
    "absolute path": (lambda f: _traversal(f, "/etc/passwd"), False, "not a plain name"),
    "unknown format version 3.0": (
        lambda f: _edit_manifest(f, lambda m: m.update(format_version="3.0")),
        False,
        "written by a newer ytrec-infer",
    ),
    "garbage format version": (
        lambda f: _edit_manifest(f, lambda m: m.update(format_version="x.y")),
        False,
        "corrupted",
    ),
    "re-signed: pickled popularity.npy": (_pickled_popularity, True, "popularity.npy"),
    "re-signed: index max_elements < count": (
        lambda f: _patch(f / INDEX, 8, "<Q", 10),
        True,
        "max_elements is below",
    ),
    "re-signed: index entry point out of range (hnswlib SIGSEGV)": (
        _entry_point,
        True,
        "entry point",
    ),
    "re-signed: index neighbour id out of range (hnswlib SIGSEGV)": (
        _neighbour,
        True,
        "neighbour id is out of range",
    ),
    "re-signed: upper-level neighbour id out of range": (
        _upper_neighbour,
        True,
        "upper-level graph: a neighbour id is out of range",
    ),
    "re-signed: index vector changed": (_index_vector, True, "index vectors differ"),
    "re-signed: NaN in item_vectors.npy": (_item_vectors_nan, True, "index vectors differ"),
    "re-signed: ONNX weights negated (onnxruntime runs it silently)": (
        _negate_onnx_weights,
        True,
        "readiness check failed: user tower output differs",
    ),
    "re-signed: networks swapped": (_swap_networks, True, "do not match the manifest"),
    "re-signed: readiness sample disagrees": (
        _readiness_logits,
        True,
        "readiness check failed: ranker logits differ",
    ),
    "re-signed: titles one short": (_titles_short, True, "titles.json: has 1681 rows"),
}


@pytest.fixture(scope="module")
def outcomes(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Damage one copy per case, then load them all in the probe: case name -> outcome."""
    base = tmp_path_factory.mktemp("damaged")
    lines = []
    for number, name in enumerate(["intact", *CASES]):
        folder = base / f"case{number:02d}"
        shutil.copytree(artifact_dir, folder)
        if name in CASES:
            damage, resign, _ = CASES[name]
            damage(folder)
            if resign:
                _resign(folder)
        lines.append(json.dumps({"name": name, "path": str(folder), "history": HISTORY}))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    results = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        results[record.pop("case")] = {**record, "folder": base}
    assert "intact" in results, f"the probe did not run: {done.stderr[-2000:]}"
    return results


def test_the_intact_copy_loads_and_answers_like_the_original(
    outcomes: dict[str, dict], artifact_dir: Path
) -> None:
    from ytrec_infer import Recommender

    expected = Recommender.load(artifact_dir).recommend(HISTORY, k=10).item_ids.tolist()
    assert outcomes["intact"]["outcome"] == "loaded"
    assert outcomes["intact"]["ids"] == expected


@pytest.mark.parametrize("name", list(CASES))
def test_damage_ends_in_artifact_error(outcomes: dict[str, dict], name: str) -> None:
    result = outcomes.get(name, {"outcome": "no result (the probe died)"})
    assert result["outcome"] == "ArtifactError", result
    assert str(result["folder"]) in result["message"], "the message names the file"
    assert CASES[name][2] in result["message"]


def test_readiness_allows_rounding_within_its_tolerance(artifact_dir: Path, tmp_path: Path) -> None:
    """Another provider's rounding (1e-5 here) must not fail the check; 1e-2 must."""
    from ytrec_infer import ArtifactError, Recommender

    folder = tmp_path / "artifact"
    for shift, loads in ((1e-5, True), (1e-2, False)):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(artifact_dir, folder)
        sample = json.loads((folder / READINESS).read_text())
        sample["user_vector"] = [x + shift for x in sample["user_vector"]]
        (folder / READINESS).write_text(json.dumps(sample))
        _resign(folder)
        if loads:
            Recommender.load(folder)
        else:
            with pytest.raises(ArtifactError, match="user tower output differs"):
                Recommender.load(folder)


def test_a_format_1_x_artifact_is_refused_with_how_to_re_export(
    artifact_dir: Path, tmp_path: Path
) -> None:
    from ytrec_infer import Recommender

    folder = tmp_path / "artifact"
    shutil.copytree(artifact_dir, folder)
    _edit_manifest(folder, lambda data: data.update(format_version="1.1"))
    with pytest.raises(ArtifactError, match=r"older than 2\.0.*re-export it.*ytrec train"):
        Recommender.load(folder)