"""Heat delivered (and the heat pump's own electricity) per poll interval — pure functions
and one small stateful wrapper, `HeatAccountant`.

Methods, best first (the `method` tag of `heat`):

1. ``counter``: the device's own heat production counters, differenced (below).
2. ``flow``: volumetric flow × (supply − return) × 1.163 Wh/(l·K) while the compressor runs.
3. ``modulation``: compressor modulation × rated output (estimate).
4. ``runtime``: running time (the meter's, else the sampled on/off flag) × rated output
   (estimate).
The rated output is HEATPUMP_RATED_HEAT_KW or the device's own figure
(heatpump/estimates.py); the estimates' measured error bands are there too.

Counters. The device reports calendar counters (current day/week/month/year and the
previous ones, kWh, truncated to 0.1 kWh) that restart at the DEVICE's period starts: in
its own zone, on its own clock, real devices hours late or minutes early. Our clock knows
none of that, so nothing here asks it whether a period ended; the counters say it
themselves (`counter_step`):

- A counter that did not go down (and whose `last_<period>` did not change while it
  restarted) did not roll over: its difference is exact. Of those, the COARSEST is used
  (the year counter, unless it looks whole-kWh where a finer one is not): it restarts once
  a year, so consecutive differences telescope and the 0.1 kWh truncation never
  accumulates (differencing the day counter loses each day's truncated tail, ~30 kWh a
  year). A finer counter that gained more than the coarser one is a contradiction.
- A counter that went down rolled over only if what it shows now could have accumulated
  since its restart (at most the plausible output over the interval) and, where the device
  reports `last_<period>`, that one changed to at least the counter's previous value:
  then (last − previous) + current is exact. Without a `last_` value, the energy since the
  restart is a lower bound (the tail before it is unknown). A drop that is no rollover (a
  transient answer with every counter 0, a dip) is a glitch: nothing is booked and the
  previous reading stays the reference, so the energy reappears when the counters recover.
- The arrays (fallback) are as of their `*ValueReadAt`: while that does not move, there is
  nothing new (no zero is booked), and arrays older than `STALE_AFTER` are reported.
- Every delta is capped by the plausible output (`plausible_kw`): a larger one is reported,
  not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from collector.points import electricity_point, heat_point
from collector.readings import HeatPumpSample
from heatpump.estimates import USE, RatedOutput, band_text, rated_output
from heatpump.schema import ESTIMATED_HEAT_METHODS
from heatpump.store.base import Point

WATER_WH_PER_L_K = 1.163  # heat capacity of water near 35 °C: 4.186 kJ/(kg·K) × 0.993 kg/l
PERIODS = ("day", "week", "month", "year")  # finest first
CIRCUITS = ("heating", "dhw", "cooling")
KINDS = ("heat", "electricity")
EPS_KWH = 1e-6
STEP_KWH = 0.1  # the counters' resolution (they are truncated to it)
SLACK_KWH = 2 * STEP_KWH  # two truncations: what a plausible delta may exceed its cap by
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

Problem = tuple[str, str]  # (health reason, detail) of a counter family


# --- counter readings --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """One counter family (e.g. "heat.heating") as reported: period key (day, month,
    last_month, ...) -> kWh, and when the device read each value (the poll's time, or an
    array's `*ValueReadAt`). `parts` names the circuits summed when the device reports no
    total of its own."""

    values: Mapping[str, float]
    times: Mapping[str, datetime]
    parts: tuple[str, ...] = ()

    @property
    def oldest(self) -> datetime:
        return min(self.times.values())

    @property
    def newest(self) -> datetime:
        return max(self.times.values())

    def all_zero(self) -> bool:
        return all(abs(v) < EPS_KWH for v in self.values.values())


def family_circuits(sample: HeatPumpSample, kind: str) -> tuple[str, ...]:
    """Circuits (total/heating/dhw/cooling) for which `kind` counters are reported."""
    found = {key.split(".")[1] for key in sample.counters if key.startswith(f"{kind}.")}
    return tuple(c for c in ("total", *CIRCUITS) if c in found)


def reading_of(sample: HeatPumpSample, kind: str, circuit: str) -> Reading | None:
    """The `kind.circuit` counters of a sample; for "total" on a device without one, the
    sum of its circuits (the periods all of them report)."""
    prefix = f"{kind}.{circuit}."
    values = {k[len(prefix):]: v for k, v in sample.counters.items() if k.startswith(prefix)}
    if values:
        times = {p: min(sample.counters_read_at.get(prefix + p, sample.time), sample.time)
                 for p in values}
        return Reading(values, times)
    if circuit != "total":
        return None
    parts = [c for c in family_circuits(sample, kind) if c != "total"]
    readings = [r for r in (reading_of(sample, kind, c) for c in parts) if r is not None]
    if not readings:
        return None
    keys = set.intersection(*(set(r.values) for r in readings))
    if not keys:
        return None
    return Reading({k: round(sum(r.values[k] for r in readings), 6) for k in keys},
                   {k: min(r.times[k] for r in readings) for k in keys}, tuple(parts))


# --- one counter family between two readings -----------------------------------------------


@dataclass(frozen=True, slots=True)
class CounterDelta:
    """Energy of one counter family over (start, end]; `exact=False` marks a lower bound.
    `rollover` says how a period that ended inside the span was bridged (for health)."""

    kwh: float
    start: datetime
    end: datetime
    exact: bool
    basis: str
    rollover: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Step:
    """What `counter_step` concluded: the energy to book (if any), whether the current
    reading becomes the reference, and a problem for health (reason, detail)."""

    delta: CounterDelta | None = None
    accept: bool = False
    problem: Problem | None = None


def cap_kwh(cap_kw: float, start: datetime, end: datetime) -> float:
    """The most a counter can plausibly gain over (start, end] (truncation slack added)."""
    return cap_kw * max((end - start).total_seconds(), 0.0) / 3600.0 + SLACK_KWH


def _whole(v: float) -> bool:
    return abs(v - round(v)) < EPS_KWH


def _kwh(v: float) -> str:
    return f"{v:.1f} kWh"


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def counter_step(ref: Reading, cur: Reading, cap_kw: float, name: str = "counters") -> Step:
    """The energy of one counter family from its reference reading to the current one, by
    the rules in the module docstring; `name` (e.g. "heat.heating") goes into problems."""
    if ref.parts != cur.parts:
        return Step(accept=True)  # other circuits summed: a new baseline, nothing comparable
    periods = [p for p in PERIODS if p in ref.values and p in cur.values]
    if not periods:
        return Step(accept=True)
    moved = [p for p in periods if cur.times[p] > ref.times[p]]
    if not moved:
        return Step()  # the device has not read these counters again: nothing new
    if cur.all_zero() and not ref.all_zero() and any(k.startswith("last_") for k in cur.values):
        # a last_ value cannot fall to 0 (it holds the period that ended, at least what the
        # counter showed); without last_ values, 0 may be a restart: the rules below decide
        return Step(problem=("counter_glitch", f"{name}: every counter reads 0 (was "
                             f"{_kwh(max(ref.values.values()))}); not a rollover, so "
                             "nothing is booked until they make sense again"))
    steady: dict[str, float] = {}
    bridged: dict[str, float] = {}
    lower: dict[str, float] = {}
    broken: dict[str, str] = {}
    for p in moved:
        before, now = ref.values[p], cur.values[p]
        last_before, last_now = ref.values.get(f"last_{p}"), cur.values.get(f"last_{p}")
        dropped = now < before - EPS_KWH
        last_moved = (last_before is not None and last_now is not None
                      and abs(last_now - last_before) > EPS_KWH)
        restarted = now <= cap_kwh(cap_kw, ref.times[p], cur.times[p])
        if not dropped and not (last_moved and restarted):
            steady[p] = now - before
        elif not restarted:
            broken[p] = (f"{name}: the {p} counter went from {_kwh(before)} to {_kwh(now)}, "
                         "too much to have restarted in the interval")
        elif last_now is None:
            lower[p] = now
        elif last_before is not None and not last_moved:
            broken[p] = (f"{name}: the {p} counter went down ({_kwh(before)} -> "
                         f"{_kwh(now)}) but last_{p} stayed {_kwh(last_now)}: no rollover")
        elif last_now < before - EPS_KWH:
            broken[p] = (f"{name}: the {p} counter went down ({_kwh(before)} -> "
                         f"{_kwh(now)}) and last_{p} ({_kwh(last_now)}) is below what it "
                         "showed: no rollover")
        else:
            bridged[p] = last_now - before + now
    coarse_first = [p for p in reversed(PERIODS) if p in moved]
    if coarse_first[0] in broken:
        return Step(problem=("counter_glitch", broken[coarse_first[0]]
                             + "; nothing is booked until the counters make sense again"))
    delta = _steady_delta(steady, coarse_first, ref, cur) if steady else None
    if delta is None and steady:
        finer = max(steady.values())
        return Step(problem=("counter_glitch", f"{name}: a finer counter gained more "
                             f"({_kwh(finer)}) than a coarser one; nothing is booked until "
                             "they agree again"))
    if delta is None:
        delta = _rollover_delta(bridged, lower, coarse_first, ref, cur)
    assert delta is not None  # the coarsest moved period is steady, bridged or lower
    broken_coarser = [p for p in coarse_first if p in broken
                      and PERIODS.index(p) > PERIODS.index(delta.basis.split()[0])]
    if broken_coarser:
        return Step(problem=("counter_glitch", broken[broken_coarser[0]]
                             + "; nothing is booked until the counters make sense again"))
    limit = cap_kwh(cap_kw, delta.start, delta.end)
    if delta.kwh > limit:
        hours = max(delta.duration_s, 1.0) / 3600.0
        return Step(accept=True, problem=(
            "counter_rejected",
            f"{name}: {_kwh(delta.kwh)} in {_span(delta.duration_s)} ({delta.kwh / hours:.0f} "
            f"kW, by the {delta.basis}) is more than the plausible {cap_kw:g} kW; not "
            f"stored ({_utc(delta.start)} to {_utc(delta.end)})"))
    return Step(delta, accept=True)


def _steady_delta(steady: Mapping[str, float], coarse_first: list[str], ref: Reading,
                  cur: Reading) -> CounterDelta | None:
    """The coarsest counter that did not roll over (preferring one that does not look
    whole-kWh when a finer one is not); None when a finer counter contradicts it."""
    order = [p for p in coarse_first if p in steady]
    basis = order[0]
    fractional = [p for p in order
                  if not (_whole(ref.values[p]) and _whole(cur.values[p]))]
    if (fractional and basis not in fractional and steady[basis] >= 1.0 - EPS_KWH
            and abs(steady[fractional[0]] - steady[basis]) <= 1.0 + STEP_KWH):
        # some devices count the year in whole kWh: a finer counter that agrees with it
        # is as exact and less lumpy (one that gained less restarted unseen)
        basis = fractional[0]
    gained = steady[basis]
    tolerance = SLACK_KWH if basis in fractional or not fractional else 1.0 + STEP_KWH
    span = (ref.times[basis], cur.times[basis])
    for p in order[order.index(basis) + 1:]:
        if (ref.times[p], cur.times[p]) == span and steady[p] > gained + tolerance:
            return None  # (arrays read at other times are not comparable)
    return CounterDelta(max(gained, 0.0), ref.times[basis], cur.times[basis], True,
                        f"{basis} counter")


def _rollover_delta(bridged: Mapping[str, float], lower: Mapping[str, float],
                    coarse_first: list[str], ref: Reading, cur: Reading) -> CounterDelta:
    """Every moved counter rolled over: bridged exactly by the coarsest one with a changed
    `last_` value, else the energy since the coarsest one's restart (a lower bound)."""
    when = f"between {_utc(ref.times[coarse_first[0]])} and {_utc(cur.times[coarse_first[0]])}"
    for p in coarse_first:
        if p in bridged:
            return CounterDelta(max(bridged[p], 0.0), ref.times[p], cur.times[p], True,
                                f"{p} counter across its rollover (last_{p})",
                                f"the {p} counter restarted {when}; bridged exactly with "
                                f"last_{p}")
    p = next(p for p in coarse_first if p in lower)
    return CounterDelta(lower[p], ref.times[p], cur.times[p], False,
                        f"{p} counter since its restart (the tail before it is unknown)",
                        f"the {p} counter restarted {when}; no last_{p} to bridge it, "
                        f"so only the {_kwh(lower[p])} since the restart is booked")


def _span(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# --- method choice -----------------------------------------------------------------------

FLOW_FIELDS = ("flow_l_h", "supply_temp_c", "return_temp_c")


@dataclass(frozen=True, slots=True)
class MethodChoice:
    method: str | None  # one of schema.HEAT_METHODS, or None when heat cannot be known
    reason: str
    rated: RatedOutput | None = None  # what the estimates use, with its source

    @property
    def estimate(self) -> bool:
        return self.method in ESTIMATED_HEAT_METHODS


def device_rated(sample: HeatPumpSample, setting_kw: float | None) -> RatedOutput | None:
    """HEATPUMP_RATED_HEAT_KW, else the device's own `device_rated_heat_kw`."""
    own = sample.values.get("device_rated_heat_kw")
    device_kw = float(own) if isinstance(own, int | float) and not isinstance(own, bool) \
        else None
    return rated_output(setting_kw, device_kw)


def choose_heat_method(sample: HeatPumpSample, rated_heat_kw: float | None,
                       running_s_available: bool = False) -> MethodChoice:
    """The best heat method this device allows, with the reason (for `heatpump doctor`).
    `rated_heat_kw` is HEATPUMP_RATED_HEAT_KW (None: unset; the device's own figure is
    used when it reports one)."""
    v = sample.values
    rated = device_rated(sample, rated_heat_kw)
    heat_circuits = family_circuits(sample, "heat")
    if heat_circuits:
        return MethodChoice("counter", "the device reports its own heat production counters ("
                            + ", ".join(heat_circuits) + "); exact to the device's meter",
                            rated)
    if all(f in v for f in FLOW_FIELDS):
        return MethodChoice("flow", "no heat counter, but flow, supply and return sensors: "
                            "heat = flow × (supply − return) × 1.163 Wh/(l·K) while the "
                            f"compressor runs (measured {band_text('flow')} of the real heat)",
                            rated)
    missing = [f for f in FLOW_FIELDS if f not in v]
    no_measure = ("no heat counter and no " + ", ".join(missing) + " sensor")
    if rated is None:
        return MethodChoice(None, no_measure + "; set HEATPUMP_RATED_HEAT_KW to enable an "
                            "estimate from compressor modulation or running time")
    if "compressor_modulation_pct" in v:
        return MethodChoice("modulation", no_measure + ": ESTIMATE = compressor modulation × "
                            f"{rated.describe()}; measured {band_text('modulation')} of the "
                            "real heat across the seasons", rated)
    if running_s_available or "compressor_active" in v:
        source = ("running time from the meter" if running_s_available
                  else "running time (the meter's, else the on/off flag sampled every poll)")
        return MethodChoice("runtime", no_measure + f" and no modulation: ESTIMATE = {source} "
                            f"× {rated.describe()}; measured {band_text('runtime')} of the "
                            f"real heat across the seasons: {USE['runtime']}", rated)
    return MethodChoice(None, no_measure + " and no compressor state to estimate from", rated)


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
    (source=heatpump) points.

    `running(start, end)` answers (running s, covered s) as the meter saw an interval
    (collector/accounting/running.py); the sampled methods use it."""

    def __init__(self, rated_heat_kw: float | None, poll_s: float,
                 running: RunningBetween | None = None,
                 devices: Mapping[str, DeviceState] | None = None,
                 tz: ZoneInfo | None = None):
        self.rated_heat_kw = rated_heat_kw
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
        for kind in KINDS:
            deltas[kind] = self._counters(st, sample, kind, cap, events)
        choice = choose_heat_method(
            sample, self.rated_heat_kw, self.running is not None and single_device)
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
        return HeatUpdate(points, _merged(events))

    def _counters(self, st: DeviceState, sample: HeatPumpSample, kind: str, cap_kw: float,
                  events: list[Problem]) -> dict[str, CounterDelta]:
        out: dict[str, CounterDelta] = {}
        circuits = family_circuits(sample, kind)
        if circuits and "total" not in circuits:
            circuits = (*circuits, "total")
        for circuit in circuits:
            name = f"{kind}.{circuit}"
            cur = reading_of(sample, kind, circuit)
            if cur is None:
                continue
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
                                   f"sense since {_utc(fam.glitch_since)}; counting goes on "
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
                           f"{_utc(a)} and {_utc(b)} ({local:%H:%M} in {zone}), not at "
                           "midnight of HEATPUMP_TZ: the device's clock or zone differs, so "
                           "its daily figures are not your days; accounting follows its "
                           "counters, nothing is lost"))

    @staticmethod
    def _staleness(fam: Family | None, name: str, cur: Reading, now: datetime,
                   events: list[Problem]) -> None:
        since = _stale_since(cur, now)
        was = fam.stale_since if fam is not None else None
        if since is not None and was is None:
            events.append(("counters_stale", f"{name}: the device has not updated these "
                           f"counters since {_utc(since)} ({_span((now - since).total_seconds())}"
                           " before this poll); nothing is booked from them until they move"))
        elif since is None and was is not None:
            events.append(("counters_resumed", f"{name}: the device updates these counters "
                           f"again (they were stale since {_utc(was)})"))
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
    return DeviceState(st.sample, {n: replace(f) for n, f in st.families.items()})


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
    "CAP_FACTOR", "DEFAULT_CAP_KW", "CounterDelta", "DeviceState", "Family", "HeatAccountant",
    "HeatInterval", "HeatUpdate", "MethodChoice", "Reading", "Step", "cap_kwh",
    "choose_heat_method", "copy_state", "counter_step", "device_rated",
    "device_state_from_json", "device_state_to_json", "family_circuits", "reading_of",
    "running_seconds", "sample_from_json", "sample_to_json", "sampled_interval",
]
