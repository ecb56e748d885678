"""Where the collector's points go: the store when it answers, the spool when it does not.

Order is kept: once anything is spooled, new batches queue behind it until the spool has
been replayed (oldest first), so a store that comes back receives the outage's data before
the new data.

Cadence: batches are written to the store as they come but committed every `flush_s`
(HEATPUMP_FLUSH_MINUTES: every poll on InfluxDB, every 90 minutes on the embedded store, to
spare an SD card), and at once for what a person must not wait that long for: an `urgent` batch (a
change of health, including a failed poll; a change of a heat pump's messages; a changed
setting), a new live request, and shutdown (docs/collector.md, "Commits"). A crash loses
at most the raw samples since the last commit, never energy (the accounting state file is
saved only with a commit); what waits when the store fails is spooled.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from collector.spool import Spool
from heatpump.live import Requests
from heatpump.store.base import Latest, Point, Store, StoreError
from heatpump.store.common import PartialWriteError

log = logging.getLogger(__name__)

REPLAY_BUDGET_S = 2.0  # replay work per loop cycle
# Points neither the store nor the spool could take (store down AND the disk full or
# read-only) wait in memory, up to this many (~30 MB; two days of 10 s meter samples with
# their energy minutes); only past it are the oldest lost, and counted.
MAX_HELD_POINTS = 50_000
RETRY_S = (5.0, 10.0, 30.0, 60.0)  # wait before the 1st, 2nd, ... replay attempt, then 60 s


class DurableSink:
    """The store, or the spool while the store is down; commits every `flush_s` seconds.

    Between commits the points wait in memory (and in `_pending`): a crash loses at most
    those raw samples, never energy, because accounting resumes from the counters and its
    state file is saved only with a commit. `flush_s=0` commits every batch; an `urgent`
    batch (what the bot must not wait for: a change of health, of a heat pump's messages,
    a changed setting) commits at once, with everything before it; so does the first
    batch. `live()` gives the bot's requests (heatpump.live.requests: a commit asked by
    /status and the like, the /live request in force): `look_live` commits at once for a
    new one, and every batch is committed while /live is in force. A bulk load (the demo,
    a replay: recreated when interrupted) commits every `flush_every` batches instead."""

    def __init__(self, store: Store, spool: Spool, monotonic: Callable[[], float],
                 on_state: Callable[[bool, str], None] | None = None, flush_every: int = 1,
                 flush_s: float = 0.0, live: Callable[[], Requests] | None = None,
                 answer: Callable[[], None] | None = None):
        self.store, self.spool, self._mono = store, spool, monotonic
        self.flush_every = max(1, flush_every)
        self.flush_s = max(0.0, flush_s)
        self._live = live
        self._answer = answer or (lambda: None)  # tells the bot a request was handled
        self._asked = Requests(None, None)  # the bot's requests seen at the last look
        self._last_flush: float | None = None
        self._pending: list[Point] = []  # written to the store, not committed yet
        self._unflushed = 0
        self._attempts = 0
        self._next_try = 0.0
        self.up = not spool  # a spool left by an earlier run is replayed before new data
        self._on_state = on_state or (lambda up, detail: None)
        self.written = 0  # points that reached the store (counted, for tests and logs)
        self.spooled = 0
        self.invalid = 0  # points (or values) the store refused for good
        self.lost = 0  # points dropped for good: neither store nor spool nor memory took them
        self._held: list[Point] = []  # waiting in memory for the disk (see MAX_HELD_POINTS)
        self._disk_failing = False  # the spool refused a write (logged once)
        self.replaying = False  # a replay is under way (the store answers, more to send)

    def write(self, points: Sequence[Point], urgent: bool = False, polls: int = 1) -> bool:
        """Hand points to the store (or the spool while it is down). True when everything
        written so far is durable (committed to the store or spooled), False while points
        wait for the next commit or when they were lost. `polls`: how many polls these
        points are (the offline driver writes many at once), for a bulk load's cadence."""
        if not points:
            return not self._pending and self._unflushed == 0
        if not self.spool:
            if self._held:  # the store takes what waited in memory first, in order
                points, urgent, self._held = [*self._held, *points], True, []
            try:
                durable = self._send(points, urgent, polls)
                self._disk_failing = False
                self._set_up(True, "")
                return durable
            except StoreError as exc:
                self._set_up(False, str(exc))
                self._schedule_retry()
                # what waited for the commit goes to the spool too (the store may still
                # commit its copy later: the same points overwrite themselves)
                points = [*self._pending, *points]
                self._pending = []
        return self._to_spool(points)

    def _to_spool(self, points: Sequence[Point]) -> bool:
        """Spool (after whatever waits in memory, in order); True when on disk."""
        if self._held and not self._spool_held():
            self._hold(points)
            return False
        try:
            self.spooled += self.spool.append(points)
            return True
        except OSError as exc:  # the store AND the local disk fail: keep them in memory
            if not self._disk_failing:  # once per episode, not every poll
                self._disk_failing = True
                log.error("cannot spool %d points (%s): kept in memory until the disk "
                          "takes them (the store does not answer either)", len(points), exc)
            self._hold(points)
            return False

    def keep(self, points: Sequence[Point]) -> bool:
        """Spool points now whatever the store's state (a store-down health point): on
        disk, or held in memory when the disk refuses too; True when on disk."""
        return self._to_spool(points)

    def _hold(self, points: Sequence[Point]) -> None:
        """Keep points in memory; past MAX_HELD_POINTS the oldest raw meter samples go
        first (as in the spool's cap), then the oldest of the rest, each counted lost."""
        self._held.extend(points)
        over = len(self._held) - MAX_HELD_POINTS
        if over <= 0:
            return
        raw = [i for i, p in enumerate(self._held) if p.measurement == "meter"][:over]
        rest = [i for i, p in enumerate(self._held) if p.measurement != "meter"]
        drop = set(raw) | set(rest[:over - len(raw)])
        self._held = [p for i, p in enumerate(self._held) if i not in drop]
        self.lost += len(drop)
        log.error("%d points held in memory (store down, disk full): the oldest %d (raw "
                  "samples first) are lost; %d lost so far", MAX_HELD_POINTS, len(drop),
                  self.lost)

    def _spool_held(self) -> bool:
        """Move what waits in memory to the spool; True when nothing waits any more."""
        if not self._held:
            return True
        try:
            self.spooled += self.spool.append(self._held)
        except OSError:
            return False
        log.info("the disk takes data again: %d points kept in memory are spooled",
                 len(self._held))
        self._held, self._disk_failing = [], False
        return True

    def _send_held(self, force: bool) -> bool:
        """What waits in memory straight to the store when it is time to try (the spool
        is empty: nothing older waits on disk); True when it took everything."""
        if self.spool or (not force and self._mono() < self._next_try):
            return False
        try:
            self._send(self._held, urgent=True)
        except StoreError as exc:
            self._set_up(False, str(exc))
            self._schedule_retry()
            return False
        log.info("store back: %d points kept in memory are stored", len(self._held))
        self._held, self._attempts, self._disk_failing = [], 0, False
        self._set_up(True, "")
        return True

    @property
    def held(self) -> int:
        """Points waiting in memory because neither the store nor the disk took them."""
        return len(self._held)

    def _send(self, points: Sequence[Point], urgent: bool = False, polls: int = 1) -> bool:
        """Write, and commit when due (True); raises StoreError when the store is
        unavailable.

        A point the store can never take (invalid value, type conflict) is dropped with an
        error line instead: spooling it would block the spool forever."""
        try:
            self.store.write(points)
        except ValueError:
            for p in points:
                try:
                    self.store.write([p])
                except ValueError as exc:
                    self.invalid += 1
                    log.error("dropped an invalid %s point at %s: %s", p.measurement,
                              p.time.isoformat(), exc)
        self.written += len(points)
        if not self._due(urgent, polls):
            if self.flush_every == 1:
                self._pending.extend(points)
            return False
        self.commit()
        return True

    def _due(self, urgent: bool, polls: int = 1) -> bool:
        if self.flush_every > 1:  # bulk load: by the number of polls
            self._unflushed += polls
            return self._unflushed >= self.flush_every
        return (urgent or self.flush_s <= 0 or self._last_flush is None
                or self._mono() - self._last_flush >= self.flush_s
                or self._asked.live is not None)

    @property
    def watches_live(self) -> bool:
        """Whether `look_live` looks for live requests (the service then wakes often
        enough for the bot's wait, collector.service.LIVE_LOOK_S)."""
        return self._live is not None and self.flush_every == 1

    def look_live(self) -> bool:
        """Look once for the bot's requests (`live()`: two stats, once per loop step): a
        new one (its time changed since the last look) commits what waits at once, without
        waiting for a poll: the bot gives that commit LIVE_WAIT_S (heatpump.live), and a
        Viessmann-only set-up polls every 5 minutes; while /live is in force every batch is
        committed. A handled request is answered (`answer()`: heatpump.live.answer), also
        when nothing waited, so the bot stops waiting at once. True when it committed; a
        store that fails here spools what waited, as a failing write does (no answer)."""
        if not self.watches_live:
            return False
        assert self._live is not None
        seen, self._asked = self._asked, self._live()
        new = any(t is not None and t != before for t, before in zip(self._asked, seen,
                                                                       strict=True))
        if not new:
            return False
        if not self._pending:
            self._answer()
            return False
        try:
            self.commit()
        except StoreError as exc:
            self._set_up(False, str(exc))
            self._schedule_retry()
            points, self._pending = self._pending, []
            self._to_spool(points)
            return False
        self._answer()
        return True

    def commit(self) -> None:
        """Commit what the store holds; raises StoreError (the points stay pending)."""
        try:
            self.store.flush()
        except PartialWriteError as exc:
            self.invalid += 1
            log.error("%s", exc)
        self._pending = []
        self._unflushed = 0
        self._last_flush = self._mono()

    def pump(self, force: bool = False, budget_s: float = REPLAY_BUDGET_S) -> bool:
        """Replay the spool when its retry time has come; True when it is empty.

        Works for at most `budget_s` per call, so a long replay never keeps the loop from
        handling polls or a SIGTERM; `replaying` says that more is waiting."""
        self.replaying = False
        if self._held and not self._spool_held():  # the disk is still full or read-only
            return self._send_held(force)
        if not self.spool:
            return True
        if not force and self._mono() < self._next_try:
            return False
        replayed = 0
        deadline = time.monotonic() + budget_s
        try:
            self.store.flush()  # cheap probe; also retries whatever the store kept
            for seg in self.spool.segments():
                if replayed and time.monotonic() > deadline:
                    self.replaying = True
                    log.info("replayed %d spooled points, %.1f MB to go", replayed,
                             self.spool.size_bytes / 1e6)
                    return False
                try:
                    points = self.spool.read(seg)
                except OSError as exc:  # it would block every segment after it
                    self.spool.set_aside(seg, f"unreadable ({exc.strerror or exc})")
                    continue
                if points:
                    self._send(points, urgent=True)  # committed before the segment goes
                try:
                    self.spool.remove(seg)
                except OSError as exc:  # a read-only disk: replayed again later (the same
                    log.error("cannot remove the replayed spool %s (%s); it is replayed "
                              "again later (harmless: the store keeps one copy)", seg.name,
                              exc)  # points overwrite themselves)
                    self._schedule_retry()
                    return False
                replayed += len(points)
        except StoreError as exc:
            if replayed:
                log.info("replayed %d spooled points before the store failed again", replayed)
            self._set_up(False, str(exc))
            self._schedule_retry()
            return False
        log.info("store back: replayed %d spooled points in order", replayed)
        self._attempts = 0
        self._set_up(True, "")
        return True

    def _schedule_retry(self) -> None:
        self._next_try = self._mono() + RETRY_S[min(self._attempts, len(RETRY_S) - 1)]
        self._attempts += 1

    def _set_up(self, up: bool, detail: str) -> None:
        if up != self.up:
            self.up = up
            self._on_state(up, f"{detail}; spooling to {self.spool.dir}" if not up else "")

    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        """Latest value per field from the store, overridden by newer spooled points
        (`since` as in Store.latest).

        Used to resume accounting after a restart even while the store is down."""
        out: dict[str, Latest] = {}
        try:
            out.update(self.store.latest(measurement, fields, tags, since))
        except StoreError as exc:
            log.warning("cannot read the last %s from the store (%s); resuming from the "
                        "spool only", measurement, exc)
        for p in self.spool:
            if p.measurement != measurement or not _tags_match(p.tags, tags) or (
                    since is not None and p.time < since):
                continue
            for name, value in p.fields.items():
                if fields is not None and name not in fields:
                    continue
                cur = out.get(name)
                if cur is None or _after(p.time, cur.time):
                    out[name] = Latest(p.time, value, dict(p.tags))
        return out

    def finish_by(self, monotonic_deadline: float) -> None:
        """Shutdown: store calls after this `time.monotonic()` value fail at once (a store
        without bounded calls, collector/bounded_store.py, is not affected)."""
        finish_by = getattr(self.store, "finish_by", None)
        if finish_by is not None:
            finish_by(monotonic_deadline)

    def give_up(self) -> None:
        """Stop waiting for the store call in progress (a SIGTERM; safe from a signal
        handler): it fails as if the store had not answered, and its points are spooled."""
        give_up = getattr(self.store, "give_up", None)
        if give_up is not None:
            give_up()

    def close(self) -> None:
        """Commit; what cannot be committed now is spooled, and the spool stays on disk
        for the next start."""
        try:
            self.commit()
        except StoreError as exc:
            if self._pending:
                self._to_spool(self._pending)
                self._pending = []
            log.warning("store still unavailable at shutdown (%s); %d bytes stay spooled",
                        exc, self.spool.size_bytes)
        finally:
            with contextlib.suppress(StoreError):
                self.store.close()
        if self._held and not self._spool_held():
            log.error("%d raw points neither the store nor the disk could take are lost at "
                      "shutdown; energy is not: accounting resumes from its last durable "
                      "state and the device's counters", len(self._held))


def _tags_match(tags: Mapping[str, str], want: Mapping[str, str] | None) -> bool:
    return not want or all(tags.get(k) == v for k, v in want.items())


def _after(a: datetime, b: datetime) -> bool:
    return a >= b
