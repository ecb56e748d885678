"""Offline runs: poll sources at given times, in order, through the collector's own handling.

`heatpump demo` (simulated devices) and `heatpump replay` (a recording, or dumps with
times) run long spans as fast as the machine allows: no scheduler, no threads, no sleeping;
the clock is set to each poll's time and `Collector.poll_now` does what a scheduled poll
does (the same readers, mapping, accounting, health and sink), except that the points of
polls that change nothing but data go to the sink together (issue 16: no per-poll write).
`heatpump collect` and `heatpump demo --live` run the same sources under the real scheduler
instead.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from collector.service import Collector, Source, VirtualClock

Poll = tuple[datetime, Source]


def run_polls(collector: Collector, polls: Iterable[Poll], clock: VirtualClock,
              progress: Callable[[datetime], None] | None = None) -> None:
    """Each (time, source) in order: the clock jumps there and the source is polled; then
    the collector shuts down (accounting flushed, state saved, store closed)."""
    collector.start()
    try:
        for when, source in polls:
            clock.set(when)
            collector.poll_now(source, merge=True)
            if progress is not None:
                progress(when)
    finally:
        collector.shutdown()


def every(source: Source, start: datetime, end: datetime,
          offset: timedelta = timedelta(0)) -> Iterator[Poll]:
    """`source` every `source.interval_s` from `start + offset` up to (not including) end."""
    step = timedelta(seconds=source.interval_s)
    t = start + offset
    while t < end:
        yield t, source
        t += step


def merged(*schedules: Iterable[Poll]) -> Iterator[Poll]:
    """Several schedules in time order (an earlier schedule first on a tie)."""
    def keyed(rank: int, schedule: Iterable[Poll]) -> Iterator[tuple[datetime, int, Source]]:
        for t, source in schedule:
            yield t, rank, source

    streams = [keyed(rank, schedule) for rank, schedule in enumerate(schedules)]
    for t, _, source in heapq.merge(*streams, key=lambda e: (e[0], e[1])):
        yield t, source
