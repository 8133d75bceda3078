"""The exported ONNX networks compute what the torch networks compute (max abs diff < 1e-4),
from each exporter (``export/onnx_export.py``): the artifact's own files (the default one)
and the other exporter's export of the same networks, both inside the runtime's operator
allow-list."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from export.onnx_export import DEFAULT_EXPORTER, EXPORTERS, export_ranker, export_user_tower
from trainers.holdout import holdout_set
from trainers.inference import rank_scores, retrieve_candidates
from ytrec_infer import artifact
from ytrec_infer.features import pad_histories
from ytrec_infer.onnx_ops import check_model_bytes

TOLERANCE = 1e-4


OTHER_EXPORTER = next(name for name in EXPORTERS if name != DEFAULT_EXPORTER)


@pytest.fixture(scope="module", params=["artifact", OTHER_EXPORTER])
def sessions(
    request: pytest.FixtureRequest, trained, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ort.InferenceSession]:
    folder = trained.artifact
    if request.param != "artifact":
        folder = tmp_path_factory.mktemp(request.param)
        export_user_tower(trained.candidate_model, folder / artifact.USER_TOWER, request.param)
        export_ranker(trained.ranker, folder / artifact.RANKER, request.param)
    out = {}
    for name, file in (("tower", artifact.USER_TOWER), ("ranker", artifact.RANKER)):
        path = folder / file
        check_model_bytes(path, path.read_bytes(), trained.data.num_items)
        out[name] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return out


def _requests(
    trained, count: int, max_history: int
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Real test-split users, plus edge cases: a one-item history and an empty one."""
    held = holdout_set(trained.data, "test")
    rows = held.user_rows[:count]
    histories = list(held.histories[:count])
    histories[0] = histories[0][-1:]
    histories[1] = histories[1][:0]
    return rows, histories, held.seconds_since_last[:count]


@pytest.mark.parametrize(("count", "max_history"), [(1, 50), (9, 5), (64, 50)])
def test_user_tower_matches_torch(trained, sessions, count: int, max_history: int) -> None:
    rows, histories, _ = _requests(trained, max(count, 2), max_history)
    rows, histories = rows[:count], histories[:count]
    data = trained.data
    feeds = {
        "history": pad_histories(histories, max_history),
        "user_categorical": data.user_categorical[rows],
        "user_numeric": data.user_numeric[rows],
        "example_age": np.linspace(0, 30, len(rows)).astype(np.float32),
    }
    onnx_out = sessions["tower"].run(None, feeds)[0]
    with torch.inference_mode():
        torch_out = trained.candidate_model(
            **{k: torch.from_numpy(v) for k, v in feeds.items()}
        ).numpy()
    assert onnx_out.shape == torch_out.shape
    assert np.abs(onnx_out - torch_out).max() < TOLERANCE


@pytest.mark.parametrize(("count", "n_candidates"), [(1, 1), (5, 100), (32, 37)])
def test_ranker_matches_torch(trained, sessions, count: int, n_candidates: int) -> None:
    data = trained.data
    rows, histories, gaps = _requests(trained, max(count, 2), data.schema.max_history)
    rows, histories, gaps = rows[:count], histories[:count], gaps[:count]
    _, codes, scores = retrieve_candidates(
        trained.candidate_model, data, rows, histories, n_candidates
    )
    expected = rank_scores(trained.ranker, data, rows, histories, codes, scores, gaps)
    feeds = {
        "history": pad_histories(histories, data.schema.max_history),
        "candidates": codes,
        "retrieval_scores": scores,
        "user_categorical": data.user_categorical[rows],
        "user_numeric": data.user_numeric[rows],
        "seconds_since_last": gaps.astype(np.float32),
    }
    got = sessions["ranker"].run(None, feeds)[0]
    assert got.shape == (count, n_candidates)
    assert np.abs(got - expected).max() < TOLERANCE


def test_manifest_declares_what_the_onnx_files_declare(trained, sessions) -> None:
    from ytrec_infer.artifact import read_manifest

    manifest = read_manifest(trained.artifact)
    for name, session in (("user_tower", sessions["tower"]), ("ranker", sessions["ranker"])):
        declared = [i.name for i in session.get_inputs()]
        assert declared == [t.name for t in manifest.models[name].inputs]
