"""Training threads (half the cores by default, an explicit count applied, zero refused) and
the peak-RSS log line."""

from __future__ import annotations

import logging
import resource

import pytest
import torch

from trainers import threads
from trainers.memory import log_peak_rss


def test_default_leaves_half_the_cores_free(monkeypatch: pytest.MonkeyPatch) -> None:
    for cores, expected in ((1, 1), (2, 1), (3, 1), (16, 8)):
        monkeypatch.setattr(threads, "available_cores", lambda cores=cores: cores)
        assert threads.default_threads() == expected


def test_use_threads_sets_torch_and_refuses_zero() -> None:
    before = torch.get_num_threads()
    try:
        assert threads.use_threads(1) == 1 and torch.get_num_threads() == 1
        assert threads.use_threads(None) == threads.default_threads()
        assert torch.get_num_threads() == threads.default_threads()
        with pytest.raises(ValueError, match="at least 1"):
            threads.use_threads(0)
    finally:
        torch.set_num_threads(before)


def test_peak_rss_is_logged_in_bytes_and_never_falls(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="trainers.memory"):
        first = log_peak_rss("start")
        block = bytearray(64 * 2**20)
        second = log_peak_rss("a 64 MiB block")
    del block
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert 2**20 < first <= second <= kilobytes * 1024 < 2**40  # bytes, not kilobytes
    assert f"peak RSS after a 64 MiB block: {second / 2**20:.0f} MiB" in caplog.text
