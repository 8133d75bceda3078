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
from ytrec_infer.hnsw_header import HEADER, read_header, upper_level_depths
from ytrec_infer.manifest_integrity import DIGEST_KEY, with_digest
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
        signal.alarm(60)  # a hang shows as "signal SIGALRM" for this case
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
    """Edit the manifest as a consistent producer would: its content digest recomputed."""
    data = json.loads((folder / MANIFEST).read_text())
    change(data)
    (folder / MANIFEST).write_text(json.dumps(with_digest(data)))


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
        f"content does not match its '{DIGEST_KEY}'",
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

# Hostile artifacts (issue 15): consistent with their checksums and manifest digest, but wrong.


def _upper_lists(path: Path) -> tuple[bytearray, list[int], int, list[int]]:
    """The index bytes, each element's level count, the link-list width, and each element's
    offset of its first upper-level list (-1 for none)."""
    raw = bytearray(path.read_bytes())
    header = read_header(path)
    start = HEADER.size + header.element_count * header.size_data_per_element
    words = np.frombuffer(bytes(raw[start:]), dtype="<u4")
    levels = upper_level_depths(path, header, words).tolist()
    per_level, offsets, position = (header.max_m + 1) * 4, [], start
    for level in levels:
        offsets.append(position + 4 if level else -1)
        position += 4 + level * per_level
    return raw, levels, per_level, offsets


def _link_below_level(folder: Path) -> None:
    """An upper-level list names an element with no list on that level: the greedy descent
    reads past that element's link lists (SIGSEGV on the first HNSW query when unchecked)."""
    raw, levels, _, offsets = _upper_lists(folder / INDEX)
    element = next(i for i, lv in enumerate(levels) if lv and raw[offsets[i]])
    flat = levels.index(0)
    struct.pack_into("<I", raw, offsets[element] + 4, flat)
    (folder / INDEX).write_bytes(bytes(raw))


def _deleted_mark(folder: Path) -> None:
    """The deleted flag (byte 2 of a level-0 count word) switches hnswlib's search mode."""
    _patch(folder / INDEX, HEADER_BYTES + 2, "<B", 1)


def _upper_count_over_m(folder: Path) -> None:
    raw, levels, _, offsets = _upper_lists(folder / INDEX)
    element = levels.index(max(levels))
    struct.pack_into("<H", raw, offsets[element], 0xFFFF)
    (folder / INDEX).write_bytes(bytes(raw))


def _entry_point_low(folder: Path) -> None:
    """Entry point moved to an element without upper levels (maxlevel unchanged)."""
    _, levels, _, _ = _upper_lists(folder / INDEX)
    _patch(folder / INDEX, 52, "<I", levels.index(0))


def _edit_manifest_unsigned(folder: Path, change: Callable[[dict], object]) -> None:
    data = json.loads((folder / MANIFEST).read_text())
    change(data)
    (folder / MANIFEST).write_text(json.dumps(data))


def _raw_manifest(folder: Path, edit: Callable[[str], str]) -> None:
    path = folder / MANIFEST
    path.write_text(edit(path.read_text()))


def _duplicate_key(folder: Path) -> None:
    """A second "format" key: json.loads would keep the last one silently."""
    twice = '{"num_items_hint": 1, "num_items_hint": 2, '
    _raw_manifest(folder, lambda text: text.replace("{", twice, 1))


def _deep_json(depth: int) -> Callable[[Path], None]:
    return lambda f: _edit_manifest(f, lambda m: m.update(config={"x": _nested(depth)}))


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _deep_json_raw(folder: Path) -> None:
    """Nesting past Python's recursion limit: json.loads raises RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    _raw_manifest(folder, lambda text: text[:-1] + ', "deep": ' + deep + "}")


def _huge_number(text: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        def edit(raw: str) -> str:
            data = json.loads(raw)
            data["catalog"]["num_items"] = "@@"
            return json.dumps(with_digest(data)).replace('"@@"', text)

        _raw_manifest(folder, edit)

    return damage


def _long_name(folder: Path) -> None:
    def change(data: dict) -> None:
        data["files"]["x" * 300] = data["files"][TITLES]

    _edit_manifest(folder, change)


def _npy_rows(folder: Path) -> None:
    """An .npy header claiming 10^12 rows over the real data (MemoryError when unchecked)."""
    path = folder / POPULARITY
    data = np.load(path)
    header = np.lib.format.header_data_from_array_1_0(data)
    header["shape"] = (10**12,)
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(data.tobytes())


def _symlinked_manifest(folder: Path) -> None:
    outside = folder.parent / f"{folder.name}-manifest.json"
    shutil.move(folder / MANIFEST, outside)
    (folder / MANIFEST).symlink_to(outside)


def _onnx_edit(name: str, change: Callable[[object, object], None]) -> Callable[[Path], None]:
    """Rewrite one network with the onnx package (``change(model, onnx)``)."""

    def damage(folder: Path) -> None:
        onnx = pytest.importorskip("onnx")
        model = onnx.load(str(folder / name))
        change(model, onnx)
        onnx.save(model, str(folder / name))

    return damage


def _add_node(op: str, domain: str = "", **attrs: object) -> Callable[[object, object], None]:
    def change(model, onnx) -> None:  # type: ignore[no-untyped-def]
        model.graph.initializer.append(
            onnx.numpy_helper.from_array(np.array([1 << 29], dtype=np.int64), "hostile_shape")
        )
        model.graph.node.append(
            onnx.helper.make_node(op, ["hostile_shape"], ["hostile_out"], domain=domain, **attrs)
        )
        if domain:
            model.opset_import.append(onnx.helper.make_opsetid(domain, 1))

    return change


def _loop(model, onnx) -> None:  # type: ignore[no-untyped-def]
    body = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body",
        [
            onnx.helper.make_tensor_value_info("i", onnx.TensorProto.INT64, []),
            onnx.helper.make_tensor_value_info("cond", onnx.TensorProto.BOOL, []),
        ],
        [onnx.helper.make_tensor_value_info("cond_out", onnx.TensorProto.BOOL, [])],
    )
    model.graph.initializer.extend(
        [
            onnx.numpy_helper.from_array(np.array(10**12, dtype=np.int64), "trips"),
            onnx.numpy_helper.from_array(np.array(True), "go"),
        ]
    )
    model.graph.node.append(onnx.helper.make_node("Loop", ["trips", "go"], [], body=body))


def _external_data(model, onnx) -> None:  # type: ignore[no-untyped-def]
    tensor = onnx.TensorProto(name="stolen", data_type=onnx.TensorProto.FLOAT, dims=[4])
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../../etc/passwd"
    model.graph.initializer.append(tensor)


def _nan_item_row(model, onnx) -> None:  # type: ignore[no-untyped-def]
    """One row of the largest float table NaN: only users who watched that item get NaN."""
    tables = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    table = max(tables, key=lambda t: np.prod(t.dims))
    values = onnx.numpy_helper.to_array(table).copy()
    values.reshape(values.shape[0], -1)[7] = np.nan
    table.CopyFrom(onnx.numpy_helper.from_array(values, table.name))


def _ranker_logits(extra: int) -> Callable[[object, object], None]:
    """Cut the ranker's output to 1 logit per row (extra=0) or append ``extra`` more."""

    def change(model, onnx) -> None:  # type: ignore[no-untyped-def]
        output = model.graph.output[0].name
        for node in model.graph.node:
            node.output[:] = [o if o != output else "full_logits" for o in node.output]
        ints = onnx.numpy_helper.from_array
        model.graph.initializer.extend(
            [
                ints(np.array([0], np.int64), "cut_start"),
                ints(np.array([extra or 1], np.int64), "cut_end"),
                ints(np.array([1], np.int64), "cut_axis"),
            ]
        )
        slice_out = output if not extra else "extra_logits"
        model.graph.node.append(
            onnx.helper.make_node(
                "Slice", ["full_logits", "cut_start", "cut_end", "cut_axis"], [slice_out]
            )
        )
        if extra:
            model.graph.node.append(
                onnx.helper.make_node("Concat", ["full_logits", "extra_logits"], [output], axis=1)
            )

    return change


def _huge_sample(folder: Path) -> None:
    """A replay request as large as the sample file allows (the ranker on 200,000 rows)."""
    sample = json.loads((folder / READINESS).read_text())
    sample["candidates"] = sample["candidates"] * 2000
    sample["retrieval_scores"] = sample["retrieval_scores"] * 2000
    sample["logits"] = sample["logits"] * 2000
    (folder / READINESS).write_text(json.dumps(sample))


def _fill(key: str, value: float) -> Callable[[Path], None]:
    """A fill value of the built-in ``seconds_since_last`` or of the user feature ``key``."""

    def edit(manifest: dict) -> None:
        features = manifest["features"]
        named = [f for f in features["user"] if f["name"] == key]
        (named[0] if named else features[key]).update(fill=value)

    return lambda f: _edit_manifest(f, edit)


HOSTILE: dict[str, tuple[Callable[[Path], None], bool, str]] = {
    "hostile: deleted mark on an element": (_deleted_mark, True, "deleted elements"),
    "hostile: upper-level link count above M": (_upper_count_over_m, True, "more than"),
    "hostile: entry point below the top level": (_entry_point_low, True, "not on the top level"),
    "hostile: upper-level link to an element below that level (hnswlib SIGSEGV)": (
        _link_below_level,
        True,
        "upper-level graph: a link list names an element that does not exist on that level",
    ),
    "hostile: manifest edited without its digest": (
        lambda f: _raw_manifest(f, lambda t: t.replace('"student"', '"studenu"')),
        False,
        f"'{DIGEST_KEY}'",
    ),
    "hostile: manifest digest removed": (
        lambda f: _edit_manifest_unsigned(f, lambda m: m.pop(DIGEST_KEY)),
        False,
        f"'{DIGEST_KEY}' is missing",
    ),
    "hostile: duplicate manifest keys": (_duplicate_key, False, "duplicate key"),
    "hostile: readiness switched off with null": (
        lambda f: _edit_manifest(f, lambda m: m.update(readiness=None)),
        False,
        "'readiness' must name its sample file",
    ),
    "hostile: readiness min_overlap 0": (
        lambda f: _edit_manifest(f, lambda m: m["readiness"].update(min_overlap=0)),
        False,
        "'readiness.min_overlap' is 0",
    ),
    "hostile: readiness tolerance 1e9": (
        lambda f: _edit_manifest(f, lambda m: m["readiness"].update(atol=1e9)),
        False,
        "'readiness.atol'",
    ),
    "hostile: readiness sample of 200,000 candidates": (
        _huge_sample,
        True,
        "readiness.json: is not a valid readiness sample (more than 1000 candidates",
    ),
    "hostile: JSON nested 40 deep": (_deep_json(40), False, "nests deeper than"),
    "hostile: JSON nested 100,000 deep (RecursionError)": (_deep_json_raw, False, "manifest.json"),
    "hostile: a 5,000-digit integer (ValueError)": (_huge_number("9" * 5000), False, "digits"),
    "hostile: 1e999 (OverflowError)": (_huge_number("1e999"), False, "overflows a float"),
    "hostile: NaN in the manifest": (_huge_number("NaN"), False, "not a number JSON allows"),
    "hostile: a 300-character file name (OSError)": (_long_name, False, "File name too long"),
    "hostile: .npy header claiming 10^12 rows (MemoryError)": (
        _npy_rows,
        True,
        "popularity.npy: header says shape (1000000000000,)",
    ),
    "hostile: negative ef_search (TypeError in hnswlib)": (
        lambda f: _edit_manifest(f, lambda m: m["index"].update(ef_search=-5)),
        False,
        "'index.ef_search' is -5",
    ),
    "hostile: symlinked manifest.json": (_symlinked_manifest, False, "symbolic link"),
    "hostile: age fill 1e30 (NaN user vectors)": (_fill("age", 1e30), False, "'age': fill 1e+30"),
    "hostile: negative gap fill": (
        _fill("seconds_since_last", -1.0),
        False,
        "seconds_since_last.fill",
    ),
    "hostile: NaN in one row of a network's item table": (
        _onnx_edit(RANKER, _nan_item_row),
        True,
        "ranker.onnx: ONNX model refused before loading: a weight tensor holds NaN",
    ),
    "hostile: ranker returns 1 logit per row": (
        _onnx_edit(RANKER, _ranker_logits(0)),
        True,
        "ranker logits has shape (1, 1), expected (1, 100)",
    ),
    "hostile: ranker returns 5 extra logits": (
        _onnx_edit(RANKER, _ranker_logits(5)),
        True,
        "ranker logits has shape",
    ),
    "hostile: ONNX Loop of 10^12 iterations": (
        _onnx_edit(USER_TOWER, _loop),
        True,
        "user_tower.onnx: ONNX model refused before loading: operator Loop carries a subgraph",
    ),
    "hostile: ONNX ConstantOfShape of 2 GB": (
        _onnx_edit(USER_TOWER, _add_node("ConstantOfShape")),
        True,
        "operator 'ConstantOfShape' is not allowed",
    ),
    "hostile: ONNX custom-domain operator": (
        _onnx_edit(RANKER, _add_node("Evil", domain="com.example")),
        True,
        "domain 'com.example'",
    ),
    "hostile: ONNX external data pointing outside": (
        _onnx_edit(RANKER, _external_data),
        True,
        "external data",
    ),
}
CASES.update(HOSTILE)


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
    from ytrec_infer import ArtifactError, Recommender

    folder = tmp_path / "artifact"
    shutil.copytree(artifact_dir, folder)
    _edit_manifest(folder, lambda data: data.update(format_version="1.1"))
    with pytest.raises(ArtifactError, match=r"older than 2\.0.*re-export it.*ytrec train"):
        Recommender.load(folder)