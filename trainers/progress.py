"""Per-epoch progress lines through ``logging`` (epoch, loss, validation metric, time left).

Each epoch is also kept as a record (stage, epoch, loss, metrics, seconds) when a ``history``
list is given, so that training curves can be saved and plotted afterwards.
"""

from __future__ import annotations

import logging
import time

EpochRecord = dict[str, float | str]


class EpochProgress:
    """Logs one line per epoch with an estimate of the time left for this stage."""

    def __init__(
        self,
        logger: logging.Logger,
        stage: str,
        epochs: int,
        history: list[EpochRecord] | None = None,
    ) -> None:
        self.logger, self.stage, self.epochs = logger, stage, epochs
        self.history = history
        self.start = time.perf_counter()

    def epoch(self, epoch: int, loss: float, metrics: dict[str, float]) -> None:
        """Log epoch ``epoch`` (0-based) and append its record to the history, if any."""
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
        if self.history is not None:
            record: EpochRecord = {"stage": self.stage, "epoch": epoch + 1, "loss": loss}
            record.update(metrics)
            record["seconds"] = elapsed
            self.history.append(record)
