"""The exported ONNX networks compute what the torch networks compute (max abs diff < 1e-4)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from trainers.holdout import holdout_set
from trainers.inference import rank_scores, retrieve_candidates
from ytrec_infer import artifact
from ytrec_infer.features import pad_histories

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def sessions(trained) -> dict[str, ort.InferenceSession]:
    folder = trained.artifact
    return {
        name: ort.InferenceSession(str(folder / file), providers=["CPUExecutionProvider"])
        for name, file in (("tower", artifact.USER_TOWER), ("ranker", artifact.RANKER))
    }


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
