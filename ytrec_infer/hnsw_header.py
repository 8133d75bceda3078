"""Read an hnswlib index header in pure Python and check it against the manifest.

hnswlib 0.8.0 aborts the process when ``max_elements`` is below the element count and
accepts a wrong ``dim`` silently, so the header is parsed and cross-checked before
``load_index`` ever sees the file. Layout: ``HierarchicalNSW::saveIndex`` in hnswalg.h.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from ytrec_infer.artifact import IndexSpec
from ytrec_infer.errors import ArtifactError

_HEADER = struct.Struct("<QQQQQQiIQQQdQ")
_FLOAT_BYTES = 4
_LINK_BYTES = 4


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
        raw = handle.read(_HEADER.size)
    if len(raw) < _HEADER.size:
        raise ArtifactError(path, "too short to be an hnswlib index")
    return HnswHeader(*_HEADER.unpack(raw))


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
    expected_min = _HEADER.size + header.element_count * header.size_data_per_element
    if path.stat().st_size < expected_min:
        problems.append("file is shorter than its header says")
    if problems:
        raise ArtifactError(
            path, "hnswlib header does not match the manifest: " + "; ".join(problems)
        )
    return header
