"""The scale benchmark: synthetic logs of each size through the whole training job.

    python -m benchmarks.scale.run --rows 1000000 [--rows 10000000] [--label TEXT]

For each size it writes the synthetic log once (``benchmarks/scale/generator.py``, cached
under ``--data-dir``), then trains, exports and indexes it in a fresh process
(``benchmarks/scale/job.py``), whose peak RSS comes from ``wait4`` and whose phases come from
the pipeline's own log lines. Each run is added to ``--results`` (a run of the same label and
size replaces the older one), with the load average before and after it: on a shared machine
absolute times are pessimistic, ratios within one label are what to compare. When a label has
both 1M and 10M runs, the 1M-to-10M cost ratio per phase is computed, and a 100M row
extrapolated from it (the same growth for the next factor of ten; an extrapolation, not a
measurement). The table is rendered into ``benchmarks/scale/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.scale.generator import spec_for
from benchmarks.scale.report import growth, render_into
from benchmarks.scale.timeline import completed_phases, count_in, events_from_log

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
README = ROOT / "benchmarks" / "scale" / "README.md"


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _commit() -> str:
    """The checkout's commit (short), ``+dirty`` when it has uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else "")


def timed_child(
    args: list[str], log: Path, threads: int, timeout: float | None = None
) -> dict[str, float | bool]:
    """Run ``python -m ARGS`` in a fresh process; its wall seconds and peak RSS (MB), and
    whether it was stopped at ``timeout`` seconds (then killed, not an error)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    stopped = False
    with log.open("w") as handle:
        child = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env,
                                 stdout=handle, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - started > timeout:
                child.kill()
                stopped = True
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.5)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 and not stopped:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise RuntimeError(f"{' '.join(args)} failed ({child.returncode}); see {log}:\n{tail}")
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "stopped": stopped,
    }


def ensure_log(folder: Path, rows: int, users: int | None, items: int | None,
               seed: int, threads: int, log_format: str = "parquet") -> dict[str, Any]:
    """The log of this size in ``folder``, written in a fresh process unless already there
    with the same spec (and ``log.csv`` for ``log_format="csv"``); returns its ``spec.json``
    plus the generation's cost."""
    from dataclasses import asdict

    wanted = asdict(spec_for(rows, seed, users, items))
    spec_file = folder / "spec.json"
    if (
        spec_file.exists()
        and json.loads(spec_file.read_text())["spec"] == wanted
        and (folder / f"log.{log_format}").exists()
    ):
        return dict(json.loads(spec_file.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
    command = ["benchmarks.scale.generator", "--rows", str(rows), "--out", str(folder),
               "--seed", str(seed)]
    command += ["--users", str(wanted["users"]), "--items", str(wanted["items"])]
    command += ["--csv"] if log_format == "csv" else []
    cost = timed_child(command, folder / "generate.log", threads)
    written = dict(json.loads(spec_file.read_text()))
    written["generator_peak_rss_mb"] = cost["peak_rss_mb"]
    spec_file.write_text(json.dumps(written, indent=2))
    return written


def full_epoch_estimate(run: dict[str, Any], defaults: dict[str, int]) -> dict[str, float]:
    """Seconds of each network at its default epoch count, from the measured seconds per
    epoch of a run that trained fewer epochs (an estimate: early stopping may stop sooner)."""
    estimate = {}
    for phase, default in defaults.items():
        network = run["networks"][phase]
        estimate[phase] = round(run["phases"][phase]["seconds"] / network["epochs"] * default, 1)
    others = sum(p["seconds"] for name, p in run["phases"].items() if name not in defaults)
    estimate["total"] = round(others + sum(estimate.values()), 1)
    return estimate


def partial_job(log: Path, seconds: float) -> dict[str, Any]:
    """The measurements of a job stopped before it finished, from its log: the phases that
    ended, the one it was in, and the peak RSS the pipeline logged last."""
    events = events_from_log(log.read_text())
    done = completed_phases(events)
    peaks = [float(m.group(1)) for e in events if e.logger == "trainers.memory"
             for m in [re.search(r"(\d+) MiB", e.message)] if m]
    counts = {}
    for phase, logger, noun in (("candidate_generator", "trainers.train_candidates", "examples"),
                                ("ranker", "trainers.train_ranker", "lists")):
        line = next((e for e in events if e.logger == logger and f" {noun}" in e.message), None)
        counts[phase] = count_in(line.message, noun) if line else None
    return {
        "partial": True,
        "stopped_after_seconds": seconds,
        "stopped_in": done["stopped_in"],
        "stopped_in_seconds": round(max(
            done["stopped_in_seconds"],
            seconds - sum(float(phase["seconds"]) for phase in done["phases"].values()),
        ), 1),
        "phases": done["phases"],
        "networks": {phase: {"examples": n} for phase, n in counts.items()},
        "logged_peak_rss_mb": max(peaks, default=None),
        "metrics": {},
    }


def run_size(args: argparse.Namespace, rows: int) -> dict[str, Any]:
    """Write (or reuse) the log of ``rows`` interactions and measure one training job on it."""
    from trainers.config import CandidateConfig, RankerConfig

    folder = args.data_dir / f"rows-{rows}-seed-{args.seed}"
    if args.users is not None or args.items is not None:
        folder = folder.with_name(f"{folder.name}-{args.users}u-{args.items}i")
    spec = ensure_log(folder, rows, args.users, args.items, args.seed, args.threads,
                      args.format)
    artifact = folder / "artifact"
    subprocess.run(["rm", "-rf", str(artifact)], check=True)
    command = ["benchmarks.scale.job", "--log", str(folder), "--out", str(artifact),
               "--json", str(folder / "job.json"), "--preset", args.preset,
               "--threads", str(args.threads), "--log-file", f"log.{args.format}"]
    for flag, value in (("--candidate-epochs", args.candidate_epochs),
                        ("--ranker-epochs", args.ranker_epochs)):
        if value is not None:
            command += [flag, str(value)]
    load_before = _load_average()
    cost = timed_child(command, folder / "train.log", args.threads, args.timeout)
    measured = (
        partial_job(folder / "train.log", cost["seconds"]) if cost["stopped"]
        else json.loads((folder / "job.json").read_text())
    )
    run: dict[str, Any] = {
        "label": args.label,
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rows_requested": rows,
        "format": args.format,
        "rows": spec["rows_written"],
        "users": spec["spec"]["users"],
        "items": spec["spec"]["items"],
        "log_column_mb": spec["log_column_mb"],
        "generator": {"seconds": round(spec["seconds"], 2),
                      "peak_rss_mb": spec.get("generator_peak_rss_mb")},
        **measured,
        "wall_seconds": cost["seconds"],
        "peak_rss_mb": cost["peak_rss_mb"],
        "load_average_before": load_before,
        "load_average_after": _load_average(),
        "cpus": os.cpu_count(),
    }
    defaults = {"candidate_generator": CandidateConfig().epochs, "ranker": RankerConfig().epochs}
    capped = args.candidate_epochs is not None or args.ranker_epochs is not None
    if args.preset == "default" and capped and not cost["stopped"]:
        run["full_epochs_estimate"] = full_epoch_estimate(run, defaults)
    if not args.keep_artifact:
        subprocess.run(["rm", "-rf", str(artifact)], check=True)
    return run


def record(results: Path, run: dict[str, Any]) -> dict[str, Any]:
    """Add ``run`` to the results file (replacing the same label and size) and recompute the
    growth of every label measured at 1M and 10M."""
    payload = json.loads(results.read_text()) if results.exists() else {"runs": []}
    payload["runs"] = [
        r for r in payload["runs"]
        if (r["label"], r["rows_requested"]) != (run["label"], run["rows_requested"])
    ] + [run]
    payload["growth"] = growth(payload["runs"])
    results.parent.mkdir(parents=True, exist_ok=True)
    tmp = results.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(results)
    return payload


def main(argv: list[str] | None = None) -> None:
    """Command line: measure each ``--rows`` size, record it, re-render the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, action="append", required=True,
                        help="interactions of one size (repeat for several)")
    parser.add_argument("--users", type=int, default=None, help="override the size's users")
    parser.add_argument("--items", type=int, default=None, help="override the size's items")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default=None, help="default: main@<commit>")
    parser.add_argument("--preset", choices=["default", "small"], default="default")
    parser.add_argument("--candidate-epochs", type=int, default=None,
                        help="train fewer epochs (the full count is then estimated)")
    parser.add_argument("--ranker-epochs", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenMP threads")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                        help="which log file the job reads")
    parser.add_argument("--data-dir", type=Path,
                        default=Path.home() / ".cache" / "ytrec" / "scale")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--keep-artifact", action="store_true")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop a job after this many seconds and record the phases it "
                        "finished (a partial run)")
    args = parser.parse_args(argv)
    args.label = args.label or f"main@{_commit()}" + (" csv" if args.format == "csv" else "")
    for rows in args.rows:
        payload = record(args.results, run_size(args, rows))
        if args.readme.exists():
            render_into(args.readme, payload)
        last = payload["runs"][-1]
        print(f"{rows} rows: {last['wall_seconds']:.0f} s, peak {last['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
