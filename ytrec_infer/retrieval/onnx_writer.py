"""A minimal writer of ONNX model files, so the runtime can build small graphs without ``onnx``.

The runtime may not import ``onnx`` (nor torch), yet it builds the exact top-k graph at load time
for whatever catalog it is given. ONNX files are protocol buffers; this module writes the few
message types such a graph needs (model, graph, node, attribute, tensor, value info) with the
field numbers of ``onnx.proto``. The IR version is set explicitly: onnxruntime 1.31 reads IR 13
at most, and an unset one is rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

IR_VERSION = 8
"""IR 8 (onnx 1.10+) is read by every onnxruntime this package supports (>= 1.17)."""
OPSET = 17

FLOAT, INT64, FLOAT16 = 1, 7, 10
"""TensorProto data types used here."""
_NUMPY_TYPES = {FLOAT: np.float32, INT64: np.int64, FLOAT16: np.float16}
_ATTR_INT, _ATTR_INTS = 2, 7


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _int(number: int, value: int) -> bytes:
    return _key(number, 0) + _varint(value)


def _bytes(number: int, value: bytes) -> bytes:
    return _key(number, 2) + _varint(len(value)) + value


def _str(number: int, value: str) -> bytes:
    return _bytes(number, value.encode("utf-8"))


@dataclass(frozen=True)
class Node:
    """One operator: ``op`` with named inputs/outputs and int / int-list attributes."""

    op: str
    inputs: Sequence[str]
    outputs: Sequence[str]
    ints: Mapping[str, int] = field(default_factory=dict)
    int_lists: Mapping[str, Sequence[int]] = field(default_factory=dict)

    def encode(self, name: str) -> bytes:
        out = b"".join(_str(1, i) for i in self.inputs)
        out += b"".join(_str(2, o) for o in self.outputs)
        out += _str(3, name) + _str(4, self.op)
        for key, value in self.ints.items():
            out += _bytes(5, _str(1, key) + _int(3, value) + _int(20, _ATTR_INT))
        for key, values in self.int_lists.items():
            body = _str(1, key) + b"".join(_int(8, v) for v in values) + _int(20, _ATTR_INTS)
            out += _bytes(5, body)
        return out


def _tensor(name: str, array: np.ndarray) -> bytes:
    data_type = next(t for t, dt in _NUMPY_TYPES.items() if np.dtype(dt) == array.dtype)
    dims = b"".join(_int(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return dims + _int(2, data_type) + _str(8, name) + _bytes(9, raw)


def _value_info(name: str, elem_type: int, shape: Sequence[int | str]) -> bytes:
    dims = b"".join(_bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


@dataclass
class Graph:
    """A graph under construction: declared inputs/outputs, constants and nodes in order."""

    name: str
    inputs: list[tuple[str, int, Sequence[int | str]]] = field(default_factory=list)
    outputs: list[tuple[str, int, Sequence[int | str]]] = field(default_factory=list)
    constants: dict[str, np.ndarray] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)

    def const(self, name: str, values: Sequence[int] | np.ndarray) -> str:
        """An int64 constant (initializer) named ``name``; returns the name."""
        self.constants[name] = np.asarray(values, dtype=np.int64)
        return name

    def add(self, op: str, inputs: Sequence[str], output: str, **attrs: int | list[int]) -> str:
        """Append a single-output node with int / int-list attributes; returns its output."""
        ints = {key: v for key, v in attrs.items() if isinstance(v, int)}
        lists = {key: v for key, v in attrs.items() if isinstance(v, list)}
        self.nodes.append(Node(op, list(inputs), [output], ints, lists))
        return output

    def add_node(self, node: Node) -> None:
        self.nodes.append(node)

    def to_bytes(self, producer: str = "ytrec_infer") -> bytes:
        """The serialised ModelProto (IR :data:`IR_VERSION`, default domain opset :data:`OPSET`)."""
        body = b"".join(_bytes(1, n.encode(f"n{i}_{n.op}")) for i, n in enumerate(self.nodes))
        body += _str(2, self.name)
        body += b"".join(_bytes(5, _tensor(k, v)) for k, v in self.constants.items())
        body += b"".join(_bytes(11, _value_info(*spec)) for spec in self.inputs)
        body += b"".join(_bytes(12, _value_info(*spec)) for spec in self.outputs)
        opset = _bytes(8, _str(1, "") + _int(2, OPSET))
        return _int(1, IR_VERSION) + _str(2, producer) + opset + _bytes(7, body)
