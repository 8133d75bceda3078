"""Evaluate an exported artifact on a dataset split, through the runtime (no torch).

Protocol: per user, interactions ordered by time; the held-out item (validation or test) is
the target; the history is everything before it. The two-stage list (100 candidates, ranked)
is scored with HR/NDCG/MRR@10; the candidate generator's own order gives the same metrics and
Recall@50/100; MostPopular (training popularity, history excluded) is the reference floor.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from trainers.holdout import holdout_set
from trainers.metrics import hit_rate, summarize, target_ranks
from trainers.pipeline import prepare_data
from ytrec_infer import Recommender

log = logging.getLogger(__name__)


def _most_popular(popularity: np.ndarray, histories: tuple[np.ndarray, ...], k: int) -> np.ndarray:
    order = np.argsort(-popularity, kind="stable") + 1
    return np.stack([order[~np.isin(order, h)][:k] for h in histories])


def evaluate_artifact(
    artifact: str, data: str, split: str = "test", k: int = 10, n_candidates: int = 100
) -> dict[str, Any]:
    """Metrics of the artifact's two-stage list, its candidate order, and MostPopular."""
    start = time.perf_counter()
    rec = Recommender.load(artifact)
    encoded = prepare_data(data, rec.schema.max_history)
    if not np.array_equal(encoded.item_ids, rec.catalog.item_ids):
        raise ValueError(f"{artifact} was trained on a different catalog than {data}")
    holdout = holdout_set(encoded, split)
    ranked = np.zeros((len(holdout), k), dtype=np.int64)
    retrieved = np.zeros((len(holdout), n_candidates), dtype=np.int64)
    for i, row in enumerate(holdout.user_rows):
        history = encoded.item_ids[holdout.histories[i] - 1]
        user = {
            **encoded.user_attributes(int(row)),
            "seconds_since_last": float(holdout.seconds_since_last[i]),
        }
        top = rec.catalog.codes(rec.recommend(history, k, user, n_candidates).item_ids)[0]
        candidates = rec.catalog.codes(rec.candidates(history, n_candidates, user).item_ids)[0]
        ranked[i, : len(top)] = top
        retrieved[i, : len(candidates)] = candidates
    targets = holdout.targets
    candidate_ranks = target_ranks(retrieved, targets)
    popular = _most_popular(encoded.popularity, holdout.histories, k)
    return {
        "split": split,
        "users": len(holdout),
        "two_stage": summarize(ranked, targets, k),
        "candidates_only": summarize(retrieved, targets, k),
        "most_popular": summarize(popular, targets, k),
        "candidate_recall@50": hit_rate(candidate_ranks, 50),
        f"candidate_recall@{n_candidates}": hit_rate(candidate_ranks, n_candidates),
        f"coverage@{k}": float(len(np.unique(ranked[ranked > 0])) / rec.num_items),
        "seconds": time.perf_counter() - start,
    }
