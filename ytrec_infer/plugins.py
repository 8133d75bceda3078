"""Code the runtime finds through entry points instead of importing: the training side.

The training side registers its ``ytrec`` commands (group ``ytrec.commands``) and the
synthetic-artifact builder (group ``ytrec.builders``). An installed wheel ships it under the
import names ``ytrec_trainers`` and ``ytrec_export`` (no top-level ``trainers``/``export`` to
collide with other distributions); a source checkout keeps its ``trainers/`` and ``export/``
folders, registered under the same names with a ``.checkout`` suffix. The first entry of a name
that imports wins; one whose code is not installed (an ImportError) is skipped.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

COMMANDS = "ytrec.commands"
BUILDERS = "ytrec.builders"
CHECKOUT_SUFFIX = ".checkout"


def plugins(group: str) -> dict[str, Any]:
    """Name -> loaded object of every importable entry of ``group`` (installed before checkout)."""
    found: dict[str, Any] = {}
    entries = sorted(entry_points(group=group), key=lambda e: e.name.endswith(CHECKOUT_SUFFIX))
    for entry in entries:
        name = entry.name.removesuffix(CHECKOUT_SUFFIX)
        if name in found:
            continue
        try:
            found[name] = entry.load()
        except ImportError:
            continue
    return found
