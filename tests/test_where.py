"""The ``where=`` filter on item attributes written by export (ML-100K: genres, release year).

Every result is checked against the attribute table itself (read back from the artifact's
arrays), against exact search over the filtered set, and for HNSW (on ML-100K and on a
synthetic catalog) for recall >= 0.95 of that exact top k.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ytrec_infer import Recommender, ServingRecommender
from ytrec_infer.errors import ArtifactError
from ytrec_infer.item_attributes import ItemAttributes

HISTORIES = ([50, 172, 181], [1, 2, 3, 4, 5], [300, 301], [7])
FILTERS = (
    {"genres": ["Film-Noir"]},
    {"genres": ["Comedy", "Romance"]},
    {"release_year": {"min": 1990, "max": 1995}},
    {"genres": "Drama", "release_year": {"min": 1980}},
)


@pytest.fixture(scope="module", params=["exact-numpy", "hnsw"])
def rec(request: pytest.FixtureRequest, artifact_dir: Path) -> Recommender:
    return Recommender.load(artifact_dir, retrieval=request.param)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Recommender:
    from export.synthetic import build

    folder = build(tmp_path_factory.mktemp("where") / "syn", 3000, seed=5)
    return Recommender.load(folder, retrieval="hnsw")


def passing_ids(rec: Recommender, where: dict[str, object]) -> set[int]:
    """Item ids that pass ``where``, computed from the raw arrays one item at a time."""
    attributes = rec.attributes
    keep = []
    for row in range(rec.num_items):
        ok = True
        for name, condition in where.items():
            column, feature = attributes.columns[name], attributes.features[name]
            if column.kind == "numeric":
                assert column.values is not None and isinstance(condition, dict)
                value = float(column.values[row])
                ok &= condition.get("min", -np.inf) <= value <= condition.get("max", np.inf)
            else:
                assert column.offsets is not None and column.codes is not None
                mine = column.codes[column.offsets[row] : column.offsets[row + 1]].tolist()
                wanted = [condition] if isinstance(condition, str) else condition
                assert isinstance(wanted, list)
                ok &= bool(set(mine) & {feature.code(v) for v in wanted})
        if ok:
            keep.append(row + 1)
    return set(rec.catalog.ids(np.array(keep, dtype=np.int64)).tolist())


def exact_top(rec: Recommender, history: list[int], n: int, pool: set[int]) -> list[int]:
    request = rec.prepare(history)
    codes = np.setdiff1d(rec.catalog.codes(np.array(sorted(pool)))[0], request.codes)
    scores = rec.item_vectors[codes - 1] @ rec.embed(request)
    return [int(i) for i in rec.catalog.ids(codes[np.argsort(-scores)[:n]])]


def test_export_writes_the_movielens_item_attributes(rec: Recommender) -> None:
    assert rec.attributes.names == ("genres", "release_year")
    comedy = rec.attributes.features["genres"].code("Comedy")
    toy_story = int(rec.catalog.codes(np.array([1]))[0][0]) - 1  # ML-100K item 1: Toy Story
    genres = rec.attributes.columns["genres"]
    assert genres.offsets is not None and genres.codes is not None
    assert comedy in genres.codes[genres.offsets[toy_story] : genres.offsets[toy_story + 1]]
    years = rec.attributes.columns["release_year"].values
    assert years is not None and years[toy_story] == 1995.0


@pytest.mark.parametrize("where", FILTERS)
def test_results_pass_the_filter_fill_k_and_equal_exact_search(
    rec: Recommender, where: dict[str, object]
) -> None:
    pool = passing_ids(rec, where)
    assert len(pool) >= 20
    recalls = []
    for history in HISTORIES:
        found = rec.candidates(history, n=10, where=where)
        assert len(found) == 10 and set(found.item_ids) <= pool
        expected = exact_top(rec, history, 10, pool)
        if rec.retriever.kind == "exact-numpy":
            assert list(found.item_ids) == expected
        recalls.append(len(set(found.item_ids) & set(expected)) / 10)
        ranked = rec.recommend(history, k=10, where=where)
        assert len(ranked) == 10 and set(ranked.item_ids) <= pool
    assert np.mean(recalls) >= 0.95


def test_where_combines_with_allowed_exclude_batches_and_cold_start(rec: Recommender) -> None:
    where = {"genres": ["Comedy"]}
    comedies = sorted(passing_ids(rec, where))
    allowed = comedies[:8] + [i for i in range(1, 200) if i not in comedies][:5]
    got = rec.recommend([50, 172], k=8, where=where, allowed=allowed, exclude=comedies[:2])
    assert sorted(got.item_ids) == [i for i in comedies[2:8] if i not in (50, 172)]
    for result in rec.recommend_batch([[50, 172], [], [1, 2]], k=10, where=where):
        assert len(result) == 10 and set(result.item_ids) <= set(comedies)
    assert len(rec.recommend([50], k=5, where={"release_year": {"min": 3000}})) == 0


def test_hnsw_on_a_synthetic_catalog_keeps_recall(synthetic: Recommender) -> None:
    rng = np.random.default_rng(0)
    for where in ({"genres": ["genre03"]}, {"release_year": {"min": 1.0}}):
        pool = passing_ids(synthetic, where)
        recalls = []
        for _ in range(10):
            history = rng.choice(synthetic.catalog.item_ids, size=5, replace=False).tolist()
            found = synthetic.candidates(history, n=20, where=where)
            assert len(found) == 20 and set(found.item_ids) <= pool
            expected = exact_top(synthetic, history, 20, pool)
            recalls.append(len(set(found.item_ids) & set(expected)) / 20)
        assert np.mean(recalls) >= 0.95


def test_bad_filters_name_the_problem(artifact_dir: Path) -> None:
    rec = ServingRecommender(artifact_dir)
    with pytest.raises(ValueError, match="unknown attribute 'colour'.*genres.*release_year"):
        rec.recommend([50], where={"colour": ["red"]})
    with pytest.raises(ValueError, match="unknown value 'Comdy'"):
        rec.candidates([50], where={"genres": ["Comdy"]})
    with pytest.raises(TypeError, match="where\\['genres'\\] is categorical"):
        rec.recommend([50], where={"genres": 3})
    with pytest.raises(TypeError, match="where\\['release_year'\\] is numeric"):
        rec.recommend_batch([[50]], where={"release_year": [1990]})
    with pytest.raises(TypeError, match="where\\['release_year'\\]\\['min'\\] must be a number"):
        rec.recommend([50], where={"release_year": {"min": "1990"}})
    with pytest.raises(TypeError, match="where must be a mapping"):
        rec.recommend([50], where=["genres"])  # type: ignore[arg-type]


def test_damaged_attribute_arrays_are_refused(artifact_dir: Path) -> None:
    rec = Recommender.load(artifact_dir)
    genres = rec.attributes.columns["genres"]
    assert genres.codes is not None
    bad = dict(rec.manifest.item_attributes)
    with pytest.raises(ArtifactError, match="does not match an item feature"):
        ItemAttributes.load({"genres": replace(bad["genres"], kind="numeric")}, rec.schema.item,
                            rec.num_items, rec.manifest.root)
    with pytest.raises(ArtifactError, match="rows for"):
        ItemAttributes.load(bad, rec.schema.item, rec.num_items + 1, rec.manifest.root)
