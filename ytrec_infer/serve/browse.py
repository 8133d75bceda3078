"""What the page and ``/items`` need from a loaded model: item lookup, title search, user fields.

Everything here reads the model serving now, so it follows a hot reload: a newer version's
catalog and feature schema appear as soon as it takes traffic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.features import MAX_SECONDS_SINCE_LAST
from ytrec_infer.recommender import Recommender


def item_id_type(rec: Recommender) -> str:
    """``"integer"`` for a catalog of integer ids, else ``"string"``."""
    return "integer" if rec.catalog.item_ids.dtype.kind in "iu" else "string"


def parse_item_id(rec: Recommender, text: str) -> int | str | None:
    """The catalog id a URL path segment names, or None when it names no item.

    Integer catalogs take the segment as a decimal integer; any other catalog takes it as is.
    """
    if item_id_type(rec) == "string":
        return text
    try:
        return int(text)
    except ValueError:
        return None


def item_record(rec: Recommender, code: int) -> dict[str, Any]:
    """One catalog row as JSON: id, title, and its count of training interactions."""
    item_id = rec.catalog.ids(np.array([code], dtype=np.int64))[0]
    return {
        "item_id": item_id.item() if isinstance(item_id, np.generic) else item_id,
        "title": rec.catalog.title(code),
        "popularity": int(rec.catalog.popularity[code - 1]),
    }


def find_item(rec: Recommender, text: str) -> dict[str, Any] | None:
    """The record of the item a path segment names, or None when there is no such item."""
    item_id = parse_item_id(rec, text)
    if item_id is None:
        return None
    codes, _ = rec.catalog.codes(np.array([item_id]))
    return item_record(rec, int(codes[0])) if len(codes) else None


class TitleSearch:
    """Case-insensitive substring search over one catalog's titles, most popular first.

    >>> [r["item_id"] for r in TitleSearch(rec).search("STAR TREK", 20)][:2]  # most watched first
    [222, 228]
    """

    def __init__(self, rec: Recommender) -> None:
        self.rec = rec
        self._lowered = [title.casefold() for title in rec.catalog.titles]

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        needle = query.casefold().strip()
        hits = [row for row, title in enumerate(self._lowered) if needle in title]
        popularity = self.rec.catalog.popularity
        hits.sort(key=lambda row: -int(popularity[row]))
        return [item_record(self.rec, row + 1) for row in hits[:limit]]


def user_fields(schema: FeatureSchema, side: str = "user") -> list[dict[str, Any]]:
    """The user (or, with ``side="context"``, context) attributes a request may give, from the
    model's feature schema.

    Categorical fields list the values the model learned (others count as unknown), a
    multi-categorical one takes an array of them; numeric ones are numbers (``seconds_since_last`` with its range).
    """
    described: list[dict[str, Any]] = []
    for feature in schema.context if side == "context" else schema.user:
        if feature.spec.kind == "numeric":
            described.append({"name": feature.name, "type": "number"})
        else:
            kind = "array" if feature.spec.kind == "multi_categorical" else "string"
            described.append(
                {"name": feature.name, "type": kind, "values": list(feature.vocabulary)}
            )
    described.append(
        {
            "name": "seconds_since_last",
            "type": "number",
            "minimum": 0,
            "maximum": MAX_SECONDS_SINCE_LAST,
        }
    )
    return described
