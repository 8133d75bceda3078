"""Stage one: the nearest items to a user vector by inner product, from one of three backends.

- :class:`HnswRetriever` (:mod:`.hnsw`): the approximate hnswlib index, per-query ``ef``;
- :class:`NumpyRetriever` (:mod:`.exact_numpy`): exact search in numpy, for small CPU catalogs;
- :class:`ExactRetriever` (:mod:`.exact_onnx`): exact search by an ONNX top-k graph
  (:mod:`.topk_graph`, written by :mod:`.onnx_writer`) with the vectors kept on the device.

All keep the :class:`Retriever` contract of :mod:`.protocol`.
"""

from __future__ import annotations

from ytrec_infer.retrieval.exact_numpy import NumpyRetriever
from ytrec_infer.retrieval.exact_onnx import ExactRetriever
from ytrec_infer.retrieval.hnsw import HnswRetriever
from ytrec_infer.retrieval.protocol import Found, Retriever

RETRIEVAL_MODES = ("hnsw", "exact", "exact-numpy")
EXACT_MAX_ITEMS = 5_000
"""Catalog size up to which exact numpy search beats HNSW on the CPU (docs/benchmarks.md)."""


def default_retrieval(device: str, num_items: int) -> str:
    """Stage one's search when the caller does not choose: exact on the GPU (the top-k graph),
    exact numpy search for small CPU catalogs (faster than HNSW there, recall 1), else HNSW."""
    if device == "cuda":
        return "exact"
    return "exact-numpy" if num_items <= EXACT_MAX_ITEMS else "hnsw"


__all__ = [
    "EXACT_MAX_ITEMS",
    "RETRIEVAL_MODES",
    "ExactRetriever",
    "Found",
    "HnswRetriever",
    "NumpyRetriever",
    "Retriever",
    "default_retrieval",
]
