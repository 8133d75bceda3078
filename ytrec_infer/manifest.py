"""The typed description of an artifact: one frozen dataclass per manifest section.

``export/`` builds an :class:`ArtifactDescription` and writes its :meth:`~ArtifactDescription.
to_dict` as ``manifest.json`` (:mod:`export.bundle` adds ``format``, ``files`` and the digest);
the runtime reads it back with :meth:`ArtifactDescription.from_dict`, which checks every field's
type and names the bad one in an :class:`~ytrec_infer.errors.ArtifactError`. So the catalog,
the networks and their tensors, the index, the feature schema and the readiness sample are
described once, here; ``docs/artifact-format.md`` is the prose version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ytrec_infer.errors import ArtifactError, SchemaError
from ytrec_infer.feature_schema import FeatureSchema
from ytrec_infer.manifest_fields import MANIFEST, number, optional, require, strings, without_none

ITEM_CODES = "item code = row of item_ids.npy + 1; 0 pads histories"
READINESS_BOUNDS = {"rtol": (0.0, 0.01), "atol": (0.0, 0.01), "min_overlap": (0.5, 1.0)}
"""What a manifest may set: loose enough for another provider's rounding and an approximate
index, tight enough that the readiness replay still tells a damaged network or index apart."""
ATTRIBUTE_PARTS: Mapping[str, tuple[str, ...]] = {
    "categorical": ("codes",),
    "multi_categorical": ("offsets", "codes"),
    "numeric": ("values",),
}
"""The arrays each kind of item attribute is stored as (the keys of its entry besides ``kind``)."""


@dataclass(frozen=True)
class TensorSpec:
    """Name, element type and shape of one model input or output (str dims are dynamic)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TensorSpec:
        shape = require(data, "shape", list, where)
        if not all(isinstance(d, (int, str)) and not isinstance(d, bool) for d in shape):
            raise ArtifactError(MANIFEST, f"'{where}shape' must hold ints and names")
        name, dtype = require(data, "name", str, where), require(data, "dtype", str, where)
        return cls(name, dtype, tuple(shape))


def _tensors(data: Any, key: str, where: str) -> tuple[TensorSpec, ...]:
    items = require(data, key, list, where)
    if not items:
        raise ArtifactError(MANIFEST, f"'{where}{key}' must be a non-empty list")
    return tuple(TensorSpec.from_dict(item, f"{where}{key}[{i}].") for i, item in enumerate(items))


@dataclass(frozen=True)
class ModelSpec:
    """One ONNX network of the artifact and the tensors it exchanges (read back from the graph
    at export; the runtime checks the loaded session declares exactly these)."""

    file: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ModelSpec:
        return cls(
            require(data, "file", str, where),
            _tensors(data, "inputs", where),
            _tensors(data, "outputs", where),
        )


@dataclass(frozen=True)
class RecallAtK:
    """The recall@k the tuned ``ef_search`` reached against exact search, and on what queries."""

    k: int
    recall: float
    queries: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return without_none(asdict(self))

    @classmethod
    def from_dict(cls, data: Any, where: str) -> RecallAtK:
        return cls(
            require(data, "k", int, where),
            number(data, "recall", where),
            optional(data, "queries", str, where),
        )


@dataclass(frozen=True)
class IndexSpec:
    """The hnswlib index: its parameters are recorded because the file does not keep ``ef``;
    the fields after ``ef_search`` are informational."""

    file: str
    space: str
    dim: int
    num_elements: int
    M: int
    ef_construction: int
    ef_search: int
    library: str = "hnswlib"
    recall_target: float | None = None
    recall_at_k: RecallAtK | None = None
    build_seconds: float | None = None
    build_cpu_seconds: float | None = None
    layout: str | None = None
    layout_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["recall_at_k"] = self.recall_at_k.to_dict() if self.recall_at_k else None
        return without_none(out)

    @classmethod
    def from_dict(cls, data: Any, where: str = "index.") -> IndexSpec:
        def real(key: str) -> float | None:
            value = optional(data, key, (int, float), where)
            return None if value is None else float(value)

        recall = data.get("recall_at_k")
        return cls(
            file=require(data, "file", str, where),
            space=require(data, "space", str, where),
            dim=require(data, "dim", int, where),
            num_elements=require(data, "num_elements", int, where),
            M=require(data, "M", int, where),
            ef_construction=require(data, "ef_construction", int, where),
            ef_search=require(data, "ef_search", int, where),
            library=optional(data, "library", str, where) or "hnswlib",
            recall_target=real("recall_target"),
            recall_at_k=(
                None if recall is None else RecallAtK.from_dict(recall, f"{where}recall_at_k.")
            ),
            build_seconds=real("build_seconds"),
            build_cpu_seconds=real("build_cpu_seconds"),
            layout=optional(data, "layout", str, where),
            layout_seconds=real("layout_seconds"),
        )


@dataclass(frozen=True)
class AttributeFiles:
    """One filterable item attribute: its kind and the file of each of its arrays
    (:mod:`ytrec_infer.item_attributes`)."""

    kind: str
    files: Mapping[str, str]

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, **self.files}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> AttributeFiles:
        kind = data.get("kind") if isinstance(data, Mapping) else None
        if not isinstance(kind, str) or kind not in ATTRIBUTE_PARTS:
            raise ArtifactError(MANIFEST, f"{where}kind must be one of {list(ATTRIBUTE_PARTS)}")
        return cls(kind, {part: require(data, part, str, where) for part in ATTRIBUTE_PARTS[kind]})


@dataclass(frozen=True)
class CatalogSpec:
    """The catalog files (row = item code - 1), the ranker's item table column names and the
    optional filterable item attributes."""

    num_items: int
    item_ids: str
    titles: str
    popularity: str
    item_vectors: str
    item_feature_names: tuple[str, ...] = ()
    item_attributes: Mapping[str, AttributeFiles] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return without_none({
            "num_items": self.num_items,
            "item_ids": self.item_ids,
            "titles": self.titles,
            "popularity": self.popularity,
            "item_vectors": self.item_vectors,
            "item_feature_names": list(self.item_feature_names),
            "codes": ITEM_CODES,
            "item_attributes": {n: a.to_dict() for n, a in self.item_attributes.items()} or None,
        })

    @classmethod
    def from_dict(cls, data: Any, where: str = "catalog.") -> CatalogSpec:
        names = optional(data, "item_feature_names", list, where) or []
        if not all(isinstance(n, str) for n in names):
            raise ArtifactError(MANIFEST, f"'{where}item_feature_names' must hold strings")
        attributes = optional(data, "item_attributes", dict, where) or {}
        return cls(
            num_items=require(data, "num_items", int, where),
            item_feature_names=tuple(names),
            item_attributes={
                str(name): AttributeFiles.from_dict(entry, f"{where}item_attributes.{name}.")
                for name, entry in attributes.items()
            },
            **{key: require(data, key, str, where) for key in cls.file_keys()},
        )

    @staticmethod
    def file_keys() -> tuple[str, ...]:
        return ("item_ids", "titles", "popularity", "item_vectors")


@dataclass(frozen=True)
class ReadinessSpec:
    """The readiness sample (``readiness.json``) and the tolerances of its replay."""

    file: str
    rtol: float
    atol: float
    min_overlap: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "readiness.") -> ReadinessSpec:
        """A section that is there must name its sample and keep its tolerances within
        :data:`READINESS_BOUNDS`, so ``null`` or a zero ``min_overlap`` cannot switch it off."""
        if not isinstance(data, Mapping) or not isinstance(data.get("file"), str):
            raise ArtifactError(MANIFEST, "'readiness' must name its sample file")
        values = {key: number(data, key, where) for key in READINESS_BOUNDS}
        for key, (low, high) in READINESS_BOUNDS.items():
            if not low <= values[key] <= high:
                raise ArtifactError(
                    MANIFEST, f"'{where}{key}' is {data[key]}, outside [{low}, {high}]"
                )
        return cls(data["file"], **values)


@dataclass(frozen=True)
class SyntheticSpec:
    """Marks an artifact over a synthetic catalog with untrained weights (``ytrec-bench``)."""

    num_items: int
    seed: int
    generator: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, where: str = "synthetic.") -> SyntheticSpec:
        return cls(
            require(data, "num_items", int, where),
            require(data, "seed", int, where),
            require(data, "generator", str, where),
        )


def _schema(data: Any) -> FeatureSchema:
    try:
        return FeatureSchema.from_dict(require({"features": data}, "features", dict, ""))
    except (KeyError, TypeError, ValueError, SchemaError) as exc:
        raise ArtifactError(MANIFEST, f"malformed 'features' ({exc!r})") from None


@dataclass(frozen=True)
class ArtifactDescription:
    """Everything ``manifest.json`` says about an artifact besides its format and file list.

    ``config`` (the training configuration) and ``metrics`` are informational JSON objects.
    """

    created: str
    producer: Mapping[str, str]
    catalog: CatalogSpec
    models: Mapping[str, ModelSpec]
    index: IndexSpec
    features: FeatureSchema
    config: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    synthetic: SyntheticSpec | None = None
    readiness: ReadinessSpec | None = None

    REQUIRED_MODELS = ("user_tower", "ranker")

    def to_dict(self) -> dict[str, Any]:
        return without_none(
            {
                "created": self.created,
                "producer": dict(self.producer),
                "catalog": self.catalog.to_dict(),
                "models": {name: spec.to_dict() for name, spec in self.models.items()},
                "index": self.index.to_dict(),
                "features": self.features.to_dict(),
                "config": dict(self.config),
                "metrics": dict(self.metrics),
                "synthetic": self.synthetic.to_dict() if self.synthetic else None,
                "readiness": self.readiness.to_dict() if self.readiness else None,
            }
        )

    def referenced_files(self) -> dict[str, str]:
        """Every file the description names, by the field naming it (each must be listed)."""
        out = {f"catalog.{key}": getattr(self.catalog, key) for key in CatalogSpec.file_keys()}
        for name, attribute in self.catalog.item_attributes.items():
            out |= {f"catalog.item_attributes.{name}.{p}": f for p, f in attribute.files.items()}
        out |= {f"models.{name}.file": spec.file for name, spec in self.models.items()}
        out["index.file"] = self.index.file
        if self.readiness is not None:
            out["readiness.file"] = self.readiness.file
        return out

    @classmethod
    def from_dict(cls, data: Any) -> ArtifactDescription:
        """Parse a manifest; raises ArtifactError naming the first missing or mistyped field."""
        models = {
            str(name): ModelSpec.from_dict(spec, f"models.{name}.")
            for name, spec in require(data, "models", dict, "").items()
        }
        for required in cls.REQUIRED_MODELS:
            if required not in models:
                raise ArtifactError(MANIFEST, f"models.{required} is missing")
        metrics = require(data, "metrics", dict, "") if "metrics" in data else {}
        synthetic, readiness = data.get("synthetic"), data.get("readiness", False)
        return cls(
            created=optional(data, "created", str, "") or "",
            producer=strings(data, "producer", "") if "producer" in data else {},
            catalog=CatalogSpec.from_dict(require(data, "catalog", dict, "")),
            models=models,
            index=IndexSpec.from_dict(require(data, "index", dict, "")),
            features=_schema(data.get("features")),
            config=require(data, "config", dict, "") if "config" in data else {},
            metrics={str(k): number(metrics, k, "metrics.") for k in metrics},
            synthetic=None if synthetic is None else SyntheticSpec.from_dict(synthetic),
            readiness=None if readiness is False else ReadinessSpec.from_dict(readiness),
        )
