"""The declared feature schema: file validation, learned vocabularies, request validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer.errors import SchemaError
from ytrec_infer.feature_declarations import DeclaredSchema, FeatureSpec
from ytrec_infer.feature_schema import FeatureSchema, LearnedFeature
from ytrec_infer.features import encode_user


def _write(tmp_path: Path, schema: object) -> Path:
    path = tmp_path / "features.json"
    path.write_text(json.dumps(schema))
    return path


def test_unknown_kind_names_the_file_feature_and_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, {"user": [{"name": "country", "kind": "categoric"}]})
    with pytest.raises(SchemaError, match=r"features\.json: feature 'country': kind 'categoric'"):
        DeclaredSchema.from_file(path)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "plan", "kind": "numeric", "transform": "cube"}, "transform 'cube'"),
        ({"name": "tags", "kind": "multi_categorical"}, "item features only"),
        ({"name": "plan", "kind": "categorical", "networks": ["gpu"]}, "networks"),
        ({"name": "plan", "kind": "categorical", "min_count": 0}, "min_count"),
        ({"name": "plan", "kind": "categorical", "colour": "red"}, "unknown keys"),
        ({"name": "seconds_since_last", "kind": "numeric"}, "built-in"),
    ],
)
def test_malformed_declarations_are_refused(tmp_path: Path, entry: dict, problem: str) -> None:
    with pytest.raises(SchemaError, match=problem):
        DeclaredSchema.from_file(_write(tmp_path, {"user": [entry]}))


def test_not_json_and_unknown_sections_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{user: [")
    with pytest.raises(SchemaError, match=r"bad\.json: not valid JSON"):
        DeclaredSchema.from_file(tmp_path / "bad.json")
    with pytest.raises(SchemaError, match=r"unknown sections \['users'\]"):
        DeclaredSchema.from_file(_write(tmp_path, {"users": []}))


def test_declared_schema_round_trips_and_defaults_networks() -> None:
    schema = DeclaredSchema.from_dict(
        {
            "user": [{"name": "country", "kind": "categorical"}],
            "item": [{"name": "tags", "kind": "multi_categorical", "min_count": 3}],
        }
    )
    country, tags = schema.features
    assert country.networks == ("tower", "ranker") and tags.networks == ("ranker",)
    assert DeclaredSchema.from_dict(schema.to_dict()) == schema


def _schema() -> FeatureSchema:
    country = LearnedFeature(
        FeatureSpec("country", "user", "categorical", min_count=2),
        vocabulary=("DE", "FR"),
        rare_bucket=True,
    )
    age = LearnedFeature(FeatureSpec("age", "user", "numeric"), fill=30.0, scale=80.0)
    return FeatureSchema(10, (country, age), (), 100.0, 3600.0, 8.0)


def test_codes_fold_rare_values_and_map_unseen_ones_to_unknown() -> None:
    country = _schema().user[0]
    assert [country.code(v) for v in ("DE", "FR", "", "XX")] == [2, 3, 0, 1]
    assert country.cardinality == 4


def test_request_fields_are_validated_against_the_schema() -> None:
    schema = _schema()
    encoded = encode_user({"country": "FR", "age": 40}, schema)
    np.testing.assert_array_equal(encoded.categorical, [0, 3])
    np.testing.assert_allclose(encoded.numeric, [0.0, 0.5])
    missing = encode_user(None, schema)
    np.testing.assert_array_equal(missing.categorical, [0, 0])
    np.testing.assert_allclose(missing.numeric, [0.0, 30.0 / 80.0])
    with pytest.raises(ValueError, match=r"unknown user fields \['plan'\]; accepted: \['country'"):
        encode_user({"plan": "pro"}, schema)
    with pytest.raises(TypeError, match=r"user\['age'\] must be a number"):
        encode_user({"age": "forty"}, schema)
    with pytest.raises(TypeError, match=r"user\['country'\] must be a string"):
        encode_user({"country": 3.5}, schema)


def test_the_manifest_form_round_trips() -> None:
    schema = _schema()
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
