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


RUNTIME_DEPENDENCIES = {"numpy", "onnxruntime", "hnswlib", "click", "ytrec_infer"}
# The serve subpackage (the optional 'serve' extra) alone may import the web stack; cli.py
# reaches it only inside the `serve` command.
SERVE_DEPENDENCIES = {"starlette", "uvicorn", "anyio"}


def test_runtime_imports_only_its_dependencies_at_module_level() -> None:
    for path in RUNTIME.rglob("*.py"):
        allowed = set(sys.stdlib_module_names) | RUNTIME_DEPENDENCIES
        if "serve" in path.relative_to(RUNTIME).parts[:-1]:
            allowed |= SERVE_DEPENDENCIES
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:  # module level: what `import ytrec_infer...` pulls in
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name}:{node.lineno} imports {roots - allowed}"


def test_importing_the_runtime_and_cli_loads_no_web_stack() -> None:
    script = (
        "import sys, ytrec_infer, ytrec_infer.cli\n"
        f"web = {sorted(SERVE_DEPENDENCIES)!r}\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in web or m.startswith('ytrec_infer.serve')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
