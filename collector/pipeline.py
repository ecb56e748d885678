"""One pipeline per source: a reader, one accounting layer, the points of one builder each.

    reader (device or stand-in)  ->  readings  ->  accounting  ->  points  ->  Batch

`MeterPipeline` reads a Shelly (over HTTP, from a recording or the simulated meter: the
reader does not know) and runs the meter accounting; `HeatPumpPipeline` reads the
Viessmann API the same way and runs heat accounting. The service (collector/service.py),
the offline driver (collector/drive.py: demo and replay) and `heatpump doctor` use these and
nothing else, so a simulated or recorded device takes exactly the path a real one takes.
Health is not kept here: a Batch says per device whether it answered, and the service's
one health book (collector/health.py) records it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from collector.accounting.heat import (
    HeatAccountant,
    copy_state,
    device_state_from_json,
    device_state_to_json,
)
from collector.accounting.meter import (
    MeterAccountant,
    MeterConfig,
    MeterState,
    PlainRun,
    newest_time,
    state_from_json,
    state_to_json,
    stored_state,
)
from collector.accounting.running import RunningLedger
from collector.changes import setting_changes
from collector.health import SourceError
from collector.meter_history import FirstStartImport, first_start_import, import_along, state_key
from collector.points import (
    device_energy_points,
    heatpump_points,
    setting_change_point,
    with_role,
)
from collector.readings import HeatPumpSample, MeterReading
from collector.service import Batch, Event, Lookup, Polled
from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyError
from collector.shelly.records import records_for_gap
from collector.state import StateFile
from collector.vicare.reader import ACCOUNT, ViCareReader
from heatpump.boundary import COMPRESSOR, DEFAULT_ROLE, role_loads
from heatpump.settings import Settings
from heatpump.store.base import FieldValue, Point, StoreError

log = logging.getLogger("collector")


class MeterPipeline:
    """A Shelly meter with the meter accounting of collector.accounting.meter.

    The device id is known only after the first answer, so accounting resumes then: from
    the local accounting state, or from the store when that is newer (or the state is
    missing), so a restart neither loses nor doubles energy."""

    name = "meter"

    def __init__(self, client: ShellyClient, settings: Settings, *,
                 interval_s: float | None = None, running: RunningLedger | None = None,
                 state: StateFile | None = None, role: str = DEFAULT_ROLE,
                 claimed: dict[str, str] | None = None):
        self.client, self.settings = client, settings
        self.interval_s = float(interval_s or settings.shelly_poll_seconds)
        self.device = ""
        self.role = role
        # only a meter that sees the compressor tells when it runs (a rod or a pump above
        # HEATPUMP_RUNNING_W is no compressor start): the others feed no running time
        self.sees_compressor = COMPRESSOR in role_loads(role)
        self.running = running if self.sees_compressor else None
        self.state = state
        # device id -> role, shared by the meters of one collector: two addresses that
        # reach the same device would write one series twice
        self.claimed = claimed if claimed is not None else {}
        self.accountant: MeterAccountant | None = None
        self._lookup: Lookup | None = None
        self._import: FirstStartImport | None = None
        # nothing known of the meter: no local state and a store that answered (a store
        # that could not be read may hold its minutes: no first-start import then)
        self._fresh = False

    def resume(self, lookup: Lookup) -> None:
        self._lookup = lookup

    def poll(self) -> Batch:
        return self._account(self._read())

    def poll_span(self, times: Sequence[datetime], at: Callable[[datetime], None],
                  now: Callable[[], datetime], settled: Callable[[], bool]
                  ) -> Iterator[Polled]:
        """Poll at each of `times` in order (`at(t)` first: the offline driver's clock,
        a recording's next poll) and yield what they gave, in order (issue 16: long spans
        fed in bulk, collector/drive.py).

        Each reading is read as `poll` reads it. Plain readings of the known device
        (collector/accounting/meter.py `PlainRun`), while no first-start import is under
        way and its health is `settled()` (up: a plain poll changes nothing there), are
        accounted together and yielded as one Batch for all of them, with `polls` their
        number and `when` the clock's `now()` after the last one was read (the time its
        health is settled at). Every other poll is yielded as its own Batch or error
        (`when` None: at the clock's present time), exactly as `poll` gives them."""
        run: PlainRun | None = None
        n = 0
        when = None
        running = self.running
        for t in times:
            at(t)
            try:
                r = self._read()
            except Exception as exc:
                if n:
                    yield self._end_run(run, n, when)  # type: ignore[arg-type]
                run, n = None, 0
                yield Polled(1, None, exc)
                continue
            acc = self.accountant
            if (run is None and acc is not None and r.device == self.device
                    and self._import is None and settled()):
                run = PlainRun.of(acc.state, acc.cfg)
            if run is not None:
                interval = run.add(r) if r.device == self.device else None
                if interval is not None:
                    if running is not None:
                        running.add(r.time, *interval)
                    n += 1
                    when = now()
                    continue
                if n:
                    yield self._end_run(run, n, when)  # type: ignore[arg-type]
                run, n = None, 0
            try:
                batch = self._account(r)
            except Exception as exc:
                yield Polled(1, None, exc)
                continue
            yield Polled(1, batch)
        if n:
            yield self._end_run(run, n, when)  # type: ignore[arg-type]

    def _end_run(self, run: PlainRun, polls: int, when: datetime) -> Polled:
        assert self.accountant is not None
        current = self.accountant.state = run.state()
        state = {f"meter/{self.device}": lambda: state_to_json(current)}
        return Polled(polls, Batch(self._tagged(run.points), self.device, state=state), None,
                      when)

    def _read(self) -> MeterReading:
        """One reading of the meter; SourceError when it does not answer or is another
        meter's device."""
        try:
            r = self.client.poll()
        except ShellyError as exc:
            raise SourceError(exc.reason, str(exc)) from None
        owner = self.claimed.setdefault(r.device, self.role)
        if owner != self.role:
            raise SourceError("bad_response", f"the meter at {self.client.url} is {r.device}, "
                              f"already read as the {owner} meter; check SHELLY_METERS")
        return r

    def _account(self, r: MeterReading) -> Batch:
        """A reading through the meter accounting (any reading), as one poll's Batch."""
        self.device = r.device
        if self.accountant is None or self.accountant.cfg.device != r.device:
            survives = (self.client.device.counter_survives_reboot if self.client.device
                        else True)
            cfg = MeterConfig.from_settings(self.settings, r.device, survives)
            if not self.sees_compressor:
                cfg = replace(cfg, running_w=math.inf)
            self.accountant = MeterAccountant(cfg, self._resume_state(cfg))
            # the meter's own records from before the first start (collector/meter_history)
            self._import = first_start_import(
                self.client, self.state.get(state_key(r.device)) if self.state else None,
                r.device, self._fresh and newest_time(self.accountant.state) is None, r.time)
        update = self.accountant.add(r, self._gap_records(r.time))
        if self.running is not None and update.running is not None:
            self.running.add(r.time, *update.running)
        events = [(r.device, e.kind, e.detail, e.health_status) for e in update.events
                  if e.health_status is not None]
        current = self.accountant.state
        state = {f"meter/{r.device}": lambda: state_to_json(current)}
        # a counter that disagrees with the power is a lasting state of the meter, shown as
        # degraded health until it agrees again (collector/accounting/meter.py)
        degraded = (current.fault, current.fault_detail) if current.fault else None
        points = list(update.points)
        if self._import is not None:
            imported, progress = import_along(self._import)
            points += imported
            state.update(progress)
            if self._import.done:
                self._import = None
        return Batch(self._tagged(points), r.device, events=events, state=state,
                     degraded=degraded)

    def _gap_records(self, now: datetime) -> Mapping[datetime, float] | None:
        """The meter's own records of the gap the reading at `now` ends (the collector was
        stopped or the meter unreachable), where it keeps them: they place the gap's
        energy minute by minute (collector/accounting/gapfill.py). None without a gap."""
        assert self.accountant is not None
        state, limit = self.accountant.state, self.accountant.cfg.gap_limit_s
        if state.prev_time is not None and (now - state.prev_time).total_seconds() <= limit:
            return None  # the usual poll (the newest reading is at least as recent)
        last = newest_time(state)
        if (state.baseline is None or state.estimating or last is None
                or (now - last).total_seconds() <= limit):
            return None
        return records_for_gap(self.client, state.baseline.time, now)

    def close(self) -> list[Point]:
        self.client.close()
        return self._tagged(self.accountant.flush()) if self.accountant is not None else []

    def _tagged(self, points: Iterable[Point]) -> list[Point]:
        return with_role(points, self.role)

    def _resume_state(self, cfg: MeterConfig) -> MeterState:
        key = f"meter/{cfg.device}"
        local: MeterState | None = None
        raw = self.state.get(key) if self.state is not None else None
        if raw is not None:
            try:
                local = state_from_json(raw)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.warning("meter %s: accounting state damaged (%s); resuming from the "
                            "store", cfg.device, exc)
                assert self.state is not None
                self.state.discard(key)
        stored: MeterState | None = None
        self._fresh = local is None
        if self._lookup is not None:
            try:
                stored = stored_state(cfg, self._lookup)
            except StoreError as exc:
                self._fresh = False
                log.warning("meter %s: cannot read the store to resume (%s); using the local "
                            "accounting state", cfg.device, exc)
        if local is None:
            return stored or MeterState()
        if stored is None:
            return local
        local_t, stored_t = newest_time(local), newest_time(stored)
        if stored_t is not None and (local_t is None or stored_t > local_t):
            return stored
        return local


# A heat pump poll's alerting state: its active messages (kind, code) and error count
# (None: the device reports no error feature).
MessageKey = tuple[frozenset[tuple[str, str]], FieldValue | None]


def message_key(sample: HeatPumpSample) -> MessageKey:
    """What of a poll the alerts read (bot: the last stored poll's messages): a change of
    it from the device's previous poll, including to no message, is committed at once."""
    return (frozenset((m.kind, m.code) for m in sample.messages),
            sample.values.get("error_count"))


class HeatPumpPipeline:
    """The Viessmann reader with heat accounting (collector.accounting.heat). Each device's
    last sample and counter references are kept in the accounting state, so heat
    accounting resumes exactly; the meter's running time is asked of the shared ledger for
    each interval between two samples, so a failed poll loses none of it."""

    name = "vicare"

    def __init__(self, reader: ViCareReader, settings: Settings, *,
                 interval_s: float | None = None, running: RunningLedger | None = None,
                 state: StateFile | None = None):
        self.reader, self.settings = reader, settings
        self.interval_s = float(interval_s or settings.vicare_poll_seconds)
        self.device = ""
        self.state = state
        self.accountant = HeatAccountant(settings.rated_heat_kw, self.interval_s,
                                         running.between if running is not None else None,
                                         tz=settings.tz, rod_kw=settings.heating_rod_kw)
        # per device: its last poll's active messages and error count (message_key), in
        # memory only; a restart takes its first poll for a change (one extra commit)
        self._messages: dict[str, MessageKey] = {}

    def resume(self, lookup: Lookup) -> None:
        """Each device's accounting state from the state file (nothing to read from the
        store: counters are not stored)."""
        if self.state is None:
            return
        for key, raw in self.state.sections("heatpump/").items():
            try:
                device = device_state_from_json(raw)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.warning("%s: accounting state damaged (%s); heat accounting for this "
                            "device starts with the next poll", key, exc)
                self.state.discard(key)
                continue
            self.accountant.devices[device.sample.device] = device

    def poll(self) -> Batch:
        read = self.reader.read()
        points: list[Point] = list(read.calls)
        # the device's own memory of its energy: a separate basis (`device_energy`)
        points.extend(device_energy_points(read.history, self.settings.tz))
        outcomes: dict[str, SourceError | None] = dict(read.failures)
        if read.connected and ACCOUNT not in outcomes:
            outcomes[ACCOUNT] = None
        single = len(self.reader.devices) == 1
        state: dict[str, Any] = {}
        events: list[Event] = []
        urgent = False
        for s in read.samples:
            points.extend(heatpump_points(s))
            # a fault that begins or ends is alerted from the last stored poll: committed at
            # once, not at the next regular commit (two commits per fault)
            key = message_key(s)
            urgent |= self._messages.get(s.device) != key
            self._messages[s.device] = key
            last = self.accountant.devices.get(s.device)
            if last is not None and last.sample.time < s.time:  # settings the owner changed
                changes = setting_changes(last.sample.values, s.values)
                points.extend(setting_change_point(s.time, s.device, *change, last.sample.time)
                              for change in changes)
                urgent |= bool(changes)  # a few a year; /changes shows them at once
            update = self.accountant.add(s, single_device=single)
            points.extend(update.points)
            events.extend((s.device, reason, detail, None) for reason, detail in update.events)
            outcomes[s.device] = None
            device = self.accountant.devices.get(s.device)
            if device is not None:
                state[f"heatpump/{s.device}"] = partial(device_state_to_json,
                                                            copy_state(device))
        if read.samples:
            self.device = ",".join(sorted({s.device for s in read.samples}))
        return Batch(points, self.device, outcomes=outcomes, events=events, state=state,
                     urgent=urgent)

    def close(self) -> list[Point]:
        return []

