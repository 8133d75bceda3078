"""Candidate generation network (Covington et al. 2016, section 3).

The user tower averages the embeddings of the last watched items, adds the user features the
schema gives the tower, the mean of the history's tower-side item features (MovieLens: genres)
and the "example age", and maps them through a ReLU tower to a unit user vector. Item vectors are the (unit-normalised) softmax weights; scores are
``cos(user, item) / temperature`` during training and the plain inner product at serving, so
nearest-neighbour search in an inner-product index returns the model's top items.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from trainers.config import CandidateConfig
from trainers.models.layers import UserColumns, mlp, padded_mean, pooled_history, powers
from trainers.models.row_lookup import lookup
from trainers.precision import autocast_dtype, dense_precision
from ytrec_infer.feature_schema import FeatureSchema


class CandidateModel(nn.Module):
    """User tower plus the softmax item vectors; ``forward`` is what gets exported to ONNX."""

    def __init__(
        self, item_table: torch.Tensor, schema: FeatureSchema, config: CandidateConfig
    ) -> None:
        """``item_table`` [N+1, F]: the tower's item features per code (row 0 padding)."""
        super().__init__()
        rows = item_table.shape[0]
        if bool(item_table[:1].ne(0).any()):
            raise ValueError("row 0 of item_table is the padding row and must be zero")
        self.config = config
        self.item_embedding = nn.Embedding(rows, config.embedding_dim, padding_idx=0)
        self.item_vectors = nn.Embedding(rows, config.output_dim)
        self.user_widths = schema.input_widths
        self.users = UserColumns(schema, "tower")
        self.register_buffer("item_table", item_table.float())
        self.example_age_scale = float(schema.example_age_scale_days)
        in_dim = config.embedding_dim + item_table.shape[1] + self.users.dim
        in_dim += 3 if config.use_example_age else 0
        in_dim += config.embedding_dim if config.newest_item else 0
        self.tower = mlp(in_dim, config.hidden, config.output_dim, config.dropout)
        # What the tower's products train in (trainers/precision.py); None = float32. Eval
        # mode, and so the export, always computes in float32.
        self.dense_dtype = autocast_dtype(config.precision, item_table.device)
        nn.init.normal_(self.item_embedding.weight, std=0.05)
        nn.init.normal_(self.item_vectors.weight, std=0.05)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def forward(
        self,
        history: torch.Tensor,
        user_categorical: torch.Tensor,
        user_numeric: torch.Tensor,
        example_age: torch.Tensor,
    ) -> torch.Tensor:
        """Unit user vectors [B, D] from padded history codes [B, L] and user features."""
        mean, newest = pooled_history(self.item_embedding, history, self.config.newest_item)
        parts = [
            mean,
            padded_mean(F.embedding(history, self.item_table), history),
            self.users(user_categorical, user_numeric),
        ]
        if self.config.use_example_age:
            parts.append(powers(example_age / self.example_age_scale))
        if newest is not None:
            parts.append(newest)
        x = torch.cat(parts, dim=-1)
        if self.training and self.dense_dtype is not None:
            with dense_precision(self.dense_dtype, x.device):
                return F.normalize(self.tower(x).float(), dim=-1)
        return F.normalize(self.tower(x), dim=-1)

    def item_matrix(self) -> torch.Tensor:
        """Unit item vectors for every code (row 0 is padding and never served)."""
        return F.normalize(self.item_vectors.weight, dim=-1)

    def item_vectors_of(self, codes: torch.Tensor) -> torch.Tensor:
        """Unit item vectors of the given codes only: what a training step needs (its targets
        and negatives), without normalising the whole catalog every batch."""
        return F.normalize(lookup(self.item_vectors, codes), dim=-1)
