"""Ranking network (Covington et al. 2016, section 4).

Scores each (user, candidate) pair from the candidate's own embedding and item features (the
schema's ranker-side item features, MovieLens: genres and release year, plus log popularity),
the averaged history embedding and history features, how well the candidate's categories match
the history's, the candidate generator's score, the user features the schema gives the ranker,
and the time since the user's last interaction. Trained with weighted logistic
regression, so ``exp(logit)`` of the network alone estimates the expected engagement of showing
the item (the served blend below is a ranking score, not that estimate).

The served logits blend the network with the generator: ``(1 - b) * network + b * score_scale *
retrieval score``, where ``b`` is the ``passthrough`` buffer (0 while training, chosen on
validation after it, ``trainers/train_ranker.py``) and ``score_scale`` the inverse of the
generator's temperature, so retrieval scores are its training logits. ``b`` = 1 is the
candidates' own order, what training keeps when no blend beats it on validation.
"""

from __future__ import annotations

import torch
from torch import nn

from trainers.config import RankerConfig
from trainers.models.layers import UserColumns, masked_mean, mlp, newest, powers
from ytrec_infer.feature_schema import FeatureSchema


class Ranker(nn.Module):
    """Pointwise scorer of candidates; ``forward`` is what gets exported to ONNX."""

    def __init__(
        self,
        item_features: torch.Tensor,
        item_vectors: torch.Tensor,
        match_width: int,
        schema: FeatureSchema,
        config: RankerConfig,
        score_scale: float = 1.0,
    ) -> None:
        """``item_features`` [N+1, F]: per code, the multi-hot category columns first (the
        first ``match_width``), then the numeric ones; ``score_scale`` turns a retrieval score
        into the generator's logit (1 / its temperature)."""
        super().__init__()
        num_features = item_features.shape[1]
        self.match_width = match_width
        self.register_buffer("item_vectors", item_vectors.float())
        self.project = nn.Linear(item_vectors.shape[1], config.embedding_dim, bias=False)
        self.user_widths = schema.input_widths
        self.users = UserColumns(schema, "ranker")
        self.register_buffer("item_features", item_features.float())
        self.gap_scale = float(schema.gap_scale)
        d = config.embedding_dim
        in_dim = 3 * d + 2 * num_features + 1 + 2 + self.users.dim + 3
        self.newest_item = config.newest_item
        in_dim += d if self.newest_item else 0
        self.mlp = mlp(in_dim, config.hidden, 1, config.dropout)
        self.register_buffer("passthrough", torch.zeros(()))
        self.register_buffer("score_scale", torch.tensor(float(score_scale)))

    def item_embedding(self, codes: torch.Tensor) -> torch.Tensor:
        """A learned projection of the candidate generator's (frozen) item vectors."""
        return self.project(self.item_vectors[codes])

    def forward(
        self,
        history: torch.Tensor,
        candidates: torch.Tensor,
        retrieval_scores: torch.Tensor,
        user_categorical: torch.Tensor,
        user_numeric: torch.Tensor,
        seconds_since_last: torch.Tensor,
    ) -> torch.Tensor:
        """Logits [B, C] for candidate codes [B, C] given padded history codes [B, L]."""
        num_candidates = candidates.shape[1]
        history_embedded = self.item_embedding(history)
        history_embedding = masked_mean(history_embedded, history)
        history_features = masked_mean(self.item_features[history], history)
        candidate_embedding = self.item_embedding(candidates)
        candidate_features = self.item_features[candidates]
        width = self.match_width
        genre_match = (candidate_features[..., :width] * history_features[:, None, :width]).sum(
            -1, keepdim=True
        )
        gap_hours = torch.log1p(seconds_since_last / 3600.0)
        user = torch.cat(
            [self.users(user_categorical, user_numeric), powers(gap_hours / self.gap_scale)],
            dim=-1,
        )
        per_user = torch.cat([history_embedding, history_features, user], dim=-1)
        per_user = per_user.unsqueeze(1).expand(-1, num_candidates, -1)
        scores = retrieval_scores.unsqueeze(-1)
        parts = [
            candidate_embedding,
            candidate_embedding * history_embedding.unsqueeze(1),
            candidate_features,
            genre_match,
            scores,
            scores * scores,
            per_user,
        ]
        if self.newest_item:
            parts.append(candidate_embedding * newest(history_embedded, history).unsqueeze(1))
        x = torch.cat(parts, dim=-1)
        return with_passthrough(
            self.mlp(x).squeeze(-1), retrieval_scores, self.passthrough, self.score_scale
        )


def with_passthrough(
    logits: torch.Tensor,
    retrieval_scores: torch.Tensor,
    passthrough: torch.Tensor,
    score_scale: torch.Tensor,
) -> torch.Tensor:
    """The network's logits blended with the generator's (retrieval scores times
    ``score_scale``): ``passthrough`` 0 is the network alone, 1 the candidates' own order."""
    return logits + passthrough * (retrieval_scores * score_scale - logits)
