"""The ranker's losses: weighted logistic regression and the listwise option."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from trainers.train_ranker import ranking_loss


def _lists() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two lists of three candidates, the watched item in column 0, rated 5 and 1."""
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.3]])
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    weights = torch.ones_like(logits)
    weights[:, 0] = torch.tensor([5.0, 1.0])
    return logits, labels, weights


def test_pointwise_is_weighted_logistic_regression() -> None:
    logits, labels, weights = _lists()
    expected = F.binary_cross_entropy_with_logits(logits, labels, weight=weights)
    assert ranking_loss(logits, labels, weights, "pointwise") == pytest.approx(expected.item())


def test_listwise_is_rating_weighted_softmax_cross_entropy() -> None:
    logits, labels, weights = _lists()
    per_list = F.cross_entropy(logits, torch.zeros(2, dtype=torch.long), reduction="none")
    expected = (per_list * torch.tensor([5.0, 1.0])).sum() / 6.0
    assert ranking_loss(logits, labels, weights, "listwise") == pytest.approx(expected.item())


def test_listwise_only_sees_the_order_within_a_list() -> None:
    """Shifting a whole list's logits changes nothing; putting the watched item first lowers it."""
    logits, labels, weights = _lists()
    shifted = logits + torch.tensor([[3.0], [-2.0]])
    base = ranking_loss(logits, labels, weights, "listwise")
    assert ranking_loss(shifted, labels, weights, "listwise") == pytest.approx(base.item())
    better = logits.clone()
    better[1, 0] = 2.0
    assert ranking_loss(better, labels, weights, "listwise") < base


def test_unknown_loss_is_refused() -> None:
    logits, labels, weights = _lists()
    with pytest.raises(ValueError, match="pointwise"):
        ranking_loss(logits, labels, weights, "pairwise")


def test_absent_rows_get_exactly_the_history_only_encoding(trained) -> None:
    """Rows marked absent carry what a request without ``user=`` sends; the others are kept."""
    import numpy as np

    from trainers.feature_dropout import FeatureDropout
    from ytrec_infer.features import encode_user

    data = trained.data
    rows = np.arange(4)
    gaps = np.array([10.0, 20.0, 30.0, 40.0], dtype=np.float32)
    absent = np.array([False, True, False, True])
    out = FeatureDropout(0.0, data.schema, seed=0).apply(
        data.user_categorical[rows], data.user_numeric[rows], gaps, absent=absent
    )
    missing = encode_user(None, data.schema)
    np.testing.assert_array_equal(out.categorical[absent], np.stack([missing.categorical] * 2))
    np.testing.assert_array_equal(out.numeric[absent], np.stack([missing.numeric] * 2))
    np.testing.assert_array_equal(out.seconds_since_last[absent], missing.seconds_since_last)
    np.testing.assert_array_equal(out.categorical[~absent], data.user_categorical[[0, 2]])
    np.testing.assert_array_equal(out.numeric[~absent], data.user_numeric[[0, 2]])
    np.testing.assert_array_equal(out.seconds_since_last[~absent], [10.0, 30.0])
    assert (data.user_categorical[[1, 3]] != missing.categorical).any()


def test_unknown_epoch_selection_is_refused(trained) -> None:
    from dataclasses import replace

    from trainers.config import RankerConfig
    from trainers.holdout import holdout_set
    from trainers.train_ranker import train_ranker

    config = replace(RankerConfig(), select_on="test")
    valid = holdout_set(trained.data, "valid")
    with pytest.raises(ValueError, match="select_on"):
        train_ranker(trained.data, trained.candidate_model, config, valid, seed=0)


def test_validation_keeps_the_candidate_order_only_where_the_ranker_adds_nothing(trained) -> None:
    """The trained ranker beats the candidates' own order on validation and keeps a blend below
    1; the same ranker with a constant output (it cannot reorder anything) gets blend 1, the
    candidates' own order, its logits the generator's (retrieval score / temperature)."""
    import copy

    import numpy as np

    from trainers.config import RankerConfig
    from trainers.distributed import LOCAL
    from trainers.holdout import holdout_set
    from trainers.inference import rank_scores, retrieve_candidates
    from trainers.models import Ranker
    from trainers.train_ranker import _choose_blend, validation_ndcg

    data, model = trained.data, trained.candidate_model
    valid = holdout_set(data, "valid")
    _, codes, scores = retrieve_candidates(
        model, data, valid.user_rows, valid.histories, 100, context=valid.context
    )

    def validate(ranker: Ranker) -> dict[str, float]:
        return validation_ndcg(ranker, data, valid, codes, scores)

    blends = RankerConfig().blends
    learned = _choose_blend(copy.deepcopy(trained.ranker), LOCAL, validate, blends)
    assert learned["blend"] < 1.0
    assert learned["valid_ndcg@10"] > learned["valid_ndcg@10_candidates_only"]
    constant = copy.deepcopy(trained.ranker)
    last = [m for m in constant.mlp.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
    kept = _choose_blend(constant, LOCAL, validate, blends)
    assert kept["blend"] == 1.0 and float(constant.passthrough) == 1.0
    assert kept["valid_ndcg@10"] == kept["valid_ndcg@10_candidates_only"]
    rows, histories, gaps = valid.user_rows[:8], valid.histories[:8], valid.seconds_since_last[:8]
    logits = rank_scores(constant, data, rows, histories, codes[:8], scores[:8], gaps)
    temperature = model.config.temperature
    np.testing.assert_allclose(logits, scores[:8] / temperature, rtol=1e-5)


def test_the_blend_is_the_best_on_validation_ties_to_the_candidate_order() -> None:
    """The share of the generator's logits with the best validation number is kept; where the
    network adds nothing (every share equal), the candidates' own order (1)."""
    from trainers.distributed import LOCAL
    from trainers.train_ranker import _choose_blend

    class Blended(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("passthrough", torch.zeros(()))

    def peaked(model: torch.nn.Module) -> dict[str, float]:
        return {"valid_ndcg@10": 0.2 - abs(float(model.passthrough) - 0.25)}

    model = Blended()
    blends = (0.0, 0.25, 0.5, 0.75, 1.0)
    kept = _choose_blend(model, LOCAL, peaked, blends)  # type: ignore[arg-type]
    assert kept["blend"] == 0.25 and float(model.passthrough) == 0.25
    assert kept["valid_ndcg@10"] == pytest.approx(0.2)
    def flat(_: torch.nn.Module) -> dict[str, float]:
        return {"valid_ndcg@10": 0.1}

    kept = _choose_blend(model, LOCAL, flat, blends)  # type: ignore[arg-type]
    assert kept["blend"] == 1.0 and float(model.passthrough) == 1.0


def test_a_blended_ranker_mixes_its_logits_with_the_generators(trained) -> None:
    """Blend b serves (1 - b) * the network's logits + b * retrieval score / temperature."""
    import copy

    import numpy as np

    from trainers.holdout import holdout_set
    from trainers.inference import rank_scores, retrieve_candidates

    data, ranker = trained.data, copy.deepcopy(trained.ranker)
    valid = holdout_set(data, "valid")
    rows, histories, gaps = valid.user_rows[:8], valid.histories[:8], valid.seconds_since_last[:8]
    _, codes, scores = retrieve_candidates(trained.candidate_model, data, rows, histories, 20)

    def logits(share: float) -> np.ndarray:
        ranker.passthrough.fill_(share)
        return rank_scores(ranker, data, rows, histories, codes, scores, gaps)

    network, generator = logits(0.0), scores / trained.candidate_model.config.temperature
    assert np.abs(network - generator).max() > 1e-2
    expected = 0.75 * network + 0.25 * generator
    np.testing.assert_allclose(logits(0.25), expected, rtol=1e-4, atol=1e-5)
