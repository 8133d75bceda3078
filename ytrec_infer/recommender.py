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

from ytrec_infer.artifact import Manifest, read_manifest
from ytrec_infer.catalog import Catalog, load_array
from ytrec_infer.errors import ArtifactError, UnknownItemError
from ytrec_infer.features import FeatureSchema, UserInputs, encode_user, pad_histories
from ytrec_infer.hnsw_header import check_header
from ytrec_infer.onnx_model import OnnxModel, resolve_providers
from ytrec_infer.results import Recommendation, Recommendations
from ytrec_infer.retrieval import EXACT_MAX_ITEMS, ExactRetriever, HnswRetriever, Retriever
from ytrec_infer.validation import flag, item_id_array, positive_int

log = logging.getLogger(__name__)

History = Sequence[int] | np.ndarray


@dataclass(frozen=True)
class Request:
    """A validated request: known history codes, skipped ids, and the networks' user inputs."""

    codes: np.ndarray
    unknown_ids: tuple[int, ...]
    user: UserInputs
    feeds: Mapping[str, np.ndarray]


class Recommender:
    """Two-stage recommender loaded from an artifact folder; safe to share between threads."""

    def __init__(
        self,
        manifest: Manifest,
        catalog: Catalog,
        schema: FeatureSchema,
        user_tower: OnnxModel,
        ranker: OnnxModel,
        retriever: Retriever,
        item_vectors: np.ndarray,
    ) -> None:
        self.manifest = manifest
        self.catalog = catalog
        self.schema = schema
        self._user_tower = user_tower
        self._ranker = ranker
        self._retriever = retriever
        self._item_vectors = item_vectors
        order = np.argsort(-catalog.popularity, kind="stable")
        self._popular_codes = order.astype(np.int64) + 1
        self._popular_share = (
            catalog.popularity[order] / max(int(catalog.popularity.sum()), 1)
        ).astype(np.float32)

    @classmethod
    def load(
        cls, path: str | Path, providers: Sequence[str] | None = None, threads: int | None = None
    ) -> Recommender:
        """Verify an artifact folder (manifest, sizes, sha256, index header) and load it.

        ``providers`` are onnxruntime execution providers (default: CPU); ``threads`` is the
        intra-op thread count of each network (default 1). Raises :class:`ArtifactError`.

        >>> rec = Recommender.load("artifacts/ml100k")  # doctest: +SKIP
        """
        chosen = resolve_providers(providers)
        if threads is not None:
            positive_int(threads, "threads")
        manifest = read_manifest(path)
        try:
            schema = FeatureSchema.from_dict(manifest.features)
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                manifest.root / "manifest.json", f"malformed 'features' ({exc!r})"
            ) from None
        catalog = Catalog.load(manifest)
        models = {
            name: OnnxModel(
                manifest.path(manifest.models[name].file), manifest.models[name], chosen, threads
            )
            for name in ("user_tower", "ranker")
        }
        check_header(manifest.path(manifest.index.file), manifest.index)
        vectors_path = manifest.path(manifest.raw["catalog"]["item_vectors"])
        item_vectors = load_array(vectors_path, "float32", 2, mmap=True)
        if item_vectors.shape != (manifest.num_items, manifest.index.dim):
            raise ArtifactError(
                vectors_path, f"shape {item_vectors.shape} does not match the catalog and index"
            )
        retriever: Retriever
        if manifest.num_items <= EXACT_MAX_ITEMS:
            retriever = ExactRetriever(item_vectors, manifest.index.ef_search)
        else:
            retriever = HnswRetriever(manifest.path(manifest.index.file), manifest.index)
        log.info(
            "loaded %s: %d items, %s search, ef=%d, providers=%s",
            path,
            len(catalog),
            retriever.kind,
            retriever.ef_search,
            chosen,
        )
        return cls(
            manifest,
            catalog,
            schema,
            models["user_tower"],
            models["ranker"],
            retriever,
            item_vectors,
        )

    @property
    def num_items(self) -> int:
        return len(self.catalog)

    @property
    def item_vectors(self) -> np.ndarray:
        """The candidate generator's item vectors [N, D] (memory-mapped, read-only)."""
        return self._item_vectors

    @property
    def retriever(self) -> Retriever:
        """Stage one's search: HNSW, or exact numpy search on small catalogs."""
        return self._retriever

    def prepare(
        self, history: History, user: Mapping[str, Any] | None = None, strict: bool = False
    ) -> Request:
        """Validate and encode a request (stage 0); exposed for benchmarks and batch jobs."""
        ids = item_id_array(history, "history")
        codes, unknown = self.catalog.codes(ids)
        if flag(strict, "strict") and len(unknown):
            raise UnknownItemError(tuple(int(i) for i in unknown))
        inputs = encode_user(user, self.schema)
        feeds = {
            "history": pad_histories([codes], self.schema.max_history),
            "user_categorical": inputs.categorical.reshape(1, -1),
            "age": np.array([inputs.age], dtype=np.float32),
            "example_age": np.zeros(1, dtype=np.float32),
            "seconds_since_last": np.array([inputs.seconds_since_last], dtype=np.float32),
        }
        return Request(codes, tuple(int(i) for i in unknown), inputs, feeds)

    def embed(self, request: Request) -> np.ndarray:
        """Stage 1: the user vector [D] from the user tower."""
        vector: np.ndarray = self._user_tower.run(request.feeds)[0]
        return vector

    def retrieve(
        self, request: Request, vector: np.ndarray, n: int, exclude_history: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 2: top ``n`` candidate codes and inner-product scores from the index."""
        exclude = request.codes if exclude_history else request.codes[:0]
        return self._retriever.search(vector, n, exclude)

    def score(
        self, request: Request, codes: np.ndarray, retrieval_scores: np.ndarray
    ) -> np.ndarray:
        """Stage 3: ranker logits for candidate codes."""
        if not len(codes):
            return np.zeros(0, dtype=np.float32)
        feeds = dict(request.feeds)
        feeds["candidates"] = codes.reshape(1, -1)
        feeds["retrieval_scores"] = retrieval_scores.astype(np.float32).reshape(1, -1)
        logits: np.ndarray = self._ranker.run(feeds)[0]
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

    def _popular(self, request: Request, k: int, exclude_history: bool) -> Recommendations:
        keep = ~np.isin(self._popular_codes, request.codes) if exclude_history else slice(None)
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
    ) -> Recommendations:
        """The top ``k`` items for a user whose history (catalog ids, oldest first) is given.

        Retrieves ``n_candidates`` with the candidate generator, scores them with the ranker,
        and returns the best ``k`` by ranker score (fewer if the catalog has fewer items left
        once the history is excluded). An empty or all-unknown history returns the
        most popular items with ``cold_start=True``. Unknown ids are skipped and listed in
        ``unknown_ids`` (``strict=True`` raises :class:`UnknownItemError` instead). ``user``
        may give ``age``, ``gender``, ``occupation``, ``zip_code``, ``seconds_since_last``.

        >>> rec.recommend([50, 172, 181], k=3).item_ids  # doctest: +SKIP
        array([  174,   100,   121])
        """
        k = positive_int(k, "k", self.num_items)
        n_candidates = positive_int(n_candidates, "n_candidates", self.num_items)
        if k > n_candidates:
            raise ValueError(f"k ({k}) must not exceed n_candidates ({n_candidates})")
        exclude_history = flag(exclude_history, "exclude_history")
        request = self.prepare(history, user, strict)
        if not len(request.codes):
            return self._popular(request, k, exclude_history)
        vector = self.embed(request)
        codes, retrieval = self.retrieve(request, vector, n_candidates, exclude_history)
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
    ) -> list[Recommendations]:
        """``recommend`` for many users at once, in order (here one request after another)."""
        if users is not None and len(users) != len(histories):
            raise ValueError(f"users has {len(users)} entries for {len(histories)} histories")
        return [
            self.recommend(
                history,
                k,
                None if users is None else users[i],
                n_candidates,
                exclude_history,
            )
            for i, history in enumerate(histories)
        ]

    def candidates(
        self,
        history: History,
        n: int = 100,
        user: Mapping[str, Any] | None = None,
        exclude_history: bool = True,
        strict: bool = False,
    ) -> Recommendations:
        """Stage one alone: the ``n`` nearest items to the user vector, by inner product.

        >>> len(rec.candidates([50, 172, 181], n=100))  # doctest: +SKIP
        100
        """
        n = positive_int(n, "n", self.num_items)
        exclude_history = flag(exclude_history, "exclude_history")
        request = self.prepare(history, user, strict)
        if not len(request.codes):
            return self._popular(request, n, exclude_history)
        codes, retrieval = self.retrieve(request, self.embed(request), n, exclude_history)
        return Recommendations(
            self._records(codes, retrieval, retrieval, None),
            "candidates",
            False,
            request.unknown_ids,
        )

    def rank(
        self,
        history: History,
        item_ids: Sequence[int] | np.ndarray,
        user: Mapping[str, Any] | None = None,
        strict: bool = False,
    ) -> Recommendations:
        """Stage two alone: score the given items for this user, best first.

        The candidate generator's score of each item (an input of the ranker) is computed
        from the item vectors. Unknown ``item_ids`` are skipped like unknown history ids.

        >>> rec.rank([50, 172, 181], [1, 2, 3])[0].item_id  # doctest: +SKIP
        1
        """
        wanted = item_id_array(item_ids, "item_ids")
        codes, unknown = self.catalog.codes(wanted)
        if flag(strict, "strict") and len(unknown):
            raise UnknownItemError(tuple(int(i) for i in unknown))
        request = self.prepare(history, user, strict)
        codes = np.unique(codes)
        vector = self.embed(request)
        retrieval = (self._item_vectors[codes - 1] @ vector).astype(np.float32)
        logits = self.score(request, codes, retrieval)
        order = np.argsort(-logits, kind="stable")
        skipped = request.unknown_ids + tuple(int(i) for i in unknown)
        cold = not len(request.codes)
        return Recommendations(
            self._records(codes[order], logits[order], retrieval[order], logits[order]),
            "ranked",
            cold,
            skipped,
        )
