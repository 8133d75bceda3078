"""Read artifact files so that every failure is an :class:`ArtifactError` naming the file.

The documented contract is that a bad artifact raises ``ArtifactError`` and nothing else, so
an app that catches it never crashes on one. Reading files raises many other things on hostile
input: ``PermissionError`` and ``OSError`` (unreadable files, over-long names),
``RecursionError`` (deeply nested JSON), ``ValueError`` and ``OverflowError`` (numbers of
thousands of digits, ``1e999``), ``MemoryError`` (an ``.npy`` header claiming 10^12 rows).
This module reads JSON strictly (no duplicate keys, no NaN or infinity, bounded integers and
nesting) and ``.npy`` files with the shape checked against the file size before anything is
allocated, into memory (never memory-mapped: a file replaced on disk while serving must not
fault the process with SIGBUS), and :func:`artifact_errors` turns whatever else escapes a
block of loading code into an ``ArtifactError``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ytrec_infer.errors import ArtifactError

MAX_JSON_DEPTH = 32
"""Nesting bound of artifact JSON (the manifest nests 5 deep)."""
MAX_INT_DIGITS = 19
"""Digits of the largest integer accepted in artifact JSON (int64 needs 19)."""
MAX_JSON_BYTES = 1 << 30
"""Size bound of one JSON file (titles of a 10M-item catalog fit)."""


@contextlib.contextmanager
def artifact_errors(
    path: str | Path, doing: str = "read", passthrough: tuple[type[Exception], ...] = ()
) -> Iterator[None]:
    """Turn any exception of the block into an ArtifactError naming ``path`` (or the file an
    OSError names) and the reason; an ArtifactError and the ``passthrough`` types pass."""
    passing: tuple[type[Exception], ...] = (ArtifactError, *passthrough)
    try:
        yield
    except passing:
        raise
    except OSError as exc:
        where = Path(os.fsdecode(exc.filename)) if exc.filename else Path(path)
        raise ArtifactError(where, f"cannot be {doing}: {exc.strerror or exc}") from None
    except RecursionError:
        raise ArtifactError(path, f"cannot be {doing}: it nests too deeply") from None
    except MemoryError:
        raise ArtifactError(path, f"cannot be {doing}: it needs more memory than is free") from None
    except (ValueError, OverflowError, TypeError, KeyError, IndexError) as exc:
        raise ArtifactError(
            path, f"cannot be {doing}: {type(exc).__name__}: {exc}: corrupted?"
        ) from None


def open_regular(path: Path) -> int:
    """A read-only descriptor of ``path``, refusing symbolic links and non-regular files."""
    with artifact_errors(path, "opened"):
        if path.is_symlink():
            raise ArtifactError(path, "is a symbolic link; artifacts hold regular files only")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ArtifactError(path, "is not a regular file")
    return fd


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole file (a regular file, not a link), refusing one larger than ``limit`` bytes."""
    fd = open_regular(path)
    with artifact_errors(path), os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ArtifactError(path, f"is larger than {limit} bytes")
    return data


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer with {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} overflows a float")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, walked iteratively (no recursion to exhaust); a list of
    scalars (a million titles) is passed over in one C-level pass of ``map(type, ...)``."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            continue
        children = item.values() if isinstance(item, dict) else item
        if not {dict, list} & set(map(type, children)):
            continue
        nested = (child for child in children if isinstance(child, (dict, list)))
        stack.extend((child, depth + 1) for child in nested)
    return deepest


def parse_json(text: str) -> Any:
    """Strict JSON: duplicate keys, NaN/Infinity, overflowing floats and over-long integers are
    ValueErrors (Python's ``json`` accepts all of them, the last one keeping the last key)."""
    return json.loads(
        text,
        object_pairs_hook=_no_duplicates,
        parse_int=_bounded_int,
        parse_float=_finite_float,
        parse_constant=_refuse_constant,
    )


def read_json(path: Path, limit: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse an artifact JSON file strictly (:func:`parse_json`), nesting at most ``max_depth``."""
    data = read_bytes(path, limit)
    try:
        value = parse_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ArtifactError(path, f"is not valid JSON ({exc}): corrupted?") from None
    if _depth(value) > max_depth:
        raise ArtifactError(path, f"nests deeper than {max_depth} levels")
    return value


def read_into(handle: io.RawIOBase, view: memoryview) -> int:
    """Fill ``view`` from the unbuffered file ``handle`` (one copy, no temporary); bytes read."""
    got = 0
    while got < len(view):
        count = handle.readinto(view[got:])
        if not count:
            break
        got += count
    return got


def read_npy(path: Path, dtype: str, ndim: int) -> np.ndarray:
    """A ``.npy`` array read into memory (no pickle, no memory map), checked for dtype and rank,
    and with its header's shape checked against the file size before anything is allocated.
    ``dtype`` may list alternatives: ``"int64|unicode"`` (item ids: integers, or fixed-width
    little-endian unicode strings for a log with string ids)."""
    fd = open_regular(path)
    with artifact_errors(path), os.fdopen(fd, "rb", buffering=0) as handle:
        try:
            version = npy_format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, found = npy_format.read_array_header_1_0(handle)
            else:
                shape, fortran, found = npy_format.read_array_header_2_0(handle)
        except (ValueError, SyntaxError) as exc:
            raise ArtifactError(path, f"is not a readable .npy array ({exc})") from None
        matches = any(
            found.kind == "U" and found.byteorder in "<=" if kind == "unicode" else found == kind
            for kind in dtype.split("|")
        )
        if not matches or len(shape) != ndim or fortran:
            raise ArtifactError(
                path, f"expected a {ndim}-D {dtype} array in C order, found {found} {shape}"
            )
        count = math.prod(shape)
        available = os.fstat(handle.fileno()).st_size - handle.tell()
        if count * found.itemsize != available:
            raise ArtifactError(
                path,
                f"header says shape {shape} ({count * found.itemsize} bytes) but the file holds "
                f"{available} bytes of data",
            )
        array = np.empty(count, dtype=found)
        if read_into(handle, array.data.cast("B")) != array.nbytes:
            raise ArtifactError(path, "is shorter than its header says (changed while read?)")
    array.flags.writeable = False
    return array.reshape(shape)
