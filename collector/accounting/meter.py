"""Meter accounting: from consecutive readings to energy, running time and starts per minute.

Pure functions over plain data (`step`, `flush`, `resume_state`) plus a thin stateful
`MeterAccountant` wrapper that logs. The rules, documented for users in docs/shelly.md:

* Energy of an interval = advance of the device's cumulative import counter. Only a meter
  without any energy counter (`has_counter=False`, or a reading that says its device has
  none) integrates power (trapezoid of the positive part), marks that energy as an
  estimate (`estimated_wh`), and then a gap has no energy at all.
* The counter is checked against power x time, both ways. Between the last accepted
  reading (the baseline) and a new one, the advance must lie within what the power seen in
  between allows (`classify`): a counter that went down is a "dip", one that rose faster
  than the power allows is "fast", one that stood still (or crept) while power flowed is
  "slow". Such a reading is HELD, not counted: when a later reading agrees with the
  baseline again within `hold_s` (180 s), the held readings were a glitch and the whole
  advance is counted once (a dip that recovers, a one-reading spike, a counter that
  updates late; settled only once the counter is back where the power says it must be,
  not merely within the loose bound). When the new level persists for `hold_s` and moves
  with the power from there, it is a level change: a counter reset (counting the new value
  as energy since zero when the power allows it), or a jump that is not counted. When the
  counter keeps disagreeing with the power, it is faulty ("stuck" or "fast", reported as degraded
  health; a counter that creeps at well under the power is judged over CHECK_WINDOW_WH):
  those minutes get no energy at all, and while the fault lasts only readings that prove
  the counter moves with the power again (PROOF_WH) count.
* A reboot seen in the uptime on a device whose counter restarts at boot (Gen1 plugs) is a
  reset at once: the new value is the energy since zero, over min(interval, uptime).
* Every interval (t0, t1] of one poll belongs to the UTC minute containing t1. An interval
  longer than a few polls (`gap_s`) is placed by what is known about it:
  - the power was observed throughout (held readings, unusable counter values): its energy
    is split over the minutes in proportion to the power measured in each;
  - nothing was observed (a gap: meter unreachable, collector stopped) and it stays
    inside one local hour (HEATPUMP_TZ): it goes, with its full duration, to the minute
    where it ends, exact for that hour;
  - a gap across an hour boundary is spread evenly over the minutes it covers and marked
    `bridged_wh`/`bridged_s`: the energy is real, its distribution over the hours is not
    known, so the JAZ pairing leaves it out (bot/analytics.py). Only the part in an hour
    that holds all of the gap but at most `BRIDGE_TOLERANCE_S` (60 s) is not marked.
  - a gap the meter's own per-minute records cover (the collector passes them with the
    reading that closes the gap): the same counter advance, placed minute by minute by
    the records and marked `filled_wh` instead (collector/accounting/gapfill.py).
* Running time and starts come from the power trace with hysteresis and a two-sample
  debounce; a gap never creates a start or a stop, and its time is not counted as running.
  `running_wh` is the energy of the intervals in which the compressor ran (the running COP).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from collector.accounting.gapfill import fill_gap
from collector.points import electricity_point, meter_point
from collector.readings import MeterReading
from heatpump.store.base import FieldValue, Point
from heatpump.store.latest_point import LatestReader, latest_point
from heatpump.timeutil import bucket_floor

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)
# A bridged gap is spread per minute up to this length, per quarter hour beyond it (every
# zone's hours and days start on a UTC quarter hour, so the hourly and daily sums are the
# same either way; a month-long outage stays a few thousand points).
SPREAD_PER_MINUTE_MAX = timedelta(days=2)
# The part of a spread gap in one hour counts as measured when the gap lies in that hour
# but for at most this: the energy misplaced is then at most a minute's (the same order as
# a 5-minute heat pump poll's share of the next hour).
BRIDGE_TOLERANCE_S = 60.0

# Counter against power x time (`classify`). Shelly meters derive both from the same
# metering chip, so they agree to a few percent; the bounds below only catch what cannot be
# energy, while leaving room for sampling (power is read every poll, not integrated).
COUNTER_RES_WH = 0.35  # counter resolution and rounding (Gen1 3EM: 0.1 Wh per phase)
LAG_S = 2.0  # the counter and the power of one answer may be a moment apart
FAST_FACTOR = 1.25  # the counter may run this much faster than the highest power seen ...
FAST_MARGIN_W = 50.0  # ... plus this (power between two samples can exceed both)
SLOW_FACTOR = 0.5  # the counter must advance at least half of the least the power allows
CHECK_WINDOW_WH = 20.0  # a slowly creeping counter is judged over this much power energy
PROOF_WH = 10.0  # a faulty counter is trusted again after agreeing over this much


@dataclass(frozen=True)
class MeterConfig:
    """Per-device accounting rules (see module docstring)."""

    device: str
    running_w: float = 250.0  # HEATPUMP_RUNNING_W: running while power > this
    poll_s: float = 10.0  # SHELLY_POLL_SECONDS
    gap_s: float | None = None  # longer silence is a gap; default 3 polls (min 25 s)
    off_ratio: float = 0.8  # hysteresis: a run ends below running_w * off_ratio
    counter_survives_reboot: bool = True  # False for Gen1 plugs/1PM
    has_counter: bool = True  # False only for a source without an energy counter
    max_power_w: float = 100_000.0  # without power data, a mean above this is no energy
    reversed_w: float = 20.0  # power below -reversed_w ...
    reversed_s: float = 60.0  # ... for this long is a reversed clamp
    hold_s: float = 180.0  # how long a reading that disagrees with the power is held
    tz: ZoneInfo | None = None  # HEATPUMP_TZ: the hours of the JAZ pairing (None: UTC)

    @classmethod
    def from_settings(cls, settings: Any, device: str, counter_survives_reboot: bool = True
                      ) -> MeterConfig:
        """HEATPUMP_RUNNING_W, SHELLY_POLL_SECONDS and HEATPUMP_TZ from
        `heatpump.settings.Settings`."""
        return cls(device=device, running_w=settings.running_w,
                   poll_s=settings.shelly_poll_seconds,
                   counter_survives_reboot=counter_survives_reboot, tz=settings.tz)

    # computed once per device (asked for every reading): cached_property stores the value
    # in the instance's __dict__, which a frozen dataclass allows
    @cached_property
    def gap_limit_s(self) -> float:
        return self.gap_s if self.gap_s is not None else max(3 * self.poll_s, 25.0)

    @cached_property
    def off_w(self) -> float:
        return self.running_w * self.off_ratio

    @property
    def zone(self) -> ZoneInfo:
        return self.tz or ZoneInfo("UTC")


@dataclass(frozen=True)
class MeterEvent:
    """Something the collector should log and, for some kinds, store as health."""

    time: datetime
    device: str
    # "rejected", "counter_glitch", "counter_reset", "counter_stuck", "counter_fault",
    # "counter_ok", "reversed_clamp", "records_filled", "records_unused"
    kind: str
    detail: str

    @property
    def health_status(self) -> str | None:
        """The `health` status this event is stored with; None for what is only logged
        (rejected values, glitches; a lasting fault is the source's degraded state)."""
        return {"counter_reset": "up", "counter_stuck": "up",
                "reversed_clamp": "degraded"}.get(self.kind)


class Baseline(NamedTuple):
    """The last accepted counter value (or the integrated total without a counter). A named
    tuple, as `Slice`: immutable and built for every reading, which a frozen dataclass's
    __init__ makes several times slower."""

    time: datetime
    counter_wh: float
    uptime_s: int | None = None


@dataclass(frozen=True)
class Held:
    """A counter reading that disagrees with the power, waiting for the verdict."""

    kind: str  # "dip", "fast" or "slow" (see `classify`)
    time: datetime
    counter_wh: float
    uptime_s: int | None = None
    last_time: datetime | None = None  # the latest held reading (None: the first)
    last_counter_wh: float | None = None


class Slice(NamedTuple):
    """One observed power interval ending at `end`, whose counter energy is not booked yet
    (a named tuple: immutable, and built for every reading)."""

    end: datetime
    seconds: float
    power_wh: float  # trapezoid of the positive power
    peak_w: float  # the higher of its two power samples (>= 0)
    running: bool
    floor_w: float = 0.0  # the lower of its two power samples (>= 0)

    @property
    def floor_wh(self) -> float:
        """The least energy the interval surely had: the power may have dropped right after
        the first sample, but (as for running time) it did not dip between two samples."""
        return self.floor_w * self.seconds / 3600.0


@dataclass(frozen=True)
class Bucket:
    """One UTC minute; `has_energy`/`has_power` say which fields were observed."""

    minute: datetime
    energy_wh: float = 0.0
    duration_s: float = 0.0
    counter_wh: float | None = None
    running_s: float = 0.0
    starts: int = 0
    running_wh: float = 0.0
    bridged_wh: float = 0.0
    bridged_s: float = 0.0
    estimated_wh: float = 0.0
    filled_wh: float = 0.0  # placed by the meter's own records (collector/accounting/gapfill.py)
    has_energy: bool = False
    has_power: bool = False

    def point(self, device: str) -> Point | None:
        fields: dict[str, FieldValue] = {}
        if self.has_energy:
            fields.update(energy_wh=self.energy_wh, duration_s=self.duration_s,
                          running_wh=self.running_wh)
            if self.bridged_s > 0:
                fields.update(bridged_wh=self.bridged_wh, bridged_s=self.bridged_s)
            if self.estimated_wh > 0:
                fields["estimated_wh"] = self.estimated_wh
            if self.filled_wh > 0:
                fields["filled_wh"] = self.filled_wh
        if self.counter_wh is not None:
            fields["counter_wh"] = self.counter_wh
        if self.has_power:
            fields.update(running_s=self.running_s, starts=self.starts)
        if not fields:
            return None
        return electricity_point(self.minute, device, "meter", "total", fields)

    def add(self, energy_wh: float, duration_s: float, *, running_wh: float = 0.0,
            bridged: bool = False, estimated: bool = False, filled: bool = False,
            **more: Any) -> Bucket:
        """This minute with an interval's energy added; `more`: other fields set at once
        (one copy instead of two, e.g. the counter a booking ends at)."""
        return replace(
            self, energy_wh=self.energy_wh + energy_wh, duration_s=self.duration_s + duration_s,
            running_wh=self.running_wh + running_wh,
            bridged_wh=self.bridged_wh + (energy_wh if bridged else 0.0),
            bridged_s=self.bridged_s + (duration_s if bridged else 0.0),
            estimated_wh=self.estimated_wh + (energy_wh if estimated else 0.0),
            filled_wh=self.filled_wh + (energy_wh if filled else 0.0),
            has_energy=True, **more)


@dataclass(frozen=True)
class MeterState:
    baseline: Baseline | None = None
    held: Held | None = None
    slices: tuple[Slice, ...] = ()  # power intervals since the baseline
    recent: tuple[Bucket, ...] = ()  # closed minutes that may still receive energy
    prev_time: datetime | None = None  # last valid power sample
    prev_power_w: float | None = None
    running: bool | None = None  # debounced state up to the sample before prev (None: unknown)
    negative_since: datetime | None = None
    reversed_reported: bool = False
    bucket: Bucket | None = None
    last_reject: str | None = None
    fault: str | None = None  # "counter_stuck" / "counter_fast" while the counter is faulty
    fault_detail: str = ""
    estimating: bool = False  # the baseline is an integrated total, not a device counter
    check_wh: tuple[float, float] = (0.0, 0.0)  # (counter Wh, power Wh) of booked intervals
    # The meter's per-minute records (UTC minute -> Wh) for a gap the next reading closes,
    # set by the collector for one `step` only, and what became of them (never saved).
    records: Any = None
    records_note: str | None = None


class MeterUpdate(NamedTuple):
    """What one reading yields (a named tuple, as `Baseline`: one is built per reading)."""

    points: tuple[Point, ...] = ()
    events: tuple[MeterEvent, ...] = ()
    # (covered seconds, running seconds) of the power interval this reading closed; None
    # when it closed none (first reading, a gap, no valid power)
    running: tuple[float, float] | None = None


# --- the pure core ---------------------------------------------------------------------


def replace(obj: Any, **changes: Any) -> Any:
    """`dataclasses.replace` for these plain frozen dataclasses (no `__post_init__`, no
    slots), several times faster: a copy of the instance's fields with `changes` set,
    without running `__init__` (it runs several times for every reading, 8640 readings a
    day per meter and ~260,000 in a 30-day demo)."""
    new = object.__new__(obj.__class__)
    fields = new.__dict__
    fields.update(obj.__dict__)
    fields.update(changes)
    return new


def _set(state: MeterState, **changes: Any) -> MeterState:
    """`state` with `changes` set IN PLACE: only for the private working copy `step` makes
    of its input (`_working`), so `step` stays a pure function to its callers while the
    many small updates of one reading do not copy the whole state each time."""
    state.__dict__.update(changes)
    return state


def _working(state: MeterState) -> MeterState:
    """A private copy of `state` that `_set` may change."""
    return replace(state)


_last_minute: tuple[datetime | None, datetime | None] = (None, None)


def minute_of(t: datetime) -> datetime:
    """The minute containing `t`. One reading asks this of its own time several times:
    the last answer is kept (by identity: the cache holds `t`, so its id is not reused)."""
    global _last_minute
    last = _last_minute
    if last[0] is t:
        return last[1]  # type: ignore[return-value]
    minute = t.replace(second=0, microsecond=0)
    _last_minute = (t, minute)  # one assignment: safe between threads
    return minute


class _Minutes:
    """The buckets one reading touches: the open one, the recent closed ones, and minutes
    that only receive a share of a long interval. Collects what must be (re)written."""

    def __init__(self, bucket: Bucket, recent: tuple[Bucket, ...]):
        self.open = bucket
        self.recent = {b.minute: b for b in recent} if recent else {}
        self.other: dict[datetime, Bucket] = {}
        self.dirty: set[datetime] = set()

    def get(self, minute: datetime) -> Bucket:
        if minute == self.open.minute:
            return self.open
        return self.recent.get(minute) or self.other.get(minute) or Bucket(minute)

    def put(self, b: Bucket) -> None:
        if b.minute == self.open.minute:
            self.open = b
            return
        if b.minute in self.recent:
            self.recent[b.minute] = b
        else:
            self.other[b.minute] = b
        self.dirty.add(b.minute)

    def points(self, device: str) -> list[Point]:
        out = []
        for minute in sorted(self.dirty):
            b = self.recent.get(minute) or self.other[minute]
            p = b.point(device)
            if p is not None:
                out.append(p)
        return out


def step(state: MeterState, reading: MeterReading, cfg: MeterConfig
         ) -> tuple[MeterState, MeterUpdate]:
    """Account one reading. Returns the new state, the raw `meter` point, the `electricity`
    minutes that closed or received energy, and events (rejections, glitches, resets, a
    faulty counter, a reversed clamp).

    A plain reading (`_plain_step`: one poll after the last, valid values, a counter that
    agrees with its power interval, nothing held, faulty or pending) takes a direct path;
    every other reading takes the general rules (`_step_rules`). Both give the same result
    bit for bit for a plain reading (tests/collector/accounting/test_meter_plain.py); the
    direct path exists because plain readings are nearly all of them (8,640 a day per
    meter)."""
    done = _plain_step(state, reading, cfg)
    if done is not None:
        return done
    return _step_rules(state, reading, cfg)


def _plain_step(state: MeterState, reading: MeterReading, cfg: MeterConfig
                ) -> tuple[MeterState, MeterUpdate] | None:
    """`_step_rules` for a plain reading (a `PlainRun` of one); None when the reading is
    not plain (then nothing is changed)."""
    run = PlainRun.of(state, cfg)
    if run is None:
        return None
    interval = run.add(reading)
    if interval is None:
        return None
    return run.state(), MeterUpdate(tuple(run.points), (), interval)


_new = object.__new__
_set_dict = object.__setattr__
_BUCKET_KEYS = ("minute", "energy_wh", "duration_s", "counter_wh", "running_s", "starts",
                "running_wh", "bridged_wh", "bridged_s", "estimated_wh", "filled_wh",
                "has_energy", "has_power")
# `PlainRun` holds a Bucket as all of its fields: a field added to Bucket must be added
# there (and here)
assert tuple(Bucket.__dataclass_fields__) == _BUCKET_KEYS


class PlainRun:
    """Plain readings of one meter, one after another, accounted on working variables: the
    `MeterState` is built when asked (`state`), not for every reading (issue 16: a year of
    the demo is 3.15 million readings, and building the state was a third of each).

    Plain: the previous reading was booked (it is the baseline, nothing held, no fault, no
    open slices or recent minutes, no records, a counter and not an estimate: `of` says
    whether a state is such), and the reading comes within 1.5 polls (and within the gap
    limit), its power is a finite float not below -reversed_w, its counter a finite float
    >= 0 that `classify` accepts against this one power interval, its uptime valid (and no
    reboot where the counter restarts at boot), and the creep check does not find the
    counter out. A plain reading leaves a state that is again such, so a run goes on until
    the first reading that is not plain; that one and what follows take `step`.

    Every expression in `add` is the one the general rules (`_step_rules`) evaluate for
    such a reading, in the same order, so the floats are the same bit for bit
    (tests/collector/accounting/test_meter_plain.py compares both, reading by reading and
    over whole runs)."""

    __slots__ = ("_base", "_bridged_s", "_bridged_wh", "_c0", "_check", "_counter_wh",
                 "_duration_s", "_energy_wh", "_estimated_wh", "_filled_wh", "_has_energy",
                 "_has_power", "_minute", "_minute_end", "_power", "_rules", "_running",
                 "_running_s", "_running_wh", "_starts", "_t", "_uptime", "cfg", "points")

    @classmethod
    def of(cls, state: MeterState, cfg: MeterConfig) -> PlainRun | None:
        """A run that continues from `state`; None when its next reading cannot be plain
        (nothing booked yet, something held, faulty or pending, no counter)."""
        b = state.baseline
        prev_t = state.prev_time
        if (b is None or prev_t is None or b.time != prev_t or state.held is not None
                or state.fault is not None or state.estimating or state.slices
                or state.recent or state.records is not None or state.bucket is None
                or not cfg.has_counter or state.prev_power_w is None):
            return None
        run = _new(cls)
        run.cfg = cfg
        # what `add` asks of cfg for every reading, computed as the rules compute it
        run._rules = (1.5 * cfg.poll_s, cfg.gap_limit_s, -cfg.reversed_w,
                      cfg.counter_survives_reboot, cfg.running_w, cfg.off_w, cfg.device)
        run.points = []  # the points of the readings added, in order
        run._base = state
        run._t, run._c0, run._uptime = prev_t, b.counter_wh, b.uptime_s
        run._power, run._running, run._check = state.prev_power_w, state.running, state.check_wh
        (run._minute, run._energy_wh, run._duration_s, run._counter_wh, run._running_s,
         run._starts, run._running_wh, run._bridged_wh, run._bridged_s, run._estimated_wh,
         run._filled_wh, run._has_energy, run._has_power) = _bucket_fields(state.bucket.__dict__)
        run._minute_end = _minute_end(run._minute)
        return run

    def add(self, reading: MeterReading) -> tuple[float, float] | None:
        """Account `reading` if it is plain: its (covered seconds, running seconds), as
        `MeterUpdate.running`, and its points appended to `points`. None when it is not
        plain; then nothing is changed."""
        t, _, power, counter, uptime, has_counter = reading
        poll_limit, gap_limit, least_w, survives, running_w, off_w, device = self._rules
        if (not has_counter or type(power) is not float or power - power != 0.0
                or power < least_w or type(counter) is not float
                or counter - counter != 0.0 or counter < 0.0
                or not (uptime is None or (type(uptime) is int and uptime >= 0))):
            return None
        dt = (t - self._t).total_seconds()
        if not (0.0 < dt <= poll_limit and dt <= gap_limit):
            return None
        if uptime is not None and not survives and (
                (self._uptime is not None and uptime < self._uptime)
                or uptime + 3.0 + 0.01 * dt < dt):
            return None  # a reboot of a meter whose counter restarts: the reset rules
        # _power: the debounced running state and the observed power interval
        prev_p = self._power
        running = self._running
        if running is None:
            state_prev = prev_p > running_w
        elif running:
            state_prev = not (prev_p < off_w and power < off_w)
        else:
            state_prev = prev_p > running_w and power > running_w
        starts = 1 if running is False and state_prev else 0
        peak = max(prev_p, power, 0.0)
        floor_w = max(min(prev_p, power), 0.0)
        # classify(b.time, b.counter_wh, t, counter, (this interval,), cfg): None or not plain
        c0 = self._c0
        advance = counter - c0
        if advance < -(1.0 + 1e-6 * abs(c0)):
            return None
        floor_wh = 0.0
        floor_wh += floor_w * dt / 3600.0
        res = COUNTER_RES_WH + 1e-6 * abs(c0) + (peak + peak) * LAG_S / 3600
        if (advance > (peak * FAST_FACTOR + FAST_MARGIN_W) * dt / 3600.0 + res
                or advance < floor_wh * SLOW_FACTOR - res):
            return None
        # _agrees: the creep check (`_creep_check`; `_floor_wh` sums from an int 0)
        evidence = 0
        evidence += floor_w * dt / 3600.0
        check = self._check
        if evidence > 0:
            got, want = check
            got, want = got + max(counter - c0, 0.0), want + evidence
            if want < CHECK_WINDOW_WH:
                check = (got, want)
            elif got < want * SLOW_FACTOR - COUNTER_RES_WH:
                return None  # a creeping counter found out: the general rules report it
            else:
                check = (0.0, 0.0)
        # _book of one poll: the minute where the interval ends
        level = max(counter, c0)
        energy = max(level - c0, 0.0)
        # `_running_share` of one interval: x / x is 1.0, 0.0 / x is 0.0, and without power
        # the interval's own state decides
        share = 1.0 if state_prev else 0.0

        points = self.points
        raw = meter_point(t, device, power, counter, uptime)
        if raw is not None:
            points.append(raw)
        # minute_of(t) != the open minute, asked only when t is not inside it
        if not (self._minute <= t < self._minute_end) and minute_of(t) != self._minute:
            closed = self._bucket().point(device)
            if closed is not None:
                points.append(closed)
            (self._minute, self._energy_wh, self._duration_s, self._counter_wh,
             self._running_s, self._starts, self._running_wh, self._bridged_wh,
             self._bridged_s, self._estimated_wh, self._filled_wh, self._has_energy,
             self._has_power) = (minute_of(t), *_EMPTY_BUCKET)
            self._minute_end = _minute_end(self._minute)
        # `_power`'s running time and start, then `Bucket.add` of the booked interval
        self._energy_wh += energy
        self._duration_s += dt
        self._counter_wh = level
        self._running_s += dt if state_prev else 0.0
        self._starts += starts
        self._running_wh += energy * share
        self._bridged_wh += 0.0
        self._bridged_s += 0.0
        self._estimated_wh += 0.0
        self._filled_wh += 0.0
        self._has_energy = self._has_power = True
        self._t, self._c0, self._uptime = t, level, uptime
        self._power, self._running, self._check = power, state_prev, check
        return dt, dt if state_prev else 0.0

    def _bucket(self) -> Bucket:
        bucket = _new(Bucket)
        _set_dict(bucket, "__dict__", dict(zip(_BUCKET_KEYS, (
            self._minute, self._energy_wh, self._duration_s, self._counter_wh,
            self._running_s, self._starts, self._running_wh, self._bridged_wh,
            self._bridged_s, self._estimated_wh, self._filled_wh, self._has_energy,
            self._has_power), strict=True)))
        return bucket

    def state(self) -> MeterState:
        """The state after the readings added (the one it began from when none was)."""
        base = self._base
        if self._t is base.prev_time:  # nothing added (an added reading's time is later)
            return base
        new = _new(MeterState)
        _set_dict(new, "__dict__", {
            **base.__dict__, "baseline": Baseline(self._t, self._c0, self._uptime),
            "prev_time": self._t, "prev_power_w": self._power, "running": self._running,
            "negative_since": None, "bucket": self._bucket(), "last_reject": None,
            "check_wh": self._check, "recent": (), "slices": ()})
        return new


def _minute_end(minute: datetime) -> datetime:
    """The end of the minute that begins at `minute`: a t with minute <= t < end is in it.
    A bucket's minute is a whole minute; were one not, the window is empty (every t then
    asks `minute_of`)."""
    return minute + _ONE_MINUTE if not (minute.second or minute.microsecond) else minute


_ONE_MINUTE = timedelta(minutes=1)
_bucket_fields = itemgetter(*_BUCKET_KEYS)  # a Bucket's fields, in `_BUCKET_KEYS` order
# the fields of a new `Bucket(minute)` after its minute
_EMPTY_BUCKET = _bucket_fields(Bucket(datetime(2000, 1, 1, tzinfo=UTC)).__dict__)[1:]


def _step_rules(state: MeterState, reading: MeterReading, cfg: MeterConfig
                ) -> tuple[MeterState, MeterUpdate]:
    """`step` by the general rules (any reading)."""
    t = reading.time
    events: list[MeterEvent] = []
    points: list[Point] = []

    def reject(what: str, why: str) -> None:
        events.append(MeterEvent(t, cfg.device, "rejected", f"{what} rejected: {why}"))

    if (state.prev_time is not None and t <= state.prev_time) or (
            state.baseline is not None and t <= state.baseline.time):
        reject("reading", "its time is not after the previous reading (collector clock "
                          "went back?)")
        return state, MeterUpdate((), tuple(events))

    power = reading.power_w
    if type(power) is not float or power - power != 0.0:  # the usual finite float passes
        power = _valid_number(power)
        if power is None:
            reject("power", _why_invalid(reading.power_w))
    has_counter = cfg.has_counter and reading.has_counter
    counter = reading.energy_import_wh if has_counter else None
    if counter is not None and (type(counter) is not float or counter - counter != 0.0):
        counter = _valid_number(counter)
    if has_counter and counter is not None and counter < 0:
        reject("counter", f"negative ({counter:g} Wh; Gen1 EM/3EM report -1 right after "
                          "boot)")
        counter = None
    elif has_counter and counter is None:
        reject("counter", _why_invalid(reading.energy_import_wh))
    uptime = reading.uptime_s
    if not (type(uptime) is int or (isinstance(uptime, int) and not isinstance(uptime, bool))
            ) or uptime < 0:
        uptime = None

    state = _working(state)  # from here on changed in place (`_set`)
    raw = meter_point(t, cfg.device, power, counter, uptime)
    if raw is not None:
        points.append(raw)

    # The open minute closes once this reading's interval ends in a later one; it stays at
    # hand (`recent`) while a longer interval may still put energy into it.
    bucket, recent = state.bucket, state.recent
    closed: Bucket | None = None
    if bucket is not None and minute_of(t) != bucket.minute:
        closed, bucket = bucket, None
        recent = (*recent, closed)
    minutes = _Minutes(bucket or Bucket(minute_of(t)), recent)
    if closed is not None:
        minutes.dirty.add(closed.minute)

    new = state
    running: tuple[float, float] | None = None
    if power is not None:
        new, running = _power(new, minutes, t, power, cfg, events)
    if has_counter:
        if counter is not None:
            new = _count(new, minutes, t, counter, uptime, cfg, events)
    else:
        new = _estimate(new, minutes, t, power is not None and running is not None)

    if minutes.dirty:
        points += minutes.points(cfg.device)
    if new.records_note is not None:
        kind = "records_filled" if new.records_note.startswith("filled") else "records_unused"
        events.append(MeterEvent(t, cfg.device, kind, new.records_note))
    if new.records is not None or new.records_note is not None:
        new = _set(new, records=None, records_note=None)  # for this reading only
    last_reject = None
    for e in events:
        if e.kind == "rejected":
            last_reject = e.detail
    new = _set(new, bucket=minutes.open, last_reject=last_reject,
               recent=_keep_recent(minutes, new, t, cfg), slices=_keep_slices(new, t, cfg))
    return new, MeterUpdate(tuple(points), tuple(events), running)


def _keep_recent(minutes: _Minutes, state: MeterState, t: datetime, cfg: MeterConfig
                 ) -> tuple[Bucket, ...]:
    """Closed minutes a later booking may still add to: the baseline's minute, and those of
    power intervals not yet matched with counter energy (at most `hold_s` back)."""
    if state.baseline is None or state.estimating or not minutes.recent:
        return ()
    base = minute_of(state.baseline.time)
    oldest = minute_of(t - timedelta(seconds=cfg.hold_s + 120.0))
    pending = {minute_of(s.end) for s in state.slices}
    keep = [b for m, b in sorted(minutes.recent.items())
            if m == base or (m >= base and m >= oldest and m in pending)]
    return tuple(keep)


def _keep_slices(state: MeterState, t: datetime, cfg: MeterConfig) -> tuple[Slice, ...]:
    if state.estimating or not state.slices:
        return ()
    oldest = t - timedelta(seconds=cfg.hold_s + 120.0)
    if state.slices[0].end > oldest:  # in time order: all are recent enough (the usual case)
        return state.slices
    return tuple(s for s in state.slices if s.end > oldest)


# --- counter energy ---------------------------------------------------------------------


def classify(t0: datetime, c0: float, t1: datetime, c1: float,
             slices: Iterable[Slice], cfg: MeterConfig, strict: bool = False) -> str | None:
    """Whether the counter's move from (t0, c0) to (t1, c1) can be energy: None when it can,
    "dip" (it went down beyond float jitter), "fast" (more than the power allows, or without
    power data more than `max_power_w`), or "slow" (less than half the least the power
    allows). `strict`, as a held reading must be to be settled: back at least at c0 (but
    for the counter's resolution) and at least all the power allows.
    The bounds: COUNTER_RES_WH, LAG_S, FAST_FACTOR, FAST_MARGIN_W, SLOW_FACTOR."""
    dt = (t1 - t0).total_seconds()
    advance = c1 - c0
    if advance < -((COUNTER_RES_WH if strict else 1.0) + 1e-6 * abs(c0)):
        return "dip"
    # one pass over the power intervals in (t0, t1] that observed the power (`_seen`)
    limit_s = 1.5 * cfg.poll_s
    inside: list[Slice] = []
    observed = floor_wh = 0.0
    peak = -math.inf
    for s in slices:
        if t0 < s.end <= t1 and s.seconds <= limit_s:
            inside.append(s)
            observed += s.seconds
            floor_wh += s.floor_w * s.seconds / 3600.0  # Slice.floor_wh
            if s.peak_w > peak:
                peak = s.peak_w
    if dt <= 0:
        return None
    if observed < 0.9 * dt:  # the power does not cover the interval: only the hard cap
        return "fast" if advance * 3600.0 / dt > cfg.max_power_w else None
    # resolution, the float jitter of large counters (1 ppm, float32 firmware), and what
    # flows while the counter and the power of an answer are a moment apart (at both ends)
    res = COUNTER_RES_WH + 1e-6 * abs(c0) + (inside[0].peak_w + inside[-1].peak_w) * LAG_S / 3600
    if advance > (peak * FAST_FACTOR + FAST_MARGIN_W) * dt / 3600.0 + res:
        return "fast"
    if advance < floor_wh * (1.0 if strict else SLOW_FACTOR) - res:
        return "slow"
    return None


def _count(state: MeterState, minutes: _Minutes, t: datetime, counter: float,
           uptime: int | None, cfg: MeterConfig, events: list[MeterEvent]) -> MeterState:
    """Energy from the cumulative counter between the baseline and this reading, checked
    against the power in between (see the module docstring)."""
    b = state.baseline
    if b is None or state.estimating:  # first reading, or the meter has a counter again
        if state.estimating:  # the last interval without it is still integrated
            state = _estimate(state, minutes, t, True)
        # noted in its minute, so a restart from the store starts from here too
        minutes.put(replace(minutes.get(minute_of(t)), counter_wh=counter))
        return _set(state, baseline=Baseline(t, counter, uptime), held=None, slices=(),
                       estimating=False)
    dt = (t - b.time).total_seconds()

    # A reboot: uptime went down, or the device has been up for less than the interval.
    # Comparing uptimes (not uptime with our clock) keeps a collector clock step harmless.
    rebooted = uptime is not None and (
        (b.uptime_s is not None and uptime < b.uptime_s) or uptime + 3.0 + 0.01 * dt < dt)
    if rebooted and not cfg.counter_survives_reboot:
        held = state.held
        if held is not None and held.last_time is not None:
            # the reboot ends a hold: the held readings before it are judged as they are
            assert held.last_counter_wh is not None
            state = _decide(_set(state, held=None), minutes, b, held, held.last_time,
                            held.last_counter_wh, None, cfg, events)
            assert state.baseline is not None
            b = state.baseline
            dt = (t - b.time).total_seconds()
        since_boot = min(dt, max(float(uptime or 0), 1.0))
        start = t - timedelta(seconds=since_boot)
        if classify(start, 0.0, t, counter, state.slices, cfg) in (None, "slow"):
            events.append(MeterEvent(t, cfg.device, "counter_reset",
                                     f"counter reset (the device rebooted: "
                                     f"{b.counter_wh:.3f} -> {counter:.3f} Wh); counting "
                                     f"{counter:.3f} Wh since zero"))
            state = _skip(state, start, b.counter_wh)
            return _book(state, minutes, start, t, counter, counter, uptime, cfg)

    held = state.held
    # a held reading is settled only when the counter is back where the power says it
    # must be: a dip that has not fully recovered is still a dip
    verdict = classify(b.time, b.counter_wh, t, counter, state.slices, cfg,
                       strict=held is not None)
    due = held is not None and (t - held.time).total_seconds() >= cfg.hold_s
    if verdict is None and held is not None and held.kind == "dip" and not due and (
            _climbed(state, held, t, counter, cfg)):
        # back at the old level by climbing with the power from the low one, not by
        # jumping back: a reset whose new count passed a small old value, or a dip; the
        # hold decides when it is due (`_reset_fits`)
        return _set(state, held=replace(held, last_time=t, last_counter_wh=counter))
    if verdict is None and not (due and held is not None and held.kind == "dip"
                                and _reset_fits(state, b, held, t, counter, cfg)):
        # (before a hold is due, agreeing with the baseline again settles it: nothing is
        # decided early, so no counter value is ever dropped on a guess)
        return _agrees(state, minutes, b, t, counter, uptime, cfg, events)
    second_drop = (held is not None and held.kind == "dip" and held.last_counter_wh is not None
                   and counter < held.last_counter_wh - (1.0 + 1e-6 * abs(
                       held.last_counter_wh)))
    new_kind = (due and held is not None and verdict not in (None, "slow", held.kind))
    if held is not None and (second_drop or new_kind):
        # A held lower level that drops once more (a second reset), or a jump or drop just
        # when a hold is due: the hold is judged as it stood before this reading, which is
        # then held anew.
        last_t = held.last_time or held.time
        last_c = held.last_counter_wh if held.last_counter_wh is not None else held.counter_wh
        state = _decide(_set(state, held=None), minutes, b, held, last_t, last_c, None,
                        cfg, events)
        return _count(state, minutes, t, counter, uptime, cfg, events)
    if held is None or (verdict is not None and verdict != held.kind and verdict != "slow"
                        and (t - held.time).total_seconds() < cfg.hold_s):
        # a first disagreement, or a jump or a drop after a stand-still (or the other way
        # round): held from here
        held = Held(verdict or "dip", t, counter, uptime)
        log.debug("meter %s: counter %.3f -> %.3f Wh (%s); held for up to %.0f s",
                  cfg.device, b.counter_wh, counter, _KIND_TEXT[held.kind], cfg.hold_s)
    if verdict is not None and (t - held.time).total_seconds() < cfg.hold_s:
        if held.time != t:
            held = replace(held, last_time=t, last_counter_wh=counter)
        return _set(state, held=held)
    return _decide(_set(state, held=None), minutes, b, held, t, counter, uptime, cfg,
                   events)


def _agrees(state: MeterState, minutes: _Minutes, b: Baseline, t: datetime, counter: float,
            uptime: int | None, cfg: MeterConfig, events: list[MeterEvent]) -> MeterState:
    """The counter agrees with the power since the baseline: count its advance (held
    readings in between were a glitch), unless a faulty counter has not proved itself."""
    held = state.held
    if held is not None:
        how_long = (t - held.time).total_seconds()
        kind = "counter_glitch" if held.kind != "slow" else "counter_late"
        events.append(MeterEvent(
            t, cfg.device, kind,
            f"counter reading {held.counter_wh:.3f} Wh ({_KIND_TEXT[held.kind]}) was a "
            f"glitch: {how_long:.0f} s later it agrees with the power again; the "
            f"{counter - b.counter_wh:.3f} Wh since {b.counter_wh:.3f} Wh are counted once"))
        state = _set(state, held=None)
    evidence = _floor_wh(state.slices, b.time, t, cfg)
    if state.fault is not None:
        if evidence < _proof_wh(state.slices, b.time, t):
            # A faulty counter proves nothing while (almost) no power flows: the power is
            # gathered for up to `hold_s`, then those minutes go without energy.
            if (t - b.time).total_seconds() < cfg.hold_s:
                return state
            return _skip(state, t, counter, uptime, minutes)
        state = _fault_over(state, counter - b.counter_wh, evidence, t, cfg, events)
    state = _creep_check(state, b, t, counter, evidence, cfg, events)
    if state.fault is not None:  # a creeping counter was just found out
        return _skip(state, t, counter, uptime, minutes)
    # float jitter below the baseline is no energy, and the baseline keeps its value
    level = max(counter, b.counter_wh)
    return _book(state, minutes, b.time, t, level - b.counter_wh, level, uptime, cfg)


def _climbed(state: MeterState, held: Held, t: datetime, counter: float, cfg: MeterConfig
             ) -> bool:
    """Whether the counter got from the held low reading to `counter` as the power since
    allows (observed throughout), rather than by jumping back (a dip that recovered)."""
    dt = (t - held.time).total_seconds()
    observed = sum(s.seconds for s in _seen(state.slices, held.time, t, cfg))
    return (dt > 0 and observed >= 0.9 * dt
            and classify(held.time, held.counter_wh, t, counter, state.slices, cfg) is None)


def _reset_fits(state: MeterState, b: Baseline, held: Held, t: datetime, counter: float,
                cfg: MeterConfig) -> bool:
    """After a drop held for `hold_s`, a counter that has climbed back past its old level
    agrees with both stories: a dip that recovered, or a reset near zero whose new count
    passed a small old value. The one whose advance is closer to the power's wins; without
    the power seen throughout, the size of the drop decides."""
    if classify(held.time, held.counter_wh, t, counter, state.slices, cfg) is not None:
        return False
    dt = (t - b.time).total_seconds()
    if sum(s.seconds for s in _seen(state.slices, b.time, t, cfg)) < 0.9 * dt:
        # the power was not seen throughout (an outage): a drop to under half the old
        # level is a counter that restarted near zero, a smaller one a dip
        return held.counter_wh < 0.5 * b.counter_wh
    as_glitch = abs(counter - b.counter_wh - _power_wh(state.slices, b.time, t))
    as_reset = abs(counter - held.counter_wh - _power_wh(state.slices, held.time, t))
    return as_reset < as_glitch


def _decide(state: MeterState, minutes: _Minutes, b: Baseline, held: Held, t: datetime,
            counter: float, uptime: int | None, cfg: MeterConfig, events: list[MeterEvent]
            ) -> MeterState:
    """A reading held for `hold_s` (or a drop that proved to be a reset): a new level that
    moves with the power since, or a faulty counter."""

    def event(kind: str, detail: str) -> None:
        events.append(MeterEvent(t, cfg.device, kind, detail))

    since = classify(held.time, held.counter_wh, t, counter, state.slices, cfg)
    if since is None:
        if state.fault is not None:
            evidence = _floor_wh(state.slices, held.time, t, cfg)
            if evidence >= _proof_wh(state.slices, held.time, t):
                state = _fault_over(state, counter - held.counter_wh, evidence, t, cfg, events)
        if held.kind == "dip" and classify(b.time, 0.0, held.time, held.counter_wh,
                                           state.slices, cfg) in (None, "slow"):
            event("counter_reset", f"counter reset (the counter went down: "
                                   f"{b.counter_wh:.3f} -> {held.counter_wh:.3f} Wh and "
                                   f"counts on from there); counting {counter:.3f} Wh since "
                                   "zero")
            return _book(state, minutes, b.time, t, counter, counter, uptime, cfg)
        skipped = f"{_when(b.time)} and {_when(held.time)}"
        if held.kind == "slow":
            event("counter_stuck", f"the energy counter stood still at {b.counter_wh:.3f} "
                                   f"Wh while power flowed between {skipped}; those minutes "
                                   "have no valid energy, counting goes on from "
                                   f"{held.counter_wh:.3f} Wh")
        else:
            move = "jumped" if held.kind == "fast" else "dropped"
            event("counter_reset", f"counter {move} from {b.counter_wh:.3f} to "
                                   f"{held.counter_wh:.3f} Wh between {skipped}; the jump is "
                                   "not counted as energy, counting goes on from there")
        state = _skip(state, held.time, held.counter_wh, held.uptime_s)
        return _book(state, minutes, held.time, t, counter - held.counter_wh, counter, uptime,
                     cfg)
    fault = "counter_fast" if since == "fast" else "counter_stuck"
    if state.fault != fault:
        power = _power_wh(state.slices, b.time, t)
        detail = (f"the energy counter disagrees with the power: {counter - b.counter_wh:.2f} "
                  f"Wh counted while the power says {power:.1f} Wh since {_when(b.time)} "
                  f"({_KIND_TEXT[since]}); minutes without valid energy until it agrees "
                  "again")
        event("counter_fault", detail)
        state = _set(state, fault=fault, fault_detail=detail)
    return _skip(state, t, counter, uptime, minutes)


def _fault_over(state: MeterState, advance: float, power_wh: float, t: datetime,
                cfg: MeterConfig, events: list[MeterEvent]) -> MeterState:
    events.append(MeterEvent(t, cfg.device, "counter_ok",
                             f"the energy counter agrees with the power again ({advance:.2f} "
                             f"Wh counted for {power_wh:.2f} Wh of power)"))
    return _set(state, fault=None, fault_detail="", check_wh=(0.0, 0.0))


_KIND_TEXT = {"dip": "it went down", "fast": "faster than the power allows",
              "slow": "it stood still while power flowed"}


def _proof_wh(slices: Iterable[Slice], t0: datetime, t1: datetime) -> float:
    """The least power energy (`Slice.floor_wh`) an interval needs before its counter
    advance proves that a faulty counter moves with the power again: PROOF_WH, and well
    above what `classify` tolerates."""
    inside = [s for s in slices if t0 < s.end <= t1]
    ends = (inside[0].peak_w + inside[-1].peak_w) if inside else 0.0
    return max(PROOF_WH, 2.0 * (COUNTER_RES_WH + ends * LAG_S / 3600.0) / SLOW_FACTOR)


def _creep_check(state: MeterState, b: Baseline, t: datetime, counter: float,
                 floor_wh: float, cfg: MeterConfig, events: list[MeterEvent]) -> MeterState:
    """A counter that creeps at well under half the power passes each short interval
    (within the counter's resolution), so booked intervals are summed until the least
    energy their power allows (`Slice.floor_wh`) reaches CHECK_WINDOW_WH, and judged
    together."""
    if floor_wh <= 0:
        return state
    got, want = state.check_wh
    got, want = got + max(counter - b.counter_wh, 0.0), want + floor_wh
    if want < CHECK_WINDOW_WH:
        return _set(state, check_wh=(got, want))
    if got < want * SLOW_FACTOR - COUNTER_RES_WH:
        detail = (f"the energy counter creeps: {got:.2f} Wh counted while the power says "
                  f"{want:.1f} Wh; minutes without valid energy until it agrees again")
        events.append(MeterEvent(t, cfg.device, "counter_fault", detail))
        return _set(state, fault="counter_stuck", fault_detail=detail, check_wh=(0.0, 0.0))
    return _set(state, check_wh=(0.0, 0.0))


def _seen(slices: Iterable[Slice], t0: datetime, t1: datetime, cfg: MeterConfig
          ) -> list[Slice]:
    """The power intervals in (t0, t1] that observed the power: one poll apart (a missed
    sample leaves the power in between unknown, though running time is carried across)."""
    return [s for s in slices if t0 < s.end <= t1 and s.seconds <= 1.5 * cfg.poll_s]


def _power_wh(slices: Iterable[Slice], t0: datetime, t1: datetime) -> float:
    return sum(s.power_wh for s in slices if t0 < s.end <= t1)


def _floor_wh(slices: Iterable[Slice], t0: datetime, t1: datetime, cfg: MeterConfig
              ) -> float:
    """Sum of `Slice.floor_wh` over `_seen(slices, t0, t1, cfg)` (one pass, as `sum`)."""
    limit_s = 1.5 * cfg.poll_s
    total = 0
    for s in slices:
        if t0 < s.end <= t1 and s.seconds <= limit_s:
            total += s.floor_w * s.seconds / 3600.0
    return total


def _skip(state: MeterState, t: datetime, counter: float, uptime: int | None = None,
          minutes: _Minutes | None = None) -> MeterState:
    """Move the baseline to (t, counter) without counting anything before it (those
    minutes keep their power fields, without energy). With `minutes`, the counter is noted
    in t's minute, so a restart from the store resumes from there."""
    if minutes is not None:
        minutes.put(replace(minutes.get(minute_of(t)), counter_wh=counter))
    return _set(state, baseline=Baseline(t, counter, uptime),
                   slices=_after(state.slices, t))


def _book(state: MeterState, minutes: _Minutes, start: datetime, end: datetime,
          energy_wh: float, counter: float, uptime: int | None, cfg: MeterConfig
          ) -> MeterState:
    """Put `energy_wh` of the interval (start, end] into minutes (see the module docstring)
    and make (end, counter) the baseline."""
    energy_wh = max(energy_wh, 0.0)
    dt = (end - start).total_seconds()
    inside = [s for s in state.slices if start < s.end <= end]
    observed = sum(s.seconds for s in inside)
    last = minutes.get(minute_of(end))
    if state.records is not None and dt > cfg.gap_limit_s and observed < 0.9 * dt:
        # a gap, and the meter's own records of it: placed minute by minute by them
        why = fill_gap(minutes, start, end, energy_wh, state.records,
                       state.prev_power_w if state.prev_time == end else None)
        state = _set(state, records=None, records_note=(
            f"filled {_when(start)} – {_when(end)} ({energy_wh:.1f} Wh) from the meter's "
            "own per-minute records" if why is None else f"gap {_when(start)} – "
            f"{_when(end)} not filled from the meter's records ({why}); bridged as without "
            "them"))
        if why is None:
            minutes.put(replace(minutes.get(minute_of(end)), counter_wh=counter))
            return _set(state, baseline=Baseline(end, counter, uptime),
                           slices=tuple(s for s in state.slices if s.end > end))
    if dt <= cfg.gap_limit_s or (observed < 0.9 * dt and _same_hour(start, end, cfg)):
        # one poll (or a few), or a gap inside one hour: the minute where it ends
        share = _running_share(inside, state.running)
        minutes.put(last.add(energy_wh, dt, running_wh=energy_wh * share, counter_wh=counter))
        return _set(state, baseline=Baseline(end, counter, uptime),
                       slices=_after(state.slices, end))
    if observed >= 0.9 * dt:
        # the power was seen throughout: split in proportion to it
        weights = [s.power_wh for s in inside]
        total = sum(weights)
        if total <= 0:
            weights, total = [s.seconds for s in inside], observed
        for s, w in zip(inside, weights, strict=True):
            part = energy_wh * w / total
            b = minutes.get(minute_of(s.end))
            minutes.put(b.add(part, s.seconds, running_wh=part if s.running else 0.0))
        rest = dt - observed
        if rest > 0:
            minutes.put(minutes.get(minute_of(end)).add(0.0, rest))
    else:
        _spread(minutes, start, end, energy_wh, cfg)
    minutes.put(replace(minutes.get(minute_of(end)), counter_wh=counter))
    return _set(state, baseline=Baseline(end, counter, uptime),
                   slices=_after(state.slices, end))


def _after(slices: tuple[Slice, ...], t: datetime) -> tuple[Slice, ...]:
    """The slices that end after `t` (in time order, so usually none or all)."""
    if not slices or slices[-1].end <= t:
        return ()
    if slices[0].end > t:
        return slices
    return tuple(s for s in slices if s.end > t)


def _spread(minutes: _Minutes, start: datetime, end: datetime, energy_wh: float,
            cfg: MeterConfig) -> None:
    """A gap across an hour boundary: its energy evenly over its minutes. The part in an
    hour is bridged (left out of the pairing) unless the gap lies in that hour but for at
    most BRIDGE_TOLERANCE_S: then at most that much energy can be misplaced."""
    dt = (end - start).total_seconds()
    zone = cfg.zone
    in_hour: dict[datetime, float] = {}
    a = start
    while a < end:
        hour = bucket_floor(a, "hour", zone)
        b = min(hour + timedelta(hours=1), end)
        in_hour[hour] = in_hour.get(hour, 0.0) + (b - a).total_seconds()
        a = b
    step = MINUTE if end - start <= SPREAD_PER_MINUTE_MAX else QUARTER
    a = start
    while a < end:
        floor = _floor(a, step)
        b = min(floor + step, end)
        seconds = (b - a).total_seconds()
        if seconds > 0:
            outside = dt - in_hour[bucket_floor(a, "hour", zone)]
            bucket = minutes.get(minute_of(a))
            minutes.put(bucket.add(energy_wh * seconds / dt, seconds,
                                   bridged=outside > BRIDGE_TOLERANCE_S))
        a = b


def _floor(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    n = (t - epoch) // step
    return epoch + n * step


def _same_hour(a: datetime, b: datetime, cfg: MeterConfig) -> bool:
    zone = cfg.zone
    return bucket_floor(a, "hour", zone) == bucket_floor(b, "hour", zone)


def _running_share(inside: list[Slice], running: bool | None) -> float:
    """Share of an interval's energy drawn while the compressor ran: by the power of its
    observed parts, or the state carried across when nothing was observed."""
    total = ran = 0.0  # one pass, summed in order as `sum` would
    for s in inside:
        total += s.power_wh
        if s.running:
            ran += s.power_wh
    if inside and total > 0:
        return ran / total
    if inside:
        return 1.0 if all(s.running for s in inside) else 0.0
    return 1.0 if running else 0.0


def _estimate(state: MeterState, minutes: _Minutes, t: datetime, observed: bool
              ) -> MeterState:
    """A meter without an energy counter: the power interval this reading closed,
    integrated (trapezoid of the positive part) and marked as an estimate."""
    total = (state.baseline.counter_wh if state.baseline is not None and state.estimating
             else 0.0)
    new_slices = [s for s in state.slices if s.end == t]
    if observed and new_slices:
        s = new_slices[-1]
        total += s.power_wh
        b = minutes.get(minute_of(t))
        b = b.add(s.power_wh, s.seconds, running_wh=s.power_wh if s.running else 0.0,
                  estimated=True)
        minutes.put(replace(b, counter_wh=total))
    return _set(state, baseline=Baseline(t, total), estimating=True, held=None, slices=(),
                   fault=None, fault_detail="")


def _power(state: MeterState, minutes: _Minutes, t: datetime, power: float, cfg: MeterConfig,
           events: list[MeterEvent]) -> tuple[MeterState, tuple[float, float] | None]:
    """Running time, starts, reversed-clamp detection and the observed power interval (a
    Slice); also (covered, running) seconds of the interval this reading closes."""
    prev_t, prev_p, running = state.prev_time, state.prev_power_w, state.running
    closed: tuple[float, float] | None = None
    negative_since, reported = state.negative_since, state.reversed_reported
    slices = state.slices
    if prev_t is not None and prev_p is not None:
        dt = (t - prev_t).total_seconds()
        if dt <= cfg.gap_limit_s:
            above = prev_p > cfg.running_w and power > cfg.running_w
            below = prev_p < cfg.off_w and power < cfg.off_w
            if running is None:  # state unknown (start, resume): no start is counted
                state_prev = prev_p > cfg.running_w
            elif running:
                state_prev = not below
            else:
                state_prev = above
            starts = 1 if running is False and state_prev else 0
            bucket = minutes.get(minute_of(t))
            minutes.put(replace(bucket, running_s=bucket.running_s + (dt if state_prev else 0.0),
                                starts=bucket.starts + starts, has_power=True))
            closed = (dt, dt if state_prev else 0.0)
            running = state_prev
            energy = (max(prev_p, 0.0) + max(power, 0.0)) / 2.0 * dt / 3600.0
            slices = (*slices, Slice(t, dt, energy, max(prev_p, power, 0.0), state_prev,
                                     max(min(prev_p, power), 0.0)))
        else:
            negative_since = None  # a gap interrupts "sustained"
    # Reversed clamp: sustained clearly negative power on a consumer.
    if power < -cfg.reversed_w:
        negative_since = negative_since or t
        if not reported and (t - negative_since).total_seconds() >= cfg.reversed_s:
            reported = True
            events.append(MeterEvent(
                t, cfg.device, "reversed_clamp",
                f"the meter has read negative power (now {power:.0f} W) for "
                f"{(t - negative_since).total_seconds():.0f} s: the current clamp or the "
                "channel is probably reversed, so the import counter misses the heat "
                "pump's energy. Turn the clamp around (arrow towards the load)."))
    else:
        negative_since = None
    return _set(state, prev_time=t, prev_power_w=power, running=running, slices=slices,
                   negative_since=negative_since, reversed_reported=reported), closed


def flush(state: MeterState, cfg: MeterConfig) -> tuple[MeterState, list[Point]]:
    """The open (partial) minute as a point, e.g. at shutdown. Writing it is safe: a later
    point for the same minute carries the same contributions plus the new ones."""
    if state.bucket is None:
        return state, []
    point = state.bucket.point(cfg.device)
    return state, [point] if point is not None else []


def resume_state(cfg: MeterConfig, electricity: Point | None = None,
                 meter: Point | None = None) -> MeterState:
    """State of a restarted collector from the last stored points of this device (used when
    the accounting state file is missing or older than the store).

    The counter baseline is the last `electricity` point's counter_wh (what was accounted).
    Its exact time and uptime come from the last `meter` point when that is the same
    reading (same minute, same counter); otherwise the baseline time is the end of that
    minute (or the last meter reading, when that came earlier), which can understate the
    first interval after a restart by under a minute.
    Without an electricity point, the last `meter` point is the baseline."""
    counter = _field(electricity, "counter_wh")
    if electricity is not None and counter is not None and counter >= 0:
        minute = minute_of(electricity.time)
        f = electricity.fields
        estimating = (_field(electricity, "estimated_wh") or 0.0) > 0
        # what is stored for that minute: later readings in it add to it (a point written
        # again for the minute carries all of its energy, never an increment)
        bucket = Bucket(minute, energy_wh=_num(f, "energy_wh"),
                        duration_s=_num(f, "duration_s"), counter_wh=counter,
                        running_s=_num(f, "running_s"), starts=int(_num(f, "starts")),
                        running_wh=_num(f, "running_wh"), bridged_wh=_num(f, "bridged_wh"),
                        bridged_s=_num(f, "bridged_s"), estimated_wh=_num(f, "estimated_wh"),
                        filled_wh=_num(f, "filled_wh"),
                        has_energy="energy_wh" in f, has_power="running_s" in f)
        m_counter = _field(meter, "energy_import_wh")
        if (meter is not None and m_counter is not None and minute_of(meter.time) == minute
                and abs(m_counter - counter) < 1e-9) or (estimating and meter is not None
                                                         and minute_of(meter.time) == minute):
            assert meter is not None
            uptime = _field(meter, "uptime_s")
            baseline = Baseline(meter.time, counter,
                                int(uptime) if uptime is not None else None)
            return MeterState(baseline=baseline, bucket=bucket, estimating=estimating)
        # the booked reading's time is not known: the end of its minute, but never after
        # the last stored reading (the next one must come after the baseline)
        when = minute + MINUTE
        if meter is not None and meter.time > minute:
            when = min(when, meter.time)
        return MeterState(baseline=Baseline(when, counter), estimating=estimating,
                          bucket=bucket if when < minute + MINUTE else None)
    m_counter = _field(meter, "energy_import_wh")
    if meter is not None and m_counter is not None and m_counter >= 0:
        uptime = _field(meter, "uptime_s")
        return MeterState(baseline=Baseline(meter.time, m_counter,
                                            int(uptime) if uptime is not None else None))
    return MeterState()


def _num(fields: Any, name: str) -> float:
    v = _valid_number(fields.get(name))
    return v if v is not None else 0.0


def _field(point: Point | None, name: str) -> float | None:
    if point is None:
        return None
    return _valid_number(point.fields.get(name))


def _valid_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _why_invalid(value: Any) -> str:
    if value is None:
        return "no valid value (null or flagged invalid by the device)"
    if isinstance(value, float) and math.isnan(value):
        return "not a number (NaN)"
    return f"invalid value {value!r}"


def _when(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%H:%M:%S UTC")


ELECTRICITY_FIELDS = ("energy_wh", "duration_s", "counter_wh", "running_s", "starts",
                      "running_wh", "bridged_wh", "bridged_s", "estimated_wh")


def stored_state(cfg: MeterConfig, store: LatestReader) -> MeterState:
    """`resume_state` from the newest `electricity` (source=meter) and `meter` points stored
    for this device (a fresh state when there are none). Raises StoreError."""
    electricity = latest_point(store, "electricity", {
        "device": cfg.device, "source": "meter", "circuit": "total"}, ELECTRICITY_FIELDS,
        anchor="counter_wh")
    # without a counter (estimated energy) the meter's last sample is the one with power
    anchor = ("power_w" if electricity is not None
              and (_field(electricity, "estimated_wh") or 0.0) > 0 else "energy_import_wh")
    meter = latest_point(store, "meter", {"device": cfg.device},
                         ("energy_import_wh", "uptime_s", "power_w"), anchor=anchor)
    return resume_state(cfg, electricity, meter)


# --- the state, kept in the data dir so a restart resumes exactly -----------------------

_BUCKET_FIELDS = ("energy_wh", "duration_s", "running_s", "running_wh", "bridged_wh",
                  "bridged_s", "estimated_wh", "filled_wh")


def _bucket_json(b: Bucket | None) -> dict[str, Any] | None:
    if b is None:
        return None
    out: dict[str, Any] = {"minute": b.minute.isoformat(), "counter_wh": b.counter_wh,
                           "starts": b.starts, "has_energy": b.has_energy,
                           "has_power": b.has_power}
    out.update({k: getattr(b, k) for k in _BUCKET_FIELDS})
    return out


def _bucket_from(d: Any) -> Bucket | None:
    if d is None:
        return None
    counter = d["counter_wh"]
    return Bucket(datetime.fromisoformat(d["minute"]),
                  counter_wh=None if counter is None else float(counter),
                  starts=int(d["starts"]), has_energy=bool(d["has_energy"]),
                  has_power=bool(d["has_power"]),
                  **{k: float(d.get(k, 0.0)) for k in _BUCKET_FIELDS})


def state_to_json(state: MeterState) -> dict[str, Any]:
    """What a restart needs of a meter's accounting (rejection streaks are not kept)."""

    def base(b: Baseline | Held | None) -> dict[str, Any] | None:
        if b is None:
            return None
        out = {"time": b.time.isoformat(), "counter_wh": b.counter_wh, "uptime_s": b.uptime_s}
        if isinstance(b, Held):
            out.update(kind=b.kind, last_counter_wh=b.last_counter_wh,
                       last_time=b.last_time.isoformat() if b.last_time else None)
        return out

    return {
        "baseline": base(state.baseline), "held": base(state.held),
        "slices": [[s.end.isoformat(), s.seconds, s.power_wh, s.peak_w, s.running, s.floor_w]
                   for s in state.slices],
        "recent": [_bucket_json(b) for b in state.recent],
        "prev_time": state.prev_time.isoformat() if state.prev_time else None,
        "prev_power_w": state.prev_power_w, "running": state.running,
        "negative_since": state.negative_since.isoformat() if state.negative_since else None,
        "reversed_reported": state.reversed_reported,
        "bucket": _bucket_json(state.bucket),
        "fault": state.fault, "fault_detail": state.fault_detail,
        "estimating": state.estimating, "check_wh": list(state.check_wh),
    }


def state_from_json(d: dict[str, Any]) -> MeterState:
    """Inverse of `state_to_json` (a state written before a field existed reads it as its
    default); KeyError/TypeError/ValueError when it is damaged."""

    def when(v: Any) -> datetime | None:
        return None if v is None else datetime.fromisoformat(v)

    def base(b: Any) -> Baseline | None:
        if b is None:
            return None
        uptime = b["uptime_s"]
        return Baseline(datetime.fromisoformat(b["time"]), float(b["counter_wh"]),
                        None if uptime is None else int(uptime))

    held_raw = d.get("held")
    held = None
    if held_raw is not None:
        hb = base(held_raw)
        assert hb is not None
        last = held_raw.get("last_counter_wh")
        held = Held(str(held_raw["kind"]), hb.time, hb.counter_wh, hb.uptime_s,
                    when(held_raw.get("last_time")), None if last is None else float(last))
    running = d["running"]
    power = d["prev_power_w"]
    fault = d.get("fault")
    check = d.get("check_wh") or (0.0, 0.0)
    return MeterState(
        baseline=base(d["baseline"]), held=held,
        slices=tuple(Slice(datetime.fromisoformat(e), float(s), float(p), float(pk), bool(r),
                           float(fl)) for e, s, p, pk, r, fl in d.get("slices", ())),
        recent=tuple(b for b in (_bucket_from(x) for x in d.get("recent", ())) if b),
        prev_time=when(d["prev_time"]),
        prev_power_w=None if power is None else float(power),
        running=None if running is None else bool(running),
        negative_since=when(d["negative_since"]),
        reversed_reported=bool(d["reversed_reported"]), bucket=_bucket_from(d["bucket"]),
        fault=None if fault is None else str(fault), fault_detail=str(d.get("fault_detail", "")),
        estimating=bool(d.get("estimating", False)),
        check_wh=(float(check[0]), float(check[1])))


def newest_time(state: MeterState) -> datetime | None:
    """The newest reading this state has taken in."""
    times = [t for t in (state.prev_time, state.baseline.time if state.baseline else None,
                         state.held.time if state.held else None) if t is not None]
    return max(times) if times else None


# --- the thin stateful wrapper -----------------------------------------------------------


class MeterAccountant:
    """Holds the state for one meter and logs events; the collector writes the points."""

    def __init__(self, cfg: MeterConfig, state: MeterState | None = None):
        self.cfg = cfg
        self.state = state or MeterState()

    def add(self, reading: MeterReading, records: Any = None) -> MeterUpdate:
        """Account one reading; `records` (UTC minute -> Wh, the meter's own) place the
        energy of a gap this reading closes (collector/accounting/gapfill.py)."""
        previous = self.state.last_reject
        if records is not None:
            self.state = replace(self.state, records=records)
        self.state, update = step(self.state, reading, self.cfg)
        for event in update.events:
            if event.kind == "rejected":
                # One warning per streak of the same problem, details at debug level.
                level = logging.DEBUG if event.detail == previous else logging.WARNING
            elif event.kind in ("counter_late", "counter_fault", "counter_ok"):
                # a late counter is normal; a fault and its end are health changes,
                # logged by the collector's health book
                level = logging.DEBUG
            elif event.kind == "records_filled":
                level = logging.INFO
            else:
                level = logging.WARNING
            log.log(level, "meter %s: %s", self.cfg.device, event.detail)
        return update

    def flush(self) -> list[Point]:
        self.state, points = flush(self.state, self.cfg)
        return points

