"""One request through each stage: the user tower's vector, stage one's search under rules,
and the ranker's logits, each output checked (:mod:`ytrec_infer.output_checks`).

:func:`timing_stages` reports how long a ``recommend`` call spends in each of its stages
(``prepare``, ``embed``, ``retrieve``, ``rank``) to a callback, for ``ytrec serve``'s metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import numpy as np

from ytrec_infer.answers import Answers
from ytrec_infer.network_inputs import CANDIDATES, RETRIEVAL_SCORES
from ytrec_infer.onnx_model import OnnxModel
from ytrec_infer.output_checks import checked
from ytrec_infer.request import ItemId, Request, with_history
from ytrec_infer.results import Recommendations
from ytrec_infer.retrieval import Retriever
from ytrec_infer.retrieval.rules import NO_RULES, Rules, search_with_rules

StageObserver = Callable[[str, float], None]
"""Called with a stage's name and the seconds it took."""
_observer: ContextVar[StageObserver | None] = ContextVar("ytrec_stage_observer", default=None)


@contextmanager
def timing_stages(observer: StageObserver) -> Iterator[None]:
    """Report the stages of the ``recommend`` calls made inside (in this thread) to
    ``observer(stage, seconds)``: ``prepare`` (validating and encoding the request),
    ``embed`` (user tower), ``retrieve`` (stage one's search, or the popular list of a cold
    start) and ``rank`` (ranker and top k). Answers are unchanged.

    >>> seen = []
    >>> with timing_stages(lambda stage, seconds: seen.append(stage)):
    ...     _ = rec.recommend([50, 172], k=3)
    >>> seen
    ['prepare', 'embed', 'retrieve', 'rank']
    """
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


_UNTIMED = nullcontext()


def timed(stage: str) -> AbstractContextManager[None]:
    """Time the block as ``stage`` for the observer of :func:`timing_stages`, if any (only a
    block that completes is reported). Without an observer it is one shared no-op context:
    every in-process request passes through four of these."""
    observer = _observer.get()
    return _UNTIMED if observer is None else _timing(stage, observer)


@contextmanager
def _timing(stage: str, observer: StageObserver) -> Iterator[None]:
    started = perf_counter()
    yield
    observer(stage, perf_counter() - started)


@dataclass(frozen=True)
class Networks:
    """A recommender's networks and stage one's search, taken at each call (so a test or a
    benchmark may swap one on a loaded recommender)."""

    user_tower: OnnxModel
    ranker: OnnxModel
    retriever: Retriever
    item_vectors: np.ndarray
    dim: int
    index_path: Path


def user_vector(networks: Networks, request: Request) -> np.ndarray:
    """The user vector [D] from the user tower."""
    tower = networks.user_tower
    output = tower.run(request.feeds)
    vector: np.ndarray = checked(output, (1, networks.dim), "user vector", tower.path)[0]
    return vector


def search_one(
    networks: Networks,
    request: Request,
    vector: np.ndarray,
    n: int,
    exclude_history: bool,
    rules: Rules,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``n`` candidate codes and inner-product scores under ``rules`` (and the history)."""
    if rules is NO_RULES:
        exclude = request.codes if exclude_history else request.codes[:0]
        codes, scores = networks.retriever.search(vector, n, exclude)
    else:
        joined = with_history(request, exclude_history, rules)
        codes, scores = search_with_rules(
            networks.retriever, networks.item_vectors, vector, n, joined
        )
    return codes, checked(scores, codes.shape, "retrieval scores", networks.index_path)


def ranker_logits(
    networks: Networks, request: Request, codes: np.ndarray, retrieval_scores: np.ndarray
) -> np.ndarray:
    """Ranker logits for candidate codes (higher is better)."""
    if not len(codes):
        return np.zeros(0, dtype=np.float32)
    feeds = dict(request.feeds)
    feeds[CANDIDATES] = codes.reshape(1, -1)
    feeds[RETRIEVAL_SCORES] = retrieval_scores.astype(np.float32, copy=False).reshape(1, -1)
    ranker = networks.ranker
    output = ranker.run(feeds)
    logits: np.ndarray = checked(output, (1, len(codes)), "ranker logits", ranker.path)[0]
    return logits


def rank_codes(
    networks: Networks,
    answers: Answers,
    request: Request,
    codes: np.ndarray,
    skipped: tuple[ItemId, ...],
) -> Recommendations:
    """The given (known) codes scored by the ranker, best first; stage one's score of each is
    computed from the item vectors, since the ranker takes it as an input."""
    codes = np.unique(codes)
    vector = user_vector(networks, request)
    retrieval = (networks.item_vectors[codes - 1] @ vector).astype(np.float32)
    logits = ranker_logits(networks, request, codes, retrieval)
    order = np.argsort(-logits, kind="stable")
    cold = not len(request.codes)
    return Recommendations(
        answers.records(codes[order], logits[order], retrieval[order], logits[order]),
        "ranked",
        cold,
        request.unknown_ids + skipped,
    )


def both_stages(
    networks: Networks,
    answers: Answers,
    request: Request,
    k: int,
    n_candidates: int,
    exclude_history: bool,
    rules: Rules,
) -> Recommendations:
    """The ranker's best ``k`` of stage one's ``n_candidates``; without a known history, the
    most popular items."""
    if not len(request.codes):
        with timed("retrieve"):
            return answers.popular(request, k, exclude_history, rules)
    with timed("embed"):
        vector = user_vector(networks, request)
    with timed("retrieve"):
        codes, retrieval = search_one(
            networks, request, vector, n_candidates, exclude_history, rules
        )
    with timed("rank"):
        logits = ranker_logits(networks, request, codes, retrieval)
        top = np.argsort(-logits, kind="stable")[:k]
        records = answers.records(codes[top], logits[top], retrieval[top], logits[top])
    return Recommendations(records, "ranked", False, request.unknown_ids)


def stage_one(
    networks: Networks,
    answers: Answers,
    request: Request,
    n: int,
    exclude_history: bool,
    rules: Rules,
) -> Recommendations:
    """Stage one's ``n`` candidates, by inner product; without a known history, the most
    popular items."""
    if not len(request.codes):
        return answers.popular(request, n, exclude_history, rules)
    vector = user_vector(networks, request)
    codes, retrieval = search_one(networks, request, vector, n, exclude_history, rules)
    return Recommendations(
        answers.records(codes, retrieval, retrieval, None),
        "candidates",
        False,
        request.unknown_ids,
    )
