"""Every stage's output is checked per request: a wrong shape or a NaN is refused, never served."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommender
from ytrec_infer import recommender as recommender_module
from ytrec_infer.errors import ArtifactError, StageOutputError

HISTORY = [50, 172, 181]


@pytest.fixture(scope="module")
def rec(artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir)


def _broken(model: object, change) -> object:  # type: ignore[no-untyped-def]
    """A stand-in for one network whose outputs pass through ``change``."""

    class Broken:
        path = model.path  # type: ignore[attr-defined]

        def run(self, feeds):  # type: ignore[no-untyped-def]
            return change(model.run(feeds))  # type: ignore[attr-defined]

    return Broken()


def _nan_in_last_row(out: np.ndarray) -> np.ndarray:
    out = out.copy()
    out[-1, 0] = np.nan
    return out


@pytest.mark.parametrize(
    ("network", "change", "message"),
    [
        ("_user_tower", _nan_in_last_row, r"user_tower\.onnx: user vectors? holds NaN"),
        ("_user_tower", lambda out: out[:, :-1], r"user_tower\.onnx: user vectors? has shape"),
        ("_ranker", _nan_in_last_row, r"ranker\.onnx: ranker logits holds NaN"),
        ("_ranker", lambda out: out[:, :1], r"ranker\.onnx: ranker logits has shape"),
        ("_ranker", lambda out: np.concatenate([out, out[:, :5]], axis=1), "has shape"),
    ],
)
def test_a_bad_stage_output_is_refused_by_every_entry_point(
    rec: Recommender, monkeypatch: pytest.MonkeyPatch, network: str, change, message: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rec, network, _broken(getattr(rec, network), change))
    calls = [lambda: rec.recommend(HISTORY, k=10), lambda: rec.recommend_batch([[1, 2], HISTORY])]
    if network == "_user_tower":
        calls.append(lambda: rec.candidates(HISTORY, n=10))
    else:
        calls.append(lambda: rec.rank(HISTORY, [1, 2, 3]))
    for call in calls:
        with pytest.raises(StageOutputError, match=message) as caught:
            call()
        assert isinstance(caught.value, ArtifactError), "an app catching ArtifactError sees it"


def test_nan_retrieval_scores_are_refused(
    rec: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = rec.retriever.search

    def nan_search(vector, n, exclude):  # type: ignore[no-untyped-def]
        codes, scores = search(vector, n, exclude)
        return codes, np.full_like(scores, np.nan)

    monkeypatch.setattr(rec._retriever, "search", nan_search)
    with pytest.raises(StageOutputError, match="retrieval scores holds NaN"):
        rec.recommend(HISTORY)


def test_batches_are_processed_in_chunks_with_the_same_answers(
    rec: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    histories = [[int(i), int(i) + 1, int(i) + 2] for i in range(1, 40, 3)]
    whole = rec.recommend_batch(histories, k=5)
    monkeypatch.setattr(recommender_module, "BATCH_CHUNK", 3)
    sizes = []
    run = rec._user_tower.run

    def counting(feeds):  # type: ignore[no-untyped-def]
        sizes.append(len(feeds["history"]))
        return run(feeds)

    monkeypatch.setattr(rec._user_tower, "run", counting)
    chunked = rec.recommend_batch(histories, k=5)
    assert max(sizes) == 3 and sum(sizes) == len(histories)
    assert [r.item_ids.tolist() for r in chunked] == [r.item_ids.tolist() for r in whole]


def test_an_hnsw_graph_without_level0_links_is_refused_not_answered(
    artifact_dir: Path, tmp_path: Path
) -> None:
    """Every id in range, yet nothing reachable: hnswlib cannot return k neighbours."""
    import json
    import shutil

    from ytrec_infer.artifact import INDEX, MANIFEST, sha256_file
    from ytrec_infer.hnsw_header import HEADER, level0_dtype, read_header
    from ytrec_infer.manifest_integrity import with_digest

    folder = tmp_path / "artifact"
    shutil.copytree(artifact_dir, folder)
    path = folder / INDEX
    header = read_header(path)
    raw = bytearray(path.read_bytes())
    level0 = np.frombuffer(raw, level0_dtype(header), header.element_count, HEADER.size)
    level0["links"][:, 0] = 0
    path.write_bytes(bytes(raw))
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][INDEX] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    (folder / MANIFEST).write_text(json.dumps(with_digest(manifest)))
    with pytest.raises(ArtifactError, match=r"items\.hnsw: hnswlib search failed"):
        Recommender.load(folder, retrieval="hnsw")
