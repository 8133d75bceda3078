"""Reloads load a new version in a bounded child process first: a version that hangs or needs
too much memory is refused within the bound, and a good version published after it still
gets picked up (a hang in the serving process would hold the reload lock forever)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import ServingRecommender
from ytrec_infer.artifact import MANIFEST, USER_TOWER, sha256_file
from ytrec_infer.manifest_integrity import with_digest

onnx = pytest.importorskip("onnx")


def _resign(folder: Path) -> None:
    data = json.loads((folder / MANIFEST).read_text())
    for name in data["files"]:
        path = folder / name
        data["files"][name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    (folder / MANIFEST).write_text(json.dumps(with_digest(data)))


def _feed_into_output(folder: Path, nodes: list, initializers: dict[str, np.ndarray]) -> None:
    """Add ``nodes`` (ending in tensor "extra") to the user tower, and add 0 * sum(extra) to its
    output, so onnxruntime must compute them; the answers do not change."""
    path = folder / USER_TOWER
    model = onnx.load(str(path))
    output = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = ["real_output" if o == output else o for o in node.output]
    initializers = {**initializers, "zero": np.zeros(1, np.float32)}
    tensors = [onnx.numpy_helper.from_array(v, k) for k, v in initializers.items()]
    model.graph.initializer.extend(tensors)
    helper = onnx.helper
    model.graph.node.extend(
        [
            *nodes,
            helper.make_node("ReduceSum", ["extra"], ["extra_sum"], keepdims=0),
            helper.make_node("Mul", ["extra_sum", "zero"], ["extra_zero"]),
            helper.make_node("Add", ["real_output", "extra_zero"], [output]),
        ]
    )
    onnx.save(model, str(path))
    _resign(folder)


def _slow(folder: Path) -> None:
    """A chain of 600 products of 2048 x 2048 matrices: allowed operators, bounded sizes, 10
    TFLOP of work (minutes on one core)."""
    nodes, previous = [], "a"
    for i in range(600):
        out = "extra" if i == 599 else f"chain{i}"
        nodes.append(onnx.helper.make_node("MatMul", [previous, "a"], [out]))
        previous = out
    _feed_into_output(folder, nodes, {"a": np.zeros((2048, 2048), np.float32)})


def _huge(folder: Path) -> None:
    """Two 40,000-element vectors whose broadcast sum is a 6.4 GB tensor."""
    _feed_into_output(
        folder,
        [onnx.helper.make_node("Add", ["col", "row"], ["extra"])],
        {"col": np.ones((40_000, 1), np.float32), "row": np.ones((1, 40_000), np.float32)},
    )


def test_hanging_and_memory_hungry_versions_are_refused_and_later_good_ones_load(
    artifact_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(artifact_dir, root / "v000001")
    serving = ServingRecommender(root, probe_timeout_s=15)
    expected = serving.recommend([50, 172, 181]).item_ids.tolist()
    for number, damage, message in (
        (2, _slow, "did not finish within 15 s in a probe process"),
        (3, _huge, "readiness check failed"),
    ):
        folder = root / f"v{number:06d}"
        shutil.copytree(artifact_dir, folder)
        damage(folder)
        start = time.monotonic()
        outcome = serving.reload()
        assert not outcome.swapped and outcome.version == root / "v000001"
        assert message in str(outcome.error) and str(root) in str(outcome.error)
        assert time.monotonic() - start < 90
        assert serving.recommend([50, 172, 181]).item_ids.tolist() == expected
        again = serving.reload()  # the refused version is not probed again
        assert not again.swapped and again.error is outcome.error
    shutil.copytree(artifact_dir, root / "v000004")
    assert serving.reload().swapped and serving.version == root / "v000004"
