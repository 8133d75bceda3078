"""Readiness check: before an artifact serves, a request stored at export time must reproduce.

Checksums prove the files are the ones the exporter wrote; they cannot prove those files
compute the right thing (onnxruntime runs a network with flipped weight bytes without any
error). So the exporter stores one real request and what each stage returned for it in
``readiness.json``, and :func:`check_readiness` replays it through the loaded
:class:`~ytrec_infer.recommender.Recommender`'s own stage methods at load time:

- user tower: the user vector must match the stored one (``allclose`` with ``rtol``/``atol``);
- ranker: the logits of the stored candidates (with their stored retrieval scores) must match;
- retrieval: the nearest ``len(nearest)`` items to the *stored* user vector must share at least
  ``min_overlap`` of the stored ones (an approximate index and an exact GPU search may
  differ in a few items without either being wrong);
- every output must be finite.

The comparison is per stage, with tolerances recorded in the manifest, not an identical final
list, so a faster CPU path or a GPU provider (different rounding) still passes while damaged
or mismatched networks and indexes do not. The replay also warms every stage up. An artifact
without a stored sample (format 1.0) gets the finiteness checks on a synthetic request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ytrec_infer.errors import ArtifactError
from ytrec_infer.manifest import ReadinessSpec
from ytrec_infer.safe_load import read_json

if TYPE_CHECKING:
    from ytrec_infer.recommender import Recommender

READINESS = "readiness.json"
RTOL = 1e-3
ATOL = 1e-3
MIN_OVERLAP = 0.8
NEAREST = 10
MAX_SAMPLE_ITEMS = 1000
"""At most this many stored candidates and nearest items (the exporter stores 100 and 10)."""


def make_sample(
    rec: Recommender,
    history: list[int] | list[str],
    user: Mapping[str, Any] | None,
    n_candidates: int,
) -> dict[str, Any]:
    """Run one request through every stage of ``rec`` and record inputs and outputs as JSON."""
    request = rec.prepare(history, user, strict=True)
    vector = rec.embed(request)
    codes, scores = rec.retrieve(request, vector, n_candidates, True)
    logits = rec.score(request, codes, scores)
    nearest, _ = rec.retrieve(request, vector, min(NEAREST, rec.num_items), False)
    return {
        "request": {"history": list(history), "user": dict(user or {})},
        "user_vector": vector.astype(np.float32).tolist(),
        "candidates": codes.tolist(),
        "retrieval_scores": scores.astype(np.float32).tolist(),
        "logits": logits.astype(np.float32).tolist(),
        "nearest": nearest.tolist(),
    }


def manifest_entry() -> ReadinessSpec:
    """The manifest's ``readiness`` section: the sample file and the documented tolerances."""
    return ReadinessSpec(READINESS, RTOL, ATOL, MIN_OVERLAP)


def _finite(name: str, values: np.ndarray, where: Any) -> None:
    if not np.isfinite(values).all():
        raise ArtifactError(where, f"readiness check failed: {name} holds NaN or infinity")


def _close(name: str, actual: np.ndarray, expected: np.ndarray, spec: Mapping[str, Any]) -> None:
    where = spec["path"]
    _finite(name, actual, where)
    if actual.shape != expected.shape:
        raise ArtifactError(
            where,
            f"readiness check failed: {name} has shape {actual.shape}, sample {expected.shape}",
        )
    if not np.allclose(actual, expected, rtol=spec["rtol"], atol=spec["atol"]):
        diff = float(np.abs(actual - expected).max())
        raise ArtifactError(
            where,
            f"readiness check failed: {name} differs from the stored sample (max abs diff "
            f"{diff:.3g}, rtol {spec['rtol']}, atol {spec['atol']}): the files do not compute "
            "what was exported",
        )


def _sample_spec(rec: Recommender) -> dict[str, Any] | None:
    """The manifest's readiness section (checked by
    :meth:`~ytrec_infer.manifest.ReadinessSpec.from_dict`) with the sample loaded, or None when
    there is none (synthetic artifacts, an export's first load): those get the finiteness
    replay."""
    entry = rec.manifest.description.readiness
    if entry is None:
        return None
    path = rec.manifest.path(entry.file)
    return {**entry.to_dict(), "path": path, "sample": read_json(path)}


def _replay(rec: Recommender, spec: dict[str, Any]) -> None:
    sample, path = spec["sample"], spec["path"]
    try:
        request = rec.prepare(sample["request"]["history"], sample["request"]["user"], strict=True)
        stored_vector = np.asarray(sample["user_vector"], dtype=np.float32)
        candidates = np.asarray(sample["candidates"], dtype=np.int64)
        retrieval = np.asarray(sample["retrieval_scores"], dtype=np.float32)
        logits = np.asarray(sample["logits"], dtype=np.float32)
        nearest = np.asarray(sample["nearest"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(path, f"is not a valid readiness sample ({exc!r})") from None
    if (
        candidates.ndim != 1
        or len(candidates) != len(retrieval)
        or not len(nearest)
        or np.any((candidates < 1) | (candidates > rec.num_items))
    ):
        raise ArtifactError(path, "is not a valid readiness sample (candidate lists disagree)")
    if max(len(candidates), len(nearest)) > MAX_SAMPLE_ITEMS:
        raise ArtifactError(
            path,
            f"is not a valid readiness sample (more than {MAX_SAMPLE_ITEMS} candidates or "
            "nearest items: the replay would run the ranker on an unbounded request)",
        )
    _close("user tower output", rec.embed(request), stored_vector, spec)
    _close("ranker logits", rec.score(request, candidates, retrieval), logits, spec)
    found, scores = rec.retrieve(request, stored_vector, len(nearest), False)
    _finite("retrieval scores", scores, path)
    overlap = len(np.intersect1d(found, nearest)) / len(nearest)
    if overlap < spec["min_overlap"]:
        raise ArtifactError(
            path,
            f"readiness check failed: the index returns {overlap:.0%} of the stored nearest "
            f"items (needs {spec['min_overlap']:.0%}): the index does not match the model",
        )


def _synthetic(rec: Recommender) -> None:
    """Finiteness of every stage on a small request, for artifacts without a stored sample."""
    where = rec.manifest.root
    history = rec.catalog.item_ids[: min(5, rec.num_items)]
    request = rec.prepare(history)
    vector = rec.embed(request)
    _finite("user tower output", vector, where)
    codes, scores = rec.retrieve(request, vector, min(NEAREST, rec.num_items), False)
    _finite("retrieval scores", scores, where)
    _finite("ranker logits", rec.score(request, codes, scores), where)


def check_readiness(rec: Recommender) -> None:
    """Replay the stored sample (or a synthetic request) through ``rec``; raise ArtifactError.

    A network that fails at run time (onnxruntime raises its own exception types) is reported
    as an ArtifactError too, so a host app has one exception to catch for a bad artifact.
    """
    spec = _sample_spec(rec)
    try:
        if spec is None:
            _synthetic(rec)
        else:
            _replay(rec, spec)
    except ArtifactError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime and hnswlib raise private types
        where = rec.manifest.root if spec is None else spec["path"]
        raise ArtifactError(where, f"readiness check failed: {type(exc).__name__}: {exc}") from None
