"""One ONNX network behind onnxruntime, its inputs and outputs checked against the manifest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ytrec_infer.manifest import ModelSpec
from ytrec_infer.errors import ArtifactError
from ytrec_infer.onnx_ops import check_model_bytes
from ytrec_infer.safe_load import read_bytes

MAX_MODEL_BYTES = 2**31 - 1
"""protobuf's limit on one message: onnxruntime cannot parse a larger model."""
_ORT_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64"}


def session_options(threads: int | None) -> ort.SessionOptions:
    """One intra-op thread by default: these networks are tiny, and an embedded library should
    not start a thread pool per core inside its host process."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxModel:
    """A loaded network whose declared inputs and outputs match the manifest's schema.

    The file's bytes are checked first (:func:`ytrec_infer.onnx_ops.check_model_bytes`:
    operator allow-list and size budget for a catalog of ``num_items``), then onnxruntime loads
    the file by its path: given the bytes instead, it keeps them alive beside its own copy of
    the weights (+314 MB resident for a 1M-item user tower). It reads the file into memory,
    never maps it, so a file replaced on disk later cannot fault a running session.
    """

    def __init__(
        self,
        path: Path,
        spec: ModelSpec,
        providers: Sequence[str | tuple[str, dict[str, str]]],
        threads: int | None,
        num_items: int = 0,
    ) -> None:
        check_model_bytes(path, read_bytes(path, MAX_MODEL_BYTES), num_items)
        try:
            self.session = ort.InferenceSession(
                str(path), session_options(threads), providers=providers
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ArtifactError(path, f"onnxruntime could not load it: {exc}") from None
        self.path = path
        self._check(spec)
        self.input_names = tuple(t.name for t in spec.inputs)
        self.output_name = spec.outputs[0].name

    def _check(self, spec: ModelSpec) -> None:
        declared = {i.name: _ORT_TYPES.get(i.type, i.type) for i in self.session.get_inputs()}
        expected = {t.name: t.dtype for t in spec.inputs}
        if declared != expected:
            raise ArtifactError(
                self.path, f"inputs {declared} do not match the manifest {expected}"
            )
        outputs = [o.name for o in self.session.get_outputs()]
        if outputs != [t.name for t in spec.outputs]:
            raise ArtifactError(self.path, f"outputs {outputs} do not match the manifest")

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run with the inputs this network declares, picked from ``feeds`` by name."""
        result = self.session.run(
            [self.output_name], {name: feeds[name] for name in self.input_names}
        )
        return np.asarray(result[0])
