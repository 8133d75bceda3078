"""The typed artifact description (``ytrec_infer/manifest.py``): it reads the committed 2.0
manifest and writes it back unchanged, and a mistyped field is refused with its name."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ytrec_infer.artifact import read_manifest
from ytrec_infer.errors import ArtifactError
from ytrec_infer.manifest import ArtifactDescription, ReadinessSpec

FIXTURE = Path(__file__).parent / "fixtures" / "format-2.0"
OUTSIDE = ("format", "format_version", "files", "manifest_sha256")
"""Keys the writer (``export/bundle.py``) adds around the description."""


def _body() -> dict[str, Any]:
    raw = json.loads((FIXTURE / "manifest.json").read_text())
    return {key: value for key, value in raw.items() if key not in OUTSIDE}


def test_the_format_2_0_manifest_round_trips_through_the_description() -> None:
    manifest = read_manifest(FIXTURE)
    assert manifest.description.to_dict() == _body()
    assert ArtifactDescription.from_dict(_body()) == manifest.description
    assert manifest.index.ef_search == 100 and manifest.catalog.item_ids == "item_ids.npy"
    assert manifest.models["ranker"].inputs[1].name == "candidates"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return edit


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("index.dim", "64", "'index.dim' has the wrong type (str)"),
        ("index.ef_search", True, "'index.ef_search' has the wrong type (bool)"),
        ("catalog.num_items", 2.5, "'catalog.num_items' has the wrong type"),
        ("catalog.titles", None, "'catalog.titles' has the wrong type"),
        ("models.ranker.inputs.0.name", 3, "'models.ranker.inputs[0].name' has the wrong type"),
        ("models.user_tower.outputs", [], "'models.user_tower.outputs' must be a non-empty list"),
        ("index.recall_at_k.recall", "high", "'index.recall_at_k.recall' has the wrong type"),
        ("producer.numpy", 2, "'producer.numpy' must be a string"),
        ("features.max_history", None, "malformed 'features'"),
        ("synthetic.seed", "0", "'synthetic.seed' has the wrong type"),
    ],
)
def test_a_mistyped_field_is_refused_by_name(path: str, value: Any, message: str) -> None:
    body = copy.deepcopy(_body())
    _set(path, value)(body)
    with pytest.raises(ArtifactError) as caught:
        ArtifactDescription.from_dict(body)
    assert message in caught.value.reason


def test_a_missing_network_and_bad_readiness_bounds_are_refused() -> None:
    body = copy.deepcopy(_body())
    del body["models"]["ranker"]
    with pytest.raises(ArtifactError, match="models.ranker is missing"):
        ArtifactDescription.from_dict(body)
    readiness = {"file": "readiness.json", "rtol": 1e-3, "atol": 1e-3, "min_overlap": 0.1}
    with pytest.raises(ArtifactError, match=r"'readiness.min_overlap' is 0.1, outside \[0.5, 1.0\]"):
        ArtifactDescription.from_dict({**_body(), "readiness": readiness})
    described = ArtifactDescription.from_dict({**_body(), "readiness": {**readiness, "min_overlap": 0.8}})
    assert described.readiness == ReadinessSpec("readiness.json", 1e-3, 1e-3, 0.8)
    assert described.referenced_files()["readiness.file"] == "readiness.json"
