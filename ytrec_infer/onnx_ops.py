"""Check an ONNX model's bytes before onnxruntime sees them: allowed operators, bounded sizes.

Checksums and the readiness replay do not bound what a network may *do*: a 242 KB file can
hold a ``ConstantOfShape`` that onnxruntime folds into a 2 GB constant at session creation,
or a ``Loop`` of 10^12 iterations that hangs the load. So the model's protocol-buffer bytes
are read here without the ``onnx`` package (the runtime may not import it; field numbers are
those of ``onnx.proto``) and refused unless:

- every node is an operator of the default domain in :data:`ALLOWED_OPS` (what the exporters
  emit: no control flow, no ``If``/``Loop``/``Scan``, no shape-building generators such as
  ``ConstantOfShape``, ``Expand``, ``Tile`` or ``Range``), with no subgraph attribute;
- the model declares no local functions and only the default operator set;
- no tensor (initializer or ``Constant`` value) uses external data (which would make
  onnxruntime read files outside the artifact) or is sparse;
- the tensors hold at most :func:`element_budget` elements in all, a bound that grows with the
  catalog (the ranker embeds an item table), and no float weight is NaN or infinite (one NaN
  row of an item table gives NaN answers to exactly the users who watched that item, which
  the readiness replay of one request does not see).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ytrec_infer.errors import ArtifactError

ALLOWED_OPS = frozenset(
    # what export/serving_tower.py and export/serving_ranker.py emit today ...
    "Add Cast Clip Concat Div Gather Gemm Greater Log MatMul Mul ReduceL2 ReduceSum Relu "
    "Reshape Shape Sqrt Unsqueeze "
    # ... and pure element-wise or reducing operators a retrained variant may add
    "Abs Constant Equal Exp Flatten Identity Less Max Min Neg Not Pow ReduceMax ReduceMean "
    "Sigmoid Slice Softmax Squeeze Sub Tanh Transpose Where".split()
)
"""Operators the exported networks may use: pure, shape-preserving or shape-reducing."""
DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
BASE_ELEMENTS = 1 << 26
"""Tensor elements allowed regardless of catalog size (64M: 256 MB of float32)."""
PER_ITEM_ELEMENTS = 1024
"""Tensor elements allowed per catalog item (item tables of up to 1024 floats a row)."""

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
"""TensorProto data type -> bytes per element (8 = string is refused: no string tensors)."""
_FLOAT_TYPES: dict[int, np.dtype] = {1: np.dtype("<f4"), 10: np.dtype("<f2"), 11: np.dtype("<f8")}
"""The raw_data layout of FLOAT, FLOAT16 and DOUBLE tensors."""
_FINITE_CHUNK = 1 << 20
"""Elements per finiteness check (in float64, so no finite float32 weight overflows)."""


class _Malformed(ValueError):
    """The bytes are not a protocol buffer of the expected shape."""


def element_budget(num_items: int) -> int:
    """How many tensor elements the networks of a ``num_items`` catalog may hold in all."""
    return BASE_ELEMENTS + PER_ITEM_ELEMENTS * max(num_items, 0)


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Malformed("truncated or over-long varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of one message: ints for scalars, views for bytes."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == _LENGTH:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise _Malformed("length-delimited field runs past the end")
            yield number, wire, data[pos : pos + size]
            pos += size
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            if pos + width > len(data):
                raise _Malformed("fixed-width field runs past the end")
            yield number, wire, int.from_bytes(data[pos : pos + width], "little")
            pos += width
        else:
            raise _Malformed(f"unsupported wire type {wire}")


def _text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise _Malformed("expected a string field")
    return bytes(value).decode("utf-8", errors="replace")


def _message(value: int | memoryview) -> memoryview:
    if not isinstance(value, memoryview):
        raise _Malformed("expected an embedded message")
    return value


def _dims(value: int | memoryview, wire: int) -> list[int]:
    if wire == _VARINT and isinstance(value, int):
        return [value]
    view, dims, pos = _message(value), [], 0
    while pos < len(view):
        dim, pos = _varint(view, pos)
        dims.append(dim)
    return dims


def _check_finite(data: bytes | memoryview, dtype: np.dtype | None) -> None:
    """Refuse float weights holding NaN or infinity (``dtype`` None: not a float tensor)."""
    if dtype is None or not len(data):
        return
    if len(data) % dtype.itemsize:
        raise _Malformed("tensor data is not a whole number of elements")
    values = np.frombuffer(data, dtype=dtype)
    for start in range(0, len(values), _FINITE_CHUNK):  # one dot product per chunk: NaN and
        chunk = values[start : start + _FINITE_CHUNK].astype(np.float64)  # inf propagate
        if not math.isfinite(chunk.dot(chunk)):
            raise _Refused("a weight tensor holds NaN or infinity")


class _Scan:
    """One pass over a model: counts tensor elements and refuses what is not allowed."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.elements = 0

    def tensor(self, data: memoryview) -> None:
        dims: list[int] = []
        data_type = 0
        raw: bytes | memoryview = b""
        packed: bytes | memoryview = b""
        single: list[int] = []
        for number, wire, value in _fields(data):
            if number == 1:
                dims += _dims(value, wire)
            elif number == 2 and isinstance(value, int):
                data_type = value
            elif number == 13 or (number == 14 and value == 1):
                raise _Refused("a tensor uses external data (files outside the model)")
            elif number == 9 and isinstance(value, memoryview):
                raw = value
            elif number == 4:
                if isinstance(value, memoryview):
                    packed = value
                else:
                    single.append(value)
        _check_finite(raw, _FLOAT_TYPES.get(data_type))
        _check_finite(packed, np.dtype("<f4"))
        _check_finite(np.array(single, dtype="<u4").tobytes(), np.dtype("<f4"))
        if data_type not in _ELEMENT_BYTES:
            raise _Refused(f"a tensor has data type {data_type}, which the networks never use")
        if any(d >= 1 << 63 for d in dims):
            raise _Refused("a tensor has a negative dimension")
        self.elements += math.prod(dims)
        if self.elements > self.budget:
            raise _Refused(f"tensors hold more than {self.budget:,} elements")

    def node(self, data: memoryview) -> None:
        op, domain = "", ""
        for number, _, value in _fields(data):
            if number == 4:
                op = _text(value)
            elif number == 7:
                domain = _text(value)
            elif number == 5:
                self.attribute(_message(value), op)
        if domain not in DEFAULT_DOMAINS:
            raise _Refused(f"operator {op!r} of domain {domain!r} is not allowed")
        if op not in ALLOWED_OPS:
            allowed = ", ".join(sorted(ALLOWED_OPS))
            raise _Refused(f"operator {op!r} is not allowed (allowed: {allowed})")

    def attribute(self, data: memoryview, op: str) -> None:
        for number, _, value in _fields(data):
            if number in (6, 11):
                raise _Refused(f"operator {op or '?'} carries a subgraph (control flow)")
            if number in (22, 23):
                raise _Refused("a sparse tensor attribute is not allowed")
            if number in (5, 10):
                self.tensor(_message(value))

    def graph(self, data: memoryview) -> None:
        for number, _, value in _fields(data):
            if number == 1:
                self.node(_message(value))
            elif number == 5:
                self.tensor(_message(value))
            elif number == 15:
                raise _Refused("sparse initializers are not allowed")

    def model(self, data: memoryview) -> None:
        graphs = 0
        for number, _, value in _fields(data):
            if number == 7:
                graphs += 1
                self.graph(_message(value))
            elif number == 8:
                for field, _, part in _fields(_message(value)):
                    if field == 1 and _text(part) not in DEFAULT_DOMAINS:
                        raise _Refused(f"operator set {_text(part)!r} is not allowed")
            elif number == 14:
                raise _Refused("model-local functions are not allowed")
        if graphs != 1:
            raise _Refused(f"holds {graphs} graphs, expected 1")


class _Refused(Exception):
    """The model is well formed but does something the runtime does not allow."""


def check_model_bytes(path: Path, data: bytes, num_items: int) -> None:
    """Refuse (ArtifactError naming ``path``) a model outside the allow-list or the size budget."""
    try:
        _Scan(element_budget(num_items)).model(memoryview(data))
    except _Refused as exc:
        raise ArtifactError(path, f"ONNX model refused before loading: {exc}") from None
    except _Malformed as exc:
        raise ArtifactError(path, f"is not a valid ONNX model ({exc})") from None
