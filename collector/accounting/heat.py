"""Heat delivered (and the heat pump's own electricity) per poll interval — pure functions.

Methods, best first (the `method` tag of `heat`):

1. ``counter``: the device's own heat production counters (day/week/month/year, kWh),
   differenced between two polls. Calendar counters reset at the DEVICE's local midnight /
   week / month / year start; see `counter_delta_kwh` for how a rollover is bridged.
2. ``flow``: volumetric flow × (supply − return) × 1.163 Wh/(l·K), integrated while the
   compressor runs.
3. ``modulation``: compressor modulation × HEATPUMP_RATED_HEAT_KW (estimate).
4. ``runtime``: running share (meter's `running_s`, else the sampled `active` flag) ×
   HEATPUMP_RATED_HEAT_KW (estimate).

`choose_heat_method` says which one a device allows and WHY (used by `heatpump doctor`).
The device's zone is not reported by the API; HEATPUMP_TZ stands in for it (the installer
set the controller's clock to local time).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collector.points import electricity_point, heat_point
from collector.readings import HeatPumpSample
from heatpump.schema import ESTIMATED_HEAT_METHODS
from heatpump.store.base import Point

WATER_WH_PER_L_K = 1.163  # heat capacity of water near 35 °C: 4.186 kJ/(kg·K) × 0.993 kg/l
PERIODS = ("day", "week", "month", "year")  # finest first
CIRCUITS = ("heating", "dhw", "cooling")
EPS_KWH = 1e-6


@dataclass(frozen=True, slots=True)
class CounterDelta:
    """Energy between two counter readings; `exact=False` marks a lower bound."""

    kwh: float
    exact: bool
    basis: str  # which counters, for doctor/debugging


@dataclass(frozen=True, slots=True)
class MethodChoice:
    method: str | None  # one of schema.HEAT_METHODS, or None when heat cannot be known
    reason: str

    @property
    def estimate(self) -> bool:
        return self.method in ESTIMATED_HEAT_METHODS


# --- calendar boundaries -----------------------------------------------------------------


def _period_index(period: str, day: date) -> tuple[int, ...]:
    if period == "day":
        return (day.toordinal(),)
    if period == "week":
        return ((day.toordinal() - day.weekday()),)  # weeks start on Monday
    if period == "month":
        return (day.year, day.month)
    return (day.year,)


def boundaries_crossed(period: str, start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """How many `period` starts (local time in `tz`) lie in (start, end]."""
    a, b = start.astimezone(tz).date(), end.astimezone(tz).date()
    if period == "day":
        return b.toordinal() - a.toordinal()
    if period == "week":
        return (_period_index("week", b)[0] - _period_index("week", a)[0]) // 7
    if period == "month":
        return (b.year - a.year) * 12 + b.month - a.month
    return b.year - a.year


def counter_delta_kwh(prev: Mapping[str, float], cur: Mapping[str, float], prefix: str,
                      prev_time: datetime, cur_time: datetime,
                      tz: ZoneInfo) -> CounterDelta | None:
    """Energy of one counter family (e.g. prefix "heat.dhw") between two readings.

    Tries the finest period first. A period "rolled over" when its counter went down or a
    calendar boundary lies in the interval (the device may reset a few minutes off our
    clock, so both signs count). Then, in order:
    - its `last_<period>` counter (e.g. lastMonth) bridges exactly one rollover:
      (last − prev) + current;
    - otherwise the next coarser counter that did not roll over gives the exact delta
      (a day rollover is bridged by the month counter, a month one by the year counter);
    - if every counter rolled over, the current value of the coarsest one is the energy
      since its reset: a LOWER BOUND (the tail before the reset is unknown), `exact=False`.
    Returns None when there is nothing to compare or the counters contradict each other.
    """
    available = [p for p in PERIODS if f"{prefix}.{p}" in prev and f"{prefix}.{p}" in cur]
    if not available or cur_time <= prev_time:
        return None
    for period in available:
        before, now = prev[f"{prefix}.{period}"], cur[f"{prefix}.{period}"]
        crossed = boundaries_crossed(period, prev_time, cur_time, tz)
        if now >= before - EPS_KWH and crossed == 0:
            return CounterDelta(max(now - before, 0.0), True, f"{period} counter")
        last = cur.get(f"{prefix}.last_{period}")
        bridged = last is not None and crossed <= 1 and last >= before - EPS_KWH
        if bridged and (crossed == 1 or now < before - EPS_KWH):
            return CounterDelta(max(last - before, 0.0) + now, True,  # type: ignore[operator]
                                f"{period} counter across its rollover (last_{period})")
    coarsest = available[-1]
    value = cur[f"{prefix}.{coarsest}"]
    if value < 0:
        return None
    return CounterDelta(value, False, f"{coarsest} counter since its reset (tail before the "
                        "reset unknown)")


def counter_circuits(sample: HeatPumpSample, kind: str) -> tuple[str, ...]:
    """Circuits (total/heating/dhw/cooling) for which `kind` counters are reported."""
    found = {key.split(".")[1] for key in sample.counters if key.startswith(f"{kind}.")}
    return tuple(c for c in ("total", *CIRCUITS) if c in found)


def counter_energy(prev: HeatPumpSample, cur: HeatPumpSample, kind: str,
                   tz: ZoneInfo) -> dict[str, CounterDelta]:
    """Per circuit (and "total") energy from the device's counters of `kind`.

    "total" is the device's total counter when it has one, else the sum of its circuits
    (only when every circuit could be computed, so a total is never silently short).
    """
    out: dict[str, CounterDelta] = {}
    circuits = counter_circuits(cur, kind)
    for circuit in circuits:
        delta = counter_delta_kwh(prev.counters, cur.counters, f"{kind}.{circuit}",
                                  prev.time, cur.time, tz)
        if delta is not None:
            out[circuit] = delta
    parts = [c for c in circuits if c != "total"]
    if "total" not in circuits and parts and all(c in out for c in parts):
        out["total"] = CounterDelta(sum(out[c].kwh for c in parts),
                                    all(out[c].exact for c in parts),
                                    "sum of " + ", ".join(parts))
    return out


# --- method choice -----------------------------------------------------------------------

FLOW_FIELDS = ("flow_l_h", "supply_temp_c", "return_temp_c")


def choose_heat_method(sample: HeatPumpSample, rated_heat_kw: float | None,
                       running_s_available: bool = False) -> MethodChoice:
    """The best heat method this device allows, with the reason (for `heatpump doctor`)."""
    v = sample.values
    heat_circuits = counter_circuits(sample, "heat")
    if heat_circuits:
        return MethodChoice("counter", "the device reports its own heat production counters ("
                            + ", ".join(heat_circuits) + "); exact to their 0.1 kWh resolution")
    if all(f in v for f in FLOW_FIELDS):
        return MethodChoice("flow", "no heat counter, but flow, supply and return sensors: "
                            "heat = flow × (supply − return) × 1.163 Wh/(l·K) while the "
                            "compressor runs (±10–20 %, sensor tolerances and 5-min sampling)")
    missing = [f for f in FLOW_FIELDS if f not in v]
    no_measure = ("no heat counter and no " + ", ".join(missing) + " sensor")
    if rated_heat_kw is None:
        return MethodChoice(None, no_measure + "; set HEATPUMP_RATED_HEAT_KW to enable an "
                            "estimate from compressor modulation or running time")
    if "compressor_modulation_pct" in v:
        return MethodChoice("modulation", no_measure + ": estimate = compressor modulation × "
                            f"rated {rated_heat_kw:g} kW (rough, ±30 %)")
    if running_s_available or "compressor_active" in v:
        source = ("running time from the meter" if running_s_available
                  else "the compressor's on/off flag sampled every poll")
        return MethodChoice("runtime", no_measure + f" and no modulation: estimate = {source} "
                            f"× rated {rated_heat_kw:g} kW (rough, ±40 %)")
    return MethodChoice(None, no_measure + " and no compressor state to estimate from")


# --- per-interval heat -------------------------------------------------------------------


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


def _running_s(prev: HeatPumpSample, cur: HeatPumpSample, duration_s: float,
               running_s: float | None) -> float | None:
    if running_s is not None:
        return min(max(running_s, 0.0), duration_s)
    share = _active_share(prev, cur)
    return None if share is None else share * duration_s


def _flow_power_w(sample: HeatPumpSample) -> float:
    v = sample.values
    return float(v["flow_l_h"]) * (float(v["supply_temp_c"]) - float(v["return_temp_c"])) \
        * WATER_WH_PER_L_K


def heat_intervals(prev: HeatPumpSample, cur: HeatPumpSample, *, tz: ZoneInfo,
                   rated_heat_kw: float | None = None, running_s: float | None = None,
                   max_gap_s: float = 900.0) -> tuple[MethodChoice, list[HeatInterval]]:
    """Heat delivered between two polls of one device, by the best available method.

    Counters bridge any gap (they are cumulative); the sampled methods integrate two
    snapshots and so refuse gaps longer than `max_gap_s` (a gap stays a gap).
    """
    duration_s = (cur.time - prev.time).total_seconds()
    choice = choose_heat_method(cur, rated_heat_kw, running_s is not None)
    if duration_s <= 0 or choice.method is None:
        return choice, []
    if choice.method == "counter":
        deltas = counter_energy(prev, cur, "heat", tz)
        return choice, [HeatInterval(c, d.kwh * 1000.0, duration_s, "counter", False, d.basis)
                        for c, d in deltas.items()]
    if duration_s > max_gap_s:
        return choice, []
    run_s = _running_s(prev, cur, duration_s, running_s)
    if choice.method == "flow":
        if not all(f in prev.values for f in FLOW_FIELDS) or run_s is None:
            return choice, []
        actives = [s for s in (prev, cur) if s.values.get("compressor_active") is True]
        powers = [_flow_power_w(s) for s in (actives or (prev, cur))]
        energy = sum(powers) / len(powers) * run_s / 3600.0
        return choice, [HeatInterval("total", energy, duration_s, "flow", False,
                                     f"mean {sum(powers) / len(powers):.0f} W × {run_s:.0f} s")]
    assert rated_heat_kw is not None
    if choice.method == "modulation":
        mods = [s.values.get("compressor_modulation_pct") for s in (prev, cur)]
        if any(not isinstance(m, int | float) for m in mods):
            return choice, []
        share = sum(float(m) for m in mods) / 200.0  # type: ignore[arg-type]
        energy = rated_heat_kw * 1000.0 * share * duration_s / 3600.0
        return choice, [HeatInterval("total", energy, duration_s, "modulation", True,
                                     f"mean modulation {share * 100:.0f} %")]
    if run_s is None:
        return choice, []
    energy = rated_heat_kw * 1000.0 * run_s / 3600.0
    return choice, [HeatInterval("total", energy, duration_s, "runtime", True,
                                 f"{run_s:.0f} s running")]


def heat_points(prev: HeatPumpSample, cur: HeatPumpSample, *, tz: ZoneInfo,
                rated_heat_kw: float | None = None, running_s: float | None = None,
                max_gap_s: float = 900.0) -> list[Point]:
    """`heat` points for the interval ending at `cur.time` (one per circuit)."""
    _, intervals = heat_intervals(prev, cur, tz=tz, rated_heat_kw=rated_heat_kw,
                                  running_s=running_s, max_gap_s=max_gap_s)
    return [heat_point(cur.time, cur.device, i.method, i.circuit, i.energy_wh, i.duration_s,
                       i.estimate) for i in intervals]


def electricity_points(prev: HeatPumpSample, cur: HeatPumpSample, *,
                       tz: ZoneInfo) -> list[Point]:
    """`electricity` points (source=heatpump) from the device's own consumption counters."""
    duration_s = (cur.time - prev.time).total_seconds()
    if duration_s <= 0:
        return []
    return [electricity_point(cur.time, cur.device, "heatpump", circuit,
                              {"energy_wh": round(d.kwh * 1000.0, 3), "duration_s": duration_s})
            for circuit, d in counter_energy(prev, cur, "electricity", tz).items()]


# --- the thin stateful wrapper -----------------------------------------------------------


class HeatAccountant:
    """Keeps the previous sample of each heat pump and turns each new one into `heat` and
    `electricity` (source=heatpump) points for the interval between them.

    `running_s(start, end)` answers the compressor's running seconds the meter saw in an
    interval (None when the meter did not cover it); the runtime estimate uses it."""

    def __init__(self, tz: ZoneInfo, rated_heat_kw: float | None, poll_s: float,
                 running_s: Callable[[datetime, datetime], float | None] | None = None,
                 last: dict[str, HeatPumpSample] | None = None):
        self.tz, self.rated_heat_kw = tz, rated_heat_kw
        # the sampled methods integrate two snapshots, so they refuse longer gaps
        self.max_gap_s = 3.0 * poll_s
        self.running_s = running_s
        self.last: dict[str, HeatPumpSample] = dict(last or {})

    def add(self, sample: HeatPumpSample, single_device: bool = True) -> list[Point]:
        """Points for the interval that ends with `sample` (none for a device's first sample
        or a sample that is not newer than the previous one)."""
        prev = self.last.get(sample.device)
        if prev is not None and sample.time <= prev.time:
            return []
        self.last[sample.device] = sample
        if prev is None:
            return []
        running = (self.running_s(prev.time, sample.time)
                   if self.running_s is not None and single_device else None)
        return (heat_points(prev, sample, tz=self.tz, rated_heat_kw=self.rated_heat_kw,
                            running_s=running, max_gap_s=self.max_gap_s)
                + electricity_points(prev, sample, tz=self.tz))

    def method(self, device: str) -> MethodChoice | None:
        """The heat method the device's last sample allows, and why (`heatpump doctor`)."""
        sample = self.last.get(device)
        return None if sample is None else choose_heat_method(sample, self.rated_heat_kw)


def sample_to_json(s: HeatPumpSample) -> dict[str, Any]:
    """What heat accounting needs of a sample to resume after a restart."""
    return {"time": s.time.isoformat(), "device": s.device, "values": dict(s.values),
            "counters": dict(s.counters)}


def sample_from_json(d: Mapping[str, Any]) -> HeatPumpSample:
    """Inverse of `sample_to_json`; KeyError/TypeError/ValueError on a damaged entry."""
    return HeatPumpSample(datetime.fromisoformat(d["time"]), str(d["device"]),
                          dict(d["values"]), {k: float(v) for k, v in d["counters"].items()})
