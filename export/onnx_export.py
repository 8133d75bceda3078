"""Export the two networks to ONNX with dynamic batch, history and candidate dimensions.

Two exporters, the same graphs' function (``tests/test_onnx_parity.py`` runs both): the
TorchScript tracer (``"torchscript"``, the default while torch ships it) and the
torch.export-based one (``"dynamo"``, torch 2.x's default, used where the tracer is gone). The
tracer takes about 0.3 s for both networks; torch.export took 4-8 s quiet (7-22 s on a busy
machine), most of the export phase of a 100K-interaction training run (docs/evaluation.md,
"Training time"). The graph is read back with ``onnx`` to record its exact inputs and outputs
in the manifest, so the runtime checks what it feeds against what the file really declares.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import onnx
import torch

from export.serving_ranker import ServingRanker
from export.serving_tower import ServingTower
from trainers.models import CandidateModel, Ranker
from ytrec_infer import network_inputs as names
from ytrec_infer.manifest import TensorSpec

MAX_IR_VERSION = 10
OPSET = 18
_DTYPES = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64"}


def _sample_user_inputs(
    batch: int, length: int, categorical: int, numeric: int
) -> dict[str, torch.Tensor]:
    return {
        names.HISTORY: torch.tensor([[1, 2, 0][:length]] * batch, dtype=torch.int64),
        names.USER_CATEGORICAL: torch.zeros((batch, categorical), dtype=torch.int64),
        names.USER_NUMERIC: torch.full((batch, numeric), 0.5),
    }


def tensor_specs(values: list[onnx.ValueInfoProto]) -> tuple[TensorSpec, ...]:
    """Names, dtypes and shapes (dynamic dims by name) declared by an ONNX graph."""
    specs = []
    for value in values:
        tensor = value.type.tensor_type
        shape = tuple(d.dim_param if d.dim_param else int(d.dim_value) for d in tensor.shape.dim)
        specs.append(
            TensorSpec(value.name, _DTYPES.get(tensor.elem_type, str(tensor.elem_type)), shape)
        )
    return tuple(specs)


def _legacy_exporter() -> bool:
    """Whether this torch still has the TorchScript exporter."""
    try:
        import torch.onnx._internal.torchscript_exporter  # noqa: F401
    except ImportError:
        return False
    return True


EXPORTERS = ("torchscript", "dynamo")
DEFAULT_EXPORTER = "torchscript" if _legacy_exporter() else "dynamo"


def _export(
    module: torch.nn.Module,
    inputs: dict[str, torch.Tensor],
    dynamic: dict[str, dict[int, torch.export.Dim]],
    output: str,
    path: Path,
    exporter: str,
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    module.eval()
    with warnings.catch_warnings():
        # The tracer's deprecation notice, torch.export's and its note on merged axis names
        # are harmless here.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # The tracer notes that column lists become constants: they are.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r".*axis name.*will not be used")
        if exporter == "torchscript":
            torch.onnx.export(
                module,
                tuple(inputs.values()),
                str(path),
                input_names=list(inputs),
                output_names=[output],
                dynamic_axes={
                    name: {axis: dim.__name__ for axis, dim in axes.items()}
                    for name, axes in dynamic.items()
                },
                dynamo=False,
                opset_version=OPSET,
            )
        else:
            torch.onnx.export(
                module,
                (),
                str(path),
                kwargs=inputs,
                input_names=list(inputs),
                output_names=[output],
                dynamic_shapes=dynamic,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    model = onnx.load(str(path))
    if model.ir_version > MAX_IR_VERSION:
        raise RuntimeError(
            f"{path.name}: ONNX IR {model.ir_version} is newer than onnxruntime reads everywhere"
        )
    onnx.checker.check_model(model)
    return tensor_specs(list(model.graph.input)), tensor_specs(list(model.graph.output))


def export_user_tower(
    model: CandidateModel, path: Path, exporter: str = DEFAULT_EXPORTER
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """user_tower.onnx: (history, user_categorical, user_numeric, example_age) -> user_vector [B, D].

    Exports :class:`ServingTower` (same function, fewer graph nodes)."""
    batch, length = torch.export.Dim("batch"), torch.export.Dim("history")
    inputs = _sample_user_inputs(2, 3, *model.user_widths)
    inputs[names.EXAMPLE_AGE] = torch.zeros(2)
    dynamic = {
        names.HISTORY: {0: batch, 1: length},
        names.USER_CATEGORICAL: {0: batch},
        names.USER_NUMERIC: {0: batch},
        names.EXAMPLE_AGE: {0: batch},
    }
    return _export(ServingTower(model), inputs, dynamic, names.USER_VECTOR, path, exporter)


def export_ranker(
    ranker: Ranker, path: Path, exporter: str = DEFAULT_EXPORTER
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """ranker.onnx: (history, candidates, retrieval_scores, user features) -> logits [B, C].

    Exports :class:`ServingRanker` (same function, item rows precomputed, first layer folded)."""
    batch, length, count = (
        torch.export.Dim("batch"),
        torch.export.Dim("history"),
        torch.export.Dim("candidates"),
    )
    user = _sample_user_inputs(2, 3, *ranker.user_widths)
    inputs = {
        names.HISTORY: user[names.HISTORY],
        names.CANDIDATES: torch.tensor([[1, 2, 3, 4]] * 2, dtype=torch.int64),
        names.RETRIEVAL_SCORES: torch.zeros((2, 4)),
        names.USER_CATEGORICAL: user[names.USER_CATEGORICAL],
        names.USER_NUMERIC: user[names.USER_NUMERIC],
        names.SECONDS_SINCE_LAST: torch.full((2,), 60.0),
    }
    dynamic = {
        names.HISTORY: {0: batch, 1: length},
        names.CANDIDATES: {0: batch, 1: count},
        names.RETRIEVAL_SCORES: {0: batch, 1: count},
        names.USER_CATEGORICAL: {0: batch},
        names.USER_NUMERIC: {0: batch},
        names.SECONDS_SINCE_LAST: {0: batch},
    }
    return _export(ServingRanker(ranker), inputs, dynamic, names.LOGITS, path, exporter)
