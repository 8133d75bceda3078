"""Peak resident memory of this process, logged at the end of each training phase.

``ru_maxrss`` is the high-water mark since the process started (kilobytes on Linux, bytes on
macOS), so the phase whose line first shows a jump is the one that needed the memory.
"""

from __future__ import annotations

import logging
import resource
import sys

log = logging.getLogger(__name__)


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def log_peak_rss(phase: str) -> int:
    """Log (INFO) and return the peak RSS after ``phase``."""
    peak = peak_rss_bytes()
    log.info("peak RSS after %s: %.0f MiB", phase, peak / 2**20)
    return peak
