"""``ytrec recommend --user KEY=VALUE --context KEY=VALUE``: request fields typed by the schema.

A numeric feature's value (and ``seconds_since_last``) is parsed as a float, a categorical
one is kept as text, a multi-categorical one split at its separator (``--user
interests=jazz|live``); a key the artifact's schema does not declare for that side is a usage
error listing the accepted keys, so a typo never silently becomes "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from ytrec_infer.feature_declarations import BUILT_IN_FIELDS
from ytrec_infer.feature_schema import FeatureSchema


def _kinds(schema: FeatureSchema, side: str) -> dict[str, tuple[str, str]]:
    """Per accepted key, its kind and separator."""
    features = schema.context if side == "context" else schema.user
    return {f.name: (f.spec.kind, f.spec.separator) for f in features} | {
        name: ("numeric", "") for name in BUILT_IN_FIELDS
    }


def typed_fields(pairs: Sequence[str], schema: FeatureSchema, side: str) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``--user`` or ``--context`` (``side``) as a request mapping."""
    option = f"--{side}"
    kinds = _kinds(schema, side)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        if key not in kinds:
            raise click.UsageError(
                f"{option} {key!r} is not a {side} field of this artifact; accepted: "
                f"{', '.join(kinds) or '(none)'}"
            )
        if key in out:
            raise click.UsageError(f"{option} {key!r} is given twice")
        out[key] = _value(text.strip(), *kinds[key], f"{option} {key}")
    return out


def _value(text: str, kind: str, separator: str, where: str) -> Any:
    if kind == "multi_categorical":
        return [part.strip() for part in text.split(separator) if part.strip()]
    if kind != "numeric":
        return text
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(f"{where} is numeric, got {text!r}") from None


def merged(flags: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The user mapping of the named flags (``--age``, ...) and of ``--user`` pairs; a field
    given both ways is a usage error."""
    twice = sorted(set(flags) & set(fields))
    if twice:
        raise click.UsageError(f"{', '.join(twice)} given both as a flag and with --user")
    return flags | fields
