"""The candidate generator's sampled softmax: shared sampled negatives plus in-batch negatives,
every logit corrected by the log of its item's expected count among the negatives.

Per batch, ``S`` negatives are drawn (with replacement) from the smoothed popularity
distribution Q (count**power) and the targets of ``K`` rows of the (shuffled) batch are added
to them, which are draws from the data's own target distribution P. All rows share these
``S + K`` negatives, so the logits are one [B, S + K] matrix product. The negative set is a
draw from the mixture whose expected count of item j is ``S*Q(j) + K*P(j)``; subtracting the
log of that count from every logit, the positive's included, makes the sampled loss estimate
the full softmax (the "logQ" correction of Jean et al. 2015 and Yi et al. 2019, for a mixed
proposal as in Yang et al. 2020). With ``K = 0`` it is the plain logQ correction. A negative
equal to the row's own target (an accidental hit) is masked out.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from trainers.precision import dense_precision


def smoothed_popularity(popularity: np.ndarray, power: float) -> np.ndarray:
    """Q per code (row 0 = padding, probability 0) from training counts: (count + 1)**power."""
    weights = (popularity.astype(np.float64) + 1.0) ** power
    return np.concatenate([[0.0], weights / weights.sum()])


def negative_log_counts(
    sampling: np.ndarray, targets: np.ndarray, num_sampled: int, num_in_batch: int
) -> torch.Tensor:
    """log of each code's expected count among one batch's negatives: ``num_sampled`` draws
    from ``sampling`` (Q per code) and ``num_in_batch`` training targets (P per code, the
    frequency of each code among ``targets``)."""
    expected = num_sampled * sampling
    if num_in_batch > 0:
        frequency = np.bincount(targets, minlength=len(sampling)).astype(np.float64)
        expected = expected + num_in_batch * frequency / frequency.sum()
    with np.errstate(divide="ignore"):
        return torch.from_numpy(np.log(expected)).float()


def draw_negatives(sampling: np.ndarray, steps: int, num_sampled: int) -> torch.Tensor:
    """[steps, num_sampled] codes drawn with replacement from ``sampling``, one row per batch
    of an epoch (one draw per epoch instead of one per batch)."""
    weights = torch.from_numpy(sampling).float()
    return torch.multinomial(weights, steps * num_sampled, replacement=True).view(steps, -1)


MASKED = -1e9
"""The logit of an accidental hit: no weight in the softmax, and finite so that a row whose
negatives are all hits still has a finite loss and gradient."""


def accidental_hits(
    targets: torch.Tensor, negatives: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, columns) with ``negatives[column] == targets[row]``: by sorting the S negatives
    and a binary search of the B targets, instead of a [B, S] comparison."""
    ordered, order = torch.sort(negatives)
    first = torch.searchsorted(ordered, targets)
    counts = torch.searchsorted(ordered, targets, right=True) - first
    rows = torch.repeat_interleave(torch.arange(len(targets)), counts)
    starts = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    columns = order[first[rows] + torch.arange(len(rows)) - starts]
    return rows, columns


def sampled_softmax_loss(
    users: torch.Tensor,
    target_vectors: torch.Tensor,
    negative_vectors: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    log_counts: torch.Tensor,
    temperature: float,
    dense_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Mean cross-entropy of each row's target against the shared negatives.

    ``users`` [B, D] and the item vectors [B, D] / [S + K, D] are unit vectors; ``targets``
    [B] and ``negatives`` [S + K] are their codes; ``log_counts`` is
    :func:`negative_log_counts`. ``dense_dtype`` (bfloat16 or None) is what the [B, S + K]
    product of users and negatives is computed in (``trainers/precision.py``); the rest is
    float32. The cross-entropy with the positive as class 0 is written as
    ``logaddexp(positive, logsumexp(negatives)) - positive``: the same value without
    concatenating the [B, 1 + S + K] logits."""
    scaled = users / temperature
    positive = (scaled * target_vectors).sum(-1) - log_counts[targets]
    with dense_precision(dense_dtype, users.device):
        products = scaled @ negative_vectors.T
    negative = products.float() - log_counts[negatives]
    negative.index_put_(accidental_hits(targets, negatives), torch.tensor(MASKED))
    return (torch.logaddexp(positive, torch.logsumexp(negative, dim=1)) - positive).mean()


def full_softmax_loss(
    users: torch.Tensor, item_matrix: torch.Tensor, targets: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Cross-entropy over the whole catalog (codes 1..N), for ablations."""
    logits = users @ item_matrix[1:].T / temperature
    return F.cross_entropy(logits, targets - 1)
