"""Meter accounting: from consecutive readings to energy, running time and starts per minute.

Pure functions over plain data (`step`, `flush`, `resume_state`) plus a thin stateful
`MeterAccountant` wrapper that logs. The rules, documented for users in docs/shelly.md:

* Energy of an interval = advance of the device's cumulative import counter, never
  integrated power. Only a source without any counter (`has_counter=False`) integrates
  power (trapezoid of the positive part), and then a gap has no energy at all.
* A counter that goes down (beyond float jitter), or a reboot seen in the uptime on a device
  whose counter restarts at boot (Gen1 plugs), is a reset: the new value is the energy since
  zero, over min(interval, uptime).
* Every interval (t0, t1] belongs to the UTC minute containing t1. A gap (no valid reading
  for longer than `gap_s`) is not filled: no point for the silent minutes, and the counter
  advance across it goes, with its full duration, to the minute where it ends, so
  energy_wh / duration_s stays the true mean power.
* Running time and starts come from the power trace with hysteresis and a two-sample
  debounce; a gap never creates a start or a stop, and its time is not counted as running.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from collector.points import electricity_point, meter_point
from collector.readings import MeterReading
from heatpump.store.base import FieldValue, Point
from heatpump.store.latest_point import LatestReader, latest_point

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)


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
    max_power_w: float = 100_000.0  # an implied mean power above this is a counter glitch
    reversed_w: float = 20.0  # power below -reversed_w ...
    reversed_s: float = 60.0  # ... for this long is a reversed clamp

    @classmethod
    def from_settings(cls, settings: Any, device: str, counter_survives_reboot: bool = True
                      ) -> MeterConfig:
        """HEATPUMP_RUNNING_W and SHELLY_POLL_SECONDS from `heatpump.settings.Settings`."""
        return cls(device=device, running_w=settings.running_w,
                   poll_s=settings.shelly_poll_seconds,
                   counter_survives_reboot=counter_survives_reboot)

    @property
    def gap_limit_s(self) -> float:
        return self.gap_s if self.gap_s is not None else max(3 * self.poll_s, 25.0)

    @property
    def off_w(self) -> float:
        return self.running_w * self.off_ratio


@dataclass(frozen=True)
class MeterEvent:
    """Something the collector should log and, for some kinds, store as health."""

    time: datetime
    device: str
    kind: str  # "rejected", "counter_reset", "reversed_clamp"
    detail: str

    @property
    def health_status(self) -> str | None:
        """The `health` status this event is stored with; None for per-reading rejections
        (logged only)."""
        return {"counter_reset": "up", "reversed_clamp": "degraded"}.get(self.kind)


@dataclass(frozen=True)
class Baseline:
    """The last accepted counter value (or the integrated total without a counter)."""

    time: datetime
    counter_wh: float
    uptime_s: int | None = None


@dataclass(frozen=True)
class Bucket:
    """The open UTC minute; `has_energy`/`has_power` say which fields were observed."""

    minute: datetime
    energy_wh: float = 0.0
    duration_s: float = 0.0
    counter_wh: float | None = None
    running_s: float = 0.0
    starts: int = 0
    has_energy: bool = False
    has_power: bool = False

    def point(self, device: str) -> Point | None:
        fields: dict[str, FieldValue] = {}
        if self.has_energy:
            fields.update(energy_wh=self.energy_wh, duration_s=self.duration_s)
            if self.counter_wh is not None:
                fields["counter_wh"] = self.counter_wh
        if self.has_power:
            fields.update(running_s=self.running_s, starts=self.starts)
        if not fields:
            return None
        return electricity_point(self.minute, device, "meter", "total", fields)


@dataclass(frozen=True)
class MeterState:
    baseline: Baseline | None = None
    suspect: Baseline | None = None  # a rejected counter jump, awaiting confirmation
    prev_time: datetime | None = None  # last valid power sample
    prev_power_w: float | None = None
    running: bool | None = None  # debounced state up to the sample before prev (None: unknown)
    negative_since: datetime | None = None
    reversed_reported: bool = False
    bucket: Bucket | None = None
    last_reject: str | None = None


@dataclass(frozen=True)
class MeterUpdate:
    points: tuple[Point, ...] = ()
    events: tuple[MeterEvent, ...] = field(default_factory=tuple)
    # (covered seconds, running seconds) of the power interval this reading closed; None
    # when it closed none (first reading, a gap, no valid power)
    running: tuple[float, float] | None = None


# --- the pure core ---------------------------------------------------------------------


def minute_of(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def step(state: MeterState, reading: MeterReading, cfg: MeterConfig
         ) -> tuple[MeterState, MeterUpdate]:
    """Account one reading. Returns the new state, the raw `meter` point, every completed
    `electricity` minute, and events (rejections, resets, a reversed clamp)."""
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

    power = _valid_number(reading.power_w)
    if power is None:
        reject("power", _why_invalid(reading.power_w))
    counter = _valid_number(reading.energy_import_wh)
    if cfg.has_counter and counter is not None and counter < 0:
        reject("counter", f"negative ({counter:g} Wh; Gen1 EM/3EM report -1 right after "
                          "boot)")
        counter = None
    elif cfg.has_counter and counter is None:
        reject("counter", _why_invalid(reading.energy_import_wh))
    uptime = reading.uptime_s if isinstance(reading.uptime_s, int) and not isinstance(
        reading.uptime_s, bool) and reading.uptime_s >= 0 else None

    raw = meter_point(t, cfg.device, power, counter if cfg.has_counter else None, uptime)
    if raw is not None:
        points.append(raw)

    # Close the open minute once this reading's interval ends in a later one.
    bucket = state.bucket
    if bucket is not None and minute_of(t) != bucket.minute:
        closed = bucket.point(cfg.device)
        if closed is not None:
            points.append(closed)
        bucket = None
    bucket = bucket or Bucket(minute_of(t))

    baseline, suspect = state.baseline, state.suspect
    if cfg.has_counter and counter is not None:
        baseline, suspect, bucket = _count(state, bucket, t, counter, uptime, cfg, events,
                                           reject)

    new = replace(state, baseline=baseline, suspect=suspect)
    if power is not None:
        new, bucket, running = _power(new, bucket, t, power, cfg, events)
    else:
        running = None

    kinds = [e for e in events if e.kind == "rejected"]
    last_reject = kinds[-1].detail if kinds else None
    new = replace(new, bucket=bucket, last_reject=last_reject)
    return new, MeterUpdate(tuple(points), tuple(events), running)


def _count(state: MeterState, bucket: Bucket, t: datetime, counter: float,
           uptime: int | None, cfg: MeterConfig, events: list[MeterEvent],
           reject: Callable[[str, str], None]
           ) -> tuple[Baseline | None, Baseline | None, Bucket]:
    """Energy from the cumulative counter between the baseline and this reading.

    Returns the new baseline, a suspect (a rejected jump, adopted as the new level when the
    next reading agrees with it) and the bucket."""
    baseline, suspect = state.baseline, state.suspect
    if baseline is None:
        return Baseline(t, counter, uptime), None, bucket
    dt = (t - baseline.time).total_seconds()
    jitter = 1.0 + 1e-6 * baseline.counter_wh
    # A reboot: uptime went down, or the device has been up for less than the interval.
    # Comparing uptimes (not uptime with our clock) keeps a collector clock step harmless.
    rebooted = uptime is not None and (
        (baseline.uptime_s is not None and uptime < baseline.uptime_s)
        or uptime + 3.0 + 0.01 * dt < dt)
    reset = counter < baseline.counter_wh - jitter or (
        rebooted and not cfg.counter_survives_reboot)
    if reset:
        energy, new_counter = counter, counter
        duration = dt if uptime is None else min(dt, max(float(uptime), 1.0))
    elif counter < baseline.counter_wh:
        energy, duration, new_counter = 0.0, dt, baseline.counter_wh  # float jitter
    else:
        energy, duration, new_counter = counter - baseline.counter_wh, dt, counter
    if energy * 3600.0 / duration > cfg.max_power_w:
        if suspect is not None and _plausible(suspect, t, counter, cfg):
            # Two readings agree on the new level: follow it, without counting the jump.
            events.append(MeterEvent(
                t, cfg.device, "counter_reset",
                f"counter jumped from {baseline.counter_wh:.3f} to {suspect.counter_wh:.3f} "
                "Wh; the jump is not counted as energy, counting goes on from there"))
            bucket = replace(bucket, energy_wh=bucket.energy_wh + counter - suspect.counter_wh,
                             duration_s=bucket.duration_s + (t - suspect.time).total_seconds(),
                             counter_wh=counter, has_energy=True)
            return Baseline(t, counter, uptime), None, bucket
        reject("counter", f"jump of {energy:.1f} Wh in {duration:g} s means more than "
                          f"{cfg.max_power_w:g} W")
        return baseline, Baseline(t, counter, uptime), bucket
    if reset:
        why = "the device rebooted" if rebooted else "the counter went down"
        events.append(MeterEvent(t, cfg.device, "counter_reset",
                                 f"counter reset ({why}: {baseline.counter_wh:.3f} -> "
                                 f"{counter:.3f} Wh); counting {counter:.3f} Wh since zero"))
    bucket = replace(bucket, energy_wh=bucket.energy_wh + energy,
                     duration_s=bucket.duration_s + duration, counter_wh=new_counter,
                     has_energy=True)
    return Baseline(t, new_counter, uptime), None, bucket


def _plausible(suspect: Baseline, t: datetime, counter: float, cfg: MeterConfig) -> bool:
    dt = (t - suspect.time).total_seconds()
    advance = counter - suspect.counter_wh
    return dt > 0 and advance >= 0 and advance * 3600.0 / dt <= cfg.max_power_w


def _power(state: MeterState, bucket: Bucket, t: datetime, power: float, cfg: MeterConfig,
           events: list[MeterEvent]
           ) -> tuple[MeterState, Bucket, tuple[float, float] | None]:
    """Running time, starts, reversed-clamp detection and (no counter) integration; also
    (covered, running) seconds of the interval this reading closes."""
    prev_t, prev_p, running = state.prev_time, state.prev_power_w, state.running
    closed: tuple[float, float] | None = None
    negative_since, reported = state.negative_since, state.reversed_reported
    gap_limit = cfg.gap_limit_s
    if prev_t is not None and prev_p is not None:
        dt = (t - prev_t).total_seconds()
        if dt <= gap_limit:
            above = prev_p > cfg.running_w and power > cfg.running_w
            below = prev_p < cfg.off_w and power < cfg.off_w
            if running is None:  # state unknown (start, resume): no start is counted
                state_prev = prev_p > cfg.running_w
            elif running:
                state_prev = not below
            else:
                state_prev = above
            starts = 1 if running is False and state_prev else 0
            bucket = replace(bucket, running_s=bucket.running_s + (dt if state_prev else 0.0),
                             starts=bucket.starts + starts, has_power=True)
            closed = (dt, dt if state_prev else 0.0)
            running = state_prev
            if not cfg.has_counter:
                energy = (max(prev_p, 0.0) + max(power, 0.0)) / 2.0 * dt / 3600.0
                total = (state.baseline.counter_wh if state.baseline else 0.0) + energy
                state = replace(state, baseline=Baseline(t, total))
                bucket = replace(bucket, energy_wh=bucket.energy_wh + energy,
                                 duration_s=bucket.duration_s + dt, counter_wh=total,
                                 has_energy=True)
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
    return replace(state, prev_time=t, prev_power_w=power, running=running,
                   negative_since=negative_since, reversed_reported=reported), bucket, closed


def flush(state: MeterState, cfg: MeterConfig) -> tuple[MeterState, list[Point]]:
    """The open (partial) minute as a point, e.g. at shutdown. Writing it is safe: a later
    point for the same minute carries the same contributions plus the new ones."""
    if state.bucket is None:
        return state, []
    point = state.bucket.point(cfg.device)
    return state, [point] if point is not None else []


def resume_state(cfg: MeterConfig, electricity: Point | None = None,
                 meter: Point | None = None) -> MeterState:
    """State of a restarted collector from the last stored points of this device.

    The counter baseline is the last `electricity` point's counter_wh (what was accounted).
    Its exact time and uptime come from the last `meter` point when that is the same
    reading (same minute, same counter); otherwise the baseline time is the end of that
    minute, which can understate the first interval after a restart by under a minute.
    Without an electricity point, the last `meter` point is the baseline."""
    counter = _field(electricity, "counter_wh")
    if electricity is not None and counter is not None and counter >= 0:
        minute = minute_of(electricity.time)
        m_counter = _field(meter, "energy_import_wh")
        if (meter is not None and m_counter is not None and minute_of(meter.time) == minute
                and abs(m_counter - counter) < 1e-9):
            uptime = _field(meter, "uptime_s")
            baseline = Baseline(meter.time, counter,
                                int(uptime) if uptime is not None else None)
            f = electricity.fields
            bucket = Bucket(minute, energy_wh=float(f.get("energy_wh", 0.0)),
                            duration_s=float(f.get("duration_s", 0.0)), counter_wh=counter,
                            running_s=float(f.get("running_s", 0.0)),
                            starts=int(f.get("starts", 0)), has_energy="energy_wh" in f,
                            has_power="running_s" in f)
            return MeterState(baseline=baseline, bucket=bucket)
        return MeterState(baseline=Baseline(minute + MINUTE, counter))
    m_counter = _field(meter, "energy_import_wh")
    if meter is not None and m_counter is not None and m_counter >= 0:
        uptime = _field(meter, "uptime_s")
        return MeterState(baseline=Baseline(meter.time, m_counter,
                                            int(uptime) if uptime is not None else None))
    return MeterState()


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


ELECTRICITY_FIELDS = ("energy_wh", "duration_s", "counter_wh", "running_s", "starts")


def stored_state(cfg: MeterConfig, store: LatestReader) -> MeterState:
    """`resume_state` from the newest `electricity` (source=meter) and `meter` points stored
    for this device (a fresh state when there are none). Raises StoreError."""
    electricity = latest_point(store, "electricity", {
        "device": cfg.device, "source": "meter", "circuit": "total"}, ELECTRICITY_FIELDS,
        anchor="counter_wh")
    meter = latest_point(store, "meter", {"device": cfg.device},
                         ("energy_import_wh", "uptime_s"), anchor="energy_import_wh")
    return resume_state(cfg, electricity, meter)


# --- the state, kept in the data dir so a restart resumes exactly -----------------------


def state_to_json(state: MeterState) -> dict[str, Any]:
    """What a restart needs of a meter's accounting (rejection streaks are not kept)."""

    def base(b: Baseline | None) -> dict[str, Any] | None:
        return None if b is None else {"time": b.time.isoformat(), "counter_wh": b.counter_wh,
                                       "uptime_s": b.uptime_s}

    bucket = state.bucket
    return {
        "baseline": base(state.baseline), "suspect": base(state.suspect),
        "prev_time": state.prev_time.isoformat() if state.prev_time else None,
        "prev_power_w": state.prev_power_w, "running": state.running,
        "negative_since": state.negative_since.isoformat() if state.negative_since else None,
        "reversed_reported": state.reversed_reported,
        "bucket": None if bucket is None else {
            "minute": bucket.minute.isoformat(), "energy_wh": bucket.energy_wh,
            "duration_s": bucket.duration_s, "counter_wh": bucket.counter_wh,
            "running_s": bucket.running_s, "starts": bucket.starts,
            "has_energy": bucket.has_energy, "has_power": bucket.has_power},
    }


def state_from_json(d: dict[str, Any]) -> MeterState:
    """Inverse of `state_to_json`; KeyError/TypeError/ValueError when it is damaged."""

    def when(v: Any) -> datetime | None:
        return None if v is None else datetime.fromisoformat(v)

    def base(b: Any) -> Baseline | None:
        if b is None:
            return None
        uptime = b["uptime_s"]
        return Baseline(datetime.fromisoformat(b["time"]), float(b["counter_wh"]),
                        None if uptime is None else int(uptime))

    bk = d["bucket"]
    bucket = None if bk is None else Bucket(
        datetime.fromisoformat(bk["minute"]), float(bk["energy_wh"]), float(bk["duration_s"]),
        None if bk["counter_wh"] is None else float(bk["counter_wh"]), float(bk["running_s"]),
        int(bk["starts"]), bool(bk["has_energy"]), bool(bk["has_power"]))
    running = d["running"]
    power = d["prev_power_w"]
    return MeterState(baseline=base(d["baseline"]), suspect=base(d["suspect"]),
                      prev_time=when(d["prev_time"]),
                      prev_power_w=None if power is None else float(power),
                      running=None if running is None else bool(running),
                      negative_since=when(d["negative_since"]),
                      reversed_reported=bool(d["reversed_reported"]), bucket=bucket)


def newest_time(state: MeterState) -> datetime | None:
    """The newest reading this state has taken in."""
    times = [t for t in (state.prev_time, state.baseline.time if state.baseline else None)
             if t is not None]
    return max(times) if times else None


# --- the thin stateful wrapper -----------------------------------------------------------


class MeterAccountant:
    """Holds the state for one meter and logs events; the collector writes the points."""

    def __init__(self, cfg: MeterConfig, state: MeterState | None = None):
        self.cfg = cfg
        self.state = state or MeterState()

    def add(self, reading: MeterReading) -> MeterUpdate:
        previous = self.state.last_reject
        self.state, update = step(self.state, reading, self.cfg)
        for event in update.events:
            if event.kind == "rejected":
                # One warning per streak of the same problem, details at debug level.
                level = logging.DEBUG if event.detail == previous else logging.WARNING
                log.log(level, "meter %s: %s", self.cfg.device, event.detail)
            else:
                log.warning("meter %s: %s", self.cfg.device, event.detail)
        return update

    def flush(self) -> list[Point]:
        self.state, points = flush(self.state, self.cfg)
        return points
