"""The facade: ``Recommender.load(path).recommend(history)``, with no PyTorch anywhere.

A request runs the two stages of the YouTube DNN recommender: the user tower (ONNX) turns the
history and user features into a vector, the HNSW index returns the nearest items (the
candidates), and the ranker (ONNX) scores those candidates; the top k are returned. The steps
live in :mod:`~ytrec_infer.request`, :mod:`~ytrec_infer.stages`, :mod:`~ytrec_infer.answers`
(records, cold start) and :mod:`~ytrec_infer.batch`; this module keeps the public API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.answers import Answers
from ytrec_infer.batch import BATCH_CHUNK, prepare_all, recommend_all
from ytrec_infer.loading import LoadedParts, LoadOptions, choose_options, load_parts
from ytrec_infer.readiness import check_readiness
from ytrec_infer.request import History, ItemId, ItemIds, Request, RequestReader, ranking_sizes
from ytrec_infer.results import Recommendations
from ytrec_infer.retrieval import Retriever
from ytrec_infer.retrieval.rules import NO_RULES, Rules
from ytrec_infer.stages import Networks, both_stages, rank_codes, stage_one, timed
from ytrec_infer.stages import ranker_logits, search_one, user_vector
from ytrec_infer.validation import flag, positive_int
from ytrec_infer.versions import resolve

__all__ = ["BATCH_CHUNK", "History", "ItemId", "ItemIds", "Recommender", "Request"]

log = logging.getLogger(__name__)


class Recommender:
    """Two-stage recommender loaded from an artifact folder; safe to share between threads.

    Build it with :meth:`load`; :meth:`recommend` runs both stages, :meth:`candidates` and
    :meth:`rank` one each; :meth:`prepare`, :meth:`embed`, :meth:`retrieve` and :meth:`score`
    are the steps of a request, for benchmarks and batch jobs.

    >>> rec = Recommender.load(ARTIFACT)  # a folder written by `ytrec train`
    >>> top = rec.recommend([50, 172, 181], k=3)  # the ranker's best of stage one's candidates
    >>> set(top.item_ids) <= set(rec.candidates([50, 172, 181], n=100).item_ids)
    True
    """

    def __init__(self, parts: LoadedParts, options: LoadOptions | None = None) -> None:
        self.manifest = parts.manifest
        self.catalog = parts.catalog
        self.schema = parts.schema
        self.attributes = parts.attributes
        """The item attributes ``where=`` filters on (:mod:`ytrec_infer.item_attributes`)."""
        self._user_tower = parts.user_tower
        self._ranker = parts.ranker
        self._retriever = parts.retriever
        self._item_vectors = parts.item_vectors
        self._dim = self.manifest.index.dim
        self._index_path = self.manifest.path(self.manifest.index.file)
        self.device = parts.device
        self.providers = parts.providers
        self.options = LoadOptions() if options is None else options
        """The options this model was loaded with (a reload reuses them)."""
        self._answers = Answers(self.catalog)
        self._reader = RequestReader(self.catalog, self.schema, self.attributes)

    def _networks(self) -> Networks:
        """The networks as they are now (read per call: a test or benchmark may swap one)."""
        vectors, dim, index = self._item_vectors, self._dim, self._index_path
        return Networks(self._user_tower, self._ranker, self._retriever, vectors, dim, index)

    @classmethod
    def load(
        cls,
        path: str | Path,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        device: str | None = None,
        retrieval: str | None = None,
        float16: bool | None = None,
        *,
        options: LoadOptions | None = None,
    ) -> Recommender:
        """Verify an artifact folder (manifest, sizes, sha256, index header) and load it.

        ``path`` is an artifact folder or a root of published versions (its newest complete
        version is loaded, see :mod:`ytrec_infer.versions`), then the readiness check replays
        the request stored at export time (:mod:`ytrec_infer.readiness`). The keyword arguments
        are those of :class:`~ytrec_infer.loading.LoadOptions` (or give ``options=``): a
        ``device="cuda"`` without its provider raises ``DeviceUnavailableError`` naming the fix,
        never a silent fallback. Raises :class:`ArtifactError` for a damaged artifact.

        >>> rec = Recommender.load(ARTIFACT, device="cpu", retrieval="hnsw")
        >>> rec.retriever.kind, rec.options.retrieval
        ('hnsw', 'hnsw')
        >>> gpu = Recommender.load(ARTIFACT, device="cuda")  # doctest: +SKIP
        """
        options = choose_options(options, providers, threads, device, retrieval, float16)
        folder = resolve(path)
        rec = cls(load_parts(folder, options), options)
        check_readiness(rec)
        log.info(
            "loaded %s: %d items, %s retrieval, providers=%s (readiness check passed)",
            folder,
            len(rec.catalog),
            rec.retriever.kind,
            list(rec.providers),
        )
        return rec

    @property
    def num_items(self) -> int:
        """How many items the catalog holds (every one can be recommended).
        >>> len(rec.candidates([], n=rec.num_items)) == rec.num_items  # all, most popular first
        True
        """
        return len(self.catalog)

    @property
    def item_vectors(self) -> np.ndarray:
        """The candidate generator's item vectors [N, D] (in memory, read-only).
        >>> import numpy as np
        >>> found = rec.candidates([50, 172], n=3)  # scores are inner products with these rows
        >>> rows = rec.catalog.codes(found.item_ids)[0] - 1
        >>> user = rec.embed(rec.prepare([50, 172]))
        >>> bool(np.allclose(rec.item_vectors[rows] @ user, found.scores, atol=1e-5))
        True
        """
        return self._item_vectors

    @property
    def retriever(self) -> Retriever:
        """Stage one's search: HNSW, exact numpy search, or the exact top-k graph.
        >>> request = rec.prepare([50, 172])
        >>> codes, scores = rec.retriever.search(rec.embed(request), 5, exclude=request.codes)
        >>> len(codes), bool(set(codes) & set(request.codes))  # the history is skipped
        (5, False)
        """
        return self._retriever

    def prepare(
        self,
        history: History,
        user: Mapping[str, Any] | None = None,
        strict: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> Request:
        """Validate and encode a request (stage 0); exposed for benchmarks and batch jobs.
        >>> request = rec.prepare([50, 172, 999999])
        >>> len(request.codes), request.unknown_ids
        (2, (999999,))
        """
        return self._reader.prepare(history, user, strict, context)

    def embed(self, request: Request) -> np.ndarray:
        """Stage 1: the user vector [D] from the user tower.

        >>> import numpy as np
        >>> vector = rec.embed(rec.prepare([50, 172]))
        >>> round(float(np.linalg.norm(vector)), 3)  # unit norm: inner product is cosine
        1.0
        """
        return user_vector(self._networks(), request)

    def rules(
        self,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Rules:
        """Per-request rules as codes: ids never to return, and the only ids allowed (those of
        ``allowed`` that pass the attribute filter ``where``, see
        :mod:`ytrec_infer.item_attributes`).

        Ids not in the catalog are ignored (they could not be returned anyway).

        >>> rules = rec.rules(exclude=[1, 2, 999999], allowed=[1, 5, 7])
        >>> rules.exclude.tolist(), rules.pool().tolist()
        ([1, 2], [5, 7])
        """
        return self._reader.rules(exclude, allowed, where)

    def retrieve(
        self,
        request: Request,
        vector: np.ndarray,
        n: int,
        exclude_history: bool,
        rules: Rules = NO_RULES,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 2: top ``n`` candidate codes and inner-product scores from the index, under
        ``rules`` (see :meth:`rules`).

        >>> request = rec.prepare([50, 172])
        >>> codes, scores = rec.retrieve(request, rec.embed(request), 5, exclude_history=True)
        >>> len(codes), bool(scores[0] >= scores[-1])
        (5, True)
        """
        return search_one(self._networks(), request, vector, n, exclude_history, rules)

    def score(
        self, request: Request, codes: np.ndarray, retrieval_scores: np.ndarray
    ) -> np.ndarray:
        """Stage 3: ranker logits for candidate codes (higher is better).

        >>> request = rec.prepare([50, 172])
        >>> codes, scores = rec.retrieve(request, rec.embed(request), 5, exclude_history=True)
        >>> rec.score(request, codes, scores).shape
        (5,)
        """
        return ranker_logits(self._networks(), request, codes, retrieval_scores)

    def recommend(
        self,
        history: History,
        k: int = 10,
        user: Mapping[str, Any] | None = None,
        n_candidates: int = 100,
        exclude_history: bool = True,
        strict: bool = False,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """The top ``k`` items for a user whose history (catalog ids, oldest first) is given.

        Retrieves ``n_candidates`` with the candidate generator, scores them with the ranker,
        and returns the best ``k`` by ranker score (fewer if the catalog has fewer items left
        once the history is excluded). An empty or all-unknown history returns the
        most popular items with ``cold_start=True``. Unknown ids are skipped and listed in
        ``unknown_ids`` (``strict=True`` raises :class:`UnknownItemError` instead). ``user``
        may give any of ``rec.schema.fields``: the artifact's user features (MovieLens:
        ``age``, ``gender``, ``occupation``, ``zip_code``) and ``seconds_since_last``;
        ``context`` any of ``rec.schema.context_fields`` (the request's own attributes, such as
        ``{"hour": 21}``). An unknown field is a ValueError listing the accepted ones, a wrong
        type a TypeError naming the field.
        ``exclude`` (ids never to return) and ``allowed`` (the only ids to return) act inside
        retrieval, so ``k`` items come back whenever ``k`` items pass them
        (:mod:`ytrec_infer.retrieval.rules`); so does ``where``, a filter on the item
        attributes of ``rec.attributes.names`` such as ``{"genres": ["Comedy"],
        "release_year": {"min": 1990, "max": 1999}}`` (:mod:`ytrec_infer.item_attributes`).

        >>> top = rec.recommend([50, 172, 181], k=3, user={"age": 25, "gender": "F"})
        >>> len(top), top.cold_start, 50 in top.item_ids
        (3, False, False)
        >>> rec.recommend([], k=2).stage  # no known history: the most popular items
        'popular'
        >>> sorted(rec.recommend([50], k=2, allowed=[1, 2, 3], exclude=[2]).item_ids.tolist())
        [1, 3]
        >>> len(rec.recommend([50], k=3, where={"genres": ["Film-Noir"]}))
        3
        """
        with timed("prepare"):
            k, n_candidates, exclude_history = ranking_sizes(
                k, n_candidates, exclude_history, self.num_items
            )
            rules = self.rules(exclude, allowed, where)
            request = self.prepare(history, user, strict, context)
        return both_stages(
            self._networks(), self._answers, request, k, n_candidates, exclude_history, rules
        )

    def recommend_batch(
        self,
        histories: Sequence[History],
        k: int = 10,
        users: Sequence[Mapping[str, Any] | None] | None = None,
        n_candidates: int = 100,
        exclude_history: bool = True,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        contexts: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> list[Recommendations]:
        """:meth:`recommend` for many users: one user-tower call, one retrieval call and one
        ranker call per chunk of :data:`BATCH_CHUNK` users (per distinct candidate count), so
        the networks' memory stays that of one chunk however many users are passed.

        ``users`` and ``contexts`` (optional) give each request's attributes, aligned with
        ``histories``;
        ``exclude``, ``allowed`` and ``where`` apply to every user. Results equal those of
        :meth:`recommend` per user, up to ties and float rounding.

        >>> [len(r) for r in rec.recommend_batch([[50, 172], [1, 2, 3]], k=5)]
        [5, 5]
        """
        k, n_candidates, exclude_history = ranking_sizes(
            k, n_candidates, exclude_history, self.num_items
        )
        rules = self.rules(exclude, allowed, where)
        requests = prepare_all(self.prepare, histories, users, contexts)
        return recommend_all(
            self._networks(),
            self._answers,
            requests,
            self.schema.max_history,
            k,
            n_candidates,
            exclude_history,
            rules,
            BATCH_CHUNK,  # read at each call, so a test may patch it here
        )

    def candidates(
        self,
        history: History,
        n: int = 100,
        user: Mapping[str, Any] | None = None,
        exclude_history: bool = True,
        strict: bool = False,
        exclude: ItemIds | None = None,
        allowed: ItemIds | None = None,
        where: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """Stage one alone: the ``n`` nearest items to the user vector, by inner product, under
        the rules ``exclude``, ``allowed`` and ``where`` (as in :meth:`recommend`).

        >>> found = rec.candidates([50, 172, 181], n=100)
        >>> len(found), found.stage, found[0].ranker_score is None
        (100, 'candidates', True)
        """
        n = positive_int(n, "n", self.num_items)
        exclude_history = flag(exclude_history, "exclude_history")
        rules = self.rules(exclude, allowed, where)
        request = self.prepare(history, user, strict, context)
        return stage_one(self._networks(), self._answers, request, n, exclude_history, rules)

    def rank(
        self,
        history: History,
        item_ids: Sequence[int] | Sequence[str] | np.ndarray,
        user: Mapping[str, Any] | None = None,
        strict: bool = False,
        context: Mapping[str, Any] | None = None,
    ) -> Recommendations:
        """Stage two alone: score the given items for this user, best first (their candidate
        scores, an input of the ranker, from the item vectors; unknown ids skipped).

        >>> sorted(r.item_id for r in rec.rank([50, 172, 181], [1, 2, 3]))
        [1, 2, 3]
        """
        codes, unknown = self._reader.known_codes(item_ids, "item_ids", strict)
        request = self.prepare(history, user, strict, context)
        skipped = tuple(unknown.tolist())
        return rank_codes(self._networks(), self._answers, request, codes, skipped)
