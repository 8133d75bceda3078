"""What happened when in one training process: log records and resident memory over time.

The pipeline says where it is through its INFO log lines (``trainers.pipeline`` after reading
and splitting, ``trainers.memory`` between the two, ``trainers.train_candidates`` when its examples are built and after every epoch,
``trainers.train_ranker`` when its lists are built and after every epoch, ``export.*`` while
exporting). :func:`phases` turns those records into seconds per phase, and the memory samples
into the peak resident memory of each phase, without any timing code in the pipeline itself.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


@dataclass(frozen=True)
class Event:
    """One log record: seconds since the start, logger name, message."""

    t: float
    logger: str
    message: str


class Timeline(logging.Handler):
    """A logging handler keeping every record's time, plus a thread sampling RSS."""

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__(logging.INFO)
        self.interval = interval
        self.start = time.perf_counter()
        self.events: list[Event] = []
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def now(self) -> float:
        """Seconds since the timeline started."""
        return time.perf_counter() - self.start

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(Event(self.now(), record.name, record.getMessage()))
        self.samples.append((self.now(), rss_bytes()))

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append((self.now(), rss_bytes()))

    def __enter__(self) -> Timeline:
        logging.getLogger().addHandler(self)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        logging.getLogger().removeHandler(self)

    def peak_mb(self, begin: float, end: float) -> float:
        """Peak sampled RSS between two times (MB)."""
        inside = [rss for t, rss in self.samples if begin <= t <= end]
        return round(max(inside, default=0) / MB, 1)


def rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def _first(events: list[Event], logger: str, after: float = -1.0) -> Event:
    found = [e for e in events if e.logger.startswith(logger) and e.t > after]
    if not found:
        raise RuntimeError(f"no log record from {logger!r}: did the pipeline's logging change?")
    return found[0]


def _last(events: list[Event], logger: str, before: float) -> Event:
    found = [e for e in events if e.logger.startswith(logger) and e.t < before]
    if not found:
        raise RuntimeError(f"no log record from {logger!r}: did the pipeline's logging change?")
    return found[-1]


def count_in(message: str, noun: str) -> int:
    """The number before ``noun`` in a message ("... 940307 examples ..." -> 940307)."""
    found = re.search(rf"(\d[\d,]*) {noun}", message)
    if found is None:
        raise RuntimeError(f"no count of {noun!r} in {message!r}")
    return int(found.group(1).replace(",", ""))


def phases(timeline: Timeline, end: float, index_seconds: float) -> dict[str, Any]:
    """Seconds and peak RSS per phase, and the example counts the phases logged.

    ``index_seconds`` (HNSW build + clustered layout, from the manifest) is taken out of the
    export phase, which holds it (the export's peak RSS covers the index build too).
    """
    events = timeline.events
    read = _first(events, "trainers.pipeline")
    examples = _first(events, "trainers.train_candidates", read.t)
    lists = _first(events, "trainers.train_ranker", examples.t)
    trained = _last(events, "trainers.train_candidates", lists.t)
    ranked = _last(events, "trainers.train_ranker", end + 1.0)
    bounds = {
        "ingest": (0.0, read.t),
        "encoding": (read.t, examples.t),
        "candidate_generator": (examples.t, trained.t),
        "ranker_lists": (trained.t, lists.t),
        "ranker": (lists.t, ranked.t),
        "export": (ranked.t, end),
    }
    table: dict[str, dict[str, float | None]] = {
        name: {"seconds": round(b - a, 2), "peak_rss_mb": timeline.peak_mb(a, b)}
        for name, (a, b) in bounds.items()
    }
    table["export"]["seconds"] = round(end - ranked.t - index_seconds, 2)
    read_end = [e.t for e in events if e.logger == "trainers.memory" and "after ingest" in e.message]
    if read_end:  # the pipeline's peak-RSS line between reading and splitting
        table["ingest"]["read_seconds"] = round(read_end[0], 2)
        table["ingest"]["split_seconds"] = round(read.t - read_end[0], 2)
    table["index_build"] = {"seconds": round(index_seconds, 2), "peak_rss_mb": None}
    return {
        "phases": table,
        "candidate_examples": count_in(examples.message, "examples"),
        "ranker_lists": count_in(lists.message, "lists"),
    }


LOG_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d) \w+ ([\w.]+): (.*)$")
"""A line of ``ytrec_infer.cli.setup_logging``'s format: ``HH:MM:SS LEVEL logger: message``."""

MARKERS = (
    ("ingest", "trainers.pipeline", " train / "),
    ("encoding", "trainers.train_candidates", " examples"),
    ("candidate_generator", "trainers.memory", "after candidate generator"),
    ("ranker_lists", "trainers.train_ranker", " lists"),
    ("ranker", "trainers.memory", "after ranker:"),
    ("export", "trainers.memory", "after export"),
)
"""The line that ends each phase in a job's log, by logger and a piece of its message."""


def events_from_log(text: str) -> list[Event]:
    """The records of a job's log file, seconds counted from its first line (whole seconds:
    the format has no fractions)."""
    events: list[Event] = []
    first: int | None = None
    for line in text.splitlines():
        found = LOG_LINE.match(line)
        if found is None:
            continue
        hours, minutes, seconds = (int(found.group(i)) for i in (1, 2, 3))
        stamp = hours * 3600 + minutes * 60 + seconds
        first = stamp if first is None else first
        events.append(Event(float((stamp - first) % 86400), found.group(4), found.group(5)))
    return events


def completed_phases(events: list[Event]) -> dict[str, Any]:
    """From the log of a job stopped early: the seconds of every phase that ended, the
    high-water RSS the pipeline logged at its end, and the phase it was in when stopped."""
    table: dict[str, dict[str, float | None]] = {}
    begin = 0.0
    for name, logger, piece in MARKERS:
        end = next((e for e in events if e.logger == logger and piece in e.message
                    and e.t >= begin), None)
        if end is None:
            last = events[-1].t if events else 0.0
            return {"phases": table, "stopped_in": name, "stopped_in_seconds": last - begin}
        peak = re.search(r"(\d+) MiB", end.message) if logger == "trainers.memory" else None
        table[name] = {"seconds": end.t - begin,
                       "peak_rss_mb": float(peak.group(1)) if peak else None}
        begin = end.t
    return {"phases": table, "stopped_in": None, "stopped_in_seconds": 0.0}
