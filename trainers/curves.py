"""Training curves: the per-epoch history as JSON and as a PNG (matplotlib, the ``plot`` extra).

One row of panels per stage (candidate generator, ranker): training loss on the left, the
validation metrics on the right, by epoch, with a dashed line at the epoch that was kept (the
best by the stage's first metric, as the trainers choose). Files are written to a temporary name and renamed,
so an interrupted run never leaves a half-written plot or history.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainers.progress import EpochRecord

PLOT_EXTRA_HINT = "plotting needs matplotlib: `pip install 'ytrec-infer[plot]'`"
_NOT_METRICS = frozenset({"stage", "epoch", "loss", "seconds", "examples_per_s"})


def require_matplotlib() -> None:
    """Raise ImportError with the install hint when matplotlib is missing (checked up front)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(PLOT_EXTRA_HINT) from None


def _write_atomically(path: Path, write: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_history(history: Sequence[EpochRecord], path: Path) -> Path:
    """Save the per-epoch records as a JSON list.

    >>> write_history([{"stage": "ranker", "epoch": 1, "loss": 0.5}], Path("h.json"))
    ... # doctest: +SKIP
    """
    text = json.dumps(list(history), indent=2)
    return _write_atomically(path, lambda tmp: tmp.write_text(text))


def plot_training_curves(history: Sequence[EpochRecord], path: Path, title: str = "") -> Path:
    """Draw loss and validation metrics per epoch for each stage into a PNG at ``path``.

    >>> plot_training_curves(result.history, Path("training_curves.png"))  # doctest: +SKIP
    """
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = list(dict.fromkeys(str(r["stage"]) for r in history))
    if not stages:
        raise ValueError("no epochs in the training history; nothing to plot")
    figure, axes = plt.subplots(len(stages), 2, figsize=(10, 3.2 * len(stages)), squeeze=False)
    for row, stage in zip(axes, stages, strict=True):
        records = [r for r in history if r["stage"] == stage]
        epochs = [int(r["epoch"]) for r in records]
        row[0].plot(epochs, [float(r["loss"]) for r in records], marker="o")
        row[0].set(title=f"{stage}: training loss", xlabel="epoch", ylabel="loss")
        names = [k for k in records[0] if k not in _NOT_METRICS]
        for name in names:
            row[1].plot(epochs, [float(r[name]) for r in records], marker="o", label=name)
        row[1].set(title=f"{stage}: validation", xlabel="epoch", ylabel="metric")
        if names:  # the first metric picks the epoch that is kept and exported
            kept = max(range(len(records)), key=lambda i: float(records[i][names[0]]))
            row[1].axvline(
                epochs[kept],
                color="grey",
                linestyle="--",
                linewidth=1,
                label=f"kept: epoch {epochs[kept]}",
            )
            row[1].legend(fontsize="small")
        for ax in row:
            ax.grid(alpha=0.3)
            ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    try:
        return _write_atomically(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
    finally:
        plt.close(figure)
