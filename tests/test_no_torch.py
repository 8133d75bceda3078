"""The runtime serves an artifact in a process where torch and onnx cannot even be imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[1] / "ytrec_infer"

SCRIPT = """
import sys, importlib.abc

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "onnx", "onnxscript", "trainers", "export"}:
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
from ytrec_infer import Recommender
from ytrec_infer.cli import main

rec = Recommender.load(sys.argv[1])
top = rec.recommend([50, 172, 181], k=10)
assert len(top) == 10 and top.stage == "ranked", top
assert len(rec.candidates([50, 172, 181], n=100)) == 100
assert len(rec.rank([50, 172, 181], [1, 2, 3])) == 3
main(["recommend", sys.argv[1], "--history", "50,172,181", "-k", "3"], standalone_mode=False)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "onnx", "onnxscript"})
assert not loaded, loaded
print("NO-TORCH-OK")
"""


def test_recommend_in_a_process_without_torch(artifact_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(artifact_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "NO-TORCH-OK" in result.stdout


def test_runtime_sources_import_no_training_stack() -> None:
    forbidden = {
        "torch", "onnx", "onnxscript", "trainers", "export", "ytrec_trainers", "ytrec_export"
    }
    for path in RUNTIME.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            roots = {name.split(".")[0] for name in names}
            assert not roots & forbidden, f"{path.name}:{node.lineno} imports {roots & forbidden}"
