"""Top-K accuracy metrics of ranked lists against one held-out item per user (numpy only)."""

from __future__ import annotations

import numpy as np


def target_ranks(ranked: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based position of each row's target in its ranked list [U, K], or -1 if absent."""
    hits = ranked == targets[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1)


def hit_rate(ranks: np.ndarray, k: int) -> float:
    """Share of users whose target is in the top k."""
    return float(np.mean((ranks >= 0) & (ranks < k))) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    """Normalised DCG with one relevant item: 1/log2(rank + 2) inside the top k, else 0."""
    inside = (ranks >= 0) & (ranks < k)
    gains = np.where(inside, 1.0 / np.log2(np.maximum(ranks, 0) + 2.0), 0.0)
    return float(gains.mean()) if len(ranks) else 0.0


def mrr(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, counting only targets inside the top k."""
    inside = (ranks >= 0) & (ranks < k)
    return (
        float(np.where(inside, 1.0 / (np.maximum(ranks, 0) + 1.0), 0.0).mean())
        if len(ranks)
        else 0.0
    )


def summarize(ranked: np.ndarray, targets: np.ndarray, k: int = 10) -> dict[str, float]:
    """HR@k, NDCG@k and MRR@k of ranked lists [U, >=k]."""
    ranks = target_ranks(ranked[:, :k], targets)
    return {f"hr@{k}": hit_rate(ranks, k), f"ndcg@{k}": ndcg(ranks, k), f"mrr@{k}": mrr(ranks, k)}
