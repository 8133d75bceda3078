"""Per-epoch progress lines through ``logging`` (epoch, loss, validation metric, time left)."""

from __future__ import annotations

import logging
import time


class EpochProgress:
    """Logs one line per epoch with an estimate of the time left for this stage."""

    def __init__(self, logger: logging.Logger, stage: str, epochs: int) -> None:
        self.logger, self.stage, self.epochs = logger, stage, epochs
        self.start = time.perf_counter()

    def epoch(self, epoch: int, loss: float, metrics: dict[str, float]) -> None:
        elapsed = time.perf_counter() - self.start
        left = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        self.logger.info(
            "%s epoch %d/%d loss=%.4f %s (%.0fs, ~%.0fs left)",
            self.stage,
            epoch + 1,
            self.epochs,
            loss,
            shown,
            elapsed,
            left,
        )
