"""Committed artifacts of every format version: 2.0 loads and gives its recorded answers; 1.x is
refused with a message saying how to re-export (voyager keeps old index files the same way)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import ArtifactError, Recommender
from ytrec_infer.retrieval import RETRIEVAL_MODES

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "format-2.0.expected.json").read_text())["requests"]


@pytest.mark.parametrize("retrieval", RETRIEVAL_MODES)
def test_format_2_0_gives_its_recorded_answers(retrieval: str) -> None:
    rec = Recommender.load(FIXTURES / "format-2.0", retrieval=retrieval)
    assert rec.manifest.raw["format_version"] == "2.0"
    for request in EXPECTED:
        got = rec.recommend(request["history"], k=10)
        assert [int(i) for i in got.item_ids] == request["item_ids"], request["history"]
        np.testing.assert_allclose(got.scores, request["scores"], rtol=1e-4, atol=1e-6)
        assert got.cold_start == request["cold_start"]


def test_format_1_1_is_refused_with_how_to_re_export() -> None:
    with pytest.raises(ArtifactError) as caught:
        Recommender.load(FIXTURES / "format-1.1")
    message = str(caught.value)
    assert "format_version 1.1" in message
    assert "re-export" in message and "ytrec train" in message
    assert "manifest.json" in message
