"""The ranker's losses: weighted logistic regression and the listwise option."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from trainers.train_ranker import ranking_loss


def _lists() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two lists of three candidates, the watched item in column 0, rated 5 and 1."""
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.3]])
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    weights = torch.ones_like(logits)
    weights[:, 0] = torch.tensor([5.0, 1.0])
    return logits, labels, weights


def test_pointwise_is_weighted_logistic_regression() -> None:
    logits, labels, weights = _lists()
    expected = F.binary_cross_entropy_with_logits(logits, labels, weight=weights)
    assert ranking_loss(logits, labels, weights, "pointwise") == pytest.approx(expected.item())


def test_listwise_is_rating_weighted_softmax_cross_entropy() -> None:
    logits, labels, weights = _lists()
    per_list = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long), reduction="none")
    expected = (per_list * torch.tensor([5.0, 1.0])).sum() / 6.0
    assert ranking_loss(logits, labels, weights, "listwise") == pytest.approx(expected.item())


def test_listwise_only_sees_the_order_within_a_list() -> None:
    """Shifting a whole list's logits changes nothing; putting the watched item first lowers it."""
    logits, labels, weights = _lists()
    shifted = logits + torch.tensor([[3.0], [-2.0]])
    base = ranking_loss(logits, labels, weights, "listwise")
    assert ranking_loss(shifted, labels, weights, "listwise") == pytest.approx(base.item())
    better = logits.clone()
    better[1, 0] = 2.0
    assert ranking_loss(better, labels, weights, "listwise") < base


def test_unknown_loss_is_refused() -> None:
    logits, labels, weights = _lists()
    with pytest.raises(ValueError, match="pointwise"):
        ranking_loss(logits, labels, weights, "pairwise")
