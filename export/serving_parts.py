"""Pieces shared by the serving forms of both networks: work moved from request time to export.

A first layer ``W`` applied to a concatenation of per-request parts is the sum of each part times
its block of rows of ``W``. Two of those products need no request at all: a categorical
embedding times its rows is a fixed table (gathered, not multiplied), and the padding row of an
item table can be zero so that a masked mean becomes a plain sum divided by the count.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from trainers.models.layers import UserCategorical


def padded_table(*tables: torch.Tensor) -> torch.Tensor:
    """Per-code item tables side by side [N+1, sum of widths], with the padding row 0 zeroed."""
    table = torch.cat([t.detach().float() for t in tables], dim=1).clone()
    table[0] = 0.0
    return table


def gather(table: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` for integer ``codes`` (one ONNX Gather; tensor indexing exports as
    Unsqueeze + GatherND)."""
    return F.embedding(codes, table)


def history_mean(table: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """Mean of ``table`` rows over the non-padding history codes (``masked_mean`` for a table
    whose row 0 is zero): [B, L] -> [B, width]."""
    count = (history > 0).to(table.dtype).sum(dim=1, keepdim=True).clamp(min=1.0)
    return gather(table, history).sum(dim=1) / count


class ProjectedCategorical(nn.Module):
    """The user's categorical embeddings already multiplied by their rows of a first layer:
    one gather over a stacked table and a sum, instead of three gathers, a concat and a product.

    The layer's ``bias`` is added to every row of the first column's table: exactly one of
    those rows is gathered per user, so the sum carries the bias once and needs no Add."""

    def __init__(self, users: UserCategorical, rows: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        blocks, offsets, start, first = [], [], 0, 0
        for table in users.tables:
            width = table.embedding_dim
            blocks.append(table.weight.detach() @ rows[start : start + width])
            offsets.append(first)
            start += width
            first += table.num_embeddings
        blocks[0] = blocks[0] + bias.detach()
        self.register_buffer("table", torch.cat(blocks).contiguous())
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.int64))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """[B, columns] codes -> [B, hidden], equal to ``users(codes) @ rows + bias``."""
        projected: torch.Tensor = gather(self.table, codes + self.offsets).sum(dim=1)
        return projected


class ProjectedPowers(nn.Module):
    """``powers`` (x, x**2, sqrt x of each scaled value) of several scalars times their first-layer
    rows, as one product: rows are reordered to [x1..xn, x1**2.., sqrt x1..]."""

    def __init__(self, rows: torch.Tensor, scales: list[float]) -> None:
        super().__init__()
        count = len(scales)
        if rows.shape[0] != 3 * count:
            raise ValueError(f"expected {3 * count} rows for {count} scalars, got {rows.shape[0]}")
        order = [3 * i + power for power in range(3) for i in range(count)]
        self.register_buffer("rows", rows[order].detach().clone())
        self.register_buffer("inverse_scales", torch.tensor([1.0 / s for s in scales]))

    def forward(self, *values: torch.Tensor) -> torch.Tensor:
        """Raw scalars, each [B] -> [B, hidden]."""
        x = (torch.stack(values, dim=-1) * self.inverse_scales).clamp(min=0.0)
        projected: torch.Tensor = torch.cat([x, x * x, torch.sqrt(x)], dim=-1) @ self.rows
        return projected
