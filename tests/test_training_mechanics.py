"""The training loops' mechanics: learning-rate scaling, batches, early stopping, the
validation sample and the sampled softmax with shared and in-batch negatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from trainers.batching import batch_count, scaled_learning_rate, shuffled_batches
from trainers.early_stopping import EarlyStopping
from trainers.holdout import HoldoutSet
from trainers.ragged import Ragged
from trainers.sampled_softmax import (
    negative_log_counts,
    sampled_softmax_loss,
    smoothed_popularity,
)
from trainers.validation_sample import sample_holdout


def test_learning_rate_scales_by_the_rule_from_the_reference_batch() -> None:
    assert scaled_learning_rate(1e-3, 256, "sqrt") == pytest.approx(1e-3)
    assert scaled_learning_rate(1e-3, 1024, "sqrt") == pytest.approx(2e-3)
    assert scaled_learning_rate(1e-3, 1024, "linear") == pytest.approx(4e-3)
    assert scaled_learning_rate(1e-3, 1024, "none") == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="sqrt"):
        scaled_learning_rate(1e-3, 1024, "cubic")
    with pytest.raises(ValueError, match="batch size"):
        scaled_learning_rate(1e-3, 0, "sqrt")


def test_shuffled_batches_cover_every_row_once() -> None:
    batches = list(shuffled_batches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2] and len(batches) == batch_count(10, 4)
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))


def _state(value: float) -> dict[str, torch.Tensor]:
    return {"w": torch.tensor([value])}


def test_early_stopping_keeps_the_best_and_stops_after_patience() -> None:
    stopping = EarlyStopping(patience=2, max_epochs=10)
    seen = []
    for epoch, metric in enumerate([0.1, 0.3, 0.2, 0.25, 0.9]):
        seen.append(stopping.update(metric, _state(metric)))
        if stopping.done:
            break
    assert seen == [True, True, False, False] and epoch == 3
    assert stopping.best_metric == 0.3 and stopping.best_epoch == 1
    assert torch.equal(stopping.best_state["w"], torch.tensor([0.3]))


def test_early_stopping_stops_at_the_cap_while_improving() -> None:
    stopping = EarlyStopping(patience=5, max_epochs=3)
    for metric in (0.1, 0.2):
        stopping.update(metric, _state(metric))
        assert not stopping.done
    stopping.update(0.3, _state(0.3))
    assert stopping.done and stopping.best_epoch == 2
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0, max_epochs=3)


def _holdout(users: int) -> HoldoutSet:
    return HoldoutSet(
        user_rows=np.arange(users),
        histories=Ragged(np.arange(users) + 1, np.arange(users + 1)),
        targets=np.arange(users) + 100,
        seconds_since_last=np.arange(users, dtype=np.float32),
    )


def test_validation_sample_is_exact_when_small_and_fixed_when_large() -> None:
    small = _holdout(30)
    assert sample_holdout(small, 30, seed=0) is small
    assert sample_holdout(small, 0, seed=0) is small
    sample = sample_holdout(_holdout(1000), 50, seed=0)
    assert len(sample) == 50 and np.all(np.diff(sample.user_rows) > 0)
    # The fields stay aligned row by row.
    assert np.array_equal(sample.targets, sample.user_rows + 100)
    assert [int(h[0]) for h in sample.histories] == (sample.user_rows + 1).tolist()
    again = sample_holdout(_holdout(1000), 50, seed=0)
    assert np.array_equal(again.user_rows, sample.user_rows)
    with pytest.raises(ValueError, match="validation_users"):
        sample_holdout(small, -1, seed=0)


def test_log_counts_are_the_expected_counts_of_the_mixed_negatives() -> None:
    sampling = smoothed_popularity(np.array([3, 1, 0]), power=1.0)
    assert sampling.tolist() == pytest.approx([0.0, 4 / 7, 2 / 7, 1 / 7])
    targets = np.array([1, 1, 1, 2])
    counts = negative_log_counts(sampling, targets, num_sampled=7, num_in_batch=4).exp()
    assert counts[1:].tolist() == pytest.approx([4 + 3, 2 + 1, 1 + 0])
    plain = negative_log_counts(sampling, targets, num_sampled=7, num_in_batch=0).exp()
    assert plain[1:].tolist() == pytest.approx([4, 2, 1])


def _vectors(codes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    return F.normalize(table[codes], dim=-1)


def test_corrected_sampled_loss_estimates_the_full_softmax() -> None:
    """With many negatives from the mixture (sampled from Q, in-batch from P), the corrected
    negatives estimate the full softmax's partition function: the loss minus the positive's own
    correction (log of its expected count, subtracted from its logit as in TensorFlow's
    ``sampled_softmax_loss``) is the full softmax loss. Without the in-batch term in the
    counts, or without any correction, it is off."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    items, dim, temperature = 60, 8, 0.5
    table = torch.randn(items + 1, dim)
    users = F.normalize(torch.randn(16, dim), dim=-1)
    targets = torch.from_numpy(rng.integers(1, items + 1, 16))
    popularity = rng.integers(0, 50, items)
    sampling = smoothed_popularity(popularity, power=0.75)
    data_targets = rng.choice(np.arange(1, items + 1), 5000, p=sampling[1:][::-1])
    sampled = torch.multinomial(torch.from_numpy(sampling).float(), 40_000, replacement=True)
    in_batch = torch.from_numpy(rng.choice(data_targets, 40_000))
    negatives = torch.cat([in_batch, sampled])
    log_counts = negative_log_counts(sampling, data_targets, 40_000, 40_000)
    loss = sampled_softmax_loss(
        users,
        _vectors(targets, table),
        _vectors(negatives, table),
        targets,
        negatives,
        log_counts,
        temperature,
    )
    full = F.cross_entropy(users @ _vectors(torch.arange(1, items + 1), table).T / temperature,
                           targets - 1)
    positive_correction = log_counts[targets].mean().item()
    assert loss.item() - positive_correction == pytest.approx(full.item(), abs=0.05)
    sampled_only = negative_log_counts(sampling, data_targets, 40_000, 0)
    for wrong in (sampled_only, torch.zeros(items + 1)):
        off = sampled_softmax_loss(
            users, _vectors(targets, table), _vectors(negatives, table), targets, negatives,
            wrong, temperature,
        )
        assert abs(off.item() - wrong[targets].mean().item() - full.item()) > 0.3


def test_accidental_hits_are_masked() -> None:
    """A negative equal to the row's target adds nothing: the loss is the same as without it."""
    table = torch.randn(6, 4)
    users = F.normalize(torch.randn(2, 4), dim=-1)
    targets = torch.tensor([1, 2])
    log_counts = torch.zeros(6)
    with_hit = torch.tensor([3, 4, 1])
    without = torch.tensor([3, 4])
    first = sampled_softmax_loss(
        users[:1], _vectors(targets[:1], table), _vectors(with_hit, table), targets[:1],
        with_hit, log_counts, 1.0,
    )
    second = sampled_softmax_loss(
        users[:1], _vectors(targets[:1], table), _vectors(without, table), targets[:1],
        without, log_counts, 1.0,
    )
    assert first.item() == pytest.approx(second.item())


def test_both_loops_keep_their_best_epoch_within_the_cap(trained) -> None:
    """The session's small training run: each stage ran at most its epoch cap, reports the
    best epoch's validation metric (for the ranker: that of the blend with the generator it
    chose, above the candidates' own order or, blend 1, that order), and logged its
    throughput."""
    from trainers.config import TrainConfig

    config = TrainConfig.small()
    for stage, key, cap in (
        ("candidates", "valid_recall@100", config.candidate.epochs),
        ("ranker", "valid_ndcg@10", config.ranker.epochs),
    ):
        records = [r for r in trained.history if r["stage"] == stage]
        assert 1 <= len(records) <= cap
        if stage == "ranker":
            order = float(records[0]["valid_ndcg@10_candidates_only"])
            share = trained.metrics["blend"]
            assert share in config.ranker.blends
            assert trained.metrics[key] >= order
            assert (share == 1.0) == (trained.metrics[key] == order)
        else:
            assert trained.metrics[key] == max(float(r[key]) for r in records)
        assert all(float(r["examples_per_s"]) > 0 for r in records)
