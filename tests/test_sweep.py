"""The configuration sweep's variant syntax: ranker fields, ``gen.`` generator fields, types."""

from __future__ import annotations

import pytest

from benchmarks.quality.sweep import parse_variant


def test_variant_splits_generator_and_ranker_overrides_with_their_types() -> None:
    generator, ranker = parse_variant(
        "gen.average_last=1 gen.hidden=64-32 hidden=16 select_epoch=0"
    )
    assert generator == {"average_last": 1, "hidden": (64, 32)}
    assert ranker == {"hidden": (16,), "select_epoch": False}
    assert parse_variant("blends=0.25-1") == ({}, {"blends": (0.25, 1.0)})
    assert parse_variant("default") == ({}, {})


@pytest.mark.parametrize("text", ["gen.no_such_field=1", "no_such_field=1"])
def test_unknown_fields_are_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="no_such_field"):
        parse_variant(text)
