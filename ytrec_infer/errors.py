"""Exceptions raised by the runtime, so callers can catch one type per failure kind."""

from __future__ import annotations

from pathlib import Path


class ArtifactError(Exception):
    """An artifact folder is missing, damaged, or not one this runtime can read.

    The message names the file and the reason; nothing has been loaded into a native
    library when this is raised for a checksum or manifest problem.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class UnknownItemError(ValueError):
    """Raised in strict mode when a history or candidate list names items the artifact lacks."""

    def __init__(self, item_ids: tuple[int, ...]) -> None:
        self.item_ids = item_ids
        shown = ", ".join(str(i) for i in item_ids[:10])
        more = f" (and {len(item_ids) - 10} more)" if len(item_ids) > 10 else ""
        super().__init__(f"unknown item ids not in the catalog: {shown}{more}")
