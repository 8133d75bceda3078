"""Evaluate the two-stage model on a held-out split, through the artifact or in torch.

Protocol (docs/evaluation.md): per user, interactions ordered by (timestamp, file order); the
held-out item (validation or test) is the target and the history is everything before it
(at test time: the training interactions plus the validation item). Items in that history are
excluded from every list; all other catalog items compete (no sampled negatives). The
two-stage list (candidates, then ranked) is scored with HR/NDCG/MRR@10, the candidate
generator's own order with the same metrics and Recall@50/100, and catalog coverage@10 of the
final lists. ``evaluate_artifact`` goes through the exported ONNX networks and the HNSW index
(what users get); ``evaluate_torch`` scores the same networks in torch with exact search, so
the cost of the approximate index is visible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trainers.encoding import EncodedData
from trainers.holdout import HoldoutSet, holdout_set, without_context, without_user_features
from trainers.metrics import coverage, hit_rate, summarize, target_ranks, top_k_excluding
from trainers.pipeline import prepare_data
from ytrec_infer import Recommender
from ytrec_infer.feature_declarations import DeclaredSchema

if TYPE_CHECKING:
    from trainers.models import CandidateModel, Ranker

log = logging.getLogger(__name__)

RECALL_AT = (50, 100)


def two_stage_metrics(
    ranked: np.ndarray, retrieved: np.ndarray, targets: np.ndarray, num_items: int, k: int = 10
) -> dict[str, Any]:
    """Metrics of the final lists [U, k] and of the candidate lists [U, n] they came from."""
    ranks = target_ranks(retrieved, targets)
    metrics: dict[str, Any] = {
        "two_stage": summarize(ranked, targets, k),
        "candidates_only": summarize(retrieved, targets, k),
    }
    for n in RECALL_AT:
        if n <= retrieved.shape[1]:
            metrics[f"candidate_recall@{n}"] = hit_rate(ranks, n)
    metrics[f"coverage@{k}"] = coverage(ranked[:, :k], num_items)
    metrics[f"candidates_coverage@{k}"] = coverage(retrieved[:, :k], num_items)
    return metrics


def artifact_lists(
    rec: Recommender,
    data: EncodedData,
    holdout: HoldoutSet,
    k: int,
    n_candidates: int,
    user_features: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Final top-k and candidate codes per user, computed by the runtime (ONNX + HNSW), each
    request with its held-out interaction's context (none if ``holdout`` has none);
    ``user_features=False`` sends the history alone (``recommend(history)``)."""
    ranked = np.zeros((len(holdout), k), dtype=np.int64)
    retrieved = np.zeros((len(holdout), n_candidates), dtype=np.int64)
    for i, row in enumerate(holdout.user_rows):
        history = data.item_ids[holdout.histories[i] - 1]
        user = (
            {
                **data.user_attributes(int(row)),
                "seconds_since_last": float(holdout.seconds_since_last[i]),
            }
            if user_features
            else None
        )
        request = rec.prepare(history, user, True, holdout.context_values(data, i))
        codes, scores = rec.retrieve(request, rec.embed(request), n_candidates, True)
        logits = rec.score(request, codes, scores)
        top = codes[np.argsort(-logits, kind="stable")[:k]]
        ranked[i, : len(top)] = top
        retrieved[i, : len(codes)] = codes
    return ranked, retrieved


def torch_lists(
    candidate_model: CandidateModel,
    ranker: Ranker | None,
    data: EncodedData,
    holdout: HoldoutSet,
    k: int,
    n_candidates: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The same lists from the torch networks with exact search (ranker None: candidates only)."""
    from trainers.inference import rank_scores, reorder, retrieve_candidates

    _, codes, scores = retrieve_candidates(
        candidate_model,
        data,
        holdout.user_rows,
        holdout.histories,
        n_candidates,
        context=holdout.context,
    )
    if ranker is None:
        return codes[:, :k], codes
    logits = rank_scores(
        ranker,
        data,
        holdout.user_rows,
        holdout.histories,
        codes,
        scores,
        holdout.seconds_since_last,
        holdout.context,
    )
    return reorder(codes, logits)[:, :k], codes


def most_popular_lists(data: EncodedData, holdout: HoldoutSet, k: int) -> np.ndarray:
    """The reference floor: training popularity, the user's history excluded."""
    scores = np.broadcast_to(data.popularity.astype(np.float64), (len(holdout), data.num_items))
    return top_k_excluding(scores, holdout.histories, k)


def request_kinds(
    data: EncodedData, holdout: HoldoutSet
) -> dict[str, tuple[EncodedData, HoldoutSet, bool]]:
    """The requests measured, by the key of their metrics: the user's features with the held-out
    interaction's context (the top-level numbers), the same without context
    (``without_context``, only when the schema declares context features) and the history
    alone (``history_only``); each as (data, holdout, send the user's features)."""
    bare_data, bare_holdout = without_user_features(data, holdout)
    kinds = {"": (data, holdout, True)}
    if data.schema.context:
        kinds["without_context"] = (data, without_context(holdout), True)
    kinds["history_only"] = (bare_data, bare_holdout, False)
    return kinds


def _metrics_by_kind(
    lists: Callable[[EncodedData, HoldoutSet, bool], tuple[np.ndarray, np.ndarray]],
    data: EncodedData,
    holdout: HoldoutSet,
    k: int,
) -> dict[str, Any]:
    """:func:`two_stage_metrics` of ``lists`` for each of :func:`request_kinds`: the first at
    the top level, the others under their keys."""
    out: dict[str, Any] = {}
    for key, (kind_data, kind_holdout, user) in request_kinds(data, holdout).items():
        ranked, retrieved = lists(kind_data, kind_holdout, user)
        metrics = two_stage_metrics(ranked, retrieved, holdout.targets, data.num_items, k)
        if key:
            out[key] = metrics
        else:
            out.update(metrics)
    return out


def evaluate_artifact(
    artifact: str,
    data: str | Path,
    split: str = "test",
    k: int = 10,
    n_candidates: int = 100,
    items: str | Path | None = None,
    users: str | Path | None = None,
) -> dict[str, Any]:
    """Metrics of the artifact's two-stage list, its candidate order, and MostPopular, for
    requests with the user's features and the held-out interaction's context;
    ``without_context`` (when the schema declares context) holds the same without the
    context, ``history_only`` for the history alone.

    ``data`` (with ``items``/``users`` for a log) is what the artifact was trained on; the
    features are encoded with the artifact's own schema (its manifest's declarations)."""
    start = time.perf_counter()
    rec = Recommender.load(artifact)
    schema = rec.schema
    declared = DeclaredSchema(
        tuple(f.spec for f in schema.user + schema.item + schema.context),
        f"{artifact} (manifest)",
    )
    encoded = prepare_data(data, schema.max_history, items, users, declared)
    if not np.array_equal(encoded.item_ids, rec.catalog.item_ids):
        raise ValueError(f"{artifact} was trained on a different catalog than {data}")
    holdout = holdout_set(encoded, split)

    def lists(
        kind_data: EncodedData, kind_holdout: HoldoutSet, user: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        return artifact_lists(rec, kind_data, kind_holdout, k, n_candidates, user)

    return {
        "split": split,
        "users": len(holdout),
        "path": "artifact (onnxruntime + hnswlib)",
        **_metrics_by_kind(lists, encoded, holdout, k),
        "most_popular": summarize(most_popular_lists(encoded, holdout, k), holdout.targets, k),
        "seconds": time.perf_counter() - start,
    }


def evaluate_torch(
    candidate_model: CandidateModel,
    ranker: Ranker | None,
    data: EncodedData,
    split: str = "test",
    k: int = 10,
    n_candidates: int = 100,
) -> dict[str, Any]:
    """The same metrics from the torch networks with exact search over the whole catalog."""
    start = time.perf_counter()
    holdout = holdout_set(data, split)

    def lists(
        kind_data: EncodedData, kind_holdout: HoldoutSet, user: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        return torch_lists(candidate_model, ranker, kind_data, kind_holdout, k, n_candidates)

    return {
        "split": split,
        "users": len(holdout),
        "path": "torch, exact search",
        **_metrics_by_kind(lists, data, holdout, k),
        "seconds": time.perf_counter() - start,
    }
