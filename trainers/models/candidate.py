"""Candidate generation network (Covington et al. 2016, section 3).

The user tower averages the embeddings of the last watched items, adds demographics, the
genres of the history and the "example age", and maps them through a ReLU tower to a unit
user vector. Item vectors are the (unit-normalised) softmax weights; scores are
``cos(user, item) / temperature`` during training and the plain inner product at serving, so
nearest-neighbour search in an inner-product index returns the model's top items.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from trainers.config import CandidateConfig
from trainers.models.layers import UserCategorical, masked_mean, mlp, powers
from ytrec_infer.features import FeatureSchema


class CandidateModel(nn.Module):
    """User tower plus the softmax item vectors; ``forward`` is what gets exported to ONNX."""

    def __init__(
        self, item_genres: torch.Tensor, schema: FeatureSchema, config: CandidateConfig
    ) -> None:
        super().__init__()
        rows = item_genres.shape[0]
        self.config = config
        self.item_embedding = nn.Embedding(rows, config.embedding_dim, padding_idx=0)
        self.item_vectors = nn.Embedding(rows, config.output_dim)
        self.users = UserCategorical(schema.cardinalities)
        self.register_buffer("item_genres", item_genres.float())
        self.age_scale = float(schema.age_scale)
        self.example_age_scale = float(schema.example_age_scale_days)
        in_dim = config.embedding_dim + item_genres.shape[1] + self.users.dim + 3
        in_dim += 3 if config.use_example_age else 0
        self.tower = mlp(in_dim, config.hidden, config.output_dim, config.dropout)
        nn.init.normal_(self.item_embedding.weight, std=0.05)
        nn.init.normal_(self.item_vectors.weight, std=0.05)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()

    def forward(
        self,
        history: torch.Tensor,
        user_categorical: torch.Tensor,
        age: torch.Tensor,
        example_age: torch.Tensor,
    ) -> torch.Tensor:
        """Unit user vectors [B, D] from padded history codes [B, L] and user features."""
        parts = [
            masked_mean(self.item_embedding(history), history),
            masked_mean(self.item_genres[history], history),
            self.users(user_categorical),
            powers(age / self.age_scale),
        ]
        if self.config.use_example_age:
            parts.append(powers(example_age / self.example_age_scale))
        return F.normalize(self.tower(torch.cat(parts, dim=-1)), dim=-1)

    def item_matrix(self) -> torch.Tensor:
        """Unit item vectors for every code (row 0 is padding and never served)."""
        return F.normalize(self.item_vectors.weight, dim=-1)
