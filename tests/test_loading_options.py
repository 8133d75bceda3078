"""One options record for every load: checked when built, kept by the model, reused by reloads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from export import bundle
from ytrec_infer import LoadOptions, Recommender, ServingRecommender
from ytrec_infer.devices import CPU_PROVIDER, DeviceUnavailableError


def _publish(artifact_dir: Path, root: Path) -> Path:
    with bundle.staging(root) as folder:
        for path in artifact_dir.iterdir():
            shutil.copy(path, folder / path.name)
        return bundle.publish(folder, root)


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"device": "cpu", "providers": [CPU_PROVIDER]}, ValueError, "not both"),
        ({"retrieval": "faiss"}, ValueError, "retrieval must be one of"),
        ({"threads": 0}, ValueError, "threads"),
        ({"providers": CPU_PROVIDER}, TypeError, "list of provider names"),
        ({"float16": "yes"}, TypeError, "float16"),
    ],
)
def test_bad_options_fail_when_built(fields: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        LoadOptions(**fields)


def test_a_missing_provider_names_the_fix(artifact_dir: Path) -> None:
    with pytest.raises(DeviceUnavailableError, match="not available") as caught:
        Recommender.load(artifact_dir, providers=["NoSuchExecutionProvider"])
    assert isinstance(caught.value, ValueError), "it was a ValueError before it had its own type"


def test_load_keeps_its_options_and_refuses_two_sources(artifact_dir: Path) -> None:
    options = LoadOptions(providers=[CPU_PROVIDER], retrieval="hnsw")
    assert options.providers == (CPU_PROVIDER,)
    rec = Recommender.load(artifact_dir, options=options)
    assert rec.options == options and rec.retriever.kind == "hnsw"
    assert Recommender.load(artifact_dir, retrieval="hnsw").options == LoadOptions(
        retrieval="hnsw"
    )
    with pytest.raises(ValueError, match="not both"):
        Recommender.load(artifact_dir, threads=2, options=options)


def test_reloads_keep_the_callers_options(artifact_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    _publish(artifact_dir, root)
    serving = ServingRecommender(root, device="cpu", retrieval="hnsw", threads=2)
    first = serving.current
    newer = _publish(artifact_dir, root)
    outcome = serving.reload()
    assert outcome.swapped and outcome.version == newer and serving.current is not first
    assert serving.current.options == LoadOptions(device="cpu", retrieval="hnsw", threads=2)
    assert serving.current.retriever.kind == "hnsw"


def test_serving_batch_equals_the_models_batch(artifact_dir: Path) -> None:
    serving = ServingRecommender(artifact_dir)
    histories = [[50, 172, 181], [1, 2, 3], []]
    got = serving.recommend_batch(histories, k=5, n_candidates=50, exclude_history=False)
    want = serving.current.recommend_batch(histories, k=5, n_candidates=50, exclude_history=False)
    assert [r.item_ids.tolist() for r in got] == [r.item_ids.tolist() for r in want]
    assert [r.stage for r in got] == ["ranked", "ranked", "popular"]
