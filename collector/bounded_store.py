"""The store as the collector's main loop sees it: every call returns within seconds.

A store that hangs (an InfluxDB stopped with SIGSTOP accepts connections and answers
nothing) holds each request until the store's own whole-request deadline (30 s,
heatpump/store/influx_http.py). On the main loop that meant polls never made, a first poll
delayed by a minute and a half at start, and a SIGTERM that took longer than Docker's 30 s.

Here each call runs on one worker thread of its own and the caller waits at most
`wait_s`: a call that has not returned by then raises StoreError (the sink spools, as for a
store that refuses) and goes on in the background until the store's deadline ends it.
While it does, every further call fails at once instead of queueing behind it, so a hung
store costs the loop one short wait per attempt, never more. A call merely in progress
(its caller still waits: two threads asking at once, as at start, when the meter's poll
thread reads the store to resume its accounting while the main loop writes) is no hang: the
second caller waits its turn, and that time counts towards its own wait. A store that is
slow rather than hung (the late call succeeds) gets twice the wait next time, up to
MAX_WAIT_S, so a slow replay still goes through (and fast answers bring it back down).
`give_up()` (a SIGTERM) ends the current waits at once, and `finish_by(t)` caps every later
wait at an absolute monotonic time (shutdown).

Writes are idempotent (the store overwrites a point with the same measurement, tags and
time), so a write that the store takes after its caller gave up and spooled the points
is harmless: the replay overwrites it with the same values.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from heatpump.store.base import (
    Bucket,
    BucketSum,
    Latest,
    Point,
    Series,
    Store,
    StoreError,
    StoreInfo,
)

log = logging.getLogger(__name__)

WAIT_S = 2.0  # the main loop waits this long for a store call (meter polls every >= 1 s)
# A slow store's wait grows up to this, below the meter's default 10 s interval: longer
# and a slow store would cost polls; a store that needs more is treated as hung (spooled).
MAX_WAIT_S = 8.0
SLICE_S = 0.05  # how soon a waiting caller notices `give_up()` (a SIGTERM)

T = TypeVar("T")


class StoreNoAnswer(StoreError):
    """The store did not answer within the wait (it may still, in the background)."""


class _Call:
    def __init__(self, fn: Callable[[Store], Any]):
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.abandoned = False  # the caller stopped waiting
        self.started = time.monotonic()


class BoundedStore(Store):
    """Wraps a Store; each call returns or raises StoreError within `wait_s` seconds.

    `store` may be a function that opens the store (InfluxStore's constructor asks the
    server, up to its 30 s deadline): it runs on the worker with the first call, and again
    with the next one while it fails. `opening()` starts it at once."""

    def __init__(self, store: Store | Callable[[], Store], wait_s: float = WAIT_S,
                 max_wait_s: float = MAX_WAIT_S):
        self.inner: Store | None = store if isinstance(store, Store) else None
        self._open: Callable[[], Store] | None = None if isinstance(store, Store) else store
        self.base_wait_s = wait_s
        self.wait_s = wait_s
        self.max_wait_s = max(wait_s, max_wait_s)
        self._finish_by: float | None = None
        self._lock = threading.Lock()
        self._busy: _Call | None = None  # the call the worker is in (None: idle)
        self._todo: _Call | None = None
        self._wake = threading.Condition(self._lock)  # the worker: a call to make
        self._free = threading.Condition(self._lock)  # callers: the worker idle, or hung
        self._give_ups = 0  # give_up() calls so far: a wait ends when this changes
        self.abandoned = 0  # calls given up on (for logs and tests)
        self._worker = threading.Thread(target=self._run, name="store-calls", daemon=True)
        self._worker.start()

    @classmethod
    def opening(cls, open_store: Callable[[], Store], wait_s: float = WAIT_S) -> BoundedStore:
        """Open the store on the worker, waiting at most `wait_s`: a store that does not
        answer yet is no error (the sink spools until it does); a refusal that comes in
        time (StoreError: credentials refused, a damaged file) is raised."""
        bounded = cls(open_store, wait_s)
        try:
            bounded._call("the first request", lambda store: None)
        except StoreNoAnswer as exc:
            log.warning("%s; collecting meanwhile (spooled)", exc)
        return bounded

    # --- the mechanism ----------------------------------------------------------------

    def _store(self) -> Store:
        """The store, opened on the worker thread when it is not yet."""
        if self.inner is None:
            assert self._open is not None
            self.inner = self._open()
        return self.inner

    def finish_by(self, monotonic_deadline: float | None) -> None:
        """Cap every later wait at this `time.monotonic()` value (None: no cap)."""
        self._finish_by = monotonic_deadline

    def give_up(self) -> None:
        """End the wait of a call in progress now (safe from a signal handler): it fails as
        if the store had not answered; the next calls wait again (up to `finish_by`).
        Callers waiting their turn behind it end their wait too (each thread's own wait)."""
        self._give_ups += 1  # one writer (the main thread's handler); readers only compare

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._todo is None:
                    self._wake.wait()
                call, self._todo = self._todo, None
            try:
                call.value = call.fn(self._store())
            except BaseException as exc:  # handed to the caller, who decides
                call.error = exc
            with self._lock:
                self._busy = None
                if call.abandoned:
                    self._late(call)
                call.done.set()  # under the lock: the caller's give-up is decided once
                self._free.notify_all()  # callers waiting their turn

    def _late(self, call: _Call) -> None:
        took = time.monotonic() - call.started
        if call.error is None and took <= self.max_wait_s * 2:  # slow: wait longer next time
            self.wait_s = min(self.max_wait_s, max(self.wait_s * 2, took * 1.5))
            log.warning("the store answered after %.1f s, later than the %.1f s the "
                        "collector waits; waiting up to %.1f s from now on", took,
                        self.base_wait_s, self.wait_s)
        else:  # an error, or an answer after a hang (the store was thawed, restarted)
            log.info("a store call given up on ended after %.1f s: %s", took,
                     call.error or "it succeeded")

    def _on_time(self, call: _Call) -> None:
        """A fast answer brings a grown wait back down (a store that recovered)."""
        if self.wait_s > self.base_wait_s and time.monotonic() - call.started < self.base_wait_s:
            self.wait_s = max(self.base_wait_s, self.wait_s / 2)

    def _call(self, name: str, fn: Callable[[Store], T]) -> T:
        """Run `fn` on the worker; return its value or raise its error, or StoreNoAnswer
        once this caller's wait is over (its wait counts from here, including any time
        spent waiting for another thread's call to finish)."""
        give_ups = self._give_ups
        now = time.monotonic()
        wait = self.wait_s
        if self._finish_by is not None:
            wait = max(0.0, min(wait, self._finish_by - now))
        end = now + wait

        def over() -> bool:
            return time.monotonic() >= end or self._give_ups != give_ups

        with self._wake:
            while self._busy is not None:  # another thread's call is in progress
                if self._busy.abandoned:  # its caller stopped waiting: the store is hung
                    raise StoreNoAnswer(f"the store has not answered a request for "
                                        f"{time.monotonic() - self._busy.started:.0f} s "
                                        "(hung?)")
                if over():  # nothing of ours started, so nothing is abandoned
                    raise StoreNoAnswer(f"the store was still busy with another request "
                                        f"when {name} had waited {wait:.1f} s")
                self._free.wait(max(0.0, min(SLICE_S, end - time.monotonic())))
            call = _Call(fn)
            self._busy = self._todo = call
            self._wake.notify()
        while not call.done.wait(max(0.0, min(SLICE_S, end - time.monotonic()))):
            if over():
                break
        if not call.done.is_set():
            with self._lock:
                if not call.done.is_set():
                    call.abandoned = True
                    self.abandoned += 1
                    self._free.notify_all()  # callers waiting their turn now fail at once
            if call.abandoned:
                raise StoreNoAnswer(f"the store did not answer {name} within {wait:.1f} s "
                                    "(hung or overloaded)")
        if call.error is not None:
            raise call.error
        self._on_time(call)
        return call.value

    # --- the Store interface ----------------------------------------------------------

    def write(self, points: Iterable[Point]) -> None:
        batch = list(points)
        self._call("a write", lambda st: st.write(batch))

    def flush(self) -> None:
        self._call("a commit", lambda st: st.flush())

    def close(self) -> None:
        self._call("close", lambda st: st.close())

    def info(self) -> StoreInfo:
        return self._call("info", lambda st: st.info())

    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        return self._call("a read", lambda st: st.latest(measurement, fields, tags, since))

    def series(self, measurement: str, field: str, start: datetime, end: datetime,
               max_points: int = 500, tags: Mapping[str, str] | None = None) -> Series:
        return self._call("a read", lambda st: st.series(measurement, field, start, end,
                                                              max_points, tags))

    def sums(self, measurement: str, fields: Sequence[str], start: datetime, end: datetime,
             bucket: Bucket, tz: ZoneInfo, tags: Mapping[str, str] | None = None,
             group_by: Sequence[str] = ()) -> list[BucketSum]:
        return self._call("a read", lambda st: st.sums(measurement, fields, start, end,
                                                            bucket, tz, tags, group_by))

    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        return self._call("a read", lambda st: st.points(measurement, start, end, tags,
                                                              limit))

    def tag_values(self, measurement: str, tag: str) -> list[str]:
        return self._call("a read", lambda st: st.tag_values(measurement, tag))

    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        self._call("retention", lambda st: st.apply_retention(keep, now))

    def check(self) -> None:
        self._call("a check", lambda st: st.check())

    def __getattr__(self, name: str) -> Any:  # backend extras (e.g. a database path)
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)
