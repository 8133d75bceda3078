"""Assemble a complete artifact from trained networks: ONNX files, HNSW index, arrays, manifest.

Before the artifact is published, the staged copy is loaded by the runtime and both ONNX
networks are compared with their torch originals on real validation requests; a mismatch
aborts the export and leaves any previous artifact in place. One validation request and each
stage's output for it are then stored as the readiness sample (``readiness.json``) that every
later load must reproduce, and the staged copy is loaded once more with that check on.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from export import bundle
from export.index import BuiltIndex, build_index
from export.index_layout import cluster_layout
from export.item_attributes import table_attributes, write_item_attributes
from export.onnx_export import export_ranker, export_user_tower
from trainers.config import IndexConfig, TrainConfig
from trainers.encoding import EncodedData
from trainers.holdout import HoldoutSet
from trainers.inference import rank_scores, retrieve_candidates, user_vectors
from trainers.models import CandidateModel, Ranker
from trainers.validation_sample import sample_holdout
from ytrec_infer import Recommender, artifact, readiness
from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.item_attributes import AttributeColumn
from ytrec_infer.manifest import (
    ArtifactDescription,
    CatalogSpec,
    IndexSpec,
    ModelSpec,
    RecallAtK,
    SyntheticSpec,
)

log = logging.getLogger(__name__)

PARITY_TOLERANCE = 1e-4
PARITY_USERS = 64
SAMPLE_TRIES = 32


def _producer() -> dict[str, str]:
    names = {
        "ytrec_infer": "ytrec-infer",
        "torch": "torch",
        "onnx": "onnx",
        "onnxruntime": "onnxruntime",
        "hnswlib": "hnswlib",
        "numpy": "numpy",
    }
    out = {}
    for key, dist in names.items():
        try:
            out[key] = version(dist)
        except Exception:  # a source checkout without an installed distribution
            out[key] = "unknown"
    return out


@dataclass(frozen=True)
class CatalogArrays:
    """The catalog files of an artifact, row = item code - 1, with the item attributes that
    ``where=`` filters on."""

    item_ids: np.ndarray
    item_vectors: np.ndarray
    feature_names: tuple[str, ...]
    popularity: np.ndarray
    titles: list[str]
    attributes: Mapping[str, AttributeColumn] = field(default_factory=dict)


def write_catalog(folder: Path, arrays: CatalogArrays) -> CatalogSpec:
    """Save the catalog files into ``folder``; the manifest's ``catalog``."""
    bundle.save_array(folder, artifact.ITEM_IDS, arrays.item_ids)
    bundle.save_array(folder, artifact.ITEM_VECTORS, arrays.item_vectors)
    bundle.save_array(folder, artifact.POPULARITY, arrays.popularity)
    bundle.save_json(folder, artifact.TITLES, arrays.titles)
    return CatalogSpec(
        num_items=len(arrays.item_ids),
        item_ids=artifact.ITEM_IDS,
        titles=artifact.TITLES,
        popularity=artifact.POPULARITY,
        item_vectors=artifact.ITEM_VECTORS,
        item_feature_names=tuple(arrays.feature_names),
        item_attributes=write_item_attributes(folder, arrays.attributes),
    )


def index_entry(built: BuiltIndex, config: IndexConfig, dim: int, queries: str) -> IndexSpec:
    """The manifest's ``index``: parameters, the tuned ef and the recall it reached."""
    return IndexSpec(
        file=artifact.INDEX,
        space="ip",
        dim=dim,
        num_elements=built.index.get_current_count(),
        M=config.M,
        ef_construction=config.ef_construction,
        ef_search=built.ef_search,
        recall_target=config.recall_target,
        recall_at_k=RecallAtK(built.k, built.recall, queries),
        build_seconds=round(built.build_seconds, 2),
        build_cpu_seconds=round(built.build_cpu_seconds, 2),
        layout="clustered",
        layout_seconds=round(built.layout_seconds, 2),
    )


def describe(
    parts: tuple[CatalogSpec, Mapping[str, ModelSpec], IndexSpec],
    features: FeatureSchema,
    config: Mapping[str, Any],
    metrics: Mapping[str, float],
    synthetic: SyntheticSpec | None = None,
) -> ArtifactDescription:
    """The artifact's description from what :func:`write_networks_and_index` wrote, stamped
    with the time and the producing versions."""
    catalog, models, index = parts
    return ArtifactDescription(
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        producer=_producer(),
        catalog=catalog,
        models=models,
        index=index,
        features=features,
        config=config,
        metrics=metrics,
        synthetic=synthetic,
    )


def write_networks_and_index(
    folder: Path,
    networks: tuple[CandidateModel, Ranker],
    arrays: CatalogArrays,
    queries: np.ndarray,
    index_config: IndexConfig,
    seed: int,
    queries_source: str,
) -> tuple[CatalogSpec, dict[str, ModelSpec], IndexSpec]:
    """Export both networks, build the index with ef tuned on ``queries``, write the catalog,
    and return the manifest sections they describe: the part every artifact (trained or
    synthetic) shares."""
    tower, ranker = networks
    tower_specs = export_user_tower(tower, folder / artifact.USER_TOWER)
    ranker_specs = export_ranker(ranker, folder / artifact.RANKER)
    built = build_index(arrays.item_vectors, queries, index_config, seed)
    started = time.perf_counter()
    built.index.save_index(str(folder / artifact.INDEX))
    cluster_layout(folder / artifact.INDEX, arrays.item_vectors, seed)
    built = replace(built, layout_seconds=time.perf_counter() - started)
    log.info(
        "index: %d items, built in %.1f s (+ %.1f s to save in clustered layout), "
        "ef_search=%d reaches recall@%d=%.4f",
        len(arrays.item_vectors),
        built.build_seconds,
        built.layout_seconds,
        built.ef_search,
        built.k,
        built.recall,
    )
    models = {
        "user_tower": ModelSpec(artifact.USER_TOWER, *tower_specs),
        "ranker": ModelSpec(artifact.RANKER, *ranker_specs),
    }
    index = index_entry(built, index_config, int(arrays.item_vectors.shape[1]), queries_source)
    return write_catalog(folder, arrays), models, index


def _check_parity(
    folder: Path,
    data: EncodedData,
    candidate_model: CandidateModel,
    ranker: Ranker,
    valid: HoldoutSet,
) -> dict[str, float]:
    """Max abs difference between onnxruntime (through the runtime) and torch on validation users."""
    rec = Recommender.load(folder)
    rows = valid.user_rows[:PARITY_USERS]
    histories = valid.histories[:PARITY_USERS]
    gaps = valid.seconds_since_last[:PARITY_USERS]
    torch_vectors, codes, scores = retrieve_candidates(candidate_model, data, rows, histories, 100)
    torch_logits = rank_scores(ranker, data, rows, histories, codes, scores, gaps)
    tower_diff = ranker_diff = 0.0
    for i, row in enumerate(rows):
        user = {**data.user_attributes(int(row)), "seconds_since_last": float(gaps[i])}
        request = rec.prepare(rec.catalog.ids(histories[i]), user)
        tower_diff = max(
            tower_diff, float(np.abs(rec.embed(request) - torch_vectors[i].numpy()).max())
        )
        ranker_diff = max(
            ranker_diff,
            float(np.abs(rec.score(request, codes[i], scores[i]) - torch_logits[i]).max()),
        )
    if max(tower_diff, ranker_diff) > PARITY_TOLERANCE:
        raise RuntimeError(
            f"ONNX differs from torch: user tower {tower_diff:.2e}, ranker {ranker_diff:.2e}"
        )
    return {"user_tower_max_abs_diff": tower_diff, "ranker_max_abs_diff": ranker_diff}


def _readiness_sample(
    folder: Path, data: EncodedData, valid: HoldoutSet, vectors: np.ndarray
) -> dict[str, Any]:
    """A validation request whose index neighbours equal the exact ones, with every stage's output.

    Choosing such a request keeps the stored sample valid for an exact (e.g. GPU) search too.
    """
    rec = Recommender.load(folder)
    best: tuple[float, dict[str, Any]] | None = None
    for i, row in enumerate(valid.user_rows[:SAMPLE_TRIES]):
        user = {
            **data.user_attributes(int(row)),
            "seconds_since_last": float(valid.seconds_since_last[i]),
        }
        history = rec.catalog.ids(valid.histories[i]).tolist()
        sample = readiness.make_sample(rec, history, user, n_candidates=min(100, rec.num_items))
        nearest = np.asarray(sample["nearest"])
        scores = vectors @ np.asarray(sample["user_vector"], dtype=np.float32)
        exact = np.argsort(-scores, kind="stable")[: len(nearest)] + 1
        overlap = len(np.intersect1d(nearest, exact)) / len(nearest)
        if best is None or overlap > best[0]:
            best = (overlap, sample)
        if overlap == 1.0:
            break
    if best is None or best[0] < readiness.MIN_OVERLAP:
        raise RuntimeError(
            f"no validation request finds {readiness.MIN_OVERLAP:.0%} of its exact nearest items "
            "in the index: the index is too inexact to export"
        )
    return best[1]


def build_artifact(
    out: Path,
    data: EncodedData,
    candidate_model: CandidateModel,
    ranker: Ranker,
    config: TrainConfig,
    valid: HoldoutSet,
    metrics: dict[str, float],
) -> Path:
    """Export everything into ``out`` atomically and return it."""
    with bundle.staging(out) as folder:
        vectors = candidate_model.item_matrix().detach()[1:].numpy().astype(np.float32)
        tuning = sample_holdout(valid, config.index.tuning_queries, config.seed)
        with torch.inference_mode():
            queries = user_vectors(
                candidate_model,
                data,
                tuning.user_rows,
                tuning.histories,
                context=tuning.context,
            ).numpy()
        arrays = CatalogArrays(
            data.item_ids if data.item_ids.dtype.kind == "U" else data.item_ids.astype(np.int64),
            vectors,
            tuple(data.item_feature_names),
            data.popularity.astype(np.int64),
            list(data.titles),
            table_attributes(data.schema.item, data.items),
        )
        parts = write_networks_and_index(
            folder,
            (candidate_model, ranker),
            arrays,
            queries,
            config.index,
            config.seed,
            f"validation user vectors ({len(tuning)} users)",
        )
        description = describe(parts, data.schema, config.to_dict(), metrics)
        bundle.finalize(folder, description)
        parity = _check_parity(folder, data, candidate_model, ranker, valid)
        log.info("ONNX parity with torch: %s", parity)
        bundle.save_json(
            folder, readiness.READINESS, _readiness_sample(folder, data, valid, vectors)
        )
        bundle.finalize(folder, replace(description, readiness=readiness.manifest_entry()))
        Recommender.load(folder)
        return bundle.publish(folder, out)
