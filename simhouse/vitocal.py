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
from collections.abc import Callable
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
COUNTER_STEPS_PER_KWH = 10  # real counters are truncated to 0.1 kWh
COUNTER_STEP_KWH = 1 / COUNTER_STEPS_PER_KWH


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


@dataclass(frozen=True)
class _Summary:
    """One summary feature (`<feature>.<circuit>`: currentDay ... lastYear) as far as it
    holds for a device day: the series' totals (kWh, simhouse.house.COUNTER_SERIES) at the
    starts of the current day, month and year and of the day six days back, and the
    energy of last month and last year (with their wire entries, the same all day)."""

    name: str
    series: str
    dips: bool  # the heat pump's counter dips apply (not to the rod's counters)
    day: float
    month: float
    year: float
    seven_days: float
    last_month: float
    last_year: float
    last_month_entry: dict[str, Any]
    last_year_entry: dict[str, Any]


@dataclass(frozen=True)
class _Arrays:
    """One array feature (day/week/month/year: [current, previous, ...]) as far as it holds
    for a device day: per period, the totals of `series` (summed) at the current one's
    start and the closed entries, truncated."""

    name: str
    series: tuple[str, ...]
    # (period, its read-at property, the begins of `series`, the closed entries)
    periods: tuple[tuple[str, str, tuple[float, ...], tuple[float, ...]], ...]


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
        # by the device's local day: its period starts, and the counters' parts that hold
        # for the day (`_summaries`, `_arrays`; only the current periods move with every
        # answer)
        self._periods_of: dict[date, _Periods] = {}
        self._day_parts: dict[tuple[float, str], Any] = {}
        self._features_path = (f"/features/installations/{INSTALLATION_ID}/gateways/{gateway}"
                               f"/devices/{device_id}/features/")
        # feature name -> its envelope (ids, "uri"); each answer fills in a copy
        self._templates: dict[str, dict[str, Any]] = {}
        # the last answer's props that may come again (`_same`), and per summary and array
        # feature what its counters were made of and the props (values) made of it
        self._last: dict[str, tuple[tuple[Any, ...], Any]] = {}
        self._last_summary: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        self._last_arrays: dict[str, tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}
        # the quirks that change the counters at some times (the quirks are fixed)
        q = self.quirks
        self._counter_quirks = bool(q.stuck or q.zero_answers or q.counter_dips)
        self._fixed_props: dict[str, dict[str, Any]] | None = None  # (`_fixed`)
        self._periods_at: tuple[float, _Periods] | None = None  # the last `_periods`

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
    # An answer is read, never changed (PyViCare hands it on, the mapping and the history
    # read it, a recording writes a redacted copy out): besides the features' envelopes,
    # which are new in every answer, its parts that did not change since the last answer
    # (the props of fixed features, a counter whose energy did not move) are the same
    # objects in both.

    def _feature(self, name: str, props: dict[str, Any], stamp: str) -> dict[str, Any]:
        template = self._templates.get(name)
        if template is None:  # the same few dozen names at every answer
            template = self._templates[name] = {
                "apiVersion": 1, "commands": {}, "deviceId": self.device_id, "feature": name,
                "gatewayId": self.gateway, "isEnabled": True, "isReady": True,
                "properties": None, "timestamp": None,
                "uri": f"{API_ROOT}{self._features_path}{name}"}
        feature = template.copy()  # (the keys in the wire order, without rebuilding them)
        feature["commands"] = {}
        feature["properties"] = props
        feature["timestamp"] = stamp
        return feature

    def _fixed(self) -> dict[str, dict[str, Any]]:
        """The props of the features whose values never move (made at the first answer:
        they depend on the house and the quirks only)."""
        fixed = self._fixed_props
        if fixed is None:
            q, room_c = self.quirks, self.sim.house.room_c
            fixed = self._fixed_props = {
                "heating.compressors": {"enabled": {"type": "array", "value": ["0"]}},
                "heating.circuits": {"enabled": {"type": "array", "value": ["0"]}},
                "heating.circuits.0.operating.programs.active": {
                    "value": _str("normalHeating")},
                "heating.circuits.0.operating.programs.normalHeating": {
                    "active": _bool(True), "demand": _str("heating"),
                    "temperature": {"type": "number", "unit": "celsius", "value": room_c}},
                "heating.configuration.heatingRod": {"useApproved": _bool(True)},
                "heating.secondaryHeatGenerator": {
                    "active": _bool(False), "connectionType": _str("unknown")},
                "no messages": {"entries": {"type": "array", "value": []}},
            }
            if q.rated_output_kw is not None:
                fixed["heating.compressors.0.power"] = {"value": {
                    "type": "number", "unit": "kilowatt", "value": q.rated_output_kw}}
        return fixed

    def _same(self, slot: str, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """The object `make()` gives for `key`, the last answer's own when `key` is what it
        was then (props that change with a few values, e.g. the heating mode)."""
        last = self._last.get(slot)
        if last is not None and last[0] == key:
            return last[1]
        made = make()
        self._last[slot] = (key, made)
        return made

    def _features(self, state: PumpState, now: datetime) -> list[dict[str, Any]]:
        v, q = state.values, self.quirks
        stamp = _iso(now)
        f, fixed, same = self._feature, self._fixed(), self._same
        mode, dhw_mode = v["heating_mode"], v["dhw_mode"]
        shift, slope = v["heating_curve_shift_k"], v["heating_curve_slope"]
        active, phase = v["compressor_active"], v["compressor_phase"]
        dhw_target = v["dhw_target_temp_c"]
        out = [
            f("heating.sensors.temperature.outside", _sensor(v["outside_temp_c"]), stamp),
            f("heating.secondaryCircuit.sensors.temperature.supply",
              _sensor(v["supply_temp_c"]), stamp),
            f("heating.sensors.temperature.return", _sensor(v["return_temp_c"]), stamp),
            f("heating.dhw.sensors.temperature.dhwCylinder", _sensor(v["dhw_temp_c"]), stamp),
            f("heating.compressors", fixed["heating.compressors"], stamp),
            f("heating.compressors.0", same(
                "compressor", (bool(active), str(phase)),
                lambda: {"active": _bool(active), "phase": _str(phase)}), stamp),
            f("heating.compressors.0.statistics", {
                "hours": {"type": "number", "unit": "hour",
                          "value": _hours(float(v["compressor_hours_h"]),
                                          q.hours_resolution_h)},
                "starts": {"type": "number", "unit": "", "value": v["compressor_starts"]}},
              stamp),
            f("heating.circuits", fixed["heating.circuits"], stamp),
            f("heating.circuits.0.operating.modes.active", same(
                "mode", (str(mode),), lambda: {"value": _str(mode)}), stamp),
            f("heating.circuits.0.operating.programs.active",
              fixed["heating.circuits.0.operating.programs.active"], stamp),
            f("heating.circuits.0.operating.programs.normalHeating",
              fixed["heating.circuits.0.operating.programs.normalHeating"], stamp),
            f("heating.circuits.0.temperature", {"value": {
                "type": "number", "unit": "celsius",
                "value": v["heating_supply_target_temp_c"]}}, stamp),
            f("heating.circuits.0.heating.curve", same(
                "curve", (_exact(shift), _exact(slope)), lambda: {
                    "shift": {"type": "number", "unit": "", "value": shift},
                    "slope": {"type": "number", "unit": "", "value": slope}}), stamp),
            f("heating.dhw.operating.modes.active", same(
                "dhw mode", (str(dhw_mode),), lambda: {"value": _str(dhw_mode)}), stamp),
            f("heating.dhw.temperature.main", same(
                "dhw target", (_exact(dhw_target),), lambda: {"value": {
                    "type": "number", "unit": "celsius", "value": dhw_target}}), stamp),
            f("device.messages.errors.raw", {"entries": {"type": "array", "value": [
                {"accessLevel": "customer", "errorCode": m.code, "priority": m.priority,
                 "timestamp": _iso(m.since)} for m in state.messages]}}
              if state.messages else fixed["no messages"], stamp),
        ]
        if q.flow_sensor:
            out.append(f("heating.sensors.volumetricFlow.allengra",
                         _sensor(v["flow_l_h"], "liter/hour"), stamp))
        if q.modulation_sensor:
            out.append(f("heating.compressors.0.sensors.power", _sensor(
                v["compressor_modulation_pct"], "percent"), stamp))
        if q.rated_output_kw is not None:
            out.append(f("heating.compressors.0.power", fixed["heating.compressors.0.power"],
                         stamp))
        out.extend(self._rod_features(v, stamp))
        out.extend(self._counter_features(now, stamp))
        return out

    def _rod_features(self, v: dict[str, Any], stamp: str) -> list[dict[str, Any]]:
        """The heating rod's state and statistics as `quirks.heating_rod` says (shapes of
        the Vitocal 250-A and 333-G dumps); its energy counters are in _counter_features."""
        report = self.quirks.heating_rod
        if self.sim.rod is None or report == "none":
            return []
        f, fixed = self._feature, self._fixed()
        use = fixed["heating.configuration.heatingRod"]
        out = [f(f"heating.configuration.heatingRod.{c}", use, stamp) for c in ("dhw", "heating")]
        if report == "counters":
            active = v["heating_rod_active"]
            out += [
                f("heating.heatingRod", self._same(
                    "rod", (bool(active),), lambda: {"active": _bool(active)}), stamp),
                f("heating.heatingRod.statistics", {
                    "hours": {"type": "number", "unit": "hour",
                              "value": int(float(v["heating_rod_hours_h"]))},
                    "starts": {"type": "number", "unit": "",
                               "value": v["heating_rod_starts"]}}, stamp),
                f("heating.secondaryHeatGenerator", fixed["heating.secondaryHeatGenerator"],
                  stamp),
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
        """The energy counters: the summaries, the electricity and heat arrays. What holds
        for a device day (the totals at its period starts, the closed periods) is computed
        once per local day (`_summaries`, `_arrays`); only the current periods move with
        every answer, and a summary whose energy did not move since the last answer (the
        rod's, hot water's outside its runs) is the last answer's props again."""
        q = self.quirks
        t = _epoch(now)
        zero, dip = False, 0.0
        if self._counter_quirks:
            if any(a <= now < b for a, b in q.stuck):
                t = min(_epoch(a) for a, b in q.stuck if a <= now < b)
            zero = any(a <= now < b for a, b in q.zero_answers)
            dip = sum(kwh for a, b, kwh in q.counter_dips if a <= now < b)
        current = self.sim.device_totals_kwh(t)
        out = []
        last = self._last_summary
        for c in self._summaries(self._periods(t)):
            now_kwh = current[c.series]
            dip_of = dip if c.dips else 0.0
            key = (c, now_kwh, dip_of, zero)
            kept = last.get(c.name)
            if kept is not None and kept[0] == key:
                props = kept[1]
            elif zero:
                props = {name: _kwh(0.0) for name in _SUMMARY_PROPS}
            else:  # (the closed periods' entries are the day's: the same objects all day)
                props = {
                    "currentDay": _kwh(now_kwh - c.day - dip_of),
                    "currentMonth": _kwh(now_kwh - c.month - dip_of),
                    "currentYear": _kwh(now_kwh - c.year - dip_of),
                    "lastMonth": c.last_month_entry,
                    "lastSevenDays": _kwh(now_kwh - c.seven_days),
                    "lastYear": c.last_year_entry,
                }
            last[c.name] = (key, props)
            out.append(self._feature(c.name, props, stamp))
        if q.power_counters or (q.heat_counters and q.heat_arrays):
            read_at = now if q.stale_arrays_from is None else min(now, q.stale_arrays_from)
            stuck = [a for a, b in q.stuck if a <= read_at < b]
            if stuck:  # stuck counters: the arrays hold their values too
                read_at = min(stuck)
            out.extend(self._array_features(read_at, zero, stamp, now,
                                            current if _epoch(read_at) == t else None))
        return out

    def _summaries(self, p: _Periods) -> list[_Summary]:
        """The summary features (`heating.heat.production.summary.*`,
        `heating.power.consumption.summary.*`, the rod's) the device reports, with what
        holds for the day of `p`; kept per local day."""
        key = (p.days[0], "summaries")
        found = self._day_parts.get(key)
        if found is not None:
            return found
        q = self.quirks
        kinds = [k for k, on in (("heat", q.heat_counters),
                                 ("electricity", q.power_counters and q.power_summary),
                                 ("heating_rod", self.sim.rod is not None and q.power_counters
                                  and q.heating_rod == "counters")) if on]
        summaries = []
        for kind in kinds:
            for circuit in ("heating", "dhw"):
                series = f"{kind}.{circuit}"

                def total(start: float, series: str = series) -> float:
                    return self._totals(start)[series]

                last_month = total(p.months[0]) - total(p.months[1])
                last_year = total(p.years[0]) - total(p.years[1])
                summaries.append(_Summary(
                    f"{_SUMMARY_FEATURE[kind]}.{circuit}", series,
                    # a dip of the heat pump's counters is not one of the rod's (often at 0)
                    kind != "heating_rod",
                    total(p.days[0]), total(p.months[0]), total(p.years[0]), total(p.days[6]),
                    last_month, last_year, _kwh(last_month), _kwh(last_year)))
        self._keep(key, summaries)
        return summaries

    def _array_features(self, read_at: datetime, zero: bool, now_stamp: str, now: datetime,
                        current: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """heating.power.consumption.{total,heating,dhw} and (with `heat_arrays`)
        heating.heat.production.{heating,dhw}: [current, previous, ...] arrays of the
        energy the device counted, as of `read_at` (their `*ValueReadAt`; `now_stamp` is
        the answer's time `now`; `current`: the device's totals at `read_at` when known).
        An array whose energy did not move since the last answer is the last answer's
        array object again (its read-at stamps are new)."""
        t = _epoch(read_at)
        if current is None:
            current = self._totals(t)
        read_stamp = _str(now_stamp if read_at is now else _iso(read_at))
        out = []
        last = self._last_arrays
        for a in self._arrays(self._periods(t)):
            now_each = tuple([current[series] for series in a.series])
            key = (a, now_each, zero)
            kept = last.get(a.name)
            if kept is not None and kept[0] == key:
                values = kept[1]
            else:
                values = []
                if len(a.series) == 1:  # (the sum of one series' energy is its energy)
                    now_kwh = now_each[0]
                    for _name, _read_at_name, begins, closed in a.periods:
                        values.append({"type": "array", "unit": "kilowattHour",
                                       "value": [0.0] * (1 + len(closed)) if zero
                                       else [_trunc(now_kwh - begins[0]), *closed]})
                else:
                    for _name, _read_at_name, begins, closed in a.periods:
                        running = sum([kwh - begin
                                       for kwh, begin in zip(now_each, begins, strict=True)])
                        values.append({"type": "array", "unit": "kilowattHour",
                                       "value": [0.0] * (1 + len(closed)) if zero
                                       else [_trunc(running), *closed]})
                last[a.name] = (key, values)
            day, week, month, year = values  # (`_array`: these periods, in this order)
            out.append(self._feature(a.name, {
                "day": day, "dayValueReadAt": read_stamp, "week": week,
                "weekValueReadAt": read_stamp, "month": month, "monthValueReadAt": read_stamp,
                "year": year, "yearValueReadAt": read_stamp}, now_stamp))
        return out

    def _arrays(self, p: _Periods) -> list[_Arrays]:
        """The array features the device reports, with what holds for the day of `p`: per
        period the totals at the current one's start and the closed entries (day -1..-7,
        week -1..-4, month -1..-12, year -1: from each start to the next one's,
        truncated); kept per local day."""
        key = (p.days[0], "arrays")
        found = self._day_parts.get(key)
        if found is not None:
            return found
        q = self.quirks
        arrays = []
        if q.power_counters:  # the total is the sum of the circuits' energies
            for circuit, parts in (("total", ("heating", "dhw")), ("heating", ("heating",)),
                                   ("dhw", ("dhw",))):
                arrays.append(self._array(p, f"heating.power.consumption.{circuit}",
                                          tuple(f"electricity.{c}" for c in parts)))
        if q.heat_counters and q.heat_arrays:
            for circuit in ("heating", "dhw"):
                arrays.append(self._array(p, f"heating.heat.production.{circuit}",
                                          (f"heat.{circuit}",)))
        self._keep(key, arrays)
        return arrays

    def _array(self, p: _Periods, name: str, series: tuple[str, ...]) -> _Arrays:
        def energy(a: float, b: float) -> float:
            end, start = self._totals(b), self._totals(a)
            return sum(end[s] - start[s] for s in series)

        periods = []  # (these four in this order: `_array_features` unpacks them so)
        for period, starts in (("day", p.days), ("week", p.weeks), ("month", p.months),
                               ("year", p.years)):
            begins = tuple(self._totals(starts[0])[s] for s in series)
            closed = tuple(_trunc(energy(starts[i], starts[i - 1]))
                           for i in range(1, len(starts)))
            periods.append((period, f"{period}ValueReadAt", begins, closed))
        return _Arrays(name, series, tuple(periods))

    def _keep(self, key: tuple[float, str], value: Any) -> None:
        """Keeps what holds for a local day (a bounded cache: days are not revisited)."""
        if len(self._day_parts) > 64:
            self._day_parts.clear()
        self._day_parts[key] = value

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
        last = self._periods_at
        if last is not None and last[0] == t:  # (an answer asks for its summaries and arrays)
            return last[1]
        lag = self.quirks.reset_lag.total_seconds()
        local = datetime.fromtimestamp(t - lag, UTC).astimezone(self.tz).date()
        cached = self._periods_of.get(local)
        if cached is None:
            cached = self._periods_on(local, lag)
            if len(self._periods_of) > 64:
                self._periods_of.clear()
            self._periods_of[local] = cached
        self._periods_at = (t, cached)
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


_SUMMARY_PROPS = ("currentDay", "currentMonth", "currentYear", "lastMonth", "lastSevenDays",
                  "lastYear")
_SUMMARY_FEATURE = {"heat": "heating.heat.production.summary",
                    "electricity": "heating.power.consumption.summary",
                    "heating_rod": "heating.heatingRod.power.consumption.summary"}


# --- small wire helpers ----------------------------------------------------------------


def _epoch(t: datetime) -> float:
    return t.timestamp()


def _iso(t: datetime) -> str:
    """The API's time stamp: UTC to the millisecond (truncated), with a "Z"."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # (-"+00:00")


def _trunc(kwh: float) -> float:
    """Truncated to 0.1 kWh, like the device's counters (never negative). `steps / 10` is
    the float nearest to the decimal, as round(steps * 0.1, 1) is (checked for every step
    count up to 3e6 and at random up to 1e12), at a fraction of its cost: ~56 of these per
    answer."""
    value = math.floor(kwh / COUNTER_STEP_KWH + 1e-6) / COUNTER_STEPS_PER_KWH
    return value if value > 0.0 else 0.0  # (max(0.0, value), without the call)


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


def _exact(value: Any) -> tuple[type, str]:
    """A key that is equal only for the very same value: its type and repr (1.0 == 1 and
    0.0 == -0.0, but an answer shows them differently)."""
    return value.__class__, repr(value)


def _str(value: Any) -> dict[str, Any]:
    return {"type": "string", "value": str(value)}


__all__ = ["SimulatedVitocal", "VitocalQuirks"]
