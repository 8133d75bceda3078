"""The batch path of :meth:`~ytrec_infer.recommender.Recommender.recommend_batch`: requests
run through each network in chunks, so many users cost a few calls, not one call each."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ytrec_infer.answers import Answers
from ytrec_infer.network_inputs import CANDIDATES, RETRIEVAL_SCORES, request_feeds
from ytrec_infer.onnx_model import OnnxModel
from ytrec_infer.output_checks import checked
from ytrec_infer.request import History, Request
from ytrec_infer.results import Recommendation, Recommendations
from ytrec_infer.retrieval.rules import Rules
from ytrec_infer.stages import Networks, search_one

BATCH_CHUNK = 256
"""Users per network call in :meth:`Recommender.recommend_batch`: past a few hundred rows the
calls are no faster per user, and 100,000 users x 100 candidates in one call needed 5.8 GB."""

Prepare = Callable[[History, Mapping[str, Any] | None, bool, Mapping[str, Any] | None], Request]
"""Validates and encodes one request (``Recommender.prepare``)."""


def prepare_all(
    prepare: Prepare,
    histories: Sequence[History],
    users: Sequence[Mapping[str, Any] | None] | None,
    contexts: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[Request]:
    """Each history prepared with its user's attributes and its context (``users`` and
    ``contexts`` aligned with ``histories``, or None)."""
    if isinstance(histories, (str, bytes)) or not isinstance(histories, Sequence | np.ndarray):
        raise TypeError("histories must be a sequence of histories (lists of item ids)")
    aligned = []
    for name, values in (("users", users), ("contexts", contexts)):
        if values is not None and len(values) != len(histories):
            raise ValueError(f"{name} has {len(values)} entries for {len(histories)} histories")
        aligned.append([None] * len(histories) if values is None else values)
    return [prepare(h, u, False, c) for h, u, c in zip(histories, *aligned)]


def recommend_all(
    networks: Networks,
    answers: Answers,
    requests: Sequence[Request],
    max_history: int,
    k: int,
    n_candidates: int,
    exclude_history: bool,
    rules: Rules,
    chunk_size: int = BATCH_CHUNK,
) -> list[Recommendations]:
    """Each request's answer, ``chunk_size`` users per network call (the arguments already
    validated); users without a known history get ``answers.popular``."""
    results: list[Recommendations | None] = [None] * len(requests)
    warm = [i for i, r in enumerate(requests) if len(r.codes)]
    for i in set(range(len(requests))) - set(warm):
        results[i] = answers.popular(requests[i], k, exclude_history, rules)
    tower = networks.user_tower
    for start in range(0, len(warm), chunk_size):
        chunk = warm[start : start + chunk_size]
        batch = [requests[i] for i in chunk]
        feeds = batch_feeds(batch, max_history)
        vectors = checked(tower.run(feeds), (len(batch), networks.dim), "user vectors", tower.path)
        found = [
            (codes, checked(scores, codes.shape, "retrieval scores", networks.index_path))
            for codes, scores in search_batch(
                networks, batch, vectors, n_candidates, exclude_history, rules
            )
        ]
        for i, ranked in zip(chunk, rank_batch(networks.ranker, answers, feeds, found, k)):
            results[i] = Recommendations(ranked, "ranked", False, requests[i].unknown_ids)
    return [r for r in results if r is not None]


def search_batch(
    networks: Networks,
    batch: Sequence[Request],
    vectors: np.ndarray,
    n: int,
    exclude_history: bool,
    rules: Rules,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stage one for a batch: one retriever call, or one rule-aware search per row when an
    allowed set restricts it."""
    if rules.allowed is not None:
        return [
            search_one(networks, request, vector, n, exclude_history, rules)
            for request, vector in zip(batch, vectors)
        ]
    excludes = [
        np.concatenate([r.codes, rules.exclude]) if exclude_history else rules.exclude
        for r in batch
    ]
    return networks.retriever.search_many(vectors, n, excludes)


def batch_feeds(requests: Sequence[Request], max_history: int) -> dict[str, np.ndarray]:
    """The networks' user inputs for many requests, one row each."""
    return request_feeds([r.codes for r in requests], [r.user for r in requests], max_history)


def rank_batch(
    ranker: OnnxModel,
    answers: Answers,
    feeds: Mapping[str, np.ndarray],
    found: Sequence[tuple[np.ndarray, np.ndarray]],
    k: int,
) -> list[tuple[Recommendation, ...]]:
    """Rank each row's candidates, one ranker call per distinct candidate count."""
    out: list[tuple[Recommendation, ...]] = [()] * len(found)
    counts = np.array([len(codes) for codes, _ in found])
    for count in np.unique(counts[counts > 0]):
        rows = [int(r) for r in np.flatnonzero(counts == count)]
        sub = {name: value[rows] for name, value in feeds.items()}
        sub[CANDIDATES] = np.stack([found[r][0] for r in rows])
        sub[RETRIEVAL_SCORES] = np.stack([found[r][1] for r in rows]).astype(np.float32)
        logits = checked(ranker.run(sub), (len(rows), int(count)), "ranker logits", ranker.path)
        for row, row_logits in zip(rows, logits):
            codes, retrieval = found[row]
            top = np.argsort(-row_logits, kind="stable")[:k]
            out[row] = answers.records(codes[top], row_logits[top], retrieval[top], row_logits[top])
    return out
