"""GRU4Rec (Hidasi et al. 2016) trained with full softmax cross-entropy over the catalog."""

from __future__ import annotations

import torch

from trainers.baselines.sequential import SequenceNetwork, SequentialBaseline


class GRU4RecNetwork(SequenceNetwork):
    """Item embedding, dropout, one GRU layer, dropout; the state is scored against the item
    embeddings. Left padding is skipped (packed sequences), so a window's states do not
    depend on how much padding precedes it."""

    def __init__(self, num_items: int, hidden: int, dropout: float):
        super().__init__()
        self.items = torch.nn.Embedding(num_items + 1, hidden, padding_idx=0)
        self.dropout = torch.nn.Dropout(dropout)
        self.gru = torch.nn.GRU(hidden, hidden, batch_first=True)
        torch.nn.init.xavier_normal_(self.items.weight)

    def hidden(self, windows: torch.Tensor) -> torch.Tensor:
        length = windows.shape[1]
        lengths = (windows > 0).sum(1).clamp(min=1)
        shift = (length - lengths).unsqueeze(1)
        steps = torch.arange(length).unsqueeze(0)
        to_front = ((steps + shift) % length).unsqueeze(-1)
        to_back = ((steps - shift) % length).unsqueeze(-1)
        x = self.dropout(self.items(windows))
        x = x.gather(1, to_front.expand_as(x))
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = self.gru(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(states, batch_first=True, total_length=length)
        out = out.gather(1, to_back.expand_as(out))
        result: torch.Tensor = self.dropout(out)
        return result


class GRU4Rec(SequentialBaseline):
    """A GRU over the last ``max_length`` items, hidden 64 by default."""

    name = "GRU4Rec"

    def build(self, num_items: int) -> SequenceNetwork:
        return GRU4RecNetwork(num_items, self.hidden_size, self.dropout)
