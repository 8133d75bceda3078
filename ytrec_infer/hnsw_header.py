"""Read an hnswlib index file in pure Python and check it against the manifest.

hnswlib 0.8.0 aborts the process when ``max_elements`` is below the element count, segfaults
on the first query when the entry point or a neighbour id is out of range, or when an
upper-level link list names an element that does not exist on that level, and accepts a wrong
``dim`` silently. So the header is parsed and cross-checked, and the graph (every link list on
every level, the labels, the vectors) is validated with numpy, before ``load_index`` ever sees
the file. Checksums catch accidental damage first; these checks stop a file that is well
signed but wrong (a producer bug, or tampering) from taking the host process down.
Layout: ``HierarchicalNSW::saveIndex`` in hnswalg.h.

What ``searchKnn`` / ``searchBaseLayerST`` trust, and where each property is proved here:
the entry point exists and lives on ``maxlevel`` (:func:`_check_upper_levels`); each
element's level count is whole link lists, at most ``maxlevel`` (:func:`upper_level_depths`);
every link count is at most ``maxM`` (upper levels) / ``maxM0`` (level 0) and every neighbour
id is below the element count (:func:`_bad_links`); a neighbour in a level-``l`` list has at
least ``l`` levels, since the greedy descent reads that neighbour's level-``l`` list next
(:func:`_check_upper_levels`); no list carries the deleted mark or other flag bits (they
switch hnswlib to its filtering search); labels are exactly the codes 1..N; vectors are
finite; ``dim`` and the offsets agree with the element size. The file is read with plain
reads, never memory-mapped, so a file replaced on disk cannot fault (SIGBUS) the check.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ytrec_infer.manifest import IndexSpec
from ytrec_infer.errors import ArtifactError
from ytrec_infer.safe_load import read_into

HEADER = struct.Struct("<QQQQQQiIQQQdQ")
"""The fixed-size header; its fields, in order, are those of :class:`HnswHeader`."""
_FLOAT_BYTES = 4
_LINK_BYTES = 4
_LABEL_BYTES = 8
COUNT_MASK = 0xFFFF
"""Link-list count word: the low 16 bits hold the neighbour count."""


@dataclass(frozen=True)
class HnswHeader:
    """The fields of an hnswlib file header that decide memory layout and graph entry."""

    offset_level0: int
    max_elements: int
    element_count: int
    size_data_per_element: int
    label_offset: int
    offset_data: int
    max_level: int
    entry_point: int
    max_m: int
    max_m0: int
    m: int
    mult: float
    ef_construction: int

    @property
    def dim(self) -> int:
        return (self.label_offset - self.offset_data) // _FLOAT_BYTES


def read_header(path: Path) -> HnswHeader:
    """Parse the fixed-size header at the start of an hnswlib index file."""
    with open(path, "rb") as handle:
        raw = handle.read(HEADER.size)
    if len(raw) < HEADER.size:
        raise ArtifactError(path, "too short to be an hnswlib index")
    return HnswHeader(*HEADER.unpack(raw))


def check_header(path: Path, spec: IndexSpec) -> HnswHeader:
    """Refuse a header that disagrees with the manifest or would crash hnswlib."""
    header = read_header(path)
    problems = []
    if header.element_count != spec.num_elements:
        problems.append(f"holds {header.element_count} elements, manifest says {spec.num_elements}")
    if header.max_elements < header.element_count:
        problems.append("max_elements is below the element count")
    if header.dim != spec.dim:
        problems.append(f"dim {header.dim}, manifest says {spec.dim}")
    if header.m != spec.M or header.max_m0 != 2 * spec.M or header.max_m != spec.M:
        problems.append(f"M {header.m}/{header.max_m}/{header.max_m0}, manifest says M={spec.M}")
    if header.offset_level0 != 0 or header.offset_data != header.max_m0 * _LINK_BYTES + _LINK_BYTES:
        problems.append("level-0 layout offsets are inconsistent")
    if header.size_data_per_element != header.label_offset + 8:
        problems.append("element size is inconsistent with the label offset")
    if header.element_count and not 0 <= header.entry_point < header.element_count:
        problems.append(f"entry point {header.entry_point} is out of range")
    if not 0 <= header.max_level < 64:
        problems.append(f"max level {header.max_level} is out of range")
    expected_min = HEADER.size + header.element_count * header.size_data_per_element
    if path.stat().st_size < expected_min:
        problems.append("file is shorter than its header says")
    if problems:
        raise ArtifactError(
            path, "hnswlib header does not match the manifest: " + "; ".join(problems)
        )
    _check_graph(path, header)
    return header


def level0_dtype(header: HnswHeader) -> np.dtype:
    """One level-0 element: its link list (count word + max_m0 ids), vector and label."""
    return np.dtype(
        [
            ("links", "<u4", (header.max_m0 + 1,)),
            ("vector", "<f4", (header.dim,)),
            ("label", "<u8"),
        ]
    )


def _level0_chunks(path: Path, header: HnswHeader, chunk: int = 1 << 16) -> Iterator[np.ndarray]:
    """The level-0 block in structured chunks (link list, vector, label per element), read
    into memory with plain reads: a file truncated meanwhile is an ArtifactError, not SIGBUS."""
    layout = level0_dtype(header)
    if layout.itemsize != header.size_data_per_element:
        raise ArtifactError(path, "hnswlib element layout does not match its header")
    with open(path, "rb", buffering=0) as handle:
        handle.seek(HEADER.size)
        for start in range(0, header.element_count, chunk):
            rows = np.empty(min(chunk, header.element_count - start), dtype=layout)
            if read_into(handle, rows.data.cast("B")) != rows.nbytes:
                raise ArtifactError(path, "hnswlib level-0 block is truncated")
            yield rows


def read_labels(path: Path) -> np.ndarray:
    """The label (item code) of each element, in the file's element order."""
    header = read_header(path)
    parts = [rows["label"].astype(np.int64) for rows in _level0_chunks(path, header)]
    labels: np.ndarray = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return labels


def _bad_links(block: np.ndarray, limit: int, count: int) -> str | None:
    """Why a [rows, 1 + limit] uint32 link-list block is unsafe, or None when it is sound."""
    sizes = block[:, 0] & COUNT_MASK
    if np.any(block[:, 0] >> 16):
        return "link lists carry flags (deleted elements are not supported)"
    if np.any(sizes > limit):
        return f"a link list holds more than {limit} neighbours"
    used = np.arange(limit) < sizes[:, None]
    if np.any(block[:, 1:][used] >= count):
        return "a neighbour id is out of range"
    return None


def _check_graph(path: Path, header: HnswHeader) -> None:
    """Every id hnswlib will follow is in range, labels are the item codes, vectors are finite."""
    count = header.element_count
    labels = np.zeros(count, dtype=np.uint64)
    start = 0
    for rows in _level0_chunks(path, header):
        problem = _bad_links(rows["links"], header.max_m0, count)
        if problem:
            raise ArtifactError(path, f"hnswlib level-0 graph: {problem}")
        if not np.isfinite(rows["vector"]).all():
            raise ArtifactError(path, "hnswlib index holds non-finite vectors")
        labels[start : start + len(rows)] = rows["label"]
        start += len(rows)
    if not np.array_equal(np.sort(labels), np.arange(1, count + 1, dtype=np.uint64)):
        raise ArtifactError(path, "hnswlib labels are not the item codes 1..N")
    _check_upper_levels(path, header)


def upper_level_depths(path: Path, header: HnswHeader, words: np.ndarray) -> np.ndarray:
    """Each element's number of levels above 0, from the uint32 ``words`` that follow the
    level-0 block: per element a byte count, then that many bytes (``level`` blocks of
    ``1 + max_m`` words). Raises ArtifactError unless every count is whole levels, at most
    ``max_level``, and the counts account for every word. The walk is sequential, so it runs
    over plain ints with one cheap step per element."""
    count = header.element_count
    per_level = header.max_m + 1
    sizes = words.tolist()  # plain ints: the fastest thing to index one at a time
    limit, bytes_per_level = len(sizes), per_level * _LINK_BYTES
    levels = np.zeros(count, dtype=np.int64)
    position = 0
    for element in range(count):
        if position >= limit:
            raise ArtifactError(path, "hnswlib upper levels are truncated")
        size = sizes[position]
        position += 1
        if size:
            depth, rest = divmod(size, bytes_per_level)
            if rest or depth > header.max_level:
                raise ArtifactError(path, f"hnswlib element {element} has an invalid level count")
            levels[element] = depth
            position += depth * per_level
    if position != limit:
        raise ArtifactError(path, "hnswlib file length does not match its link lists")
    return levels


def _level_within(levels: np.ndarray) -> np.ndarray:
    """For every upper-level link list, element by element, its level minus one (0, 1, ...)."""
    starts = np.repeat(np.cumsum(levels) - levels, levels)
    within: np.ndarray = np.arange(int(levels.sum())) - starts
    return within


def upper_level_rows(levels: np.ndarray, per_level: int) -> np.ndarray:
    """Word indices [link lists, per_level] of every upper-level link list, element by element,
    in the words that follow the level-0 block (``levels`` from :func:`upper_level_depths`)."""
    lengths = 1 + levels * per_level
    first = np.repeat(np.cumsum(lengths) - lengths + 1, levels)
    rows: np.ndarray = (first + _level_within(levels) * per_level)[:, None] + np.arange(per_level)
    return rows


def _below_level(rows: np.ndarray, levels: np.ndarray) -> str | None:
    """Why an upper-level link list names a neighbour that has no list on that level (the
    greedy descent would read past that neighbour's link lists: SIGSEGV), or None."""
    sizes = rows[:, 0] & COUNT_MASK
    used = np.arange(rows.shape[1] - 1) < sizes[:, None]
    neighbours = rows[:, 1:][used].astype(np.int64)
    needed = np.repeat(_level_within(levels) + 1, sizes.astype(np.int64))
    if np.any(levels[neighbours] < needed):
        return "a link list names an element that does not exist on that level"
    return None


def _check_upper_levels(path: Path, header: HnswHeader) -> None:
    """Every upper-level link list is sound and the entry point is on the top level."""
    count = header.element_count
    with open(path, "rb") as handle:
        handle.seek(HEADER.size + count * header.size_data_per_element)
        tail = handle.read()
    if len(tail) % _LINK_BYTES:
        raise ArtifactError(path, "hnswlib file length does not match its link lists")
    words = np.frombuffer(tail, dtype="<u4")
    levels = upper_level_depths(path, header, words)
    if levels.any():
        rows = words[upper_level_rows(levels, header.max_m + 1)]
        problem = _bad_links(rows, header.max_m, count) or _below_level(rows, levels)
        if problem:
            raise ArtifactError(path, f"hnswlib upper-level graph: {problem}")
    if count and (
        int(levels.max()) != header.max_level or levels[header.entry_point] != header.max_level
    ):
        raise ArtifactError(path, "hnswlib entry point is not on the top level")


def check_vectors(path: Path, item_vectors: np.ndarray) -> None:
    """The vectors inside the index equal ``item_vectors.npy`` row for row (label = row + 1).

    An index whose stored vectors differ from the catalog's would answer plausibly and wrongly.
    Compared in chunks, so the index is never held whole a second time.
    """
    header = read_header(path)
    if item_vectors.shape != (header.element_count, header.dim):
        raise ArtifactError(path, "index vectors differ from item_vectors.npy in shape")
    for rows in _level0_chunks(path, header):
        order = rows["label"].astype(np.int64) - 1
        if np.any((order < 0) | (order >= header.element_count)) or not np.array_equal(
            rows["vector"], item_vectors[order]
        ):
            raise ArtifactError(path, "index vectors differ from item_vectors.npy")
