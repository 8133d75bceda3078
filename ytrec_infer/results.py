"""Result records: small frozen dataclasses that also convert to plain dicts and arrays."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, overload

import numpy as np

Stage = Literal["ranked", "candidates", "popular"]


@dataclass(frozen=True)
class Recommendation:
    """One recommended item: its catalog id, final score and title, plus each stage's score.

    ``score`` is the ranker's logit for ranked results, the candidate generator's inner
    product for candidates, and the item's share of training interactions for cold start.

    >>> r = Recommendation(item_id=1, score=0.5, title="Toy Story", retrieval_score=0.9)
    >>> r.item_id, r.title
    (1, 'Toy Story')
    """

    item_id: int | str
    score: float
    title: str
    retrieval_score: float | None = None
    ranker_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict (JSON-ready).

        >>> Recommendation(item_id=1, score=0.5, title="Toy Story").to_dict()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'item_id': 1, 'score': 0.5, 'title': 'Toy Story',
         'retrieval_score': None, 'ranker_score': None}
        """
        return asdict(self)


@dataclass(frozen=True)
class Recommendations(Sequence[Recommendation]):
    """An ordered list of :class:`Recommendation`, best first, and how it was produced.

    ``stage`` is ``"ranked"`` (two-stage), ``"candidates"`` (retrieval only) or ``"popular"``;
    ``cold_start`` is true when the history held no known item and the most popular items were
    returned; ``unknown_ids`` lists the history ids that were skipped as not in the catalog.

    >>> recs = Recommendations(
    ...     (Recommendation(1, 2.5, "Toy Story"), Recommendation(50, 1.5, "Star Wars")), "ranked"
    ... )
    >>> len(recs), recs[0].title, [r.item_id for r in recs]
    (2, 'Toy Story', [1, 50])
    """

    items: tuple[Recommendation, ...]
    stage: Stage
    cold_start: bool = False
    unknown_ids: tuple[int | str, ...] = ()

    @overload
    def __getitem__(self, index: int) -> Recommendation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Recommendation]: ...

    def __getitem__(self, index: int | slice) -> Recommendation | Sequence[Recommendation]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Recommendation]:
        return iter(self.items)

    @property
    def item_ids(self) -> np.ndarray:
        """The item ids as an int64 array (a unicode array for string ids), best first.

        >>> Recommendations((Recommendation(7, 1.0, "Seven"),), "ranked").item_ids
        array([7])
        """
        if any(isinstance(r.item_id, str) for r in self.items):
            return np.array([r.item_id for r in self.items], dtype=str)
        return np.fromiter((r.item_id for r in self.items), dtype=np.int64, count=len(self.items))

    @property
    def scores(self) -> np.ndarray:
        """The final scores as a float32 array, aligned with :attr:`item_ids`.

        >>> Recommendations((Recommendation(7, 1.0, "Seven"),), "ranked").scores
        array([1.], dtype=float32)
        """
        return np.fromiter((r.score for r in self.items), dtype=np.float32, count=len(self.items))

    def to_dict(self) -> dict[str, Any]:
        """The list and how it was produced as plain dicts and lists (JSON-ready).

        >>> Recommendations((Recommendation(7, 1.0, "Seven"),), "ranked").to_dict()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'stage': 'ranked', 'cold_start': False, 'unknown_ids': [],
         'items': [{'item_id': 7, 'score': 1.0, 'title': 'Seven',
                    'retrieval_score': None, 'ranker_score': None}]}
        """
        return {
            "stage": self.stage,
            "cold_start": self.cold_start,
            "unknown_ids": list(self.unknown_ids),
            "items": [r.to_dict() for r in self.items],
        }
