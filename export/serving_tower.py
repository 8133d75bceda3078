"""The user tower rearranged for serving: the same function as ``CandidateModel.forward`` in fewer
graph nodes, since at batch 1 onnxruntime's cost is per node, not per multiply.

The history's item embeddings and item features are one table (a single gather and sum), and the first
layer is split by input: history mean times its rows, categorical codes gathered from tables
projected at export, and the scalar features' powers times their rows. Exported in place of the
training module; the export parity check compares it with ``CandidateModel`` itself.
"""

from __future__ import annotations

import torch
from torch import nn

from export.serving_parts import (
    ProjectedCategorical,
    ProjectedPowers,
    gather,
    history_mean,
    padded_table,
)
from trainers.models import CandidateModel
from trainers.models.layers import newest_codes, select_columns

NORM_EPS = 1e-12
"""``F.normalize``'s floor on the norm (written out: ``F.normalize`` exports two extra nodes)."""


class ServingTower(nn.Module):
    """``CandidateModel.forward`` with the first layer split and the user embeddings projected."""

    def __init__(self, model: CandidateModel) -> None:
        super().__init__()
        model = model.eval()
        first = model.tower[0]
        if not isinstance(first, nn.Linear):
            raise TypeError("the user tower must start with a Linear layer")
        rows = first.weight.detach().T
        self.register_buffer("table", padded_table(model.item_embedding.weight, model.item_table))
        width = self.table.shape[1]
        columns = model.users
        users_end = width + columns.users.dim
        self.register_buffer("history_rows", rows[:width].contiguous())
        self.categorical, self.numeric = columns.categorical, columns.numeric
        self.users = ProjectedCategorical(columns.users, rows[width:users_end], first.bias)
        scales = [1.0] * len(self.numeric)
        if model.config.use_example_age:
            scales.append(model.example_age_scale)
        self.use_example_age = model.config.use_example_age
        powers_end = users_end + 3 * len(scales)
        self.powers = ProjectedPowers(rows[users_end:powers_end], scales)
        self.newest_item = model.config.newest_item
        if self.newest_item:
            self.register_buffer("newest_table", padded_table(model.item_embedding.weight))
            self.register_buffer("newest_rows", rows[powers_end:].contiguous())
        self.rest = nn.Sequential(*list(model.tower)[1:])

    def forward(
        self,
        history: torch.Tensor,
        user_categorical: torch.Tensor,
        user_numeric: torch.Tensor,
        example_age: torch.Tensor,
    ) -> torch.Tensor:
        """Unit user vectors [B, D], equal to ``CandidateModel.forward`` on the same inputs."""
        numbers = select_columns(user_numeric, self.numeric)
        scalars = [numbers[:, i] for i in range(numbers.shape[1])]
        if self.use_example_age:
            scalars.append(example_age)
        hidden = (
            history_mean(self.table, history) @ self.history_rows
            + self.users(select_columns(user_categorical, self.categorical))
            + self.powers(*scalars)
        )
        if self.newest_item:
            newest_rows = gather(self.newest_table, newest_codes(history))
            hidden = hidden + newest_rows @ self.newest_rows
        out = self.rest(hidden)
        return out / out.norm(dim=-1, keepdim=True).clamp(min=NORM_EPS)
