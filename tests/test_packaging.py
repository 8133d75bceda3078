"""The wheel holds the runtime only, with exactly the runtime dependencies and both commands."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("ytrec_infer-*.whl")
    return found


def test_wheel_holds_the_runtime_and_the_renamed_training_side(wheel: Path) -> None:
    """No top-level ``trainers`` or ``export`` in site-packages: the training side is there as
    ``ytrec_trainers``/``ytrec_export``, its imports rewritten (scripts/hatch_build_training.py)."""
    names = zipfile.ZipFile(wheel).namelist()
    packages = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert packages == {"ytrec_infer", "ytrec_trainers", "ytrec_export"}
    builder = zipfile.ZipFile(wheel).read("ytrec_export/artifact_builder.py").decode()
    assert "from ytrec_trainers.config import" in builder and "from trainers" not in builder
    assert "ytrec_trainers/schemas/movielens.json" in names
    assert "ytrec_infer/recommender.py" in names
    assert "ytrec_infer/py.typed" in names  # PEP 561: type checkers use the package's hints
    for page in ("index.html", "page.js", "page.css"):  # the page of `ytrec serve`
        assert f"ytrec_infer/serve/static/{page}" in names


def test_wheel_dependencies_and_commands(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(archive.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist") or []
    runtime = sorted(
        r.split(">")[0].split("=")[0].split("<")[0].strip() for r in requires if "extra ==" not in r
    )
    assert runtime == ["click", "hnswlib", "numpy", "onnxruntime"]
    train = " ".join(r for r in requires if "extra == 'train'" in r or 'extra == "train"' in r)
    assert "torch" in train and "onnx" in train
    serve = " ".join(r for r in requires if "extra == 'serve'" in r or 'extra == "serve"' in r)
    assert "starlette" in serve and "uvicorn" in serve
    entry_points = archive.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert "ytrec = ytrec_infer.cli:main" in entry_points
    assert "ytrec-bench = ytrec_infer.bench:main" in entry_points
