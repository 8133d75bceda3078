"""Hatch build hook: put the training side into the wheel under non-colliding import names.

The repository keeps ``trainers/`` and ``export/`` (tests, benchmarks and an editable install
import them by those names), but a wheel must not install top-level packages called
``trainers`` or ``export`` into site-packages. For a regular (non-editable) wheel this hook
copies both folders into a temporary tree as ``ytrec_trainers/`` and ``ytrec_export/``,
rewrites their absolute imports of each other accordingly, and adds them to the wheel. The
entry points of ``pyproject.toml`` name these modules (``ytrec_infer/plugins.py``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

RENAMED = {"trainers": "ytrec_trainers", "export": "ytrec_export"}
_IMPORT = re.compile(r"^(\s*)(from|import)\s+(trainers|export)\b", re.MULTILINE)


def rewrite(source: str) -> str:
    """``from trainers.x import y`` -> ``from ytrec_trainers.x import y`` (and ``export``)."""
    return _IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)} {RENAMED[m.group(3)]}", source)


class TrainingSideHook(BuildHookInterface):  # type: ignore[misc]
    """Adds the renamed training side to regular wheels (editable installs use the checkout)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        self._tmp = Path(tempfile.mkdtemp(prefix="ytrec-wheel-"))
        root = Path(self.root)
        for source, target in RENAMED.items():
            for path in sorted((root / source).rglob("*")):
                if "__pycache__" in path.parts or path.is_dir():
                    continue
                out = self._tmp / target / path.relative_to(root / source)
                out.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".py":
                    out.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
                else:
                    shutil.copy2(path, out)
            build_data["force_include"][str(self._tmp / target)] = target

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
