"""The simulated heat pump as the Viessmann cloud shows it: PyViCare's answers, at the wire.

`SimulatedVitocal.answer(path)` returns what the Viessmann API returns for a GET of `path`
(HTTP status and JSON body): the installation listing, or the "all features" answer of the
device, shaped like the real dumps in tests/fixtures/vicare (Vitocal 250-A, PyViCare's
tests/response/Vitocal250A.json: feature names, property names, units, the
`*ValueReadAt` stamps of the day/week/month/year arrays). While the simulated heat pump is
unreachable (an `Outage` of the heat pump) it answers with the real DEVICE_OFFLINE error
body. The collector reads these answers with the real PyViCare, mapping and accounting.

The device's energy counters are modelled here, not in the physics: a counter is the
energy the device accumulated since the start of its period (local day, week, month,
year of the DEVICE's clock), truncated to 0.1 kWh as the real ones are. How real devices
get this wrong is a set of `VitocalQuirks`: a reset minutes or hours after (or before)
midnight, a clock in another zone, arrays the device stopped updating, a transient answer
with every counter at 0, a counter that dips or sticks, whole compressor hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simhouse.house import PumpState, Simulator

API_ROOT = "https://api.viessmann-climatesolutions.com/iot/v2"
LISTING_PATH = "/equipment/installations?includeGateways=true"
INSTALLATION_ID = 2000001
# The real error body of a device the cloud cannot reach (HTTP 400), as in
# tests/fixtures/vicare/errors/device_offline.json.
DEVICE_OFFLINE = (400, {
    "viErrorId": "simulated", "statusCode": 400, "errorType": "DEVICE_COMMUNICATION_ERROR",
    "message": "Device communication error",
    "extendedPayload": {"httpStatusCode": "NotFound", "code": "404",
                        "reason": "DEVICE_OFFLINE"}})
NOT_FOUND = (404, {"viErrorId": "simulated", "statusCode": 404, "errorType": "NOT_FOUND",
                   "message": "unknown resource"})
COUNTER_STEP_KWH = 0.1  # real counters are truncated to 0.1 kWh


Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class VitocalQuirks:
    """How the simulated device reports, including the faults real devices show.

    - `counter_tz`: zone of the device's own clock (None: the house's zone).
    - `reset_lag`: counters reset this long after local midnight (negative: before it);
      real devices are seen up to ~2 h late and a few minutes early.
    - `stale_arrays_from`: the day/week/month/year arrays stop being updated here (their
      `*ValueReadAt` stays at this time), as in the field case of ha#130273.
    - `zero_answers`: answers in these spans report every counter as 0.0 (a transient
      glitch of the cloud), then the real values come back.
    - `counter_dips`: (start, end, kWh) spans in which the current-period counters read
      this much lower, then recover.
    - `stuck`: spans in which every counter keeps the value it had at the span's start.
    - `hours_resolution_h`: 1.0 for whole compressor hours (E3 devices), 0.1 otherwise.
    - `heat_counters`/`power_counters`: which energy counters the device has at all.
    - `power_summary`: False for a device whose electricity counters are only the
      day/week/month/year arrays (no `heating.power.consumption.summary.*`): accounting
      then uses the arrays, as of their `*ValueReadAt`.
    - `modulation_sensor`: reports `heating.compressors.0.sensors.power` (%), as the
      Vitocal 200-S does; the Vitocal 250-A does not.
    - `flow_sensor`: reports `heating.sensors.volumetricFlow.allengra` (l/h); without it
      (and without heat counters) heat can only be estimated.
    - `rated_output_kw`: reports `heating.compressors.0.power` (kW), the rated output
      some devices state themselves (Vitocal 333-G: 8, 200-S AWB-M-E-AC: 10).
    - `heating_rod`: how the device reports its heating rod (simhouse.house.HeatingRod),
      as the real families do (docs/vicare.md, "The backup heater"): "counters" like the
      Vitocal 250-A/222-S dumps (heating.heatingRod `active`, `.statistics` hours and
      starts, `.power.consumption.summary.{heating,dhw}`; the secondary heat generator's
      state beside it), "runtime" like the Vitocal 333-G (heating.heatingRod.status per
      level, `.runtime` levelOne/levelTwo in seconds: its energy is known only with
      HEATPUMP_HEATING_ROD_KW), or "none" (a device without a rod). A house without a
      rod reports none either way.
    - `heat_arrays`: also remembers its HEAT per day/week/month/year as arrays
      (`heating.heat.production.{heating,dhw}`, laid out like the electricity arrays),
      as devices that report them do; the 250-A of the real dump has heat only as
      summaries (`heat_arrays=False`). With these the device's memory gives a monthly
      JAZ for the past year (collector/vicare/history.py).
    """

    counter_tz: str | None = None
    reset_lag: timedelta = timedelta(0)
    stale_arrays_from: datetime | None = None
    zero_answers: tuple[Span, ...] = ()
    counter_dips: tuple[tuple[datetime, datetime, float], ...] = ()
    stuck: tuple[Span, ...] = ()
    hours_resolution_h: float = 1.0
    heat_counters: bool = True
    power_counters: bool = True
    power_summary: bool = True
    modulation_sensor: bool = False
    flow_sensor: bool = True
    rated_output_kw: float | None = None
    heat_arrays: bool = True
    heating_rod: str = "counters"

    def __post_init__(self) -> None:
        if self.heating_rod not in ROD_REPORTS:
            raise ValueError(f"heating_rod must be one of {', '.join(ROD_REPORTS)}")


ROD_REPORTS = ("counters", "runtime", "none")


@dataclass
class _Periods:
    """Start instants (UTC epoch s) of the device's periods containing one moment."""

    days: list[float]  # [today, yesterday, ...] starts
    weeks: list[float]
    months: list[float]
    years: list[float]


class SimulatedVitocal:
    """One simulated Vitocal behind the Viessmann cloud. `clock()` is the time of a request
    (the collector's clock: virtual in the demo, real in `demo --live`)."""

    model = "E3_Vitocal_250A"

    def __init__(self, sim: Simulator, clock: Callable[[], datetime], *,
                 quirks: VitocalQuirks | None = None, gateway: str = "7571381681420106",
                 device_id: str = "0"):
        self.sim, self.clock = sim, clock
        self.quirks = quirks or VitocalQuirks()
        self.gateway, self.device_id = gateway, device_id
        self.tz = ZoneInfo(self.quirks.counter_tz) if self.quirks.counter_tz else sim.tz
        self._totals_at: dict[float, dict[str, float]] = {}
        # by the device's local day: its period starts, and the arrays' closed periods
        # (they change once a day; only the current period moves with every answer)
        self._periods_of: dict[date, _Periods] = {}
        self._closed_of: dict[tuple[float, str], dict[str, list[float]]] = {}
        self._features_path = (f"/features/installations/{INSTALLATION_ID}/gateways/{gateway}"
                               f"/devices/{device_id}/features/")

    # --- the API -------------------------------------------------------------------------

    def answer(self, path: str) -> tuple[int, Any]:
        """(HTTP status, JSON body) for a GET of `path` (relative to the API root)."""
        if path.startswith("/equipment/installations"):
            return 200, self.listing()
        if path.rstrip("/") == self._features_path.rstrip("/"):
            body = self.features(self.clock())
            return (200, body) if body is not None else DEVICE_OFFLINE
        return NOT_FOUND

    def listing(self) -> dict[str, Any]:
        """The installation listing as `GET /equipment/installations?includeGateways=true`."""
        return {"data": [{
            "id": INSTALLATION_ID, "description": "Simulated house", "gateways": [{
                "serial": self.gateway, "version": "simulated", "gatewayType": "VitoconnectOpto1",
                "installationId": INSTALLATION_ID, "devices": [{
                    "gatewaySerial": self.gateway, "id": self.device_id, "boilerSerial": None,
                    "modelId": self.model, "status": "Online", "deviceType": "heating",
                    "roles": ["type:heatpump", "type:E3", "type:product;Vitocal250A"]}]}]}]}

    def features(self, now: datetime) -> dict[str, Any] | None:
        """The device's "all features" answer at `now`; None while it is unreachable."""
        state = self.sim.pump_state(now)
        if state is None:
            return None
        return {"data": self._features(state, now)}

    # --- building the answer -------------------------------------------------------------

    def _feature(self, name: str, props: dict[str, Any], stamp: str,
                 enabled: bool = True) -> dict[str, Any]:
        return {"apiVersion": 1, "commands": {}, "deviceId": self.device_id, "feature": name,
                "gatewayId": self.gateway, "isEnabled": enabled, "isReady": True,
                "properties": props, "timestamp": stamp,
                "uri": f"{API_ROOT}{self._features_path}{name}"}

    def _features(self, state: PumpState, now: datetime) -> list[dict[str, Any]]:
        v, q = state.values, self.quirks
        stamp = _iso(now)
        f = self._feature
        out = [
            f("heating.sensors.temperature.outside", _sensor(v["outside_temp_c"]), stamp),
            f("heating.secondaryCircuit.sensors.temperature.supply",
              _sensor(v["supply_temp_c"]), stamp),
            f("heating.sensors.temperature.return", _sensor(v["return_temp_c"]), stamp),
            f("heating.dhw.sensors.temperature.dhwCylinder", _sensor(v["dhw_temp_c"]), stamp),
            f("heating.compressors", {"enabled": {"type": "array", "value": ["0"]}}, stamp),
            f("heating.compressors.0", {"active": _bool(v["compressor_active"]),
                                        "phase": _str(v["compressor_phase"])}, stamp),
            f("heating.compressors.0.statistics", {
                "hours": {"type": "number", "unit": "hour",
                          "value": _hours(float(v["compressor_hours_h"]),
                                          q.hours_resolution_h)},
                "starts": {"type": "number", "unit": "", "value": v["compressor_starts"]}},
              stamp),
            f("heating.circuits", {"enabled": {"type": "array", "value": ["0"]}}, stamp),
            f("heating.circuits.0.operating.modes.active", {"value": _str(v["heating_mode"])},
              stamp),
            f("heating.circuits.0.operating.programs.active",
              {"value": _str("normalHeating")}, stamp),
            f("heating.circuits.0.operating.programs.normalHeating", {
                "active": _bool(True), "demand": _str("heating"),
                "temperature": {"type": "number", "unit": "celsius",
                                "value": self.sim.house.room_c}}, stamp),
            f("heating.circuits.0.temperature", {"value": {
                "type": "number", "unit": "celsius",
                "value": v["heating_supply_target_temp_c"]}}, stamp),
            f("heating.circuits.0.heating.curve", {
                "shift": {"type": "number", "unit": "", "value": v["heating_curve_shift_k"]},
                "slope": {"type": "number", "unit": "", "value": v["heating_curve_slope"]}},
              stamp),
            f("heating.dhw.operating.modes.active", {"value": _str(v["dhw_mode"])}, stamp),
            f("heating.dhw.temperature.main", {"value": {
                "type": "number", "unit": "celsius", "value": v["dhw_target_temp_c"]}}, stamp),
            f("device.messages.errors.raw", {"entries": {"type": "array", "value": [
                {"accessLevel": "customer", "errorCode": m.code, "priority": m.priority,
                 "timestamp": _iso(m.since)} for m in state.messages]}}, stamp),
        ]
        if q.flow_sensor:
            out.append(f("heating.sensors.volumetricFlow.allengra",
                         _sensor(v["flow_l_h"], "liter/hour"), stamp))
        if q.modulation_sensor:
            out.append(f("heating.compressors.0.sensors.power", _sensor(
                v["compressor_modulation_pct"], "percent"), stamp))
        if q.rated_output_kw is not None:
            out.append(f("heating.compressors.0.power", {"value": {
                "type": "number", "unit": "kilowatt", "value": q.rated_output_kw}}, stamp))
        out.extend(self._rod_features(v, stamp))
        out.extend(self._counter_features(now, stamp))
        return out

    def _rod_features(self, v: dict[str, Any], stamp: str) -> list[dict[str, Any]]:
        """The heating rod's state and statistics as `quirks.heating_rod` says (shapes of
        the Vitocal 250-A and 333-G dumps); its energy counters are in _counter_features."""
        report = self.quirks.heating_rod
        if self.sim.rod is None or report == "none":
            return []
        f = self._feature
        out = [f(f"heating.configuration.heatingRod.{c}", {"useApproved": _bool(True)}, stamp)
               for c in ("dhw", "heating")]
        if report == "counters":
            out += [
                f("heating.heatingRod", {"active": _bool(v["heating_rod_active"])}, stamp),
                f("heating.heatingRod.statistics", {
                    "hours": {"type": "number", "unit": "hour",
                              "value": int(float(v["heating_rod_hours_h"]))},
                    "starts": {"type": "number", "unit": "",
                               "value": v["heating_rod_starts"]}}, stamp),
                f("heating.secondaryHeatGenerator", {
                    "active": _bool(False), "connectionType": _str("unknown")}, stamp),
            ]
        else:
            levels = {f"level{n}": _bool(v.get(f"heating_rod_level{n}_active", False))
                      for n in (1, 2, 3)}
            out += [
                f("heating.heatingRod.status",
                  {**levels, "overall": _bool(v["heating_rod_active"])}, stamp),
                f("heating.heatingRod.runtime", {
                    word: {"type": "number", "unit": "seconds",
                           "value": int(float(v[f"heating_rod_runtime_level{n}_s"]))}
                    for n, word in ((1, "levelOne"), (2, "levelTwo"))}, stamp),
            ]
        return out

    def _counter_features(self, now: datetime, stamp: str) -> list[dict[str, Any]]:
        q = self.quirks
        t = _epoch(now)
        if any(a <= now < b for a, b in q.stuck):
            t = min(_epoch(a) for a, b in q.stuck if a <= now < b)
        zero = any(a <= now < b for a, b in q.zero_answers)
        dip = sum(kwh for a, b, kwh in q.counter_dips if a <= now < b)
        periods = self._periods(t)
        current = self._totals(t)
        out = []
        kinds = [k for k, on in (("heat", q.heat_counters),
                                 ("electricity", q.power_counters and q.power_summary),
                                 ("heating_rod", self.sim.rod is not None and q.power_counters
                                  and q.heating_rod == "counters")) if on]
        for kind in kinds:
            feature = _SUMMARY_FEATURE[kind]
            # a dip of the heat pump's counters is not one of the rod's (often at 0)
            dip_of = 0.0 if kind == "heating_rod" else dip
            for circuit in ("heating", "dhw"):
                series = f"{kind}.{circuit}"

                def since(start: float, series: str = series) -> float:
                    return current[series] - self._totals(start)[series]

                def between(a: float, b: float, series: str = series) -> float:
                    return self._totals(b)[series] - self._totals(a)[series]

                values = {
                    "currentDay": since(periods.days[0]) - dip_of,
                    "currentMonth": since(periods.months[0]) - dip_of,
                    "currentYear": since(periods.years[0]) - dip_of,
                    "lastMonth": between(periods.months[1], periods.months[0]),
                    "lastSevenDays": since(periods.days[6]),
                    "lastYear": between(periods.years[1], periods.years[0]),
                }
                out.append(self._feature(f"{feature}.{circuit}", {
                    name: _kwh(0.0 if zero else value) for name, value in values.items()},
                    stamp))
        if q.power_counters:
            out.extend(self._array_features(now, zero))
        if q.heat_counters and q.heat_arrays:
            out.extend(self._heat_array_features(now, zero))
        return out

    def _heat_array_features(self, now: datetime, zero: bool) -> list[dict[str, Any]]:
        """heating.heat.production.{heating,dhw}: [current, previous, ...] arrays of the
        heat the device counted, read at the same moment as the electricity arrays."""
        q = self.quirks
        read_at = now if q.stale_arrays_from is None else min(now, q.stale_arrays_from)
        stuck = [a for a, b in q.stuck if a <= read_at < b]
        if stuck:
            read_at = min(stuck)
        t = _epoch(read_at)
        p = self._periods(t)
        stamp = _iso(read_at)
        out = []
        current = self._totals(t)
        for circuit in ("heating", "dhw"):
            series = f"heat.{circuit}"
            closed = self._closed_heat(p, series)

            def array(name: str, starts: list[float], series: str = series,
                      closed: dict[str, list[float]] = closed) -> list[float]:
                values = [_trunc(current[series] - self._totals(starts[0])[series]),
                          *closed[name]]
                return [0.0] * len(values) if zero else values

            props: dict[str, Any] = {}
            for name, starts in (("day", p.days), ("week", p.weeks), ("month", p.months),
                                 ("year", p.years)):
                props[name] = {"type": "array", "unit": "kilowattHour",
                               "value": array(name, starts)}
                props[f"{name}ValueReadAt"] = _str(stamp)
            out.append(self._feature(f"heating.heat.production.{circuit}", props, _iso(now)))
        return out

    def _array_features(self, now: datetime, zero: bool) -> list[dict[str, Any]]:
        """heating.power.consumption.{total,heating,dhw}: [current, previous, ...] arrays."""
        q = self.quirks
        read_at = now if q.stale_arrays_from is None else min(now, q.stale_arrays_from)
        stuck = [a for a, b in q.stuck if a <= read_at < b]
        if stuck:  # stuck counters: the arrays hold their values too
            read_at = min(stuck)
        t = _epoch(read_at)
        p = self._periods(t)
        current = self._totals(t)
        stamp = _iso(read_at)
        out = []
        for circuit in ("total", "heating", "dhw"):
            parts = ("heating", "dhw") if circuit == "total" else (circuit,)
            closed = self._closed_arrays(p, circuit, parts)

            def array(name: str, starts: list[float], parts: Sequence[str] = parts,
                      closed: dict[str, list[float]] = closed) -> list[float]:
                begin = self._totals(starts[0])
                running = sum(current[f"electricity.{c}"] - begin[f"electricity.{c}"]
                              for c in parts)
                values = [_trunc(running), *closed[name]]
                return [0.0] * len(values) if zero else values

            out.append(self._feature(f"heating.power.consumption.{circuit}", {
                "day": {"type": "array", "unit": "kilowattHour",
                        "value": array("day", p.days)},
                "dayValueReadAt": _str(stamp),
                "week": {"type": "array", "unit": "kilowattHour",
                         "value": array("week", p.weeks)},
                "weekValueReadAt": _str(stamp),
                "month": {"type": "array", "unit": "kilowattHour",
                          "value": array("month", p.months)},
                "monthValueReadAt": _str(stamp),
                "year": {"type": "array", "unit": "kilowattHour",
                         "value": array("year", p.years)},
                "yearValueReadAt": _str(stamp)}, _iso(now)))
        return out

    def _closed_arrays(self, p: _Periods, circuit: str, parts: Sequence[str]
                       ) -> dict[str, list[float]]:
        """The arrays' entries after the current one (closed periods: day -1..-7, week
        -1..-4, month -1..-12, year -1), truncated; computed once per local day."""
        def energy(a: float, b: float) -> float:
            end, start = self._totals(b), self._totals(a)
            return sum(end[f"electricity.{c}"] - start[f"electricity.{c}"] for c in parts)

        return self._closed(p, (p.days[0], circuit), energy)

    def _closed_heat(self, p: _Periods, series: str) -> dict[str, list[float]]:
        """The heat arrays' entries after the current one (closed periods), truncated;
        computed once per local day, like `_closed_arrays`."""
        return self._closed(p, (p.days[0], series),
                            lambda a, b: self._totals(b)[series] - self._totals(a)[series])

    def _closed(self, p: _Periods, key: tuple[float, str],
                energy: Callable[[float, float], float]) -> dict[str, list[float]]:
        """{day/week/month/year: energy of each closed period (from its start to the next
        period's start), truncated}, kept per `key` for the local day."""
        closed = self._closed_of.get(key)
        if closed is None:
            closed = {name: [_trunc(energy(starts[i], starts[i - 1]))
                             for i in range(1, len(starts))]
                      for name, starts in (("day", p.days), ("week", p.weeks),
                                           ("month", p.months), ("year", p.years))}
            if len(self._closed_of) > 64:
                self._closed_of.clear()
            self._closed_of[key] = closed
        return closed

    # --- the device's clock and counters -------------------------------------------------

    def _totals(self, t: float) -> dict[str, float]:
        """Cumulative device energy at `t` (cached for period starts, which repeat)."""
        cached = self._totals_at.get(t)
        if cached is None:
            cached = self.sim.device_totals_kwh(t)
            if len(self._totals_at) > 4096:
                self._totals_at.clear()
            self._totals_at[t] = cached
        return cached

    def _periods(self, t: float) -> _Periods:
        """Starts of the device's current and previous periods at `t`: local midnight (of
        the device's zone) shifted by its reset lag."""
        lag = self.quirks.reset_lag.total_seconds()
        local = datetime.fromtimestamp(t - lag, UTC).astimezone(self.tz).date()
        cached = self._periods_of.get(local)
        if cached is None:
            cached = self._periods_on(local, lag)
            if len(self._periods_of) > 64:
                self._periods_of.clear()
            self._periods_of[local] = cached
        return cached

    def _periods_on(self, local: date, lag: float) -> _Periods:

        def start(d: date) -> float:
            midnight = datetime(d.year, d.month, d.day, tzinfo=self.tz)
            return midnight.timestamp() + lag

        days = [start(local - timedelta(days=i)) for i in range(8)]
        monday = local - timedelta(days=local.weekday())
        weeks = [start(monday - timedelta(weeks=i)) for i in range(5)]
        months = []
        y, m = local.year, local.month
        for _ in range(13):
            months.append(start(date(y, m, 1)))
            y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        years = [start(date(local.year - i, 1, 1)) for i in range(2)]
        return _Periods(days, weeks, months, years)


_SUMMARY_FEATURE = {"heat": "heating.heat.production.summary",
                    "electricity": "heating.power.consumption.summary",
                    "heating_rod": "heating.heatingRod.power.consumption.summary"}


# --- small wire helpers ----------------------------------------------------------------


def _epoch(t: datetime) -> float:
    return t.timestamp()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _trunc(kwh: float) -> float:
    """Truncated to 0.1 kWh, like the device's counters (never negative)."""
    steps = math.floor(kwh / COUNTER_STEP_KWH + 1e-6)
    return max(0.0, round(steps * COUNTER_STEP_KWH, 1))


def _kwh(value: float) -> dict[str, Any]:
    return {"type": "number", "unit": "kilowattHour", "value": _trunc(value)}


def _hours(hours: float, resolution: float) -> float | int:
    if resolution >= 1.0:
        return int(hours)
    return round(math.floor(hours / resolution + 1e-9) * resolution, 1)


def _sensor(value: Any, unit: str = "celsius") -> dict[str, Any]:
    return {"status": {"type": "string", "value": "connected"},
            "value": {"type": "number", "unit": unit, "value": value}}


def _bool(value: Any) -> dict[str, Any]:
    return {"type": "boolean", "value": bool(value)}


def _str(value: Any) -> dict[str, Any]:
    return {"type": "string", "value": str(value)}


__all__ = ["SimulatedVitocal", "VitocalQuirks"]
