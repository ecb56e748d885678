"""The collector's main loop: polls each source on its grid and keeps going through outages.

Each source polls in its own worker thread (a hung Viessmann login never delays the meter),
on its own fixed grid (collector.schedule), and never overlaps itself: a slot that comes
while the previous poll still runs is coalesced into one catch-up run. Everything else —
accounting results, health, the store or spool, the heartbeat — happens on the main
thread, so the only shared state is a queue. Clock and threading are injected, so tests
and the benchmark drive a day of polling in a second on a virtual clock.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from collector.health import Change, HealthBook, SourceError, heartbeat_body
from collector.schedule import Grid
from collector.sink import DurableSink
from collector.state import StateFile
from heatpump import heartbeat, live
from heatpump.schema import HEALTH_STORE_SOURCE
from heatpump.store.base import Point
from heatpump.store.latest_point import LatestReader
from heatpump.timeutil import utcnow

log = logging.getLogger("collector")

HEARTBEAT_S = 30.0  # the loop wakes at least this often, so the heartbeat stays fresh
# While the sink watches for the bot's requests the loop wakes at least this often to look
# (two stats), so a requested commit lands within the bot's wait (heatpump.live.LIVE_WAIT_S,
# 15 s) even when no source polls for minutes (a Viessmann-only set-up), and /status
# answers within a couple of seconds.
LIVE_LOOK_S = 2.0
HEARTBEAT_CONTENT_S = 600.0  # the heartbeat's content is renewed at least this often
RETENTION_EVERY_S = 86400.0  # HEATPUMP_RAW_RETENTION_DAYS is applied at start, then daily
STOP_BUDGET_S = 2.5  # how long shutdown waits for polls in flight (SIGTERM -> exit < 5 s)
STORE_STOP_S = 1.0  # then the store gets this long for the last commit, the rest is spooled
# merged offline polls (`Collector.poll_now(merge=True)`) go to the sink at this many points
MERGE_POINTS = 1000


# --- what a source is -------------------------------------------------------------------


# A one-off occurrence worth a `health` point: (device, reason, detail, status or None
# for the current one), e.g. a counter reset.
Event = tuple[str, str, str, str | None]


@dataclass
class Batch:
    """What one poll yields, already turned into points by the source's accounting."""

    points: list[Point] = field(default_factory=list)
    device: str = ""  # the device id the source talked to (for health tags)
    # Per device: None when it answered, its SourceError when it did not. Empty: `device`
    # answered. A source reading several devices (the Viessmann account and its heat
    # pumps) reports each.
    outcomes: dict[str, SourceError | None] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    degraded: tuple[str, str] | None = None  # (reason, detail) when it works only partly
    # Accounting state to keep once these points are durable (collector/state.py).
    state: dict[str, Any] = field(default_factory=dict)
    # Committed at once, with everything buffered before it: a change the bot must see
    # now rather than at the next regular commit (a heat pump's messages, a setting).
    urgent: bool = False


class Polled(NamedTuple):
    """What one poll, or a run of plain polls, of a span gave (`SpanSource.poll_span`)."""

    polls: int  # how many polls
    batch: Batch | None  # None: the poll failed with `error`
    error: BaseException | None = None
    # when health is settled for a run: the clock's time after its last poll was read
    # (None: one poll, settled at the clock's present time like a scheduled poll)
    when: datetime | None = None


# What a source may read at start to resume (the sink: the store, and the spool).
Lookup = LatestReader


class Source(Protocol):
    """A meter, a heat pump or a simulator, with its accounting, seen by the service."""

    name: str  # "shelly", "vicare", "sim-meter", ...
    interval_s: float
    device: str  # best known device id ("" before the first answer)

    def resume(self, lookup: Lookup) -> None:
        """Initialise accounting from what is already stored (restart without loss)."""

    def poll(self) -> Batch:
        """Read the device once; raise SourceError (or anything) when it fails."""

    def close(self) -> list[Point]:
        """Points still held by accounting, written at shutdown."""


class SpanSource(Source, Protocol):
    """A source that polls a span of times in one call (the offline driver's long spans,
    issue 16): a meter, whose plain polls are accounted together."""

    def poll_span(self, times: Sequence[datetime], at: Callable[[datetime], None],
                  now: Callable[[], datetime], settled: Callable[[], bool]
                  ) -> Iterator[Polled]:
        """Poll at each of `times` (calling `at(t)` first) and yield what each poll gave,
        in order, plain polls together (see collector/pipeline.py `MeterPipeline`);
        `settled()` says the source's health is up, so a plain poll changes nothing
        there."""


# --- clocks -----------------------------------------------------------------------------


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def wait(self, event: threading.Event, timeout: float) -> bool: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return utcnow()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(max(0.0, timeout))


class VirtualClock:
    """Time jumps forward instead of sleeping: a simulated day runs in a moment. The time
    is kept exactly (a datetime offset), so a replay stamps readings to the microsecond."""

    def __init__(self, start: datetime, mono: float = 1000.0):
        self._t0, self._start = mono, start
        self._offset = timedelta(0)

    @property
    def t(self) -> float:
        return self._t0 + self._offset.total_seconds()

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self._start + self._offset

    def wait(self, event: threading.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        self.advance(max(0.0, timeout))
        return event.is_set()

    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Jump to `when` (a replay follows the recorded times)."""
        self._offset = when - self._start


# --- the service ------------------------------------------------------------------------


@dataclass
class _Outcome:
    source: Source
    batch: Batch | None
    error: BaseException | None


class _Job:
    def __init__(self, source: Source, grid: Grid):
        self.source, self.grid = source, grid
        self.running = False
        self.go = threading.Event()
        self.thread: threading.Thread | None = None


class Collector:
    def __init__(self, sources: Sequence[Source], sink: DurableSink, data_dir: Path,
                 clock: Clock | None = None, threaded: bool = True,
                 heartbeat_s: float = HEARTBEAT_S, raw_retention: timedelta | None = None,
                 state: StateFile | None = None):
        self.clock = clock or RealClock()
        self.state = state
        self.raw_retention = raw_retention  # None or 0: raw samples are kept for ever
        self._retention_due = float("-inf")
        self.sink = sink
        self.health = HealthBook()
        self.data_dir = Path(data_dir)
        self.heartbeat = heartbeat.heartbeat_path(self.data_dir, "collector")
        self.threaded = threaded
        self.heartbeat_s = heartbeat_s
        self._heartbeat_wall = float("-inf")
        self._heartbeat_content_wall = float("-inf")
        self._heartbeat_key = ""
        self._heartbeat_failing = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._results: queue.Queue[_Outcome] = queue.Queue()
        origin = self.clock.monotonic()
        self.jobs = [_Job(s, Grid(s.interval_s, origin)) for s in sources]
        self._job_of: dict[int, _Job] = {}  # each result finds its job (the first one's)
        for job in self.jobs:
            self._job_of.setdefault(id(job.source), job)
        self.polls = 0
        self.cycles = 0
        # points, accounting state and number of merged offline polls not written yet
        # (poll_now)
        self._merged: tuple[list[Point], dict[str, Any], int] = ([], {}, 0)
        sink._on_state = self._store_state

    # --- control ----------------------------------------------------------------------

    def request_stop(self) -> None:
        """Safe from a signal handler or another thread; a store call the loop waits for is
        given up at once (collector/bounded_store.py)."""
        self._stop.set()
        self._wake.set()
        self.sink.give_up()

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Poll until stopped (or `until()` is true), then flush everything."""
        self.start()
        try:
            while not self._stop.is_set() and not (until and until()):
                self.step()
        finally:
            self.shutdown()

    def start(self) -> None:
        for job in self.jobs:
            try:
                job.source.resume(self.sink)
            except Exception as exc:  # accounting starts fresh rather than not at all
                log.error("%s: cannot resume accounting from the store (%s); starting "
                          "fresh", job.source.name, exc)
            if self.threaded:
                job.thread = threading.Thread(target=self._worker, args=(job,),
                                              name=f"poll-{job.source.name}", daemon=True)
                job.thread.start()
        self._write_heartbeat()

    def step(self) -> None:
        """One loop cycle: start due polls, wait for results or the next slot, handle them."""
        now = self.clock.monotonic()
        for job in self.jobs:
            if job.grid.due(now) and not job.running:
                coalesced = job.grid.take(now)
                if coalesced:
                    log.debug("%s: %d slot(s) coalesced after a slow poll", job.source.name,
                              coalesced)
                self._launch(job, now)
        self._drain()
        if self._stop.is_set():
            return
        wake_s = (min(self.heartbeat_s, LIVE_LOOK_S) if self.sink.watches_live
                  else self.heartbeat_s)
        next_due = min((j.grid.next_due for j in self.jobs if not j.running),
                       default=now + wake_s)
        timeout = min(next_due, now + wake_s) - self.clock.monotonic()
        if self.sink.replaying:  # a long replay continues at once, between polls
            timeout = 0.0
        if timeout > 0 and self._results.empty():
            self.clock.wait(self._wake, timeout)
        self._wake.clear()
        self._drain()
        self.sink.look_live()  # a new live request: what waits is committed now
        self.sink.pump()
        self._apply_retention()
        self.cycles += 1
        self._write_heartbeat()

    def shutdown(self) -> None:
        """Stop within STOP_BUDGET_S + STORE_STOP_S (SIGTERM -> exit in < 5 s, in every
        state): polls still in flight are abandoned, a store that does not answer in time
        is left, and what it did not commit stays in the spool for the next start."""
        deadline = time.monotonic() + STOP_BUDGET_S
        try:
            self.flush_merged()  # merged offline polls first, in order
        except Exception as exc:  # the sink spools what the store refuses; this is a bug
            log.error("could not write the last polls at shutdown: %s", exc)
        self.sink.finish_by(deadline + STORE_STOP_S)
        self._stop.set()
        for job in self.jobs:
            job.go.set()
        for job in self.jobs:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))
        self._drain()
        for job in self.jobs:
            if job.running:  # still inside a slow request: its accountant is busy, skip it
                log.warning("%s: poll still running at shutdown; its result is lost",
                            job.source.name)
                continue
            try:
                self.sink.write(job.source.close())
            except Exception as exc:
                log.error("%s: could not flush accounting at shutdown: %s", job.source.name,
                          exc)
        self.sink.close()
        if self.state is not None and self.sink.up:
            self.state.save()
        self._write_heartbeat(stopped=True)
        if self.sink.watches_live:
            live.withdraw(self.data_dir)  # no more answers: the bot must not wait for one
        log.info("collector stopped")

    def poll_now(self, source: Source, merge: bool = False) -> None:
        """Poll one source now, in this thread, and handle the result like a scheduled poll
        (the offline driver, collector/drive.py, calls this instead of `run`).

        `merge` (the offline driver's long spans): a poll that changes nothing but data
        (its device answered as before, no event) has its health settled now, at its own
        time, while its points and accounting state join those of the polls before it and
        go to the sink together (`flush_merged`, at the latest before anything else is
        written and at shutdown): what is stored is the same, without the per-poll work of
        a write (issue 16: long spans fed in bulk)."""
        out = self._poll(source)
        if not merge or out.batch is None:
            self.flush_merged()
            self._handle(out)
            return
        self._merge(source, out.batch)

    def poll_span(self, source: SpanSource, times: Sequence[datetime],
                  at: Callable[[datetime], None]) -> None:
        """Poll `source` at each of `times` in order, `at(t)` first (the offline driver:
        the clock jumps to t), each handled as `poll_now(merge=True)` handles it, while
        a run of plain polls, which changes nothing but data, comes from the source as one
        batch: its health settled once, at its last poll's time, its points merged (issue
        16: long spans fed in bulk, without per-poll work between the reader and the
        store)."""
        name = source.name

        def settled() -> bool:
            return self.health.is_up(name, source.device)

        for polled in source.poll_span(times, at, self.clock.now, settled):
            if polled.batch is None:
                self.flush_merged()
                self._handle(_Outcome(source, None, polled.error))
            else:
                self._merge(source, polled.batch, polled.polls, polled.when)

    def _merge(self, source: Source, batch: Batch, polls: int = 1,
               when: datetime | None = None) -> None:
        """A batch of `polls` polls that answered, handled as `poll_now(merge=True)` says;
        health settled at `when` (None: now)."""
        job = self._job_of[id(source)]
        job.running = False
        self.polls += polls
        changes = self._health_changes(source.name, source.device, batch, when)
        if changes or batch.urgent:
            self.flush_merged()
            self._write(batch, changes)
            return
        points, state, merged = self._merged
        points.extend(batch.points)
        state.update(batch.state)
        self._merged = (points, state, merged + polls)
        if len(points) >= MERGE_POINTS:
            self.flush_merged()

    def flush_merged(self) -> None:
        """Write what `poll_now(merge=True)` gathered (nothing when nothing waits)."""
        points, state, polls = self._merged
        if points or state:
            self._merged = ([], {}, 0)
            self._commit(points, state, urgent=False, polls=polls)

    def _apply_retention(self) -> None:
        """Delete raw samples older than HEATPUMP_RAW_RETENTION_DAYS (rollups and energy
        stay): at start, then once a day; a store that refuses is retried in a day."""
        if not self.raw_retention or self.clock.monotonic() < self._retention_due:
            return
        self._retention_due = self.clock.monotonic() + RETENTION_EVERY_S
        try:
            self.sink.store.apply_retention(self.raw_retention, self.clock.now())
        except Exception as exc:  # a failed clean-up must not stop the collection
            log.error("raw retention (HEATPUMP_RAW_RETENTION_DAYS) failed: %s", exc)

    # --- polling ----------------------------------------------------------------------

    def _launch(self, job: _Job, now: float) -> None:
        job.running = True
        if self.threaded:
            job.go.set()
        else:
            self._results.put(self._poll(job.source))

    def _worker(self, job: _Job) -> None:
        while True:
            job.go.wait()
            job.go.clear()
            if self._stop.is_set():
                # launched but never started: no poll is in flight, so shutdown may flush
                # this source's accounting (read after join(), which orders the write)
                job.running = False
                return
            self._results.put(self._poll(job.source))
            self._wake.set()

    def _poll(self, source: Source) -> _Outcome:
        try:
            return _Outcome(source, source.poll(), None)
        except Exception as exc:
            return _Outcome(source, None, exc)

    def _drain(self) -> None:
        while True:
            try:
                out = self._results.get_nowait()
            except queue.Empty:
                return
            try:
                self._handle(out)
            except Exception:  # a bug in one batch must not stop years of collecting
                log.exception("%s: could not handle a poll result (please report this)",
                              out.source.name)

    def _handle(self, out: _Outcome) -> None:
        job = self._job_of[id(out.source)]
        job.running = False  # first: whatever happens below, the source polls again
        self.polls += 1
        src = out.source
        if out.batch is None:
            err = classify(out.error)
            change = self.health.failure(src.name, src.device, self.clock.now(), err)
            if change:
                self._log(change)
                if err.reason == "error":  # unforeseen: the traceback helps a bug report
                    log.error("%s: unexpected error", src.name, exc_info=out.error)
                # committed at once like every change of health (_write): the bot
                # explains the gap, and nothing else may commit while no source delivers
                self.sink.write([change.point()], urgent=True)
            else:
                log.debug("%s still %s: %s", src.name, err.reason, err.detail)
            return
        self.handle_batch(src.name, src.device, out.batch)

    def handle_batch(self, source: str, known_device: str, b: Batch) -> None:
        """Health from a poll's outcomes, then its points to the sink and, once they are
        durable, its accounting state to the state file (also used by collector/drive.py)."""
        self._write(b, self._health_changes(source, known_device, b))

    def _health_changes(self, source: str, known_device: str, b: Batch,
                        when: datetime | None = None) -> list[Change]:
        """What a poll's outcomes and events change in the health book, at `when` (None:
        the clock's now; logged by `_write`)."""
        now = when or self.clock.now()
        changes: list[Change] = []
        health = self.health
        if b.outcomes:
            for dev, err in b.outcomes.items():
                change = (health.success(source, dev, now, b.degraded) if err is None
                          else health.failure(source, dev, now, err))
                if change:
                    changes.append(change)
        else:  # the usual meter poll: its one device answered
            change = health.success(source, b.device or known_device, now, b.degraded)
            if change:
                changes.append(change)
        if b.events:
            changes.extend(health.event(source, dev, now, reason, detail, status)
                           for dev, reason, detail, status in b.events)
        return changes

    def _write(self, b: Batch, changes: list[Change]) -> None:
        points = b.points
        if changes:
            points = list(points)
            for c in changes:
                self._log(c)
                points.append(c.point())
        # a change of health is committed at once: the bot explains a gap without delay;
        # so is a batch its source marks urgent (messages, settings: Batch.urgent)
        self._commit(points, b.state, urgent=bool(changes) or b.urgent)

    def _commit(self, points: list[Point], state: dict[str, Any], urgent: bool,
                polls: int = 1) -> None:
        """Points to the sink (`polls`: of how many polls, for a bulk load's commit
        cadence); the accounting state is kept and, once the points are durable, saved
        (collector/state.py)."""
        if self.state is not None and state:
            self.state.put(state)
        if self.sink.write(points, urgent=urgent, polls=polls) and self.state is not None:
            self.state.save()

    @staticmethod
    def _log(change: Change) -> None:
        getattr(log, change.level)(change.message)

    def _store_state(self, up: bool, detail: str) -> None:
        now = self.clock.now()
        err = SourceError("unreachable", detail or "the store does not answer")
        change = (self.health.success(HEALTH_STORE_SOURCE, "-", now) if up
                  else self.health.failure(HEALTH_STORE_SOURCE, "-", now, err))
        if change:
            getattr(log, change.level)(change.message)
            # stored like any point: spooled while the store is down, replayed with the rest
            if up:
                self.sink.write([change.point()])
            else:
                self.sink.keep([change.point()])

    def _write_heartbeat(self, stopped: bool = False) -> None:
        """Beat at most every HEARTBEAT_S of the collector's clock, and rewrite the file's
        content only when the sources' states or the spool changed, or every
        HEARTBEAT_CONTENT_S: otherwise only its time is renewed (no data written), so an
        SD card is not written every few seconds for nothing."""
        wall = self.clock.monotonic()
        st = self.sink.spool.status()
        key = json.dumps([[s.status, s.reason, s.detail, s.until.isoformat() if s.until
                           else None, s.failures] for _, s in sorted(self.health.states.items())]
                         + [st.size_bytes, stopped])
        changed = key != self._heartbeat_key
        if not (stopped or changed) and wall - self._heartbeat_wall < self.heartbeat_s:
            return
        self._heartbeat_wall = wall
        try:
            if (not stopped and not changed
                    and wall - self._heartbeat_content_wall < HEARTBEAT_CONTENT_S
                    and heartbeat.touch(self.data_dir, "collector")):
                return
            extra: dict[str, object] = {"spool_bytes": st.size_bytes,
                                        "spool_max_bytes": st.max_bytes, "polls": self.polls}
            if stopped:
                extra["stopped"] = True
            heartbeat.beat(self.data_dir, "collector",
                           heartbeat_body(self.clock.now(), self.health, extra))
            self._heartbeat_key, self._heartbeat_content_wall = key, wall
            self._heartbeat_failing = False
        except OSError as exc:
            if not self._heartbeat_failing:  # once, not every beat (a full disk)
                log.warning("cannot write heartbeat %s: %s", self.heartbeat, exc)
            self._heartbeat_failing = True


# --- failure classification -------------------------------------------------------------

# (exception class name as found in the MRO, reason, detail) — first match wins
_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("TimeoutException", "unreachable", "no answer in time"),
    ("ConnectError", "unreachable", "cannot connect"),
    ("TimeoutError", "unreachable", "no answer in time"),
    ("ConnectionError", "unreachable", "cannot connect"),
    ("OSError", "unreachable", "network error"),
    ("ValueError", "bad_response", "unexpected answer"),
)


def classify(exc: BaseException | None) -> SourceError:
    """Any exception as a SourceError; sources raise SourceError themselves when they know."""
    if isinstance(exc, SourceError):
        return exc
    names = [c.__name__ for c in type(exc).__mro__]
    for cls_name, reason, detail in _CLASSES:
        if cls_name in names:
            return SourceError(reason, f"{detail} ({type(exc).__name__})")
    return SourceError("error", f"{type(exc).__name__}: {str(exc)[:200]}")
