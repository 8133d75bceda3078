"""Shared fixtures: the real MovieLens 100K copy and one small trained artifact per session.

Without the data about two thirds of the suite cannot run. Locally those tests are skipped;
with the environment variable ``CI`` set they fail, so a CI run that cannot see the data
never goes green on skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ML100K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ml-100k"


def ml100k_path() -> Path:
    """The shared MovieLens 100K folder; skips the test without it, or fails it when CI is set."""
    if not (ML100K / "ml-100k.inter").is_file():
        missing = f"MovieLens 100K not found at {ML100K}"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI is set: missing data is a failure, not a skip)")
        pytest.skip(missing)
    return ML100K


@pytest.fixture(scope="session")
def ml100k() -> Path:
    return ml100k_path()


@pytest.fixture(scope="session")
def trained(ml100k: Path, tmp_path_factory: pytest.TempPathFactory):
    """Train the small configuration on the real data once and export it (about 30 s)."""
    from trainers.config import TrainConfig
    from trainers.pipeline import train_and_export

    out = tmp_path_factory.mktemp("artifacts") / "ml100k"
    return train_and_export(ml100k, out, TrainConfig.small())


@pytest.fixture(scope="session")
def artifact_dir(trained) -> Path:
    return trained.artifact


@pytest.fixture(scope="session")
def serve_root(artifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root of published versions holding one copy of the session's artifact (v000001)."""
    pytest.importorskip("uvicorn")
    from benchmarks.serve.process import publish

    root = tmp_path_factory.mktemp("serve") / "root"
    root.mkdir()
    publish(root, artifact_dir)
    return root


@pytest.fixture(scope="session")
def server(serve_root: Path):
    """``ytrec serve`` on the root, reloading every 0.2 s, with small limits for the tests."""
    from benchmarks.serve.process import serving

    options = "--reload-interval 0.2 --body-timeout 1 --max-body-bytes 65536 --max-k 50"
    with serving(serve_root, *options.split(), "--max-batch", "64") as running:
        yield running
