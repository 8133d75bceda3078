"""The runtime's shape, checked from its source: its import graph has no cycle, it imports neither
the training side (``trainers``, ``export``) nor torch/onnx at module level, only the commands
that train reach ``trainers``/``export`` (lazily, inside the function), and no module is long."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "ytrec_infer"
FORBIDDEN = {"trainers", "export", "ytrec_trainers", "ytrec_export", "torch", "onnx", "onnxscript"}
LAZY_TRAINING: set[str] = set()
"""Modules that may import the training side inside a function: none since the training
commands and the synthetic builder are entry points (``ytrec_infer/plugins.py``)."""
MAX_LINES = 350
LONG_FOR_NOW: set[str] = set()
"""Still over the limit, to be split with issue 13's changes to them; this set must shrink."""


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules imported at import time, modules imported inside functions) by ``path``."""
    module = _name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    eager: set[str] = set()
    lazy: set[str] = set()

    def visit(node: ast.AST, inside_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: not imported at run time
            nested = inside_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            target = lazy if nested else eager
            if isinstance(child, ast.Import):
                target.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                target.add(base)
                target.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return eager, lazy


def _graph() -> dict[str, set[str]]:
    modules = {_name(p): p for p in RUNTIME.rglob("*.py")}
    return {
        name: {m for m in _imports(path)[0] if m in modules and m != name}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (modules in order), or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return []


def test_the_runtime_import_graph_has_no_cycle() -> None:
    graph = _graph()
    assert "ytrec_infer.retrieval.hnsw" in graph and graph["ytrec_infer.recommender"]
    assert _cycle(graph) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_runtime_never_imports_the_training_side_at_import_time() -> None:
    for path in RUNTIME.rglob("*.py"):
        eager, lazy = _imports(path)
        roots = {m.split(".")[0] for m in eager}
        assert not roots & FORBIDDEN, f"{path.relative_to(ROOT)} imports {roots & FORBIDDEN}"
        lazy_roots = {m.split(".")[0] for m in lazy} & FORBIDDEN
        if _name(path) not in LAZY_TRAINING:
            assert not lazy_roots, f"{path.relative_to(ROOT)} imports {lazy_roots} in a function"


def test_no_runtime_module_is_long() -> None:
    lengths = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in RUNTIME.rglob("*.py")
    }
    long = {path for path, lines in lengths.items() if lines > MAX_LINES}
    assert long == LONG_FOR_NOW, {path: lengths[path] for path in long ^ LONG_FOR_NOW}


def test_no_private_name_is_imported_across_packages() -> None:
    """``benchmarks/`` and the training side use public helpers, never another package's ``_x``."""
    found = []
    for top in ("ytrec_infer", "export", "trainers", "benchmarks"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    other = node.module.split(".")[0] != top
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if other and private and node.module != "__future__":
                        found.append(f"{path.relative_to(ROOT)}: {node.module} {private}")
    assert found == []
