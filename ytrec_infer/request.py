"""What a request is before the networks run: its validated sizes, encoded history and user
inputs (:class:`Request`), and its rules as catalog codes, shared by every entry point of
:class:`~ytrec_infer.recommender.Recommender`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ytrec_infer.catalog import Catalog
from ytrec_infer.errors import UnknownItemError
from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.features import UserInputs, encode_user, pad_histories
from ytrec_infer.item_attributes import ItemAttributes
from ytrec_infer.network_inputs import HISTORY, request_feeds
from ytrec_infer.retrieval.rules import NO_RULES, Rules, distinct
from ytrec_infer.validation import MAX_LIST_LENGTH, flag, positive_int

ItemId = int | str
History = Sequence[int] | Sequence[str] | np.ndarray
ItemIds = Sequence[int] | Sequence[str] | np.ndarray


@dataclass(frozen=True)
class Request:
    """A validated request: known history codes, skipped ids, and the networks' user inputs."""

    codes: np.ndarray
    unknown_ids: tuple[ItemId, ...]
    user: UserInputs
    feeds: Mapping[str, np.ndarray]


def frozen_user_feeds(inputs: UserInputs) -> tuple[UserInputs, dict[str, np.ndarray]]:
    """One user's network inputs (without the history) as read-only batch-of-one arrays,
    shared by the requests of a user without attributes, whose inputs are always the same."""
    feeds = request_feeds([np.zeros(0, dtype=np.int64)], [inputs], 1)
    del feeds[HISTORY]
    for array in feeds.values():
        array.flags.writeable = False
    return inputs, feeds


def ranking_sizes(
    k: int, n_candidates: int, exclude_history: bool, num_items: int
) -> tuple[int, int, bool]:
    """``k``, ``n_candidates`` and ``exclude_history`` validated for a ranked request."""
    k = positive_int(k, "k", num_items)
    n_candidates = positive_int(n_candidates, "n_candidates", num_items)
    if k > n_candidates:
        raise ValueError(f"k ({k}) must not exceed n_candidates ({n_candidates})")
    return k, n_candidates, flag(exclude_history, "exclude_history")


class RequestReader:
    """Reads a request's ids against a catalog: the history and user as the networks' inputs,
    and the rules as codes; the inputs of a user without attributes are encoded once."""

    def __init__(self, catalog: Catalog, schema: FeatureSchema, attributes: ItemAttributes) -> None:
        self.catalog = catalog
        self.schema = schema
        self.attributes = attributes
        self.anonymous = frozen_user_feeds(encode_user(None, schema))
        """:func:`frozen_user_feeds` of a user without attributes."""

    def known_codes(self, ids: ItemIds, name: str, strict: bool) -> tuple[np.ndarray, np.ndarray]:
        """The catalog codes of ``ids`` and the unknown ids (refused when ``strict``)."""
        codes, unknown = self.catalog.codes(self.catalog.id_array(ids, name))
        if flag(strict, "strict") and len(unknown):
            raise UnknownItemError(tuple(unknown.tolist()))
        return codes, unknown

    def prepare(
        self,
        history: History,
        user: Mapping[str, Any] | None,
        strict: bool,
        context: Mapping[str, Any] | None = None,
    ) -> Request:
        """``history`` as known codes (unknown ids skipped, or refused when ``strict``) and the
        networks' inputs."""
        codes, unknown = self.known_codes(history, "history", strict)
        inputs, user_feeds = (
            self.anonymous
            if user is None and context is None
            else frozen_user_feeds(encode_user(user, self.schema, context))
        )
        feeds = {HISTORY: pad_histories([codes], self.schema.max_history), **user_feeds}
        return Request(codes, tuple(unknown.tolist()), inputs, feeds)

    def rules(
        self,
        exclude: ItemIds | None,
        allowed: ItemIds | None,
        where: Mapping[str, Any] | None,
    ) -> Rules:
        """The rules of :meth:`~ytrec_infer.recommender.Recommender.rules` as catalog codes."""
        if exclude is None and allowed is None and where is None:
            return NO_RULES
        catalog = self.catalog
        most = max(MAX_LIST_LENGTH, len(catalog))  # a rule may name the whole catalog
        excluded = (
            np.zeros(0, np.int64)
            if exclude is None
            else distinct(catalog.codes(catalog.id_array(exclude, "exclude", most))[0])
        )
        permitted = (
            None
            if allowed is None
            else distinct(catalog.codes(catalog.id_array(allowed, "allowed", most))[0])
        )
        if where is not None:
            passing = self.attributes.codes(where)
            permitted = (
                passing
                if permitted is None
                else np.intersect1d(permitted, passing, assume_unique=True)
            )
        return Rules(excluded, permitted)


def with_history(request: Request, exclude_history: bool, rules: Rules) -> Rules:
    """The rules plus, when asked, the request's own history as excluded codes."""
    if not exclude_history or not len(request.codes):
        return rules
    return Rules(np.union1d(request.codes, rules.exclude), rules.allowed)
