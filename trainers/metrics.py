"""Top-K accuracy metrics of ranked lists against one held-out item per user (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

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


def coverage(ranked: np.ndarray, num_items: int) -> float:
    """Share of the catalog (codes 1..num_items) appearing in at least one list; 0 is padding."""
    return float(len(np.unique(ranked[ranked > 0])) / num_items) if num_items else 0.0


def top_k_excluding(scores: np.ndarray, exclude: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Codes [U, k] of the highest scores per row, never one of the row's ``exclude`` codes.

    ``scores`` is [U, N] over codes 1..N (column j is code j + 1); ties keep the lower code,
    so the lists are deterministic.
    """
    masked = np.array(scores, dtype=np.float64, copy=True)
    for row, codes in enumerate(exclude):
        masked[row, np.asarray(codes, dtype=np.int64) - 1] = -np.inf
    columns = np.broadcast_to(np.arange(masked.shape[1]), masked.shape)
    order = np.lexsort((columns, -masked), axis=1)[:, : min(k, masked.shape[1])]
    return order + 1


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of per-seed numbers."""
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": len(array)}
