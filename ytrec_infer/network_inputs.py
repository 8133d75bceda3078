"""The networks' input and output names, and the one builder of their user-side inputs.

Training (``trainers/inference.py``, the training loops), export (the ONNX signatures and the
parity check) and serving (:class:`~ytrec_infer.recommender.Recommender`) all name tensors with
these constants and build the per-user inputs with :func:`user_feeds`, so the three cannot
disagree on a name, a dtype or a padding rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ytrec_infer.features import UserInputs, pad_histories

HISTORY = "history"
USER_CATEGORICAL = "user_categorical"
USER_NUMERIC = "user_numeric"
EXAMPLE_AGE = "example_age"
SECONDS_SINCE_LAST = "seconds_since_last"
CANDIDATES = "candidates"
RETRIEVAL_SCORES = "retrieval_scores"
USER_VECTOR = "user_vector"
LOGITS = "logits"

TOWER_INPUTS = (HISTORY, USER_CATEGORICAL, USER_NUMERIC, EXAMPLE_AGE)
RANKER_INPUTS = (
    HISTORY,
    CANDIDATES,
    RETRIEVAL_SCORES,
    USER_CATEGORICAL,
    USER_NUMERIC,
    SECONDS_SINCE_LAST,
)


def user_feeds(
    histories: Sequence[np.ndarray],
    categorical: np.ndarray,
    numeric: np.ndarray,
    seconds_since_last: np.ndarray,
    max_history: int,
    example_age: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Both networks' per-user inputs for B users: padded histories [B, L], categorical codes
    [B, C], normalised numbers [B, N], the gap [B] and the example age [B] (0 = serving)."""
    count = len(histories)
    return {
        HISTORY: pad_histories(histories, max_history),
        USER_CATEGORICAL: np.asarray(categorical, dtype=np.int64).reshape(count, -1),
        USER_NUMERIC: np.asarray(numeric, dtype=np.float32).reshape(count, -1),
        SECONDS_SINCE_LAST: np.asarray(seconds_since_last, dtype=np.float32).reshape(count),
        EXAMPLE_AGE: (
            np.zeros(count, dtype=np.float32)
            if example_age is None
            else np.asarray(example_age, dtype=np.float32).reshape(count)
        ),
    }


def request_feeds(
    histories: Sequence[np.ndarray], users: Sequence[UserInputs], max_history: int
) -> dict[str, np.ndarray]:
    """:func:`user_feeds` for requests encoded by :func:`~ytrec_infer.features.encode_user`."""
    return user_feeds(
        histories,
        np.stack([u.categorical for u in users]) if users else np.zeros((0, 0), np.int64),
        np.stack([u.numeric for u in users]) if users else np.zeros((0, 0), np.float32),
        np.array([u.seconds_since_last for u in users], dtype=np.float32),
        max_history,
    )
