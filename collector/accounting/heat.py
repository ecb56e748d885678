"""Heat delivered (and the heat pump's own electricity) per poll interval: the methods,
and one small stateful wrapper, `HeatAccountant`.

Methods, best first (the `method` tag of `heat`):

1. ``counter``: the device's own heat production counters, by the rules of
   collector/accounting/counters.py (its own evidence for rollovers, never our clock).
2. ``flow``: volumetric flow × (supply − return) × 1.163 Wh/(l·K) while the compressor runs.
3. ``modulation``: compressor modulation × rated output (estimate).
4. ``runtime``: running time (the meter's, else the sampled on/off flag) × rated output
   (estimate).
The rated output is HEATPUMP_RATED_HEAT_KW or the device's own figure
(heatpump/estimates.py); the methods' measured error bands are there too.

`HeatAccountant` keeps, per device, the last sample and per counter family the reference
reading, turns each new sample into points, and reports (once, not per poll) bridged
rollovers, glitches, rejected deltas, stale counters and day counters that restart away
from midnight of HEATPUMP_TZ as health events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collector.accounting.counters import (
    EPS_KWH,
    CounterDelta,
    CounterFamilies,
    Problem,
    Reading,
    counter_step,
    family_circuits,
    reading_of,
    span_text,
    utc_text,
)
from collector.accounting.rod import FAMILY as ROD_RUNTIME
from collector.accounting.rod import runtime_reading, runtime_step
from collector.points import electricity_point, heat_point
from collector.readings import HeatPumpSample
from heatpump.estimates import USE, RatedOutput, band_text, rated_output
from heatpump.i18n import _
from heatpump.schema import ESTIMATED_HEAT_METHODS
from heatpump.store.base import Point

WATER_WH_PER_L_K = 1.163  # heat capacity of water near 35 °C: 4.186 kJ/(kg·K) × 0.993 kg/l
# the device's counter families; "heating_rod" is the backup heater's electricity
KINDS = ("heat", "electricity", "heating_rod")
# The plausibility cap: twice the rated output (an inverter at a mild outdoor temperature
# gives up to ~1.5 times its A2/W35 rating), or, without a rating, more than any
# single-family heat pump delivers.
CAP_FACTOR = 2.0
DEFAULT_CAP_KW = 40.0
STALE_AFTER = timedelta(hours=24)  # arrays read longer ago than this are reported stale
# A glitch that does not resolve within this long is a new baseline (a replaced controller,
# counters cleared): counting goes on from the current values.
REBASE_AFTER = timedelta(hours=6)
RUNNING_COVER_MIN = 0.9  # share of an interval the meter must cover for its running time


# --- method choice -----------------------------------------------------------------------

FLOW_FIELDS = ("flow_l_h", "supply_temp_c", "return_temp_c")


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """The heat method a device allows (`method`) and why. `why` names the case and `parts`
    its particulars (the heat circuits, or the missing sensors), so `reason` is worded
    only when read (`heatpump doctor`), in the language of that moment, and never on the
    accounting's path (this is chosen at every poll)."""

    method: str | None  # one of schema.HEAT_METHODS, or None when heat cannot be known
    why: str  # "counter", "flow", "no_rated", "modulation", "runtime", "no_state"
    rated: RatedOutput | None = None  # what the estimates use, with its source
    parts: tuple[str, ...] = ()
    running_from_meter: bool = False

    @property
    def estimate(self) -> bool:
        return self.method in ESTIMATED_HEAT_METHODS

    @property
    def reason(self) -> str:
        """Why this method, in the current language (heatpump.i18n)."""
        if self.why == "counter":
            return _("the device reports its own heat production counters ({circuits}); "
                     "exact to the device's meter").format(circuits=", ".join(self.parts))
        if self.why == "flow":
            return _("no heat counter, but flow, supply and return sensors: heat = flow × "
                     "(supply − return) × 1.163 Wh/(l·K) while the compressor runs (measured "
                     "{band} of the real heat)").format(band=band_text("flow"))
        missing = _("no heat counter and no {sensors} sensor").format(
            sensors=", ".join(self.parts))
        rated = self.rated.describe() if self.rated is not None else ""
        if self.why == "no_rated":
            return missing + _("; set HEATPUMP_RATED_HEAT_KW to enable an estimate from "
                               "compressor modulation or running time")
        if self.why == "modulation":
            return missing + _(": ESTIMATE = compressor modulation × {rated}; measured {band} "
                               "of the real heat across the seasons").format(
                                   rated=rated, band=band_text("modulation"))
        if self.why == "runtime":
            source = (_("running time from the meter") if self.running_from_meter
                      else _("running time (the meter's, else the on/off flag sampled every "
                             "poll)"))
            return missing + _(" and no modulation: ESTIMATE = {source} × {rated}; measured "
                               "{band} of the real heat across the seasons: {use}").format(
                                   source=source, rated=rated, band=band_text("runtime"),
                                   use=USE["runtime"])
        return missing + _(" and no compressor state to estimate from")


def device_rated(sample: HeatPumpSample, setting_kw: float | None) -> RatedOutput | None:
    """HEATPUMP_RATED_HEAT_KW, else the device's own `device_rated_heat_kw`."""
    own = sample.values.get("device_rated_heat_kw")
    device_kw = float(own) if isinstance(own, int | float) and not isinstance(own, bool) \
        else None
    return rated_output(setting_kw, device_kw)


def choose_heat_method(sample: HeatPumpSample, rated_heat_kw: float | None,
                       running_s_available: bool = False, *,
                       heat_circuits: Sequence[str] | None = None) -> MethodChoice:
    """The best heat method this device allows, with the reason (for `heatpump doctor`).
    `rated_heat_kw` is HEATPUMP_RATED_HEAT_KW (None: unset; the device's own figure is
    used when it reports one). `heat_circuits` is `family_circuits(sample, "heat")` when
    the caller has it already (accounting, at every poll)."""
    v = sample.values
    rated = device_rated(sample, rated_heat_kw)
    if heat_circuits is None:
        heat_circuits = family_circuits(sample, "heat")
    if heat_circuits:
        return MethodChoice("counter", "counter", rated, tuple(heat_circuits))
    if all(f in v for f in FLOW_FIELDS):
        return MethodChoice("flow", "flow", rated)
    missing = tuple(f for f in FLOW_FIELDS if f not in v)
    if rated is None:
        return MethodChoice(None, "no_rated", None, missing)
    if "compressor_modulation_pct" in v:
        return MethodChoice("modulation", "modulation", rated, missing)
    if running_s_available or "compressor_active" in v:
        return MethodChoice("runtime", "runtime", rated, missing, running_s_available)
    return MethodChoice(None, "no_state", rated, missing)


# --- the sampled methods -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeatInterval:
    circuit: str
    energy_wh: float
    duration_s: float
    method: str
    estimate: bool
    detail: str


def _active_share(prev: HeatPumpSample, cur: HeatPumpSample) -> float | None:
    flags = [s.values.get("compressor_active") for s in (prev, cur)]
    if any(not isinstance(f, bool) for f in flags):
        return None
    return sum(1.0 for f in flags if f) / 2.0


def running_seconds(prev: HeatPumpSample, cur: HeatPumpSample,
                    metered: tuple[float, float] | None) -> tuple[float | None, str]:
    """Running seconds between two polls and where they come from.

    `metered` is (running s, covered s) as the meter saw the interval. When the meter
    covered at least RUNNING_COVER_MIN of it, its figure counts (scaled to the interval),
    and 0 s means the compressor did not run. Otherwise the on/off flag of the two polls
    stands in (half the interval per "on"), or None when there is none."""
    span = (cur.time - prev.time).total_seconds()
    if metered is not None and span > 0:
        run, covered = metered
        if covered >= RUNNING_COVER_MIN * span:
            return min(max(run, 0.0) * span / covered, span), "meter"
    share = _active_share(prev, cur)
    if share is None:
        return None, ""
    return share * span, "on/off flag"


def _flow_power_w(sample: HeatPumpSample) -> float:
    v = sample.values
    return float(v["flow_l_h"]) * (float(v["supply_temp_c"]) - float(v["return_temp_c"])) \
        * WATER_WH_PER_L_K


def sampled_interval(prev: HeatPumpSample, cur: HeatPumpSample, choice: MethodChoice, *,
                     metered: tuple[float, float] | None = None,
                     max_gap_s: float = 900.0) -> HeatInterval | None:
    """Heat between two polls by a sampled method (flow, modulation, runtime); None when it
    cannot be known. Snapshot methods refuse gaps longer than `max_gap_s` (a gap stays a
    gap); the runtime estimate bridges any gap the meter covered."""
    duration_s = (cur.time - prev.time).total_seconds()
    if duration_s <= 0 or choice.method in (None, "counter"):
        return None
    run_s, run_source = running_seconds(prev, cur, metered)
    if duration_s > max_gap_s and not (choice.method == "runtime" and run_source == "meter"):
        return None
    if choice.method == "flow":
        if not all(f in prev.values for f in FLOW_FIELDS) or run_s is None:
            return None
        actives = [s for s in (prev, cur) if s.values.get("compressor_active") is True]
        powers = [_flow_power_w(s) for s in (actives or (prev, cur))]
        mean = sum(powers) / len(powers)
        return HeatInterval("total", max(mean, 0.0) * run_s / 3600.0, duration_s, "flow",
                            False, f"mean {mean:.0f} W × {run_s:.0f} s running ({run_source})")
    rated = choice.rated
    assert rated is not None
    if choice.method == "modulation":
        mods = [s.values.get("compressor_modulation_pct") for s in (prev, cur)]
        if any(isinstance(m, bool) or not isinstance(m, int | float) for m in mods):
            return None
        if run_source == "meter" and run_s == 0:
            return HeatInterval("total", 0.0, duration_s, "modulation", True,
                                "the meter saw the compressor off")
        share = sum(float(m) for m in mods) / 200.0  # type: ignore[arg-type]
        energy = rated.kw * 1000.0 * share * duration_s / 3600.0
        return HeatInterval("total", energy, duration_s, "modulation", True,
                            f"mean modulation {share * 100:.0f} % × {rated.kw:g} kW")
    if run_s is None:
        return None
    return HeatInterval("total", rated.kw * 1000.0 * run_s / 3600.0, duration_s, "runtime",
                        True, f"{run_s:.0f} s running ({run_source}) × {rated.kw:g} kW")


# --- the stateful wrapper ------------------------------------------------------------------


@dataclass
class Family:
    """What accounting keeps of one counter family: the reference reading (the last one
    accepted) and the problems being reported."""

    ref: Reading
    glitch_since: datetime | None = None
    stale_since: datetime | None = None
    # whether the device's day counter last restarted at midnight of HEATPUMP_TZ
    # ("midnight") or elsewhere ("off"); reported when it changes
    day_restart: str | None = None


@dataclass
class DeviceState:
    """One heat pump: its last sample (the sampled methods, the method choice) and its
    counter families ("heat.heating", "electricity.total", ...)."""

    sample: HeatPumpSample
    families: dict[str, Family] = field(default_factory=dict)


@dataclass(frozen=True)
class HeatUpdate:
    """Points for the interval that ended with a sample, and (reason, detail) events for
    health (rollovers bridged, glitches, rejected deltas, stale counters)."""

    points: list[Point] = field(default_factory=list)
    events: list[Problem] = field(default_factory=list)


RunningBetween = Callable[[datetime, datetime], tuple[float, float]]


class HeatAccountant:
    """Keeps each heat pump's state and turns each new sample into `heat` and `electricity`
    (source=heatpump, and source=heating_rod for its backup heater) points.

    `running(start, end)` answers (running s, covered s) as the meter saw an interval
    (collector/accounting/running.py); the sampled methods use it. `rod_kw` is
    HEATPUMP_HEATING_ROD_KW (the rod's power per level, for devices that report only its
    running time: collector/accounting/rod.py)."""

    def __init__(self, rated_heat_kw: float | None, poll_s: float,
                 running: RunningBetween | None = None,
                 devices: Mapping[str, DeviceState] | None = None,
                 tz: ZoneInfo | None = None, rod_kw: Sequence[float] = ()):
        self.rated_heat_kw = rated_heat_kw
        self.rod_kw = tuple(rod_kw)
        # HEATPUMP_TZ: only to tell the owner when the device's days are not theirs (its
        # counters restart elsewhere than at local midnight); accounting never asks it
        self.tz = tz
        self.conclusive_s = 3.0 * poll_s
        # the snapshot methods integrate two snapshots, so they refuse longer gaps
        self.max_gap_s = 3.0 * poll_s
        self.running = running
        self.devices: dict[str, DeviceState] = dict(devices or {})

    @property
    def last(self) -> dict[str, HeatPumpSample]:
        return {d: st.sample for d, st in self.devices.items()}

    def cap_kw(self, sample: HeatPumpSample) -> float:
        """The plausible output of this device (kW): CAP_FACTOR × rated, else the default."""
        rated = device_rated(sample, self.rated_heat_kw)
        return CAP_FACTOR * rated.kw if rated is not None else DEFAULT_CAP_KW

    def add(self, sample: HeatPumpSample, single_device: bool = True) -> HeatUpdate:
        """Points and events for the interval that ends with `sample` (none for a device's
        first sample or a sample that is not newer than the previous one)."""
        st = self.devices.get(sample.device)
        if st is not None and sample.time <= st.sample.time:
            return HeatUpdate()
        if st is None:
            st = self.devices[sample.device] = DeviceState(sample)
        prev = st.sample
        first = prev is sample
        st.sample = sample
        cap = self.cap_kw(sample)
        points: list[Point] = []
        events: list[Problem] = []
        deltas: dict[str, dict[str, CounterDelta]] = {}
        families = CounterFamilies(sample)
        for kind in KINDS:
            deltas[kind] = self._counters(st, sample, kind, families.readings(kind), cap,
                                          events)
        choice = choose_heat_method(
            sample, self.rated_heat_kw, self.running is not None and single_device,
            heat_circuits=families.circuits("heat"))
        if choice.method == "counter":
            for circuit, d in deltas["heat"].items():
                points.append(heat_point(d.end, sample.device, "counter", circuit,
                                         d.kwh * 1000.0, d.duration_s, False))
        elif not first and not self._counters_pending(st, sample, "heat"):
            metered = (self.running(prev.time, sample.time)
                       if self.running is not None and single_device else None)
            iv = sampled_interval(prev, sample, choice, metered=metered,
                                  max_gap_s=self.max_gap_s)
            if iv is not None:
                points.append(heat_point(sample.time, sample.device, iv.method, iv.circuit,
                                         iv.energy_wh, iv.duration_s, iv.estimate))
        for circuit, d in deltas["electricity"].items():
            points.append(electricity_point(d.end, sample.device, "heatpump", circuit, {
                "energy_wh": round(d.kwh * 1000.0, 3), "duration_s": d.duration_s}))
        # the backup heater: its own counters where the device has them (exact to the
        # device's counting), else its running time per level × HEATPUMP_HEATING_ROD_KW
        for circuit, d in deltas["heating_rod"].items():
            points.append(electricity_point(d.end, sample.device, "heating_rod", circuit, {
                "energy_wh": round(d.kwh * 1000.0, 3), "duration_s": d.duration_s}))
        if not families.circuits("heating_rod"):
            rod = self._rod_runtime(st, sample, events)
            if rod is not None:
                points.append(rod)
        return HeatUpdate(points, _merged(events))

    def _rod_runtime(self, st: DeviceState, sample: HeatPumpSample,
                     events: list[Problem]) -> Point | None:
        """The rod's running time (and estimated electricity) since the last reading of
        its runtime counters, as an `electricity` point (source=heating_rod, circuit total);
        the counter rules are in collector/accounting/rod.py."""
        cur = runtime_reading(sample)
        if cur is None:
            return None
        fam = st.families.get(ROD_RUNTIME)
        if fam is None:
            st.families[ROD_RUNTIME] = Family(cur)
            return None
        step = runtime_step(fam.ref, cur, self.rod_kw)
        if step.problem is not None and step.problem[0] == "counter_glitch":
            if fam.glitch_since is None:
                fam.glitch_since = cur.newest
                events.append(step.problem)
            elif cur.newest - fam.glitch_since >= REBASE_AFTER:
                events.append(("counter_glitch", f"{ROD_RUNTIME}: the counters have not "
                               f"made sense since {utc_text(fam.glitch_since)}; counting goes "
                               "on from the current values (the time in between is not "
                               "known)"))
                st.families[ROD_RUNTIME] = Family(cur)
            return None
        if step.problem is not None:
            events.append(step.problem)
        if step.accept:
            fam.ref, fam.glitch_since = cur, None
        iv = step.interval
        if iv is None:
            return None
        fields: dict[str, Any] = {"duration_s": iv.duration_s, "running_s": iv.running_s}
        if iv.energy_wh is not None:
            fields["energy_wh"] = fields["estimated_wh"] = iv.energy_wh
        return electricity_point(iv.end, sample.device, "heating_rod", "total", fields)

    def _counters(self, st: DeviceState, sample: HeatPumpSample, kind: str,
                  readings: Mapping[str, Reading], cap_kw: float,
                  events: list[Problem]) -> dict[str, CounterDelta]:
        """The deltas of `kind`'s families (`readings`: circuit -> the sample's reading,
        from `CounterFamilies.readings`) against their references, which move on as the
        rules say."""
        out: dict[str, CounterDelta] = {}
        for circuit, cur in readings.items():
            name = f"{kind}.{circuit}"
            fam = st.families.get(name)
            # a total summed from the circuits repeats their events: only its energy counts
            said = events if not cur.parts else []
            self._staleness(fam, name, cur, sample.time, said)
            if fam is None:
                st.families[name] = Family(cur, stale_since=_stale_since(cur, sample.time))
                continue
            step = counter_step(fam.ref, cur, cap_kw, name)
            prev_ref = fam.ref
            if step.problem is not None and step.problem[0] == "counter_glitch":
                if fam.glitch_since is None:
                    fam.glitch_since = cur.newest
                    said.append(step.problem)
                elif cur.newest - fam.glitch_since >= REBASE_AFTER and not cur.all_zero():
                    said.append(("counter_glitch", f"{name}: the counters have not made "
                                   f"sense since {utc_text(fam.glitch_since)}; counting goes on "
                                   "from the current values (the energy in between is not "
                                   "known)"))
                    st.families[name] = Family(cur, stale_since=fam.stale_since)
                continue
            if step.problem is not None:
                events.append(step.problem)
            if step.accept:
                fam.ref, fam.glitch_since = cur, None
            if step.accept and not cur.parts:
                self._day_restart(fam, prev_ref, cur, name, said)
            if step.delta is not None:
                out[circuit] = step.delta
                if step.delta.rollover:
                    said.append(("counter_rollover", f"{name}: {step.delta.rollover}"))
        return out

    def _day_restart(self, fam: Family, ref: Reading, cur: Reading, name: str,
                     events: list[Problem]) -> None:
        """Report, when it changes, whether the day counter restarts at midnight in
        HEATPUMP_TZ: a late, early or other-zone device is told to the owner (its daily
        figures will not match theirs) though accounting does not need to know."""
        if self.tz is None or "day" not in ref.values or "day" not in cur.values:
            return
        if cur.values["day"] >= ref.values["day"] - EPS_KWH:
            return  # no visible restart
        a, b = ref.times["day"], cur.times["day"]
        if (b - a).total_seconds() > self.conclusive_s:
            return  # too long a span to say where in it the restart was
        at_midnight = a.astimezone(self.tz).date() != b.astimezone(self.tz).date()
        note = "midnight" if at_midnight else "off"
        if note == fam.day_restart or (fam.day_restart is None and at_midnight):
            fam.day_restart = note
            return
        fam.day_restart = note
        zone = str(self.tz)
        if at_midnight:
            events.append(("counter_rollover", f"{name}: the day counter restarted at "
                           f"midnight in HEATPUMP_TZ ({zone}) again"))
        else:
            local = b.astimezone(self.tz)
            events.append(("counter_rollover", f"{name}: the day counter restarted between "
                           f"{utc_text(a)} and {utc_text(b)} ({local:%H:%M} in {zone}), not at "
                           "midnight of HEATPUMP_TZ: the device's clock or zone differs, so "
                           "its daily figures are not your days; accounting follows its "
                           "counters, nothing is lost"))

    @staticmethod
    def _staleness(fam: Family | None, name: str, cur: Reading, now: datetime,
                   events: list[Problem]) -> None:
        since = _stale_since(cur, now)
        was = fam.stale_since if fam is not None else None
        if since is not None and was is None:
            ago = span_text((now - since).total_seconds())
            events.append(("counters_stale", f"{name}: the device has not updated these "
                           f"counters since {utc_text(since)} ({ago} before this poll); "
                           "nothing is booked from them until they move"))
        elif since is None and was is not None:
            events.append(("counters_resumed", f"{name}: the device updates these counters "
                           f"again (they were stale since {utc_text(was)})"))
        if fam is not None:
            fam.stale_since = since

    @staticmethod
    def _counters_pending(st: DeviceState, sample: HeatPumpSample, kind: str) -> bool:
        """True while a device that reported `kind` counters lacks them for a while (a
        missing feature in one answer): its heat waits for them instead of switching to a
        sampled method for one interval and then counting the same energy twice."""
        names = [n for n in st.families if n.startswith(f"{kind}.")]
        if not names:
            return False
        newest = max(st.families[n].ref.newest for n in names)
        if sample.time - newest < REBASE_AFTER:
            return True
        for n in names:
            del st.families[n]
        return False

    def method(self, device: str) -> MethodChoice | None:
        """The heat method the device's last sample allows, and why (`heatpump doctor`)."""
        st = self.devices.get(device)
        return None if st is None else choose_heat_method(st.sample, self.rated_heat_kw)


def _stale_since(reading: Reading, now: datetime) -> datetime | None:
    oldest = reading.oldest
    return oldest if now - oldest > STALE_AFTER else None


def _merged(events: list[Problem]) -> list[Problem]:
    """One event per reason per poll (all families' details in one sentence each)."""
    by_reason: dict[str, list[str]] = {}
    for reason, detail in events:
        by_reason.setdefault(reason, []).append(detail)
    return [(reason, "; ".join(details)) for reason, details in by_reason.items()]


# --- the accounting state (collector/state.py) ----------------------------------------------


def _time(value: Any) -> datetime:
    t = datetime.fromisoformat(str(value))
    if t.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return t


def sample_to_json(s: HeatPumpSample) -> dict[str, Any]:
    """What heat accounting needs of a sample to resume after a restart."""
    return {"time": s.time.isoformat(), "device": s.device, "values": dict(s.values),
            "counters": dict(s.counters),
            "counters_read_at": {k: t.isoformat() for k, t in s.counters_read_at.items()}}


def sample_from_json(d: Mapping[str, Any]) -> HeatPumpSample:
    """Inverse of `sample_to_json`; KeyError/TypeError/ValueError on a damaged entry."""
    return HeatPumpSample(_time(d["time"]), str(d["device"]), dict(d["values"]),
                          {k: float(v) for k, v in d["counters"].items()},
                          counters_read_at={k: _time(v) for k, v in
                                            dict(d.get("counters_read_at") or {}).items()})


def _reading_to_json(r: Reading) -> dict[str, Any]:
    return {"values": dict(r.values), "times": {k: t.isoformat() for k, t in r.times.items()},
            "parts": list(r.parts)}


def _reading_from_json(d: Mapping[str, Any]) -> Reading:
    values = {str(k): float(v) for k, v in d["values"].items()}
    times = {str(k): _time(v) for k, v in d["times"].items()}
    if set(values) != set(times) or not values:
        raise ValueError("a counter reading needs a time for every value")
    return Reading(values, times, tuple(str(p) for p in d.get("parts", ())))


def copy_state(st: DeviceState) -> DeviceState:
    """A snapshot of a device's state (the accountant changes its families in place; the
    state file must get them as they were when these points were made)."""
    return DeviceState(st.sample, {n: Family(f.ref, f.glitch_since, f.stale_since,
                                             f.day_restart)
                                   for n, f in st.families.items()})


def device_state_to_json(st: DeviceState) -> dict[str, Any]:
    """A device's heat accounting state: its last sample and its counter references."""
    out = sample_to_json(st.sample)
    out["families"] = {
        name: {"ref": _reading_to_json(f.ref),
               "glitch_since": f.glitch_since.isoformat() if f.glitch_since else None,
               "stale_since": f.stale_since.isoformat() if f.stale_since else None,
               "day_restart": f.day_restart}
        for name, f in st.families.items()}
    return out


def device_state_from_json(d: Mapping[str, Any]) -> DeviceState:
    """Inverse of `device_state_to_json`. An entry written before the counter references existed
    (only a sample) resumes with the sample's counters as the references.
    KeyError/TypeError/ValueError/AttributeError on a damaged entry."""
    sample = sample_from_json(d)
    if "families" not in d:
        st = DeviceState(sample)
        for kind in KINDS:
            circuits = family_circuits(sample, kind)
            for circuit in (*circuits, "total") if circuits else ():
                r = reading_of(sample, kind, circuit)
                if r is not None:
                    st.families[f"{kind}.{circuit}"] = Family(r)
        return st
    families = {}
    for name, f in dict(d["families"]).items():
        families[str(name)] = Family(
            _reading_from_json(f["ref"]),
            _time(f["glitch_since"]) if f.get("glitch_since") else None,
            _time(f["stale_since"]) if f.get("stale_since") else None,
            f.get("day_restart") if f.get("day_restart") in ("midnight", "off") else None)
    return DeviceState(sample, families)


__all__ = [
    "CAP_FACTOR", "DEFAULT_CAP_KW", "REBASE_AFTER", "STALE_AFTER", "DeviceState", "Family",
    "HeatAccountant", "HeatInterval", "HeatUpdate", "MethodChoice", "choose_heat_method",
    "copy_state", "device_rated", "device_state_from_json", "device_state_to_json",
    "running_seconds", "sample_from_json", "sample_to_json", "sampled_interval",
]
