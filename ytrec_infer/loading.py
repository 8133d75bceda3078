"""Loading an artifact: one options record, and the verified parts a :class:`Recommender` is made of.

:class:`LoadOptions` is the single description of *how* to load (device or providers, threads,
stage one's search, float16); ``Recommender.load``, ``ServingRecommender`` (whose reloads reuse
it) and the bench all take it. :func:`load_parts` does the loading: manifest, feature schema,
catalog, both networks on the chosen device, the item vectors and stage one's retriever, each
checked against the manifest before use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ytrec_infer.artifact import Manifest, read_manifest
from ytrec_infer.catalog import Catalog
from ytrec_infer.devices import (
    Device,
    DeviceUnavailableError,
    ensure_on_device,
    placement,
    provider_options,
)
from ytrec_infer.errors import ArtifactError
from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.hnsw_header import check_header, check_vectors
from ytrec_infer.item_attributes import ItemAttributes
from ytrec_infer.onnx_model import OnnxModel
from ytrec_infer.safe_load import artifact_errors, read_npy
from ytrec_infer.retrieval import (
    RETRIEVAL_MODES,
    ExactRetriever,
    HnswRetriever,
    NumpyRetriever,
    Retriever,
    default_retrieval,
)
from ytrec_infer.validation import positive_int


@dataclass(frozen=True)
class LoadOptions:
    """How to load an artifact; checked when built, so a bad option fails before any file is read.

    ``device`` is ``"cpu"`` or ``"cuda"``; ``providers`` (an explicit onnxruntime provider
    list) is the alternative to it; neither means the CPU. ``threads`` is the intra-op thread
    count of each network (default 1). ``retrieval`` is one of ``"hnsw"``, ``"exact"``,
    ``"exact-numpy"`` (default: :func:`ytrec_infer.retrieval.default_retrieval`). ``float16``
    stores the exact graph's vectors as float16 (default on CUDA).

    >>> LoadOptions(device="cpu", retrieval="hnsw").retrieval
    'hnsw'
    >>> LoadOptions(retrieval="faiss")
    Traceback (most recent call last):
    ...
    ValueError: retrieval must be one of ['hnsw', 'exact', 'exact-numpy'], got 'faiss'
    """

    device: str | None = None
    providers: Sequence[str] | None = None
    threads: int | None = None
    retrieval: str | None = None
    float16: bool | None = None

    def __post_init__(self) -> None:
        if self.device is not None and self.providers is not None:
            raise ValueError("give device= or providers=, not both")
        if self.providers is not None:
            if isinstance(self.providers, str) or not all(
                isinstance(p, str) for p in self.providers
            ):
                raise TypeError(
                    "providers must be a list of provider names, e.g. ['CPUExecutionProvider']"
                )
            object.__setattr__(self, "providers", tuple(self.providers))
        if self.retrieval is not None and self.retrieval not in RETRIEVAL_MODES:
            raise ValueError(
                f"retrieval must be one of {list(RETRIEVAL_MODES)}, got {self.retrieval!r}"
            )
        if self.threads is not None:
            positive_int(self.threads, "threads")
        if self.float16 is not None and not isinstance(self.float16, bool):
            raise TypeError(f"float16 must be True, False or None, got {self.float16!r}")


def choose_options(
    options: LoadOptions | None,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    device: str | None = None,
    retrieval: str | None = None,
    float16: bool | None = None,
) -> LoadOptions:
    """``options``, or the record of the separate load arguments; giving both is a ValueError."""
    if options is None:
        return LoadOptions(device, providers, threads, retrieval, float16)
    if any(value is not None for value in (providers, threads, device, retrieval, float16)):
        raise ValueError("give options= or the separate load arguments, not both")
    if not isinstance(options, LoadOptions):
        raise TypeError(f"options must be a LoadOptions, got {type(options).__name__}")
    return options


@dataclass(frozen=True)
class LoadedParts:
    """Everything a :class:`~ytrec_infer.Recommender` is built from, verified."""

    manifest: Manifest
    catalog: Catalog
    schema: FeatureSchema
    user_tower: OnnxModel
    ranker: OnnxModel
    retriever: Retriever
    item_vectors: np.ndarray
    device: Device
    providers: tuple[str, ...]
    attributes: ItemAttributes


def _item_vectors(manifest: Manifest) -> np.ndarray:
    """The item vectors read into memory (a memory map of a file replaced on disk while serving
    faults the process), their shape and the index's copy of them checked."""
    vectors_path = manifest.path(manifest.catalog.item_vectors)
    item_vectors = read_npy(vectors_path, "float32", 2)
    if item_vectors.shape != (manifest.num_items, manifest.index.dim):
        raise ArtifactError(
            vectors_path, f"shape {item_vectors.shape} does not match the catalog and index"
        )
    check_vectors(manifest.path(manifest.index.file), item_vectors)
    return item_vectors


def load_parts(path: Path, options: LoadOptions) -> LoadedParts:
    """Read and verify the artifact folder ``path`` (already resolved) as ``options`` say;
    whatever goes wrong reading the files is an ArtifactError naming the file and the reason."""
    device, providers = placement(options.device, options.providers)
    with artifact_errors(path, passthrough=(DeviceUnavailableError,)):
        return _load_parts(path, options, device, providers)


def _load_parts(
    path: Path, options: LoadOptions, device: Device, providers: Sequence[str]
) -> LoadedParts:
    manifest = read_manifest(path)
    schema = manifest.features
    catalog = Catalog.load(manifest)
    models = {}
    for name in ("user_tower", "ranker"):
        spec = manifest.models[name]
        model = OnnxModel(
            manifest.path(spec.file),
            spec,
            provider_options(providers),
            options.threads,
            manifest.num_items,
        )
        ensure_on_device(model.session, device, name)
        models[name] = model
    mode = options.retrieval or default_retrieval(device, manifest.num_items)
    index_path = manifest.path(manifest.index.file)
    hnsw = HnswRetriever(index_path, manifest.index) if mode == "hnsw" else None
    if hnsw is None:
        check_header(index_path, manifest.index)  # the index still describes the vectors
    vectors = _item_vectors(manifest)
    retriever: Retriever
    if hnsw is not None:
        retriever = hnsw
    elif mode == "exact-numpy":
        retriever = NumpyRetriever(vectors)
    else:
        retriever = ExactRetriever(vectors, device, options.float16, options.threads)
    return LoadedParts(
        manifest,
        catalog,
        schema,
        models["user_tower"],
        models["ranker"],
        retriever,
        vectors,
        device,
        tuple(providers),
        ItemAttributes.load(manifest.item_attributes, schema.item, manifest.num_items, path),
    )
