"""Per-epoch progress lines through ``logging`` (epoch, loss, validation metric, throughput,
time left).

Each epoch is also kept as a record (stage, epoch, loss, metrics, seconds, and the training
examples per second when known) when a ``history`` list is given, so that training curves can
be saved and plotted afterwards. ``epochs`` is the cap: with early stopping the time left is an
upper bound.
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
        examples: int = 0,
    ) -> None:
        """``examples``: training rows per epoch (0: unknown, no throughput shown)."""
        self.logger, self.stage, self.epochs = logger, stage, epochs
        self.history = history
        self.examples = examples
        self.start = time.perf_counter()

    def epoch(
        self,
        epoch: int,
        loss: float,
        metrics: dict[str, float],
        train_seconds: float | None = None,
    ) -> None:
        """Log epoch ``epoch`` (0-based) and append its record to the history, if any;
        ``train_seconds`` (the epoch's training steps, validation excluded) gives the
        examples per second."""
        elapsed = time.perf_counter() - self.start
        left = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
        shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
        rate = self.examples / train_seconds if train_seconds and self.examples else None
        self.logger.info(
            "%s epoch %d/%d loss=%.4f %s%s (%.0fs, <=%.0fs left)",
            self.stage,
            epoch + 1,
            self.epochs,
            loss,
            shown,
            f" {rate:,.0f} ex/s" if rate else "",
            elapsed,
            left,
        )
        if self.history is not None:
            record: EpochRecord = {"stage": self.stage, "epoch": epoch + 1, "loss": loss}
            record.update(metrics)
            record["seconds"] = elapsed
            if rate:
                record["examples_per_s"] = rate
            self.history.append(record)
