"""The compressor's running time as the meter saw it, for any interval heat accounting asks.

The meter's accounting knows, reading by reading, whether the compressor ran (power above
HEATPUMP_RUNNING_W, with hysteresis). The heat pump is polled every 5 minutes, on its own
clock, and a poll may fail: so the meter's running time is kept per reading interval for a
few hours, and heat accounting asks for exactly the interval between two heat pump samples.
Nothing is lost when a Viessmann poll fails (the next one asks for the whole interval),
and an interval the meter did not cover is "unknown", never "0 s": `between` returns the
seconds the meter covered beside the running seconds, so "covered, 0 s running" (the
compressor was off: 0 heat) and "not covered" (fall back, or leave a gap) differ.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import deque
from datetime import datetime, timedelta

KEEP = timedelta(hours=6)  # the longest heat pump gap the metered runtime estimate bridges


class RunningLedger:
    """Per meter reading interval: (end, covered seconds, running seconds). Thread-safe: the
    meter's and the heat pump's polls run in different threads."""

    def __init__(self, keep: timedelta = KEEP):
        self._keep = keep
        self._ends: deque[datetime] = deque()
        self._rows: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def add(self, end: datetime, covered_s: float, running_s: float) -> None:
        """The meter covered `covered_s` seconds up to `end`, `running_s` of them running."""
        if covered_s <= 0:
            return
        with self._lock:
            if self._ends and end <= self._ends[-1]:
                return  # out of order: the interval is already accounted for
            self._ends.append(end)
            self._rows.append((covered_s, min(max(running_s, 0.0), covered_s)))
            while self._ends and self._ends[0] < end - self._keep:
                self._ends.popleft()
                self._rows.popleft()

    def between(self, start: datetime, end: datetime) -> tuple[float, float]:
        """(running seconds, covered seconds) within (start, end]; an interval that only
        partly overlaps counts pro rata (the compressor state is constant within one)."""
        running = covered = 0.0
        with self._lock:
            ends = list(self._ends)
            rows = list(self._rows)
        for i in range(bisect_right(ends, start), len(ends)):
            t1 = ends[i]
            cov, run = rows[i]
            t0 = t1 - timedelta(seconds=cov)
            if t0 >= end:
                break
            overlap = (min(t1, end) - max(t0, start)).total_seconds()
            if overlap <= 0:
                continue
            covered += overlap
            running += run * overlap / cov
        return running, covered
