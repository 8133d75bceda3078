"""Batched torch inference used during training and for the exact-search reference numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from trainers.encoding import EncodedData
from trainers.feature_encoding import ContextColumns
from trainers.models import CandidateModel, Ranker
from trainers.ragged import Ragged
from ytrec_infer import network_inputs as names
from ytrec_infer.network_inputs import user_feeds

BATCH = 1024


def user_batch(
    data: EncodedData,
    user_rows: np.ndarray,
    histories: Sequence[np.ndarray],
    seconds_since_last: np.ndarray | None = None,
    context: ContextColumns | None = None,
) -> dict[str, torch.Tensor]:
    """Both networks' per-user inputs (``network_inputs.user_feeds``, the builder the runtime
    uses too) for the given users and histories, as tensors; ``context`` (aligned with
    ``user_rows``) gives each request's context inputs (None: no context)."""
    gaps = (
        np.full(len(user_rows), data.schema.gap_fill_seconds, dtype=np.float32)
        if seconds_since_last is None
        else seconds_since_last
    )
    categorical, numeric = data.user_categorical[user_rows], data.user_numeric[user_rows]
    if context is not None:
        categorical, numeric = context.overlay(categorical, numeric)
    feeds = user_feeds(histories, categorical, numeric, gaps, data.schema.max_history)
    return {name: torch.from_numpy(value) for name, value in feeds.items()}


@torch.inference_mode()
def user_vectors(
    model: CandidateModel,
    data: EncodedData,
    user_rows: np.ndarray,
    histories: Sequence[np.ndarray],
    example_age: np.ndarray | None = None,
    context: ContextColumns | None = None,
) -> torch.Tensor:
    """Unit user vectors; example age 0 (serving time) unless given; ``context`` as in
    :func:`user_batch`."""
    ages = np.zeros(len(user_rows), dtype=np.float32) if example_age is None else example_age
    out = []
    for start in range(0, len(user_rows), BATCH):
        part = slice(start, start + BATCH)
        rows = np.arange(start, min(start + BATCH, len(user_rows)))
        batch = user_batch(
            data, user_rows[part], histories[part], context=_part(context, rows)
        )
        batch[names.EXAMPLE_AGE] = torch.from_numpy(ages[part])
        out.append(model(**{name: batch[name] for name in names.TOWER_INPUTS}))
    return torch.cat(out)


def _part(context: ContextColumns | None, rows: np.ndarray) -> ContextColumns | None:
    """The context of one batch's rows (None stays None)."""
    return None if context is None else context.take(rows)


RETRIEVAL_CELLS = 1 << 24
"""Scores held at once by :func:`retrieve_exact` (64 MB of float32): its chunk of users is this
many cells divided by the catalog size, so a big catalog's [chunk, items] block stays in memory
bounds and a small catalog still gets large matmuls (benchmarks/scale/retrieval.py)."""


def _flat_exclusions(exclude: Sequence[np.ndarray]) -> Ragged:
    """The excluded codes of every user as one flat array with row offsets (a ``Ragged`` as
    given, else concatenated once), so each chunk's cells are slices, not per-row arrays."""
    if isinstance(exclude, Ragged):
        return exclude
    lengths = np.fromiter((len(codes) for codes in exclude), dtype=np.int64, count=len(exclude))
    values = (
        np.concatenate([np.asarray(codes, dtype=np.int64) for codes in exclude])
        if len(exclude)
        else np.zeros(0, dtype=np.int64)
    )
    return Ragged(values.astype(np.int64, copy=False), np.r_[0, np.cumsum(lengths)])


@torch.inference_mode()
def retrieve_exact(
    vectors: torch.Tensor, item_matrix: torch.Tensor, exclude: Sequence[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-n item codes and inner-product scores per user, excluding the given codes
    (``exclude[i]``: user i's codes, a list of arrays or a ``Ragged``)."""
    if len(exclude) != len(vectors):
        raise ValueError(f"{len(vectors)} user vectors but {len(exclude)} exclusion lists")
    # numpy's float32 matmul (OpenBLAS) took half the time of torch's on this machine's
    # AMD cores with the same result (benchmarks/scale/retrieval.py); top-k stays in torch.
    items = np.ascontiguousarray(item_matrix[1:].numpy().T)
    users = vectors.numpy()
    catalog = items.shape[1]
    width = min(n, catalog)
    codes = np.zeros((len(vectors), width), dtype=np.int64)
    scores = np.zeros((len(vectors), width), dtype=np.float32)
    excluded = _flat_exclusions(exclude)
    chunk = max(1, min(len(vectors), RETRIEVAL_CELLS // max(1, catalog)))
    block = np.empty((chunk, catalog), dtype=np.float32)
    for start in range(0, len(vectors), chunk):
        stop = min(start + chunk, len(vectors))
        logits = block[: stop - start]
        np.matmul(users[start:stop], items, out=logits)
        first, last = excluded.offsets[start], excluded.offsets[stop]
        rows = np.repeat(np.arange(stop - start), np.diff(excluded.offsets[start : stop + 1]))
        columns = excluded.values[first:last] - 1
        real = columns >= 0  # code 0 is padding, never a catalog item
        logits.reshape(-1)[rows[real] * catalog + columns[real]] = -np.inf
        top = torch.topk(torch.from_numpy(logits), width, dim=1)
        codes[start:stop] = top.indices.numpy() + 1
        scores[start:stop] = top.values.numpy()
    return codes, scores


def retrieve_candidates(
    model: CandidateModel,
    data: EncodedData,
    user_rows: np.ndarray,
    histories: Sequence[np.ndarray],
    n: int,
    example_age: np.ndarray | None = None,
    context: ContextColumns | None = None,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Stage one in torch: user vectors, then the exact top-n codes and scores, history
    excluded; ``context`` as in :func:`user_batch`."""
    vectors = user_vectors(model, data, user_rows, histories, example_age, context)
    codes, scores = retrieve_exact(vectors, model.item_matrix().detach(), histories, n)
    return vectors, codes, scores


@torch.inference_mode()
def rank_scores(
    ranker: Ranker,
    data: EncodedData,
    user_rows: np.ndarray,
    histories: Sequence[np.ndarray],
    candidates: np.ndarray,
    retrieval_scores: np.ndarray,
    seconds_since_last: np.ndarray,
    context: ContextColumns | None = None,
) -> np.ndarray:
    """Ranker logits [U, C] for each user's candidate codes; ``context`` as in
    :func:`user_batch`."""
    out = []
    for start in range(0, len(user_rows), BATCH):
        part = slice(start, start + BATCH)
        rows = np.arange(start, min(start + BATCH, len(user_rows)))
        gaps = seconds_since_last[part].astype(np.float32)
        batch = user_batch(data, user_rows[part], histories[part], gaps, _part(context, rows))
        batch[names.CANDIDATES] = torch.from_numpy(candidates[part])
        batch[names.RETRIEVAL_SCORES] = torch.from_numpy(retrieval_scores[part])
        out.append(ranker(**{name: batch[name] for name in names.RANKER_INPUTS}).numpy())
    return np.concatenate(out)


def reorder(candidates: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Candidate codes sorted by descending ranker logit (stable for ties)."""
    order = np.argsort(-logits, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1)
