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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trainers.encoding import EncodedData
from trainers.holdout import HoldoutSet, holdout_set, without_user_features
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
    """Final top-k and candidate codes per user, computed by the runtime (ONNX + HNSW);
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
        request = rec.prepare(history, user, strict=True)
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
        candidate_model, data, holdout.user_rows, holdout.histories, n_candidates
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
    )
    return reorder(codes, logits)[:, :k], codes


def most_popular_lists(data: EncodedData, holdout: HoldoutSet, k: int) -> np.ndarray:
    """The reference floor: training popularity, the user's history excluded."""
    scores = np.broadcast_to(data.popularity.astype(np.float64), (len(holdout), data.num_items))
    return top_k_excluding(scores, holdout.histories, k)


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
    requests with the user's features; ``history_only`` holds the same for the history alone.

    ``data`` (with ``items``/``users`` for a log) is what the artifact was trained on; the
    features are encoded with the artifact's own schema (its manifest's declarations)."""
    start = time.perf_counter()
    rec = Recommender.load(artifact)
    declared = DeclaredSchema(
        tuple(f.spec for f in rec.schema.user + rec.schema.item), f"{artifact} (manifest)"
    )
    encoded = prepare_data(data, rec.schema.max_history, items, users, declared)
    if not np.array_equal(encoded.item_ids, rec.catalog.item_ids):
        raise ValueError(f"{artifact} was trained on a different catalog than {data}")
    holdout = holdout_set(encoded, split)
    ranked, retrieved = artifact_lists(rec, encoded, holdout, k, n_candidates)
    bare_ranked, bare_retrieved = artifact_lists(rec, encoded, holdout, k, n_candidates, False)
    return {
        "split": split,
        "users": len(holdout),
        "path": "artifact (onnxruntime + hnswlib)",
        **two_stage_metrics(ranked, retrieved, holdout.targets, encoded.num_items, k),
        "history_only": two_stage_metrics(
            bare_ranked, bare_retrieved, holdout.targets, encoded.num_items, k
        ),
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
    ranked, retrieved = torch_lists(candidate_model, ranker, data, holdout, k, n_candidates)
    bare_data, bare_holdout = without_user_features(data, holdout)
    bare_ranked, bare_retrieved = torch_lists(
        candidate_model, ranker, bare_data, bare_holdout, k, n_candidates
    )
    return {
        "split": split,
        "users": len(holdout),
        "path": "torch, exact search",
        **two_stage_metrics(ranked, retrieved, holdout.targets, data.num_items, k),
        "history_only": two_stage_metrics(
            bare_ranked, bare_retrieved, holdout.targets, data.num_items, k
        ),
        "seconds": time.perf_counter() - start,
    }
