"""The declared feature schema: file validation, learned vocabularies, request validation."""

from __future__ import annotations

import json
from dataclasses import replace
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
        ({"name": "tags", "kind": "multi_categorical", "prefix": 0}, "prefix must be a positive"),
        ({"name": "plan", "kind": "categorical", "networks": ["gpu"]}, "networks"),
        ({"name": "plan", "kind": "categorical", "min_count": 0}, "min_count"),
        ({"name": "plan", "kind": "categorical", "colour": "red"}, "unknown keys"),
        ({"name": "seconds_since_last", "kind": "numeric"}, "built-in"),
    ],
)
def test_malformed_declarations_are_refused(tmp_path: Path, entry: dict, problem: str) -> None:
    with pytest.raises(SchemaError, match=problem):
        DeclaredSchema.from_file(_write(tmp_path, {"user": [entry]}))


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            {"context": [{"name": "hour", "kind": "numeric", "transform": "standardize"}]},
            "context numeric features take transform 'powers' or 'log1p'",
        ),
        ({"context": [{"name": "seconds_since_last", "kind": "numeric"}]}, "built-in"),
        (
            {
                "user": [{"name": "device", "kind": "categorical"}],
                "context": [{"name": "device", "kind": "categorical"}],
            },
            "'device' is declared both as a user and as a context feature",
        ),
    ],
)
def test_malformed_context_declarations_are_refused(
    tmp_path: Path, schema: dict, problem: str
) -> None:
    with pytest.raises(SchemaError, match=problem):
        DeclaredSchema.from_file(_write(tmp_path, schema))


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


def _with_context() -> FeatureSchema:
    hour = LearnedFeature(FeatureSpec("hour", "context", "categorical"), vocabulary=("20", "21"))
    load = LearnedFeature(FeatureSpec("load", "context", "numeric"), fill=2.0, scale=4.0)
    return replace(_schema(), context=(hour, load))


def test_context_fields_follow_the_user_fields_in_the_inputs() -> None:
    schema = _with_context()
    assert schema.context_fields == ("hour", "load", "seconds_since_last")
    assert [f.name for f in schema.categorical] == ["country", "hour"]
    assert schema.input_widths == (3, 3) and schema.cardinalities == (1, 4, 3)
    encoded = encode_user({"country": "FR"}, schema, {"hour": "21", "load": 1.0})
    np.testing.assert_array_equal(encoded.categorical, [0, 3, 2])
    np.testing.assert_allclose(encoded.numeric, [0.0, 30.0 / 80.0, 0.25])
    missing = encode_user(None, schema)
    np.testing.assert_array_equal(missing.categorical, [0, 0, 0])
    np.testing.assert_allclose(missing.numeric, [0.0, 30.0 / 80.0, 0.5])
    assert encode_user(None, schema, {"seconds_since_last": 60}).seconds_since_last == 60.0
    with pytest.raises(ValueError, match=r"unknown context fields \['country'\]; accepted: \['hour'"):
        encode_user(None, schema, {"country": "FR"})
    with pytest.raises(TypeError, match=r"context\['hour'\] must be a string"):
        encode_user(None, schema, {"hour": 21})
    with pytest.raises(TypeError, match=r"context\['load'\] must be a number"):
        encode_user(None, schema, {"load": "high"})
    with pytest.raises(TypeError, match="context must be a mapping"):
        encode_user(None, schema, ["hour"])  # type: ignore[arg-type]


def test_a_multi_valued_request_feature_is_a_multi_hot_block_of_user_numeric() -> None:
    interests = LearnedFeature(
        FeatureSpec("interests", "user", "multi_categorical", networks=("ranker",)),
        vocabulary=("jazz", "live", "rock"),
        rare_bucket=True,
    )
    schema = replace(_with_context(), user=(*_schema().user, interests))
    assert [f.name for f in schema.numeric] == ["age", "interests", "load"]
    assert schema.input_widths == (3, 7)
    assert schema.columns("tower")[1] == (0, 1, 6) and schema.columns("ranker")[1] == tuple(range(7))
    encoded = encode_user({"interests": ["rock", "jazz", "polka"]}, schema)
    np.testing.assert_allclose(encoded.numeric, [0.0, 30.0 / 80.0, 1.0, 1.0, 0.0, 1.0, 0.5])
    np.testing.assert_allclose(encode_user(None, schema).numeric[2:6], 0.0)
    with pytest.raises(TypeError, match=r"user\['interests'\] must be a list of strings"):
        encode_user({"interests": "rock"}, schema)
    with pytest.raises(TypeError, match="got a int in it"):
        encode_user({"interests": ["rock", 3]}, schema)
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_the_manifest_form_round_trips() -> None:
    schema = _schema()
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema
    assert "context" not in schema.to_dict()
    with_context = _with_context()
    assert FeatureSchema.from_dict(json.loads(json.dumps(with_context.to_dict()))) == with_context
