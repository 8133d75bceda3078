"""Embedding lookups for training whose backward scatter-adds rows into the dense gradient.

``nn.Embedding``'s CPU backward (``embedding_dense_backward``) took a third of a generator step
at 100,000 items and batches of 8192 (docs/benchmarks.md, "Generator step");
``index_add_`` of the looked-up rows' gradients into a zero table computes the same gradient
in about half the time. The generator uses it for the item vectors of a step's targets and
negatives (the history goes through ``layers.pooled_history``). The forward is ``F.embedding``; the padding row (if any) gets no
gradient, as with ``nn.Embedding(padding_idx=...)``. Outside training the plain module is
called, so nothing of this reaches an export.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


class _RowLookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, codes: torch.Tensor, padding: int) -> torch.Tensor:
        ctx.save_for_backward(codes)
        ctx.rows, ctx.padding = weight.shape[0], padding
        return F.embedding(codes, weight)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (codes,) = ctx.saved_tensors
        width = grad.shape[-1]
        weight_grad = grad.new_zeros(ctx.rows, width)
        weight_grad.index_add_(0, codes.reshape(-1), grad.reshape(-1, width))
        if ctx.padding >= 0:
            weight_grad[ctx.padding] = 0.0
        return weight_grad, None, None


def lookup(table: nn.Embedding, codes: torch.Tensor) -> torch.Tensor:
    """``table(codes)``; in training mode with the faster backward."""
    if not (table.training and table.weight.requires_grad and torch.is_grad_enabled()):
        return table(codes)
    if table.max_norm is not None or table.scale_grad_by_freq or table.sparse:
        return table(codes)
    padding = -1 if table.padding_idx is None else int(table.padding_idx)
    result: torch.Tensor = _RowLookup.apply(table.weight, codes, padding)
    return result
