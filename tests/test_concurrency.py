"""One Recommender shared by 8 threads answers exactly as sequential calls; a hot reload during
that load loses no request, and a bad new version never replaces the serving one."""

from __future__ import annotations

import itertools
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from export import bundle
from ytrec_infer import ArtifactError, Recommendations, Recommender, ServingRecommender
from ytrec_infer.artifact import RANKER

THREADS = 8
CALLS = 500

Request = tuple[list[int], int, dict]
Answer = tuple[list[int], list[float], str]


def _requests(rec: Recommender, count: int) -> list[Request]:
    rng = np.random.default_rng(0)
    ids = rec.catalog.item_ids
    users = [{}, {"age": 25, "gender": "F"}, {"occupation": "student", "seconds_since_last": 60}]
    return [
        (
            rng.choice(ids, size=int(rng.integers(0, 30)), replace=False).tolist(),
            int(rng.integers(1, 20)),
            users[i % len(users)],
        )
        for i in range(count)
    ]


def _answer(result: Recommendations) -> Answer:
    return result.item_ids.tolist(), result.scores.tolist(), result.stage


def _hammer(
    call: Callable[[Request], Recommendations], requests: list[Request]
) -> tuple[list[list[Answer | None]], list[BaseException]]:
    """THREADS threads each run every request, each starting at a different one."""
    answers: list[list[Answer | None]] = [[None] * len(requests) for _ in range(THREADS)]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(t: int) -> None:
        start.wait()
        try:
            for step in range(len(requests)):
                i = (step + t * 61) % len(requests)
                answers[t][i] = _answer(call(requests[i]))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers, errors


@pytest.fixture(scope="module")
def requests_and_expected(artifact_dir: Path) -> tuple[list[Request], list[Answer]]:
    rec = Recommender.load(artifact_dir)
    requests = _requests(rec, CALLS)
    return requests, [_answer(rec.recommend(h, k=k, user=u)) for h, k, u in requests]


def test_threads_sharing_one_recommender_match_sequential_calls(
    artifact_dir: Path, requests_and_expected: tuple[list[Request], list[Answer]]
) -> None:
    requests, expected = requests_and_expected
    rec = Recommender.load(artifact_dir)
    answers, errors = _hammer(lambda r: rec.recommend(r[0], k=r[1], user=r[2]), requests)
    assert not errors
    assert all(got == expected for got in answers)


def _publish(artifact_dir: Path, root: Path, damage: bool = False) -> Path:
    with bundle.staging(root) as folder:
        for path in artifact_dir.iterdir():
            shutil.copy(path, folder / path.name)
        if damage:
            (folder / RANKER).write_bytes(b"not a network")
        return bundle.publish(folder, root, keep=None)


def test_reload_during_load_loses_no_request(
    artifact_dir: Path,
    tmp_path: Path,
    requests_and_expected: tuple[list[Request], list[Answer]],
) -> None:
    requests, expected = requests_and_expected
    root = tmp_path / "models"
    first = _publish(artifact_dir, root)
    serving = ServingRecommender(root)
    assert serving.version == first and serving.reload().swapped is False

    outcomes = []
    served = itertools.count(1)
    halfway = threading.Event()
    served_at_swap = []

    def reload_while_serving() -> None:
        halfway.wait()
        outcomes.append(serving.reload())  # nothing new yet
        _publish(artifact_dir, root)
        outcomes.append(serving.reload())  # swaps to v000002
        served_at_swap.append(next(served))
        _publish(artifact_dir, root, damage=True)
        outcomes.append(serving.reload())  # v000003 is bad: v000002 keeps serving

    reloader = threading.Thread(target=reload_while_serving)
    reloader.start()

    def call(r: Request) -> Recommendations:
        if next(served) == THREADS * CALLS // 4:
            halfway.set()
        return serving.recommend(r[0], k=r[1], user=r[2])

    answers, errors = _hammer(call, requests)
    reloader.join()
    assert not errors
    assert all(got == expected for got in answers), "every request answered, all correctly"
    assert [o.swapped for o in outcomes] == [False, True, False]
    assert isinstance(outcomes[2].error, ArtifactError) and "v000003" in str(outcomes[2].error)
    assert serving.version == root / "v000002" and serving.last_error is outcomes[2].error
    assert served_at_swap[0] < THREADS * CALLS, "the swap happened while requests were running"


def test_watch_picks_up_a_new_version_and_stops(artifact_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "models"
    _publish(artifact_dir, root)
    serving = ServingRecommender(root)
    with pytest.raises(ValueError, match="interval_s"):
        serving.watch(0)
    serving.watch(0.02)
    try:
        newer = _publish(artifact_dir, root)
        deadline = threading.Event()
        for _ in range(500):
            if serving.version == newer:
                break
            deadline.wait(0.01)
        assert serving.version == newer
    finally:
        serving.stop()
