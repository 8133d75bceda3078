"""Throughput: ``recommend_batch`` in batches, and N threads sharing one ``Recommender``."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from ytrec_infer.recommender import Recommender


def batch_throughput(
    rec: Recommender, histories: np.ndarray, batch_size: int, k: int, n_candidates: int
) -> float:
    """Requests per second of ``recommend_batch`` over ``histories`` in batches of ``batch_size``."""
    rows = list(histories)
    start = time.perf_counter()
    for first in range(0, len(rows), batch_size):
        rec.recommend_batch(rows[first : first + batch_size], k, n_candidates=n_candidates)
    return len(rows) / (time.perf_counter() - start)


def threaded_throughput(
    rec: Recommender, histories: np.ndarray, threads: int, k: int, n_candidates: int
) -> float:
    """Requests per second of ``threads`` threads calling ``recommend`` on one shared instance."""
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(part: Sequence[np.ndarray]) -> None:
        barrier.wait()
        try:
            for history in part:
                rec.recommend(history, k, n_candidates=n_candidates)
        except Exception as exc:  # noqa: BLE001 (re-raised by the caller after join)
            errors.append(exc)

    workers = [
        threading.Thread(target=work, args=(list(histories[i::threads]),)) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return len(histories) / elapsed
