"""Exceptions raised by the runtime, so callers can catch one type per failure kind."""

from __future__ import annotations

from pathlib import Path


class ArtifactError(Exception):
    """An artifact folder is missing, damaged, or not one this runtime can read.

    The message names the file and the reason; nothing has been loaded into a native
    library when this is raised for a checksum or manifest problem.

    >>> from ytrec_infer import Recommender
    >>> try:
    ...     Recommender.load("no/such/folder")
    ... except ArtifactError as error:
    ...     print(error.path, "-", error.reason)
    no/such/folder - is not an artifact folder (no such directory)
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnknownItemError(ValueError):
    """Raised in strict mode when a history or candidate list names items the artifact lacks.

    Without ``strict=True`` unknown ids are skipped and listed in ``unknown_ids`` instead
    (``rec`` is a loaded :class:`~ytrec_infer.Recommender`).

    >>> rec.recommend([50, 999999], strict=True)
    Traceback (most recent call last):
    ...
    ytrec_infer.errors.UnknownItemError: unknown item ids not in the catalog: 999999
    >>> rec.recommend([50, 999999]).unknown_ids
    (999999,)
    """

    def __init__(self, item_ids: tuple[int | str, ...]) -> None:
        self.item_ids = item_ids
        shown = ", ".join(str(i) for i in item_ids[:10])
        more = f" (and {len(item_ids) - 10} more)" if len(item_ids) > 10 else ""
        super().__init__(f"unknown item ids not in the catalog: {shown}{more}")


class StageOutputError(ArtifactError):
    """A stage returned what no correct artifact returns for this request: a user vector,
    retrieval scores or ranker logits of the wrong shape, or holding NaN or infinity.

    The request is refused rather than answered wrongly (a NaN user vector would rank the
    user's own history first). It is an :class:`ArtifactError`: ``path`` names the network or
    index at fault, and the artifact, not the request, needs fixing.
    """


class SchemaError(ValueError):
    """A feature schema (a schema file, or the ``features`` of a manifest) is malformed.

    The message names the file, the feature and the problem, e.g.
    ``features.json: feature 'country': kind 'categoric' is not one of [...]``.
    """
