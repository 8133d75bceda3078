"""A checksum of the manifest's own content, and bounds on the values the runtime trusts from it.

The ``files`` section covers every other file with a sha256, but ``manifest.json`` itself holds
vocabularies, fill values, ``ef_search`` and the readiness switch: one flipped bit in a
vocabulary entry silently changes the answers of every user with that value. So the writer
stores ``manifest_sha256``, the sha256 of the canonical JSON of the manifest without that key
(:func:`manifest_digest`: sorted keys, no whitespace, ASCII), and the reader recomputes it
(:func:`check_manifest_digest`). The digest is over the parsed content, so indentation does not
matter; duplicate keys, which would make the content ambiguous, are refused by the strict parser
(:func:`ytrec_infer.safe_load.parse_json`). Like every checksum it proves integrity, not
authenticity: a producer that rewrites the manifest can recompute it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ytrec_infer.errors import ArtifactError
from ytrec_infer.features import MAX_NORMALISED, MAX_SECONDS_SINCE_LAST

DIGEST_KEY = "manifest_sha256"
DIGEST_SINCE = (1, 2)
"""Format versions from this one on must carry the digest."""


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of ``manifest`` without :data:`DIGEST_KEY`."""
    body = {key: value for key, value in manifest.items() if key != DIGEST_KEY}
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def with_digest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` with its :data:`DIGEST_KEY` (re)computed; the writer's half of the pair."""
    return {**manifest, DIGEST_KEY: manifest_digest(manifest)}


def check_manifest_digest(
    manifest: Mapping[str, Any], version: tuple[int, int], path: Path
) -> None:
    """Refuse a manifest whose content does not match its digest, or that lacks one although its
    format version requires it (an older manifest without one is read as before)."""
    stored = manifest.get(DIGEST_KEY)
    if stored is None and version < DIGEST_SINCE:
        return
    if not isinstance(stored, str):
        raise ArtifactError(
            path, f"'{DIGEST_KEY}' is missing: format {version[0]}.{version[1]} requires it"
        )
    if stored != manifest_digest(manifest):
        raise ArtifactError(
            path,
            f"content does not match its '{DIGEST_KEY}': the manifest was corrupted or edited "
            "after export",
        )


def bounded_int(value: int, low: int, high: int, name: str, path: Path) -> int:
    """``value`` if ``low <= value <= high``, else an ArtifactError naming the field."""
    if not low <= value <= high:
        raise ArtifactError(path, f"'{name}' is {value}, outside {low}..{high}")
    return value


def check_feature_fills(features: Mapping[str, Any], path: Path) -> None:
    """The fill values of missing user and context numbers lie where a request's own values must: a fill
    that normalises beyond :data:`ytrec_infer.features.MAX_NORMALISED` (or a gap fill beyond
    :data:`~ytrec_infer.features.MAX_SECONDS_SINCE_LAST`) overflows the networks' squared
    features into NaN user vectors for every user who leaves that field out."""
    lists = [features.get(side) for side in ("user", "context")]
    for entry in [entry for part in lists if isinstance(part, list) for entry in part]:
        if not isinstance(entry, Mapping) or entry.get("kind") != "numeric":
            continue
        values = [entry.get(key) for key in ("fill", "center", "scale")]
        numbers = [
            float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        if len(numbers) != 3 or not numbers[2] > 0 or not (
            abs((numbers[0] - numbers[1]) / numbers[2]) < MAX_NORMALISED
        ):
            raise ArtifactError(
                path, f"'features.user' {entry.get('name')!r}: fill {values[0]!r} is out of range"
            )
    section = features.get("seconds_since_last")
    fill = section.get("fill") if isinstance(section, Mapping) else None
    if (
        isinstance(fill, bool)
        or not isinstance(fill, (int, float))
        or not 0 <= fill <= MAX_SECONDS_SINCE_LAST
    ):
        raise ArtifactError(
            path,
            f"'features.seconds_since_last.fill' is {fill!r}, "
            f"outside 0..{MAX_SECONDS_SINCE_LAST:g}",
        )