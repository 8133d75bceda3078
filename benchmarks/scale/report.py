"""The scale results as numbers of growth (1M -> 10M, extrapolated 100M) and a Markdown table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PHASES = (
    "ingest",
    "encoding",
    "candidate_generator",
    "ranker_lists",
    "ranker",
    "export",
    "index_build",
)
START, END = "<!-- scale-table -->", "<!-- /scale-table -->"


def growth(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per label measured at both 1M and 10M interactions: the cost ratio of each phase both
    runs finished (of the whole job and the peak RSS when neither was stopped), and the 100M
    figures extrapolated by applying the same ratio once more (``extrapolated: true``: not
    measured)."""
    out = []
    by_size = {(r["label"], r["rows_requested"]): r for r in runs}
    for label in dict.fromkeys(r["label"] for r in runs):
        small, large = by_size.get((label, 1_000_000)), by_size.get((label, 10_000_000))
        if small is None or large is None:
            continue
        ratio: dict[str, float | None] = {}
        projected: dict[str, float | None] = {}
        for phase in PHASES:
            a = small["phases"].get(phase, {}).get("seconds")
            b = large["phases"].get(phase, {}).get("seconds")
            ratio[phase] = round(b / a, 2) if a and b is not None else None
            projected[phase] = round(b * b / a, 1) if a and b is not None else None
        whole = not (small.get("partial") or large.get("partial"))
        for key in ("total_seconds", "peak_rss_mb"):
            ratio[key] = round(large[key] / small[key], 2) if whole else None
            projected[key] = round(large[key] * large[key] / small[key], 1) if whole else None
        out.append(
            {
                "label": label,
                "ratio_10m_over_1m": ratio,
                "rows_100m": {"extrapolated": True, **projected},
            }
        )
    return out


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 60:.1f} min" if value >= 600 else f"{value:.0f} s"


def _phase(run: dict[str, Any], phase: str) -> str:
    """A phase's seconds; for a run stopped early, "stopped after" the time spent in the
    phase it was in, and nothing for the phases it never reached."""
    if phase in run["phases"]:
        return _seconds(run["phases"][phase]["seconds"])
    if run.get("stopped_in") == phase:
        return f"stopped after {_seconds(run['stopped_in_seconds'])}"
    return "-"


def _network(run: dict[str, Any], phase: str) -> str:
    epochs = run["networks"][phase].get("epochs")
    return _phase(run, phase) + (f" ({epochs} ep)" if epochs is not None else "")


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value}x"


def _rate(network: dict[str, Any]) -> str:
    """Examples/s over the network's phase, and of its training steps alone when recorded."""
    train = network.get("train_examples_per_second")
    if "examples_per_second" not in network:
        return "-"
    whole = f"{network['examples_per_second']:,}"
    return f"{whole} ({train:,} train)" if train else whole


def _metric(run: dict[str, Any], key: str) -> str:
    value = run["metrics"].get(key)
    return "" if value is None else f"{value:.4f}"


def table(payload: dict[str, Any]) -> str:
    """The runs, then the growth rows, as Markdown."""
    lines = [
        "| label | rows | users / items | ingest | encoding | candidate gen. | ex/s | ranker lists"
        " | ranker | export | index | total | est. full epochs | peak RSS | log columns (RSS /)"
        " | Recall@100 | NDCG@10 | load avg before / after |",
        "|" + "---|" * 18,
    ]
    for run in payload["runs"]:
        estimate = run.get("full_epochs_estimate", {}).get("total")
        total = (f"stopped at {_seconds(run['stopped_after_seconds'])}" if run.get("partial")
                 else _seconds(run["total_seconds"]))
        lines.append(
            "| " + " | ".join([
                run["label"],
                f"{run['rows']:,}",
                f"{run['users']:,} / {run['items']:,}",
                _phase(run, "ingest"),
                _phase(run, "encoding"),
                _network(run, "candidate_generator"),
                _rate(run["networks"]["candidate_generator"]),
                _phase(run, "ranker_lists"),
                _network(run, "ranker"),
                _phase(run, "export"),
                _phase(run, "index_build"),
                total,
                _seconds(estimate),
                f"{run['peak_rss_mb'] / 1024:.2f} GB",
                f"{run['log_column_mb']:.0f} MB ({run['peak_rss_mb'] / run['log_column_mb']:.0f}x)",
                _metric(run, "valid_recall@100"),
                _metric(run, "valid_ndcg@10"),
                f"{run['load_average_before'].split(',')[0]} / "
                f"{run['load_average_after'].split(',')[0]}",
            ]) + " |"
        )
    for grown in payload.get("growth", []):
        ratio, projected = grown["ratio_10m_over_1m"], grown["rows_100m"]
        cells = [f"{ratio[p]}x" if ratio[p] is not None else "" for p in PHASES]
        lines.append(
            f"| {grown['label']} | 10M / 1M cost | | " + " | ".join(cells[:3]) + " | | "
            + " | ".join(cells[3:]) + f" | {_ratio(ratio['total_seconds'])} | | "
            f"{_ratio(ratio['peak_rss_mb'])} | | | | |"
        )
        cells = [_seconds(projected[p]) for p in PHASES]
        peak = projected["peak_rss_mb"]
        lines.append(
            f"| {grown['label']} | 100M **extrapolated** | | " + " | ".join(cells[:3]) + " | | "
            + " | ".join(cells[3:]) + f" | {_seconds(projected['total_seconds'])} | | "
            + (f"{peak / 1024:.1f} GB" if peak is not None else "") + " | | | | |"
        )
    return "\n".join(lines)


def render_into(readme: Path, payload: dict[str, Any]) -> None:
    """Replace the table between the markers of ``readme`` with the current one."""
    text = readme.read_text()
    block = f"{START}\n{table(payload)}\n{END}"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _: block, text) if pattern.search(text)
                      else text.rstrip() + "\n\n" + block + "\n")
