"""The ranker rearranged for serving: the same function, less work per request.

``Ranker.forward`` projects every candidate's item vector (64 -> d) on each request and feeds
the per-user part of the first layer's input once per candidate. At serving both are wasted:
the projection of every item is computed once here and gathered, and the first layer is split
into a per-candidate block and a per-user block, so the per-user features pass through it once
per request instead of once per candidate. Exported in place of the training module; the
export parity check compares it with ``Ranker`` itself.
"""

from __future__ import annotations

import torch
from torch import nn

from trainers.models import Ranker
from trainers.models.layers import masked_mean, powers


class ServingRanker(nn.Module):
    """``Ranker.forward`` with the item projection precomputed and the first layer split."""

    def __init__(self, ranker: Ranker) -> None:
        super().__init__()
        ranker = ranker.eval()
        first = ranker.mlp[0]
        if not isinstance(first, nn.Linear):
            raise TypeError("the ranker's MLP must start with a Linear layer")
        with torch.no_grad():
            embeddings = ranker.project(ranker.item_vectors).detach().clone()
        d = embeddings.shape[1]
        features = ranker.item_features.shape[1]
        per_candidate = 2 * d + features + 3
        weight = first.weight.detach()
        self.register_buffer("item_embeddings", embeddings)
        self.register_buffer("item_features", ranker.item_features.detach().clone())
        self.register_buffer("candidate_weight", weight[:, :per_candidate].T.contiguous())
        self.register_buffer("user_weight", weight[:, per_candidate:].T.contiguous())
        self.register_buffer("bias", first.bias.detach().clone())
        self.users = ranker.users
        self.rest = nn.Sequential(*list(ranker.mlp)[1:])
        self.num_genres = ranker.num_genres
        self.age_scale = ranker.age_scale
        self.gap_scale = ranker.gap_scale

    def forward(
        self,
        history: torch.Tensor,
        candidates: torch.Tensor,
        retrieval_scores: torch.Tensor,
        user_categorical: torch.Tensor,
        age: torch.Tensor,
        seconds_since_last: torch.Tensor,
    ) -> torch.Tensor:
        """Logits [B, C], equal to ``Ranker.forward`` on the same inputs."""
        history_embedding = masked_mean(self.item_embeddings[history], history)
        history_features = masked_mean(self.item_features[history], history)
        candidate_embedding = self.item_embeddings[candidates]
        candidate_features = self.item_features[candidates]
        genres = self.num_genres
        genre_match = (candidate_features[..., :genres] * history_features[:, None, :genres]).sum(
            -1, keepdim=True
        )
        scores = retrieval_scores.unsqueeze(-1)
        per_candidate = torch.cat(
            [
                candidate_embedding,
                candidate_embedding * history_embedding.unsqueeze(1),
                candidate_features,
                genre_match,
                scores,
                scores * scores,
            ],
            dim=-1,
        )
        gap_hours = torch.log1p(seconds_since_last / 3600.0)
        user = torch.cat(
            [
                history_embedding,
                history_features,
                self.users(user_categorical),
                powers(age / self.age_scale),
                powers(gap_hours / self.gap_scale),
            ],
            dim=-1,
        )
        user_part = user @ self.user_weight + self.bias
        hidden = per_candidate @ self.candidate_weight + user_part.unsqueeze(1)
        return self.rest(hidden).squeeze(-1)
