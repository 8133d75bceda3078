"""The generator step's faster parts compute what the plain PyTorch forms compute: the
accidental-hit finder, the loss without concatenated logits, the lookups' backward, the pooled
dropout and the precision choice (``docs/benchmarks.md``, "Generator step")."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from trainers.models.pooled_dropout import PooledDropout
from trainers.models.row_lookup import lookup
from trainers.precision import autocast_dtype
from trainers.sampled_softmax import accidental_hits, sampled_softmax_loss


def test_accidental_hits_are_every_equal_pair() -> None:
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        targets = torch.randint(0, 15, (40,), generator=generator)
        negatives = torch.randint(0, 15, (25,), generator=generator)
        rows, columns = accidental_hits(targets, negatives)
        found = torch.zeros(40, 25, dtype=torch.bool)
        found[rows, columns] = True
        assert len(rows) == int(found.sum())
        assert torch.equal(found, targets[:, None] == negatives[None, :])


def test_the_loss_and_its_gradient_are_the_masked_cross_entropy() -> None:
    """Against the textbook form: [positive, negatives] logits, hits set to -inf, class 0."""
    torch.manual_seed(0)
    users = F.normalize(torch.randn(64, 8), dim=-1).requires_grad_()
    table = F.normalize(torch.randn(12, 8), dim=-1).requires_grad_()
    targets = torch.randint(1, 12, (64,))
    negatives = torch.randint(1, 12, (30,))
    log_counts = torch.randn(12)
    loss = sampled_softmax_loss(
        users, table[targets], table[negatives], targets, negatives, log_counts, 0.1
    )
    got = torch.autograd.grad(loss, (users, table))
    positive = (users * table[targets]).sum(-1) / 0.1 - log_counts[targets]
    negative = users @ table[negatives].T / 0.1 - log_counts[negatives]
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], -torch.inf)
    logits = torch.cat([positive[:, None], negative], dim=1)
    reference = F.cross_entropy(logits, torch.zeros(64, dtype=torch.long))
    expected = torch.autograd.grad(reference, (users, table))
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_a_row_whose_negatives_are_all_hits_has_a_finite_gradient() -> None:
    users = F.normalize(torch.randn(2, 4), dim=-1).requires_grad_()
    vectors = F.normalize(torch.randn(2, 4), dim=-1)
    targets, negatives = torch.tensor([3, 5]), torch.tensor([3, 3])
    loss = sampled_softmax_loss(users, vectors, vectors, targets, negatives, torch.zeros(6), 1.0)
    (grad,) = torch.autograd.grad(loss, users)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


@pytest.mark.parametrize("padding", [None, 0])
def test_lookup_has_the_embedding_gradient(padding: int | None) -> None:
    torch.manual_seed(0)
    table = nn.Embedding(9, 5, padding_idx=padding)
    plain = copy.deepcopy(table)
    codes = torch.randint(0, 9, (7, 4))
    weights = torch.randn(7, 4, 5)
    (lookup(table, codes) * weights).sum().backward()
    (plain(codes) * weights).sum().backward()
    assert table.weight.grad is not None and plain.weight.grad is not None
    torch.testing.assert_close(table.weight.grad, plain.weight.grad)
    if padding is not None:
        assert table.weight.grad[padding].abs().sum() == 0


def test_pooled_dropout_drops_at_its_rate_and_keeps_the_mean() -> None:
    torch.manual_seed(0)
    layer = PooledDropout(0.25)
    x = torch.ones(512, 300)
    masks = [layer(x) for _ in range(3)]
    for out in masks:
        assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
        assert out.mean().item() == pytest.approx(1.0, abs=0.02)
        assert out.unique().tolist() == pytest.approx([0.0, 1 / 0.75])
    assert not torch.equal(masks[0], masks[1])
    assert torch.equal(layer.eval()(x), x)
    assert copy.deepcopy(layer.train())._pool is None
    with pytest.raises(ValueError, match="dropout"):
        PooledDropout(1.0)


def test_precision_names_are_checked_and_fp32_means_no_autocast() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        autocast_dtype("fp16", cpu)
