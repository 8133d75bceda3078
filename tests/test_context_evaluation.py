"""Request context wherever the model is asked for a list: evaluation (artifact and torch),
validation and the ranker's training lists each send a held-out (or training) interaction's
own context, as a served request with ``context=...`` does."""

from __future__ import annotations

import csv
from dataclasses import replace
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from trainers.config import TrainConfig
from trainers.encoding import EncodedData
from trainers.evaluate import evaluate_artifact, evaluate_torch
from trainers.examples import build_examples, last_positions
from trainers.feature_encoding import ContextColumns
from trainers.holdout import holdout_set, without_user_features
from trainers.pipeline import TrainResult, train_and_export
from trainers.synthetic_log import OwnLog, write_own_log
from trainers.train_ranker import training_lists
from trainers.validation_sample import sample_holdout
from ytrec_infer.cli import main


def _config() -> TrainConfig:
    """The small preset with two ranker epochs: what is measured here is stage one's lists."""
    small = TrainConfig.small()
    return replace(small, ranker=replace(small.ranker, epochs=2))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[OwnLog, TrainResult]:
    """The hour picks the category of 80% of choices (``write_own_log``'s planted context)."""
    folder = tmp_path_factory.mktemp("context")
    log = write_own_log(folder / "data", num_users=300, num_items=120, context_effect=0.8)
    result = train_and_export(
        log.log, folder / "art", _config(), items=log.items, users=log.users,
        features=log.features,
    )
    return log, result


def _last_hours(log: Path) -> dict[str, str]:
    """Per user: the ``hour`` cell of their last interaction (time, then file order)."""
    last: dict[str, tuple[int, int, str]] = {}
    with log.open() as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            key = (int(row["timestamp"]), number, row["hour"])
            last[row["user_id"]] = max(last.get(row["user_id"], key), key)
    return {user: hour for user, (_, _, hour) in last.items()}


def test_each_held_out_interaction_carries_its_own_context(
    planted: tuple[OwnLog, TrainResult],
) -> None:
    log, result = planted
    data = result.data
    test = holdout_set(data, "test")
    hours = _last_hours(log.log)
    assert test.context is not None and len(test.context.categorical) == len(test)
    for i in range(len(test)):
        user = str(data.user_ids[test.user_rows[i]])
        assert test.context_values(data, i) == {"hour": hours[user]}
    assert len(np.unique(test.context.categorical)) > 10  # the hours' own codes, not "missing"
    sample = sample_holdout(test, 50, seed=0)
    assert sample.context is not None
    for i in range(len(sample)):
        j = int(np.flatnonzero(test.user_rows == sample.user_rows[i])[0])
        assert np.array_equal(sample.context.categorical[i], test.context.categorical[j])
    _, bare = without_user_features(data, test)
    assert bare.context is None and bare.context_values(data, 0) is None


def test_evaluation_with_context_beats_without_and_torch_agrees_with_the_artifact(
    planted: tuple[OwnLog, TrainResult],
) -> None:
    log, result = planted
    served = evaluate_artifact(
        str(result.artifact), log.log, "test", items=log.items, users=log.users
    )
    exact = evaluate_torch(result.candidate_model, result.ranker, result.data, "test")
    for metrics in (served, exact):
        with_context = metrics["candidates_only"]["hr@10"]
        without = metrics["without_context"]["candidates_only"]["hr@10"]
        assert with_context > without + 0.05, (metrics["path"], with_context, without)
        # The ranker's top 10 on this tiny log hardly depend on any feature (as in
        # tests/test_declared_features.py); stage one's do, and the ranker is not made worse.
        assert metrics["two_stage"]["ndcg@10"] >= metrics["without_context"]["two_stage"]["ndcg@10"]
        assert "history_only" in metrics
    args = ["--items", str(log.items), "--users", str(log.users)]
    printed = CliRunner().invoke(
        main, ["evaluate", str(result.artifact), "--data", str(log.log), *args]
    )
    assert printed.exit_code == 0, printed.output
    rows = {line.split()[0]: float(line.split()[1]) for line in printed.output.splitlines()[2:7]}
    assert rows["candidates_only"] == pytest.approx(served["candidates_only"]["hr@10"], abs=1e-4)
    assert rows["no_context_cands"] == pytest.approx(
        served["without_context"]["candidates_only"]["hr@10"], abs=1e-4
    )
    for key in ("", "without_context", "history_only"):
        for stage in ("two_stage", "candidates_only"):
            a = (served[key] if key else served)[stage]["hr@10"]
            b = (exact[key] if key else exact)[stage]["hr@10"]
            assert abs(a - b) <= 0.02, (key, stage, a, b)


class _Recorder:
    """A list source that records the context each retrieval is asked with."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, ContextColumns | None]] = []

    def retrieve(
        self, data: EncodedData, user_rows: np.ndarray, histories: Sequence[np.ndarray], n: int,
        context: ContextColumns | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append((user_rows.copy(), context))
        codes = np.tile(np.arange(1, n + 1), (len(user_rows), 1))
        return codes, np.zeros(codes.shape, dtype=np.float32)


def test_training_lists_are_retrieved_with_each_positions_own_context(
    planted: tuple[OwnLog, TrainResult],
) -> None:
    _, result = planted
    data = result.data
    bare_data, _ = without_user_features(data, holdout_set(data, "valid"))
    config = replace(TrainConfig.small().ranker, bare_list_rate=0.3)
    source = _Recorder()
    training_lists(data, bare_data, source, config, np.random.default_rng(0))
    first, second = source.calls[0][1], source.calls[1][1]
    assert first is not None and second is None  # the history-only share: no context
    positions = last_positions(data, config.positions_per_user)
    ex = build_examples(data, positions, data.schema.max_history)
    expected = data.context.take(ex.interactions[: len(first.categorical)])
    assert np.array_equal(first.categorical, expected.categorical)
    assert len(np.unique(first.categorical)) > 10
