"""Building blocks shared by the candidate generator and the ranker."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from trainers.models.pooled_dropout import PooledDropout

from ytrec_infer.feature_schema import FeatureSchema


def powers(x: torch.Tensor) -> torch.Tensor:
    """The paper's continuous-feature expansion: x, x**2 and sqrt(x) of a scaled value, [B] -> [B, 3]."""
    x = x.clamp(min=0.0)
    return torch.stack([x, x * x, torch.sqrt(x)], dim=-1)


def column_powers(x: torch.Tensor) -> torch.Tensor:
    """:func:`powers` of each column of [B, N], side by side per column: [B, 3N]."""
    return powers(x).flatten(1)


def select_columns(x: torch.Tensor, columns: tuple[int, ...]) -> torch.Tensor:
    """The given columns of [B, W] (``x`` itself when they are all of them, in order); an
    ``index_select``, which exports as ONNX ``Gather`` (advanced indexing exports as
    ``GatherND``, which the runtime's operator allow-list refuses)."""
    if columns == tuple(range(x.shape[1])):
        return x
    return x.index_select(1, torch.tensor(columns, dtype=torch.long))


class UserColumns(nn.Module):
    """Which ``user_categorical`` / ``user_numeric`` columns a network sees (its schema share)."""

    def __init__(self, schema: FeatureSchema, network: str) -> None:
        super().__init__()
        self.categorical, self.numeric = schema.columns(network)
        self.users = UserCategorical(
            tuple(schema.cardinalities[i] for i in self.categorical),
            tuple(schema.embedding_dims[i] for i in self.categorical),
        )
        self.dim = self.users.dim + 3 * len(self.numeric)

    def forward(self, categorical: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """Embeddings of the seen codes and powers of the seen numbers, [B, dim]."""
        return torch.cat(
            [
                self.users(select_columns(categorical, self.categorical)),
                column_powers(select_columns(numeric, self.numeric)),
            ],
            dim=-1,
        )


def masked_mean(values: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """Mean of per-item rows over the non-padding (code > 0) history positions; zeros if none."""
    mask = (history > 0).to(values.dtype).unsqueeze(-1)
    return (values * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def padded_mean(values: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """:func:`masked_mean` for rows looked up in a table whose padding row (code 0) is zero
    (the generator's item features): the plain sum over positions, one multiply of [B, L, W]
    fewer."""
    count = (history > 0).sum(dim=1, keepdim=True).clamp(min=1)
    return values.sum(dim=1) / count.to(values.dtype)


def pooled_history(
    table: nn.Embedding, history: torch.Tensor, newest_item: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The mean of ``table``'s rows over each history's non-padding codes [B, W] and, with
    ``newest_item``, the newest code's row [B, W] (else None), in one ``embedding_bag``: 2B bags
    of weighted rows, whose backward writes one gradient table without materialising the
    [B, L, W] rows (docs/benchmarks.md, "Generator step")."""
    batch, length = history.shape
    mask = (history > 0).to(table.weight.dtype)
    counts = mask.sum(dim=1, keepdim=True)
    weights = (mask / counts.clamp(min=1.0)).reshape(-1)
    codes, offsets = history.reshape(-1), torch.arange(batch) * length
    if newest_item:
        codes = torch.cat([codes, newest_codes(history)])
        weights = torch.cat([weights, (counts[:, 0] > 0).to(weights.dtype)])
        offsets = torch.cat([offsets, batch * length + torch.arange(batch)])
    rows = F.embedding_bag(
        codes, table.weight, offsets, mode="sum", per_sample_weights=weights,
        padding_idx=table.padding_idx,
    )
    return (rows[:batch], rows[batch:]) if newest_item else (rows, None)


def newest_mask(history: torch.Tensor) -> torch.Tensor:
    """1 at the newest position of each left-aligned history [B, L] (oldest first, 0-padded
    after), else 0: a code followed by padding or by the end. Slice, Concat, Mul and
    comparisons only, so it exports for any history length within the runtime's operators."""
    following = torch.cat([history[:, 1:], history[:, :1] * 0], dim=1)
    return (history > 0).to(torch.int64) * (following == 0).to(torch.int64)


def newest_codes(history: torch.Tensor) -> torch.Tensor:
    """The newest code of each left-aligned history [B, L] -> [B] (0 if empty), for the
    serving forms that gather the newest item's row from a table."""
    return (history * newest_mask(history)).sum(dim=1)


def newest(values: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
    """The row of ``values`` [B, L, W] at each history's newest position, [B, W]; zeros if the
    history is empty."""
    return (values * newest_mask(history).unsqueeze(-1).to(values.dtype)).sum(dim=1)


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float) -> nn.Sequential:
    """A ReLU tower ending in a linear layer, dropout after each ReLU
    (:class:`~trainers.models.pooled_dropout.PooledDropout`)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), PooledDropout(dropout)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class UserCategorical(nn.Module):
    """Embeds the user's categorical codes, one table per column, code 0 = unknown."""

    def __init__(self, cardinalities: tuple[int, ...], dims: tuple[int, ...]) -> None:
        super().__init__()
        self.tables = nn.ModuleList(
            nn.Embedding(size, dim) for size, dim in zip(cardinalities, dims, strict=True)
        )
        # Code 0 (unknown, or missing from the request) starts at zero, so a request without
        # the feature starts from nothing of it rather than a large random vector; the values
        # keep PyTorch's N(0, 1) start, from which the planted-feature tests learn within a few
        # epochs (docs/evaluation.md, "Stage one: feature embeddings and the newest item").
        with torch.no_grad():
            for table in self.tables:
                table.weight[0].zero_()
        self.dim = sum(dims)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([table(codes[:, i]) for i, table in enumerate(self.tables)], dim=-1)
