"""Offline runs: poll sources at given times, in order, through the collector's own handling.

`heatpump demo` (simulated devices) and `heatpump replay` (a recording, or dumps with
times) run long spans as fast as the machine allows: no scheduler, no threads, no sleeping;
the clock is set to each poll's time and `Collector.poll_now` does what a scheduled poll
does (the same readers, mapping, accounting, health and sink), except that the points of
polls that change nothing but data go to the sink together (issue 16: no per-poll write).
Consecutive polls of one source that can take a span (a meter: `SpanSource`) go to it as
one span (`Collector.poll_span`, up to SPAN_POLLS), so its plain polls are accounted
together, with no per-poll work between the reader and the store.
`heatpump collect` and `heatpump demo --live` run the same sources under the real scheduler
instead.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from collector.service import Collector, Source, VirtualClock

Poll = tuple[datetime, Source]
# the most polls of one source handed over as one span (an hour of 10-second meter polls):
# a span's times are held in memory, and a meter-only set-up has no other poll to end one
SPAN_POLLS = 360
GC_YOUNG = 10_000  # allocations between two collections of the youngest objects (long_run_gc)


def run_polls(collector: Collector, polls: Iterable[Poll], clock: VirtualClock,
              progress: Callable[[datetime], None] | None = None,
              before: Callable[[datetime, Source], None] | None = None) -> None:
    """Each (time, source) in order: the clock jumps there, `before(time, source)` is
    called (a replay begins the recorded poll) and the source is polled; then the
    collector shuts down (accounting flushed, state saved, store closed). Consecutive
    polls of a source with `poll_span` go to it together (`spans`)."""
    def at_time(source: Source) -> Callable[[datetime], None]:
        def at(when: datetime) -> None:
            clock.set(when)
            if before is not None:
                before(when, source)
        return at

    collector.start()
    try:
        with long_run_gc():
            for source, times in spans(polls, SPAN_POLLS):
                at = at_time(source)
                if len(times) > 1 and hasattr(source, "poll_span"):
                    collector.poll_span(source, times, at)  # type: ignore[arg-type]
                else:
                    for when in times:
                        at(when)
                        collector.poll_now(source, merge=True)
                if progress is not None:
                    progress(times[-1])
    finally:
        collector.shutdown()


@contextmanager
def long_run_gc(young: int = GC_YOUNG) -> Iterator[None]:
    """Python's cyclic garbage collector tuned for a long offline run, and restored after.

    What exists when the run begins (the modules, the simulated house, the store) is frozen
    (`gc.freeze`): a full collection no longer walks it again and again (it took 40 ms
    each, a few times a simulated day). The youngest generation is collected every `young`
    allocations instead of 700: a poll's objects are nearly all freed by reference counting
    at once, so the collections were mostly work for nothing. Cycles are still collected.
    (A 10-day demo: its collections took 0.51 s of ~9 s CPU, now 0.14 s.)"""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(young, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def spans(polls: Iterable[Poll], most: int = SPAN_POLLS
          ) -> Iterator[tuple[Source, list[datetime]]]:
    """`polls` as runs of consecutive polls of one source: (source, their times), at most
    `most` in a run. A run is yielded only when the poll after it is known (or the polls
    end), so `polls` is read one poll ahead."""
    source: Source | None = None
    times: list[datetime] = []
    for when, s in polls:
        if s is not source or len(times) >= most:
            if source is not None:
                yield source, times
            source, times = s, []
        times.append(when)
    if source is not None:
        yield source, times


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
