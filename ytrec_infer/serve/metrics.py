"""Request counts, per-stage latency histograms and the serving version, in Prometheus text.

Hand-written (the text exposition format is a few lines per metric) so the ``serve`` extra
needs no metrics library. Counters and histograms are updated from the event loop and from
the worker threads, so every update takes one lock. Each worker process keeps its own numbers.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterable

# Upper bounds in seconds: a request takes about a millisecond, a reload a few seconds.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STAGES = ("queue", "parse", "model", "encode", "total")
MODEL_STAGES = ("prepare", "embed", "retrieve", "rank")
"""The parts of ``model`` for ``/recommend`` (:func:`ytrec_infer.stages.timing_stages`)."""
STAGE_HELP = (
    "# HELP ytrec_stage_seconds Time per request stage: waiting for a thread (queue), reading"
    " and validating (parse), the recommender (model), writing JSON (encode), the whole (total);"
    " for /recommend also the recommender's own stages: validating and encoding (prepare),"
    " the user tower (embed), stage one's search (retrieve), the ranker and top k (rank)."
)


def _label(value: str) -> str:
    """A label value escaped as the text format requires (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Histogram:
    """Cumulative bucket counts, sum and count of observed seconds."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def lines(self, name: str, labels: str) -> Iterable[str]:
        running = 0
        for bound, count in zip((*map(str, BUCKETS), "+Inf"), self.counts):
            running += count
            yield f'{name}_bucket{{{labels},le="{bound}"}} {running}'
        yield f"{name}_sum{{{labels}}} {self.total:.6f}"
        yield f"{name}_count{{{labels}}} {running}"


class Metrics:
    """The server's numbers: requests by route and status, stage latencies, reloads, version.

    >>> metrics = Metrics()
    >>> metrics.count("/recommend", 200)
    >>> 'ytrec_requests_total{route="/recommend",status="200"} 1' in metrics.render("v1")
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self._stages: defaultdict[tuple[str, str], Histogram] = defaultdict(Histogram)
        self._reloads: defaultdict[str, int] = defaultdict(int)
        self._in_flight = 0

    def count(self, route: str, status: int) -> None:
        """One answered request."""
        with self._lock:
            self._requests[(route, status)] += 1

    def observe(self, route: str, stage: str, seconds: float) -> None:
        """The time one request spent in one stage (see :data:`STAGES`, :data:`MODEL_STAGES`)."""
        with self._lock:
            self._stages[(route, stage)].observe(seconds)

    def reloaded(self, outcome: str) -> None:
        """One reload attempt: ``"swapped"``, ``"unchanged"`` or ``"failed"``."""
        with self._lock:
            self._reloads[outcome] += 1

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def render(self, version: str | None) -> str:
        """Everything in the Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            lines = [
                "# HELP ytrec_requests_total HTTP requests answered, by route and status code.",
                "# TYPE ytrec_requests_total counter",
            ]
            for (route, status), n in sorted(self._requests.items()):
                lines.append(
                    f'ytrec_requests_total{{route="{_label(route)}",status="{status}"}} {n}'
                )
            lines += [
                STAGE_HELP,
                "# TYPE ytrec_stage_seconds histogram",
            ]
            for (route, stage), histogram in sorted(self._stages.items()):
                labels = f'route="{_label(route)}",stage="{stage}"'
                lines += histogram.lines("ytrec_stage_seconds", labels)
            lines += [
                "# HELP ytrec_reloads_total Checks of the root for a newer version, by outcome.",
                "# TYPE ytrec_reloads_total counter",
            ]
            lines += [
                f'ytrec_reloads_total{{outcome="{o}"}} {n}'
                for o, n in sorted(self._reloads.items())
            ]
            lines += [
                "# HELP ytrec_in_flight_requests Requests being answered now.",
                "# TYPE ytrec_in_flight_requests gauge",
                f"ytrec_in_flight_requests {self._in_flight}",
                "# HELP ytrec_model_info The artifact version serving now (value 1).",
                "# TYPE ytrec_model_info gauge",
            ]
            if version is not None:
                lines.append(f'ytrec_model_info{{version="{_label(version)}"}} 1')
        return "\n".join(lines) + "\n"
