"""Building blocks shared by the candidate generator and the ranker."""

from __future__ import annotations

import torch
from torch import nn

USER_EMBEDDING_DIMS = (4, 8, 4)


def powers(x: torch.Tensor) -> torch.Tensor:
    """The paper's continuous-feature expansion: x, x**2 and sqrt(x) of a scaled value, [B] -> [B, 3]."""
    x = x.clamp(min=0.0)
    return torch.stack([x, x * x, torch.sqrt(x)], dim=-1)


def masked_mean(values: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """Mean of per-item rows over the non-padding (code > 0) history positions; zeros if none."""
    mask = (history > 0).to(values.dtype).unsqueeze(-1)
    return (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float) -> nn.Sequential:
    """A ReLU tower ending in a linear layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class UserCategorical(nn.Module):
    """Embeds the user's categorical codes (gender, occupation, zip region), code 0 = unknown."""

    def __init__(self, cardinalities: tuple[int, ...]) -> None:
        super().__init__()
        self.tables = nn.ModuleList(
            nn.Embedding(size, dim)
            for size, dim in zip(cardinalities, USER_EMBEDDING_DIMS, strict=True)
        )
        self.dim = sum(USER_EMBEDDING_DIMS)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([table(codes[:, i]) for i, table in enumerate(self.tables)], dim=-1)
