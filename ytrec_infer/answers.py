"""How answers are written: catalog codes and scores become :class:`Recommendation` records,
and a request with no known history gets the most popular items (the cold-start answer)."""

from __future__ import annotations

import numpy as np

from ytrec_infer.catalog import Catalog
from ytrec_infer.request import Request, with_history
from ytrec_infer.results import Recommendation, Recommendations
from ytrec_infer.retrieval.rules import NO_RULES, Rules


class Answers:
    """Records for a catalog, and its items in popularity order (computed once, at load)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        order = np.argsort(-catalog.popularity, kind="stable")
        self.popular_codes = order.astype(np.int64) + 1
        """Item codes, most popular first."""
        self.popular_share = (
            catalog.popularity[order] / max(int(catalog.popularity.sum()), 1)
        ).astype(np.float32)
        """Each of :attr:`popular_codes`' share of all interactions (the cold-start score)."""

    def records(
        self,
        codes: np.ndarray,
        scores: np.ndarray,
        retrieval: np.ndarray | None,
        ranker: np.ndarray | None,
    ) -> tuple[Recommendation, ...]:
        """One record per code: id, ``scores``, title, and the stage scores that were computed."""
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

    def popular(
        self, request: Request, k: int, exclude_history: bool, rules: Rules = NO_RULES
    ) -> Recommendations:
        """The ``k`` most popular items that pass ``rules`` (and skip the history if asked)."""
        rules = with_history(request, exclude_history, rules)
        keep = ~np.isin(self.popular_codes, rules.exclude)
        if rules.allowed is not None:
            keep &= np.isin(self.popular_codes, rules.allowed)
        codes, shares = self.popular_codes[keep][:k], self.popular_share[keep][:k]
        return Recommendations(
            self.records(codes, shares, None, None), "popular", True, request.unknown_ids
        )
