"""The same two-stage model served from PyTorch eager, the references ``ytrec-infer`` is compared to.

Each path takes a request prepared by the runtime (the same validated, padded inputs) and
returns the top ``k`` item codes, doing what a user who calls the torch modules directly would
do: the user tower, then stage one by exact ``torch.topk`` over all item vectors (or by the
artifact's hnswlib index), then the training ``Ranker`` on the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trainers.models import CandidateModel, Ranker
from ytrec_infer.recommender import Request
from ytrec_infer import network_inputs as names
from ytrec_infer.retrieval import Retriever


@dataclass
class TorchModel:
    """The torch networks of an artifact and its item vectors as a torch tensor."""

    tower: CandidateModel
    ranker: Ranker
    items: torch.Tensor

    @classmethod
    def of(cls, tower: CandidateModel, ranker: Ranker, item_vectors: np.ndarray) -> TorchModel:
        items = torch.from_numpy(np.array(item_vectors, dtype=np.float32))  # a writable copy
        return cls(tower.eval(), ranker.eval(), items)

    def feeds(self, request: Request) -> dict[str, torch.Tensor]:
        # Writable copies: the runtime's shared inputs are read-only, which from_numpy warns about.
        return {name: torch.from_numpy(np.array(value)) for name, value in request.feeds.items()}

    @torch.inference_mode()
    def user_vector(self, feeds: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.tower(**{name: feeds[name] for name in names.TOWER_INPUTS})[0]

    @torch.inference_mode()
    def exact(
        self, vector: torch.Tensor, exclude: np.ndarray, n: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact top-n codes and scores: one matrix-vector product and ``torch.topk``."""
        scores = self.items @ vector
        scores[torch.from_numpy(exclude - 1)] = -torch.inf
        top = torch.topk(scores, n)
        return top.indices + 1, top.values

    @torch.inference_mode()
    def rank(
        self, feeds: dict[str, torch.Tensor], codes: torch.Tensor, scores: torch.Tensor, k: int
    ) -> torch.Tensor:
        inputs = {**feeds, names.CANDIDATES: codes[None], names.RETRIEVAL_SCORES: scores[None]}
        logits = self.ranker(**{name: inputs[name] for name in names.RANKER_INPUTS})[0]
        return codes[torch.topk(logits, k).indices]

    def recommend_exact(self, request: Request, n: int, k: int) -> torch.Tensor:
        """Tower, exact torch.topk over the catalog, ranker: the plain PyTorch path."""
        feeds = self.feeds(request)
        codes, scores = self.exact(self.user_vector(feeds), request.codes, n)
        return self.rank(feeds, codes, scores, k)

    def recommend_hnsw(
        self, request: Request, retriever: Retriever, n: int, k: int
    ) -> torch.Tensor:
        """Tower and ranker in torch, stage one from the artifact's hnswlib index."""
        feeds = self.feeds(request)
        vector = self.user_vector(feeds).numpy()
        codes, scores = retriever.search(vector, n, request.codes)
        return self.rank(feeds, torch.from_numpy(codes), torch.from_numpy(scores), k)
