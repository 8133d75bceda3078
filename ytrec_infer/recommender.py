"""The facade: ``Recommender.load(path).recommend(history)``, with no PyTorch anywhere.

A request runs the two stages of the YouTube DNN recommender: the user tower (ONNX) turns the
history and user features into a vector, the HNSW index returns the nearest items (the
candidates), and the ranker (ONNX) scores those candidates; the top k are returned.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ytrec_infer.errors import UnknownItemError
from ytrec_infer.features import UserInputs, encode_user, pad_histories
from ytrec_infer.loading import LoadedParts, LoadOptions, choose_options, load_parts
from ytrec_infer.network_inputs import CANDIDATES, HISTORY, RETRIEVAL_SCORES, request_feeds
from ytrec_infer.output_checks import checked
from ytrec_infer.readiness import check_readiness
from ytrec_infer.results import Recommendation, Recommendations
from ytrec_infer.retrieval import Retriever
from ytrec_infer.retrieval.rules import NO_RULES, Rules, distinct, search_with_rules
from ytrec_infer.validation import MAX_LIST_LENGTH, flag, positive_int
from ytrec_infer.versions import resolve

log = logging.getLogger(__name__)

ItemId = int | str
History = Sequence[int] | Sequence[str] | np.ndarray
ItemIds = Sequence[int] | Sequence[str] | np.ndarray
BATCH_CHUNK = 256
"""Users per network call in :meth:`Recommender.recommend_batch`: past a few hundred rows the
calls are no faster per user, and 100,000 users x 100 candidates in one call needed 5.8 GB."""


@dataclass(frozen=True)
class Request:
    """A validated request: known history codes, skipped ids, and the networks' user inputs."""

    codes: np.ndarray
    unknown_ids: tuple[ItemId, ...]
    user: UserInputs
    feeds: Mapping[str, np.ndarray]


def _user_feeds(inputs: UserInputs) -> tuple[UserInputs, dict[str, np.ndarray]]:
    """One user's network inputs (without the history) as read-only batch-of-one arrays,
    shared by the requests of a user without attributes, whose inputs are always the same."""
    feeds = request_feeds([np.zeros(0, dtype=np.int64)], [inputs], 1)
    del feeds[HISTORY]
    for array in feeds.values():
        array.flags.writeable = False
    return inputs, feeds


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
        order = np.argsort(-self.catalog.popularity, kind="stable")
        self._popular_codes = order.astype(np.int64) + 1
        self._popular_share = (
            self.catalog.popularity[order] / max(int(self.catalog.popularity.sum()), 1)
        ).astype(np.float32)
        self._anonymous = _user_feeds(encode_user(None, self.schema))

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
        version is loaded, see :mod:`ytrec_infer.versions`). After loading, the readiness
        check replays the request stored at export time (:mod:`ytrec_infer.readiness`).
        The keyword arguments are those of :class:`~ytrec_infer.loading.LoadOptions` (or give
        ``options=`` instead): ``device`` ``"cpu"`` (default) or ``"cuda"``, whose missing
        provider raises ``DeviceUnavailableError`` naming the fix (``pip install
        'ytrec-infer[gpu]'``), never a silent fallback; or ``providers``, an explicit
        onnxruntime provider list; ``retrieval`` ``"hnsw"``, ``"exact"`` (a top-k graph over
        the item vectors kept on the device) or ``"exact-numpy"`` (CPU only), by default
        ``"exact"`` on CUDA, ``"exact-numpy"`` up to 5,000 items on the CPU, else ``"hnsw"``;
        ``float16`` (the exact graph's vectors, default on CUDA); ``threads`` per network
        (default 1). Raises :class:`ArtifactError` for a damaged artifact.

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
        self, history: History, user: Mapping[str, Any] | None = None, strict: bool = False
    ) -> Request:
        """Validate and encode a request (stage 0); exposed for benchmarks and batch jobs.

        >>> request = rec.prepare([50, 172, 999999])
        >>> len(request.codes), request.unknown_ids
        (2, (999999,))
        """
        ids = self.catalog.id_array(history, "history")
        codes, unknown = self.catalog.codes(ids)
        if flag(strict, "strict") and len(unknown):
            raise UnknownItemError(tuple(unknown.tolist()))
        inputs, user_feeds = (
            self._anonymous if user is None else _user_feeds(encode_user(user, self.schema))
        )
        feeds = {HISTORY: pad_histories([codes], self.schema.max_history), **user_feeds}
        return Request(codes, tuple(unknown.tolist()), inputs, feeds)

    def embed(self, request: Request) -> np.ndarray:
        """Stage 1: the user vector [D] from the user tower.

        >>> import numpy as np
        >>> vector = rec.embed(rec.prepare([50, 172]))
        >>> round(float(np.linalg.norm(vector)), 3)  # unit norm: inner product is cosine
        1.0
        """
        output = self._user_tower.run(request.feeds)
        shape = (1, self._dim)
        vector: np.ndarray = checked(output, shape, "user vector", self._user_tower.path)[0]
        return vector

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
        if exclude is None and allowed is None and where is None:
            return NO_RULES
        most = max(MAX_LIST_LENGTH, self.num_items)  # a rule may name the whole catalog
        excluded = (
            np.zeros(0, np.int64)
            if exclude is None
            else distinct(self.catalog.codes(self.catalog.id_array(exclude, "exclude", most))[0])
        )
        permitted = (
            None
            if allowed is None
            else distinct(self.catalog.codes(self.catalog.id_array(allowed, "allowed", most))[0])
        )
        if where is not None:
            passing = self.attributes.codes(where)
            permitted = (
                passing
                if permitted is None
                else np.intersect1d(permitted, passing, assume_unique=True)
            )
        return Rules(excluded, permitted)

    def _with_history(self, request: Request, exclude_history: bool, rules: Rules) -> Rules:
        """The rules plus, when asked, the request's own history as excluded codes."""
        if not exclude_history or not len(request.codes):
            return rules
        return Rules(np.union1d(request.codes, rules.exclude), rules.allowed)

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
        if rules is NO_RULES:
            exclude = request.codes if exclude_history else request.codes[:0]
            codes, scores = self._retriever.search(vector, n, exclude)
        else:
            joined = self._with_history(request, exclude_history, rules)
            codes, scores = search_with_rules(
                self._retriever, self._item_vectors, vector, n, joined
            )
        return codes, checked(scores, codes.shape, "retrieval scores", self._index_path)

    def score(
        self, request: Request, codes: np.ndarray, retrieval_scores: np.ndarray
    ) -> np.ndarray:
        """Stage 3: ranker logits for candidate codes (higher is better).

        >>> request = rec.prepare([50, 172])
        >>> codes, scores = rec.retrieve(request, rec.embed(request), 5, exclude_history=True)
        >>> rec.score(request, codes, scores).shape
        (5,)
        """
        if not len(codes):
            return np.zeros(0, dtype=np.float32)
        feeds = dict(request.feeds)
        feeds[CANDIDATES] = codes.reshape(1, -1)
        feeds[RETRIEVAL_SCORES] = retrieval_scores.astype(np.float32, copy=False).reshape(
            1, -1
        )
        output = self._ranker.run(feeds)
        logits: np.ndarray = checked(output, (1, len(codes)), "ranker logits", self._ranker.path)[0]
        return logits

    def _records(
        self,
        codes: np.ndarray,
        scores: np.ndarray,
        retrieval: np.ndarray | None,
        ranker: np.ndarray | None,
    ) -> tuple[Recommendation, ...]:
        count = len(codes)
        ids = self.catalog.ids(codes).tolist()
        titles = [self.catalog.title(code) for code in codes.tolist()]
        values = [float(x) for x in scores.tolist()]
        nothing: list[float | None] = [None] * count
        retrieval_values = nothing if retrieval is None else [float(x) for x in retrieval.tolist()]
        ranker_values = nothing if ranker is None else [float(x) for x in ranker.tolist()]
        return tuple(
            Recommendation(*fields)
            for fields in zip(ids, values, titles, retrieval_values, ranker_values, strict=True)
        )

    def _popular(
        self, request: Request, k: int, exclude_history: bool, rules: Rules = NO_RULES
    ) -> Recommendations:
        rules = self._with_history(request, exclude_history, rules)
        keep = ~np.isin(self._popular_codes, rules.exclude)
        if rules.allowed is not None:
            keep &= np.isin(self._popular_codes, rules.allowed)
        codes, shares = self._popular_codes[keep][:k], self._popular_share[keep][:k]
        return Recommendations(
            self._records(codes, shares, None, None), "popular", True, request.unknown_ids
        )

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
    ) -> Recommendations:
        """The top ``k`` items for a user whose history (catalog ids, oldest first) is given.

        Retrieves ``n_candidates`` with the candidate generator, scores them with the ranker,
        and returns the best ``k`` by ranker score (fewer if the catalog has fewer items left
        once the history is excluded). An empty or all-unknown history returns the
        most popular items with ``cold_start=True``. Unknown ids are skipped and listed in
        ``unknown_ids`` (``strict=True`` raises :class:`UnknownItemError` instead). ``user``
        may give any of ``rec.schema.fields``: the artifact's user features (MovieLens:
        ``age``, ``gender``, ``occupation``, ``zip_code``) and ``seconds_since_last``; an
        unknown field is a ValueError listing them, a wrong type a TypeError naming the field.
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
        k = positive_int(k, "k", self.num_items)
        n_candidates = positive_int(n_candidates, "n_candidates", self.num_items)
        if k > n_candidates:
            raise ValueError(f"k ({k}) must not exceed n_candidates ({n_candidates})")
        exclude_history = flag(exclude_history, "exclude_history")
        rules = self.rules(exclude, allowed, where)
        request = self.prepare(history, user, strict)
        if not len(request.codes):
            return self._popular(request, k, exclude_history, rules)
        vector = self.embed(request)
        codes, retrieval = self.retrieve(request, vector, n_candidates, exclude_history, rules)
        logits = self.score(request, codes, retrieval)
        top = np.argsort(-logits, kind="stable")[:k]
        records = self._records(codes[top], logits[top], retrieval[top], logits[top])
        return Recommendations(records, "ranked", False, request.unknown_ids)

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
    ) -> list[Recommendations]:
        """:meth:`recommend` for many users: one user-tower call, one retrieval call and one
        ranker call per chunk of :data:`BATCH_CHUNK` users (per distinct candidate count), so
        the networks' memory stays that of one chunk however many users are passed.

        ``users`` (optional) gives each user's attributes, aligned with ``histories``;
        ``exclude``, ``allowed`` and ``where`` apply to every user. Results equal those of
        :meth:`recommend` per user, up to ties and float rounding.

        >>> [len(r) for r in rec.recommend_batch([[50, 172], [1, 2, 3]], k=5)]
        [5, 5]
        """
        k = positive_int(k, "k", self.num_items)
        n_candidates = positive_int(n_candidates, "n_candidates", self.num_items)
        if k > n_candidates:
            raise ValueError(f"k ({k}) must not exceed n_candidates ({n_candidates})")
        exclude_history = flag(exclude_history, "exclude_history")
        rules = self.rules(exclude, allowed, where)
        if isinstance(histories, (str, bytes)) or not isinstance(histories, Sequence | np.ndarray):
            raise TypeError("histories must be a sequence of histories (lists of item ids)")
        if users is None:
            users = [None] * len(histories)
        elif len(users) != len(histories):
            raise ValueError(f"users has {len(users)} entries for {len(histories)} histories")
        requests = [self.prepare(h, u) for h, u in zip(histories, users)]
        results: list[Recommendations | None] = [None] * len(requests)
        warm = [i for i, r in enumerate(requests) if len(r.codes)]
        for i in set(range(len(requests))) - set(warm):
            results[i] = self._popular(requests[i], k, exclude_history, rules)
        for start in range(0, len(warm), BATCH_CHUNK):
            chunk = warm[start : start + BATCH_CHUNK]
            batch = [requests[i] for i in chunk]
            feeds = self._batch_feeds(batch)
            vectors = checked(
                self._user_tower.run(feeds),
                (len(batch), self._dim),
                "user vectors",
                self._user_tower.path,
            )
            found = [
                (codes, checked(scores, codes.shape, "retrieval scores", self._index_path))
                for codes, scores in self._search_batch(
                    batch, vectors, n_candidates, exclude_history, rules
                )
            ]
            for i, ranked in zip(chunk, self._rank_batch(feeds, found, k)):
                results[i] = Recommendations(ranked, "ranked", False, requests[i].unknown_ids)
        return [r for r in results if r is not None]

    def _search_batch(
        self,
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
                self.retrieve(request, vector, n, exclude_history, rules)
                for request, vector in zip(batch, vectors)
            ]
        excludes = [
            np.concatenate([r.codes, rules.exclude]) if exclude_history else rules.exclude
            for r in batch
        ]
        return self._retriever.search_many(vectors, n, excludes)

    def _batch_feeds(self, requests: Sequence[Request]) -> dict[str, np.ndarray]:
        """The networks' user inputs for many requests, one row each."""
        return request_feeds(
            [r.codes for r in requests], [r.user for r in requests], self.schema.max_history
        )

    def _rank_batch(
        self,
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
            logits = checked(
                self._ranker.run(sub), (len(rows), int(count)), "ranker logits", self._ranker.path
            )
            for row, row_logits in zip(rows, logits):
                codes, retrieval = found[row]
                top = np.argsort(-row_logits, kind="stable")[:k]
                out[row] = self._records(
                    codes[top], row_logits[top], retrieval[top], row_logits[top]
                )
        return out

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
        request = self.prepare(history, user, strict)
        if not len(request.codes):
            return self._popular(request, n, exclude_history, rules)
        vector = self.embed(request)
        codes, retrieval = self.retrieve(request, vector, n, exclude_history, rules)
        return Recommendations(
            self._records(codes, retrieval, retrieval, None),
            "candidates",
            False,
            request.unknown_ids,
        )

    def rank(
        self,
        history: History,
        item_ids: Sequence[int] | Sequence[str] | np.ndarray,
        user: Mapping[str, Any] | None = None,
        strict: bool = False,
    ) -> Recommendations:
        """Stage two alone: score the given items for this user, best first.

        The candidate generator's score of each item (an input of the ranker) is computed
        from the item vectors. Unknown ``item_ids`` are skipped like unknown history ids.

        >>> sorted(r.item_id for r in rec.rank([50, 172, 181], [1, 2, 3]))
        [1, 2, 3]
        """
        wanted = self.catalog.id_array(item_ids, "item_ids")
        codes, unknown = self.catalog.codes(wanted)
        if flag(strict, "strict") and len(unknown):
            raise UnknownItemError(tuple(unknown.tolist()))
        request = self.prepare(history, user, strict)
        codes = np.unique(codes)
        vector = self.embed(request)
        retrieval = (self._item_vectors[codes - 1] @ vector).astype(np.float32)
        logits = self.score(request, codes, retrieval)
        order = np.argsort(-logits, kind="stable")
        skipped = request.unknown_ids + tuple(unknown.tolist())
        cold = not len(request.codes)
        return Recommendations(
            self._records(codes[order], logits[order], retrieval[order], logits[order]),
            "ranked",
            cold,
            skipped,
        )
