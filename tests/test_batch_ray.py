"""Ray Data batch recommendation (``ytrec batch-recommend``) writes what a single-process loop of
``recommend_batch`` over the same users gives. Marked ``ray``: run by ``.ci/run`` in its own
step after installing the extra (``pytest -m ray``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from ytrec_infer import Recommender
from ytrec_infer.cli import main

ITEMS = 1500
USERS = 120


@pytest.fixture(scope="module")
def local_ray() -> Any:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from export.synthetic import build

    return build(tmp_path_factory.mktemp("ray") / "syn", ITEMS, seed=5)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet log of string user ids, shuffled rows and timestamp ties, split in two files."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(0)
    users = rng.integers(0, USERS, 2400)
    table = pa.table(
        {
            "user": [f"u-{u:04d}" for u in users],
            "item": rng.integers(1, ITEMS + 40, len(users)),  # some ids unknown to the catalog
            "timestamp": rng.integers(0, 500, len(users)),
        }
    )
    folder = tmp_path_factory.mktemp("log")
    pq.write_table(table.slice(0, 1000), folder / "part-0.parquet")
    pq.write_table(table.slice(1000), folder / "part-1.parquet")
    return folder


def _single_process(artifact: Path, log: Path, k: int) -> dict[str, list[Any]]:
    """The reference: each user's items by (timestamp, item), recommend_batch in this process."""
    import pyarrow.parquet as pq

    table = pq.read_table(log)
    users = np.array(table.column("user").to_pylist())
    items = table.column("item").to_numpy()
    order = np.lexsort((items, table.column("timestamp").to_numpy(), users))
    names, starts = np.unique(users[order], return_index=True)
    histories = [part.tolist() for part in np.split(items[order], starts[1:])]
    results = Recommender.load(artifact).recommend_batch(histories, k=k)
    return {
        "user": [u for u, r in zip(names, results) for _ in r],
        "rank": [rank for r in results for rank in range(1, len(r) + 1)],
        "item": [item.item_id for r in results for item in r],
        "score": [item.score for r in results for item in r],
    }


@pytest.mark.ray
def test_ray_batch_equals_a_single_process_loop(
    local_ray: Any, artifact: Path, log: Path, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "recs"
    args = ["batch-recommend", "--artifact", str(artifact), "--log", str(log), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "-k", "7", "--actors", "2", "--batch-size", "32"])
    assert result.exit_code == 0, result.output
    got = pq.read_table(out).sort_by([("user", "ascending"), ("rank", "ascending")]).to_pydict()
    want = _single_process(artifact, log, 7)
    assert len(set(got["user"])) == USERS and f'"rows": {USERS * 7}' in result.output
    assert (got["user"], got["rank"], got["item"]) == (want["user"], want["rank"], want["item"])
    np.testing.assert_allclose(got["score"], want["score"], rtol=0, atol=1e-5)


@pytest.mark.ray
def test_ray_batch_names_what_is_wrong(
    local_ray: Any, artifact: Path, log: Path, tmp_path: Path
) -> None:
    from ytrec_infer.batch_ray import LogColumns, recommend_log

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.parquet").write_bytes(b"")
    with pytest.raises(FileExistsError, match="is not an empty folder"):
        recommend_log(artifact, log, tmp_path / "full")
    with pytest.raises(ValueError, match=r"no column\(s\) \[.watched_at.\]"):
        recommend_log(artifact, log, tmp_path / "new", columns=LogColumns(timestamp="watched_at"))


def test_the_runtime_and_cli_import_no_ray() -> None:
    script = (
        "import sys, ytrec_infer, ytrec_infer.cli, ytrec_infer.batch_ray\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow', 'pandas')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
