"""Exact top-k on onnxruntime: the best items by inner product over the whole catalog, CPU or GPU.

The item matrix is copied once to the device (float16 on CUDA by default: half the bytes to
read per query) and bound to the top-k graph of :mod:`ytrec_infer.retrieval.topk_graph` with IO binding,
so it never crosses the bus again; only queries go in and [B, k] results come out. Graphs are
built at load for the catalog at hand (a few kilobytes each, one per k bucket, cached).

With float16 vectors the ranking can differ from float32 where scores are closer than float16
resolution, so a float32 copy of the vectors is kept on the device too: more candidates than
asked are found in float16 and re-scored in float32 inside the same graph (only their rows are
read), which makes the returned scores and order those of float32.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from ytrec_infer.devices import (
    Device,
    check_device,
    device_providers,
    ensure_on_device,
    provider_options,
)
from ytrec_infer.onnx_model import session_options
from ytrec_infer.retrieval.protocol import Found, distinct_exclusions, drop_excluded
from ytrec_infer.retrieval.topk_graph import build_topk_graph, item_factors, plan_topk

K_MAX = 1024
"""The item layout keeps blocked search possible up to this k; larger k use one wide TopK."""
MAX_ELEMENTS = 2**31 - 1
"""cuDNN (behind MaxPool/ReduceMax on CUDA) refuses tensors of more elements: [B, N] scores of
larger batches are computed in several calls of fewer query rows."""
FLOAT16_MARGIN = 1.25
"""Extra candidates fetched per float16 query before float32 re-scoring."""


def _bucket(k: int, limit: int) -> int:
    """``k`` rounded up to a power of two (at least 16), at most ``limit``: few cached graphs."""
    return min(limit, max(16, 1 << (k - 1).bit_length()))


class ExactRetriever:
    """Exact top-n inner-product search of 1-based item codes over ``vectors`` [N, D].

    ``device`` is ``"cpu"`` or ``"cuda"`` (the CUDA provider must be installed: nothing falls
    back to the CPU silently); ``float16`` defaults to True on CUDA and False on CPU.
    Thread-safe: each call binds its own inputs and outputs.
    """

    kind = "exact"

    def __init__(
        self,
        vectors: np.ndarray,
        device: Device | str = "cpu",
        float16: bool | None = None,
        threads: int | None = None,
    ) -> None:
        if vectors.ndim != 2 or not len(vectors):
            raise ValueError(f"item vectors must be a non-empty [N, D] matrix, got {vectors.shape}")
        self.device: Device = check_device(device)
        self.providers = device_providers(self.device)
        self.float16 = self.device == "cuda" if float16 is None else bool(float16)
        self.size, self.dim = (int(s) for s in vectors.shape)
        self.factors = item_factors(self.size, min(K_MAX, self.size))
        self._dtype = np.float16 if self.float16 else np.float32
        self._threads = threads
        layout = plan_topk(self.size, self.dim, 1, self.factors)
        main = layout.main_items
        ort_device = "cuda" if self.device == "cuda" else "cpu"
        self._inputs: dict[str, ort.OrtValue] = {}
        self._keep: list[np.ndarray] = []
        for name, rows in (("items", vectors[:main]), ("tail_items", vectors[main:])):
            if len(rows):
                array = np.ascontiguousarray(rows, dtype=self._dtype)
                self._keep.append(array)  # a CPU OrtValue borrows the numpy memory
                self._inputs[name] = ort.OrtValue.ortvalue_from_numpy(array, ort_device, 0)
        if self.float16:
            exact = np.ascontiguousarray(vectors, dtype=np.float32)
            self._keep.append(exact)
            self._inputs["items_f32"] = ort.OrtValue.ortvalue_from_numpy(exact, ort_device, 0)
        if self.device == "cuda":
            self._keep.clear()
        self._sessions: dict[int, ort.InferenceSession] = {}
        self._lock = threading.Lock()

    def session(self, k: int) -> ort.InferenceSession:
        """The cached session of the top-``k`` graph (built on first use)."""
        with self._lock:
            if k not in self._sessions:
                plan = plan_topk(
                    self.size, self.dim, k, self.factors, self.float16, rescore=self.float16
                )
                session = ort.InferenceSession(
                    build_topk_graph(plan),
                    session_options(self._threads),
                    providers=provider_options(self.providers),
                )
                ensure_on_device(session, self.device, f"exact top-{k} retrieval")
                self._sessions[k] = session
            return self._sessions[k]

    def topk(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Device top ``k``: scores [B, k] float32 and row indices [B, k] int64, best first
        (float16 results re-scored in float32)."""
        if not 1 <= k <= self.size:
            raise ValueError(f"k must be in 1..{self.size}, got {k}")
        exact = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        queries = exact.astype(self._dtype)
        session = self.session(k)
        rows = max(1, MAX_ELEMENTS // self.size)
        scores, indices = [], []
        for start in range(0, len(queries), rows):
            binding = session.io_binding()
            binding.bind_cpu_input("queries", queries[start : start + rows])
            if self.float16:
                binding.bind_cpu_input("queries_f32", exact[start : start + rows])
            for name, value in self._inputs.items():
                binding.bind_ortvalue_input(name, value)
            binding.bind_output("scores", "cpu")
            binding.bind_output("indices", "cpu")
            session.run_with_iobinding(binding)
            part_scores, part_indices = binding.copy_outputs_to_cpu()
            scores.append(np.asarray(part_scores, dtype=np.float32))
            indices.append(np.asarray(part_indices, dtype=np.int64))
        return np.concatenate(scores), np.concatenate(indices)

    def search_many(
        self, vectors: np.ndarray, n: int, excludes: Sequence[np.ndarray]
    ) -> list[Found]:
        """Top ``n`` codes and scores per row of ``vectors`` [B, D], each row skipping its
        ``excludes`` codes; one device call for the whole batch."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        excluded = distinct_exclusions(vectors, excludes)
        need = n + max((len(e) for e in excluded), default=0)
        if self.float16:
            need = int(need * FLOAT16_MARGIN) + 1
        k = _bucket(need, self.size)
        scores, rows = self.topk(vectors, k)
        out = []
        for drop, row_scores, row_ids in zip(excluded, scores, rows):
            codes, row_scores = drop_excluded(row_ids + 1, row_scores, drop)
            out.append((codes[:n], row_scores[:n]))
        return out

    def search(self, vector: np.ndarray, n: int, exclude: np.ndarray) -> Found:
        """Top ``n`` codes by inner product with ``vector`` [D], skipping the ``exclude`` codes."""
        return self.search_many(vector.reshape(1, -1), n, [exclude])[0]
