"""SASRec (Kang & McAuley 2018) trained with full softmax cross-entropy (Klenitskiy & Vasilev 2023)."""

from __future__ import annotations

import math
from typing import Any

import torch

from trainers.baselines.sequential import SequenceNetwork, SequentialBaseline


class SASRecNetwork(SequenceNetwork):
    """Item + learned position embeddings, causal self-attention blocks (pre-norm, one head,
    feed-forward as wide as the hidden size, as in the reference), a final layer norm.

    Padding (code 0) is zeroed at the input and never attended to: each position attends to
    itself and to the real items before it, so position t depends only on positions <= t.
    """

    def __init__(self, num_items: int, hidden: int, max_length: int, blocks: int, dropout: float):
        super().__init__()
        self.items = torch.nn.Embedding(num_items + 1, hidden, padding_idx=0)
        self.positions = torch.nn.Embedding(max_length, hidden)
        self.dropout = torch.nn.Dropout(dropout)
        self.blocks = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(
                hidden,
                nhead=1,
                dim_feedforward=hidden,
                dropout=dropout,
                batch_first=True,
                norm_first=True,
            )
            for _ in range(blocks)
        )
        self.norm = torch.nn.LayerNorm(hidden)
        torch.nn.init.xavier_normal_(self.items.weight)
        torch.nn.init.xavier_normal_(self.positions.weight)

    def hidden(self, windows: torch.Tensor) -> torch.Tensor:
        length = windows.shape[1]
        real = windows > 0
        x = self.items(windows) * math.sqrt(self.items.embedding_dim)
        x = x + self.positions.weight[-length:]
        x = self.dropout(x) * real.unsqueeze(-1)
        later = torch.ones(length, length, dtype=torch.bool).triu(1)
        eye = torch.eye(length, dtype=torch.bool)
        blocked = later | (~real.unsqueeze(1) & ~eye)
        mask = torch.zeros(blocked.shape, dtype=x.dtype).masked_fill(blocked, float("-inf"))
        for block in self.blocks:
            x = block(x, src_mask=mask) * real.unsqueeze(-1)
        out: torch.Tensor = self.norm(x)
        return out


class SASRec(SequentialBaseline):
    """Causal self-attention over the last ``max_length`` items; 2 blocks, hidden 64 by default."""

    name = "SASRec"

    def __init__(self, blocks: int = 2, **options: float) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.blocks = blocks

    def params(self) -> dict[str, Any]:
        return {**super().params(), "blocks": self.blocks}

    def build(self, num_items: int) -> SequenceNetwork:
        return SASRecNetwork(num_items, self.hidden_size, self.max_length, self.blocks, self.dropout)
