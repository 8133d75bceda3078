"""The PNG of a ``ytrec-bench`` run: ef against recall and latency, and per-stage latency.

matplotlib is optional (the ``plot`` extra); without it :func:`write_plot` returns False and
the command says so, since the numbers are all in the table and the JSON anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_plot(report: Mapping[str, Any], path: Path) -> bool:
    """Write the PNG of a benchmark report (``BenchResult.to_dict()``); False without matplotlib."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    figure, (curve_axes, stage_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    curve = (report.get("recall") or {}).get("curve") or []
    if curve:
        curve_axes.plot([p["p50_us"] for p in curve], [p["recall"] for p in curve], marker="o")
        for point in curve:
            curve_axes.annotate(f"ef {point['ef']}", (point["p50_us"], point["recall"]), fontsize=7)
        curve_axes.set_xlabel("HNSW query p50 (µs, k=100, one thread)")
        curve_axes.set_ylabel("recall@100 vs exact search")
        curve_axes.grid(alpha=0.3)
    else:
        curve_axes.text(0.5, 0.5, "exact search (recall 1)", ha="center", va="center")
        curve_axes.set_axis_off()
    stages = report["stages"]
    names = list(stages)
    for offset, key in enumerate(("p50_us", "p95_us", "p99_us")):
        xs = [i + (offset - 1) * 0.27 for i in range(len(names))]
        stage_axes.bar(xs, [stages[n][key] for n in names], width=0.27, label=key[:3])
    stage_axes.set_xticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
    stage_axes.set_ylabel("µs")
    stage_axes.legend()
    figure.suptitle(f"ytrec-bench: {report['num_items']:,} items")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
