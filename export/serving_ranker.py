"""The ranker rearranged for serving: the same function as ``Ranker.forward``, less work per request.

``Ranker.forward`` projects every candidate's item vector (64 -> d), concatenates eleven parts per
candidate and multiplies them by the first layer. At serving:

- item projections and item features form one table computed at export (one gather);
- the interaction terms (candidate embedding * history embedding, and the genre match) are
  linear in the candidate's row once the user is known, so they fold into a per-request first
  layer ``base + u * inter`` of shape [d + F, hidden]: the candidates need one product with it;
- the per-user inputs (history means, categorical embeddings, powers of age and gap) pass through
  their rows of the first layer once per request, not once per candidate.

Exported in place of the training module; the export parity check compares it with ``Ranker``.
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
from trainers.models import Ranker
from trainers.models.layers import newest_codes, select_columns
from trainers.models.ranker import with_passthrough


class ServingRanker(nn.Module):
    """``Ranker.forward`` with item rows precomputed and the first layer folded per request."""

    def __init__(self, ranker: Ranker) -> None:
        super().__init__()
        ranker = ranker.eval()
        first = ranker.mlp[0]
        if not isinstance(first, nn.Linear):
            raise TypeError("the ranker's MLP must start with a Linear layer")
        with torch.no_grad():
            embeddings = ranker.project(ranker.item_vectors)
        d = embeddings.shape[1]
        features = ranker.item_features.shape[1]
        genres = ranker.match_width
        rows = first.weight.detach().T
        # Ranker.forward's first-layer input: [emb, emb * history_emb, features, genre_match,
        # score, score**2 | history_emb, history_features, user categorical, powers(numbers, gap) |
        # emb * newest_emb (with newest_item)].
        emb, inter, feats = rows[:d], rows[d : 2 * d], rows[2 * d : 2 * d + features]
        genre_row, score_rows = (
            rows[2 * d + features],
            rows[2 * d + features + 1 : 2 * d + features + 3],
        )
        user_end = rows.shape[0] - (d if ranker.newest_item else 0)
        user_rows = rows[2 * d + features + 3 : user_end]
        width = d + features
        genre_rows = torch.zeros(features, rows.shape[1])
        genre_rows[:genres] = genre_row
        self.register_buffer("table", padded_table(embeddings, ranker.item_features))
        self.register_buffer("base", torch.cat([emb, feats]).contiguous())
        self.register_buffer("interaction", torch.cat([inter, genre_rows]).contiguous())
        self.register_buffer("score_rows", score_rows.contiguous())
        self.newest_item = ranker.newest_item
        if self.newest_item:
            newest_rows = torch.zeros(features + d, rows.shape[1])
            newest_rows[:d] = rows[user_end:]
            self.register_buffer("newest_interaction", newest_rows)
        self.register_buffer("history_rows", user_rows[:width].contiguous())
        columns = ranker.users
        users_end = width + columns.users.dim
        self.categorical, self.numeric = columns.categorical, columns.numeric
        self.users = ProjectedCategorical(columns.users, user_rows[width:users_end], first.bias)
        self.powers = ProjectedPowers(
            user_rows[users_end:], [1.0] * len(self.numeric) + [ranker.gap_scale]
        )
        self.rest = nn.Sequential(*list(ranker.mlp)[1:])
        self.register_buffer("passthrough", ranker.passthrough.detach().clone())
        self.register_buffer("score_scale", ranker.score_scale.detach().clone())

    def forward(
        self,
        history: torch.Tensor,
        candidates: torch.Tensor,
        retrieval_scores: torch.Tensor,
        user_categorical: torch.Tensor,
        user_numeric: torch.Tensor,
        seconds_since_last: torch.Tensor,
    ) -> torch.Tensor:
        """Logits [B, C], equal to ``Ranker.forward`` on the same inputs."""
        history_part = history_mean(self.table, history)
        first_layer = self.base + history_part.unsqueeze(-1) * self.interaction
        if self.newest_item:
            newest_part = gather(self.table, newest_codes(history))
            first_layer = first_layer + newest_part.unsqueeze(-1) * self.newest_interaction
        scores = retrieval_scores.unsqueeze(-1)
        gap_hours = torch.log1p(seconds_since_last / 3600.0)
        numbers = select_columns(user_numeric, self.numeric)
        per_user = (
            history_part @ self.history_rows
            + self.users(select_columns(user_categorical, self.categorical))
            + self.powers(*[numbers[:, i] for i in range(numbers.shape[1])], gap_hours)
        )
        hidden = (
            gather(self.table, candidates) @ first_layer
            + torch.cat([scores, scores * scores], dim=-1) @ self.score_rows
            + per_user.unsqueeze(1)
        )
        # Two-dimensional from here on, where onnxruntime fuses each Linear (+ ReLU) into one Gemm.
        flat = self.rest(hidden.reshape(-1, hidden.shape[-1]))
        return with_passthrough(
            flat.reshape(candidates.shape), retrieval_scores, self.passthrough, self.score_scale
        )
