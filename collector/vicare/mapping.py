"""Declarative mapping of Viessmann API features to the `heatpump` measurement.

One poll fetches every feature of a device at once (one API call); this module turns that
raw list into a `HeatPumpSample`. Like Home Assistant's ViCare sensor descriptions, the
knowledge lives in tables (`FIELDS`, `COUNTERS`, `MESSAGE_FEATURES`), not in code paths:
adding a feature means adding a row.

Rules: a feature that is missing, disabled (`isEnabled: false`) or whose sensor reports
`status: notConnected`/`error` is ABSENT from the sample, never zero. A name finds the FIRST
feature of that name in the answer, as PyViCare's own `readFeature` (what its cached service
uses for `getProperty`) does; `Features` indexes the answer once for that, since one poll
looks up some seventy names. The tables are resolved once (`_field_plan` per heating
circuit, `_COUNTER_PLAN`), not at every poll, and so are the rows an answer can use at all
(`_shape_plan`, per shape: a device answers with the same feature names at every poll).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collector.readings import HeatPumpMessage, HeatPumpSample
from heatpump.store.base import FieldValue

Feature = Mapping[str, Any]
BAD_STATUS = frozenset({"notConnected", "error", "notAvailable"})


class Features:
    """The features of one device from one poll, looked up by name (the first feature of
    a name, as PyViCare's `readFeature` finds it). `shape` is the names in the answer's
    order: a device answers with the same names at every poll, so what the tables need of
    them is resolved once per shape (`_shape_plan`)."""

    def __init__(self, entities: Sequence[Feature]):
        self.entities = list(entities)
        self._by_name: dict[Any, Feature] = {}
        for f in self.entities:
            self._by_name.setdefault(f.get("feature"), f)
        self.names = self._by_name.keys()
        self.shape = tuple(self._by_name)
        self._usable: dict[str, Feature | None] = {}  # get(), once per name

    def get(self, name: str) -> Feature | None:
        """The feature if the device has it enabled and its sensor is connected."""
        feature = self._usable.get(name, _UNSEEN)
        if feature is not _UNSEEN:
            return feature
        feature = self._by_name.get(name)
        if feature is not None:
            if feature.get("isEnabled") is False:
                feature = None
            else:
                status = (feature.get("properties") or {}).get("status", {}).get("value")
                if status in BAD_STATUS:
                    feature = None
        self._usable[name] = feature
        return feature

    def prop(self, name: str, prop: str) -> tuple[Any, str | None] | None:
        """(value, unit) of one property, or None when absent."""
        feature = self._usable.get(name, _UNSEEN)
        if feature is _UNSEEN:
            feature = self.get(name)
        if feature is None:
            return None
        entry = (feature.get("properties") or {}).get(prop)
        if not _is_mapping(entry) or "value" not in entry:
            return None
        return entry["value"], entry.get("unit")

    def circuit(self) -> str:
        """The first enabled heating circuit (devices may only use circuit 1)."""
        enabled = self.prop("heating.circuits", "enabled")
        if enabled and isinstance(enabled[0], list) and enabled[0]:
            return str(enabled[0][0])
        return "0"


_UNSEEN: Any = object()  # a name `Features.get` has not been asked for yet


def _is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), at a dict's cost for the dicts of a JSON answer (an ABC
    check is several times slower, and a poll makes some eighty; the loops over every
    property, map_values and map_counters_read_at, make the same test inline)."""
    return type(value) is dict or isinstance(value, Mapping)


# --- converters: (value, unit) -> field value, or None to leave the field absent -----------


def _number(value: Any, unit: str | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any, unit: str | None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _bool(value: Any, unit: str | None) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: Any, unit: str | None) -> str | None:
    return value if isinstance(value, str) and value else None


def _temp_c(value: Any, unit: str | None) -> float | None:
    if unit not in (None, "", "celsius"):
        return None  # never store a Fahrenheit/kelvin value as °C
    return _number(value, unit)


FLOW_FACTORS_TO_L_H = {
    "liter/hour": 1.0,
    # Some devices (Vitocal 200-S E8NEV) label the flow "liter": the value is the same
    # sensor (heating.sensors.volumetricFlow.allengra) and in the same range as the
    # "liter/hour" devices (1215 vs 1820), so it is a flow in l/h with a sloppy unit.
    "liter": 1.0,
    "cubicMeter/hour": 1000.0,
}


def _flow_l_h(value: Any, unit: str | None) -> float | None:
    factor = FLOW_FACTORS_TO_L_H.get(unit or "liter/hour")
    number = _number(value, unit)
    return None if factor is None or number is None else number * factor


def _speed_rps(value: Any, unit: str | None) -> float | None:
    number = _number(value, unit)
    if number is None:
        return None
    if unit == "revolutionsPerMinute":
        return number / 60.0
    return number if unit in (None, "", "revolutionsPerSecond") else None


def _percent(value: Any, unit: str | None) -> float | None:
    return _number(value, unit) if unit in (None, "", "percent") else None


POWER_FACTORS_TO_KW = {"kilowatt": 1.0, "watt": 0.001}


def _kw(value: Any, unit: str | None) -> float | None:
    """A power in kW; a value without a known unit is left out (never a guess)."""
    factor = POWER_FACTORS_TO_KW.get(unit or "")
    number = _number(value, unit)
    return None if factor is None or number is None or number <= 0 else number * factor


def _w(value: Any, unit: str | None) -> float | None:
    """A power in W (0 is a valid reading: the rod is off); no known unit: left out."""
    factor = POWER_FACTORS_TO_KW.get(unit or "")
    number = _number(value, unit)
    return None if factor is None or number is None or number < 0 else number * factor * 1000.0


TIME_FACTORS_TO_S = {"seconds": 1.0, "second": 1.0, "minutes": 60.0, "hour": 3600.0,
                     "hours": 3600.0}


def _seconds(value: Any, unit: str | None) -> float | None:
    """A running time counter in seconds (heating.heatingRod.runtime reports "seconds")."""
    factor = TIME_FACTORS_TO_S.get(unit or "seconds")
    number = _number(value, unit)
    return None if factor is None or number is None or number < 0 else number * factor


@dataclass(frozen=True)
class FieldSpec:
    """One `heatpump` field: candidate features (first present wins) and a property.

    `{c}` in a feature name is the device's first enabled heating circuit.
    """

    field: str
    features: tuple[str, ...]
    prop: str = "value"
    convert: Callable[[Any, str | None], FieldValue | None] = _number


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("outside_temp_c", ("heating.sensors.temperature.outside",), convert=_temp_c),
    # The heat pump's own outlet first (what the flow method needs with the return), then
    # the circuit's supply sensor.
    FieldSpec("supply_temp_c", ("heating.secondaryCircuit.sensors.temperature.supply",
                                "heating.circuits.{c}.sensors.temperature.supply",
                                "heating.boiler.sensors.temperature.commonSupply"),
              convert=_temp_c),
    FieldSpec("return_temp_c", ("heating.sensors.temperature.return",
                                "heating.secondaryCircuit.sensors.temperature.return"),
              convert=_temp_c),
    # Older devices name the cylinder sensor hotWaterStorage, newer ones dhwCylinder.
    FieldSpec("dhw_temp_c", ("heating.dhw.sensors.temperature.dhwCylinder",
                             "heating.dhw.sensors.temperature.hotWaterStorage"),
              convert=_temp_c),
    FieldSpec("primary_supply_temp_c", ("heating.primaryCircuit.sensors.temperature.supply",),
              convert=_temp_c),
    FieldSpec("primary_return_temp_c", ("heating.primaryCircuit.sensors.temperature.return",),
              convert=_temp_c),
    FieldSpec("compressor_active", ("heating.compressors.0",), "active", _bool),
    FieldSpec("compressor_phase", ("heating.compressors.0",), "phase", _text),
    FieldSpec("compressor_modulation_pct", ("heating.compressors.0.sensors.power",),
              convert=_percent),
    FieldSpec("compressor_speed_rps", ("heating.compressors.0.speed.current",),
              convert=_speed_rps),
    FieldSpec("compressor_hours_h", ("heating.compressors.0.statistics",), "hours"),
    FieldSpec("compressor_starts", ("heating.compressors.0.statistics",), "starts", _int),
    # The compressor's rated heat output as the device reports it (Vitocal 333-G: 8 kW,
    # 200-S AWB-M-E-AC: 10 kW); the estimated heat methods use it when
    # HEATPUMP_RATED_HEAT_KW is not set (heatpump/estimates.py).
    FieldSpec("device_rated_heat_kw", ("heating.compressors.0.power",), convert=_kw),
    FieldSpec("flow_l_h", ("heating.sensors.volumetricFlow.allengra",), convert=_flow_l_h),
    FieldSpec("heating_mode", ("heating.circuits.{c}.operating.modes.active",), convert=_text),
    FieldSpec("heating_program", ("heating.circuits.{c}.operating.programs.active",),
              convert=_text),
    FieldSpec("heating_supply_target_temp_c", ("heating.circuits.{c}.temperature",),
              convert=_temp_c),
    FieldSpec("heating_curve_slope", ("heating.circuits.{c}.heating.curve",), "slope"),
    FieldSpec("heating_curve_shift_k", ("heating.circuits.{c}.heating.curve",), "shift"),
    FieldSpec("dhw_mode", ("heating.dhw.operating.modes.active",), convert=_text),
    FieldSpec("dhw_target_temp_c", ("heating.dhw.temperature.main",), convert=_temp_c),
    # The backup heater (heating rod, "Heizwasser-Durchlauferhitzer") and a secondary heat
    # generator, as PyViCare names them (PyViCareHeatPump.getHeatingRod*; the state
    # features have no getter). Vitocal 222-S/250-A: heating.heatingRod {active} and
    # statistics {hours, starts}; Vitocal 333-G: heating.heatingRod.status {overall,
    # level1..3} and runtime {levelOne, levelTwo} in seconds, also on the 200-S AWB-M-E-AC.
    FieldSpec("heating_rod_active", ("heating.heatingRod",), "active", _bool),
    FieldSpec("heating_rod_active", ("heating.heatingRod.status",), "overall", _bool),
    *(FieldSpec(f"heating_rod_level{n}_active", ("heating.heatingRod.status",), f"level{n}",
                _bool) for n in (1, 2, 3)),
    FieldSpec("heating_rod_hours_h", ("heating.heatingRod.statistics",), "hours"),
    FieldSpec("heating_rod_starts", ("heating.heatingRod.statistics",), "starts", _int),
    FieldSpec("heating_rod_runtime_level1_s", ("heating.heatingRod.runtime",), "levelOne",
              _seconds),
    FieldSpec("heating_rod_runtime_level2_s", ("heating.heatingRod.runtime",), "levelTwo",
              _seconds),
    FieldSpec("heating_rod_power_w", ("heating.heatingRod.power.consumption.current",),
              convert=_w),
    FieldSpec("heating_rod_heat_target", ("heating.heatingRod.heatTarget",), convert=_text),
    FieldSpec("secondary_heat_generator_active", ("heating.secondaryHeatGenerator",),
              "active", _bool),
    FieldSpec("secondary_heat_generator_state", ("heating.secondaryHeatGenerator.state",
                                                 "heating.secondaryHeatGenerator.status"),
              convert=_text),
    # The device's own seasonal/overall performance figures (unitless ratios).
    *(FieldSpec(f"device_{kind}_{circuit}", (f"heating.{kind}.{circuit}",))
      for kind, circuits in (("spf", ("total", "heating", "dhw")),
                             ("scop", ("total", "heating", "dhw")),
                             ("cop", ("total", "heating", "dhw", "cooling")))
      for circuit in circuits),
)


@dataclass(frozen=True)
class CounterSpec:
    """Energy counters of one feature -> HeatPumpSample.counters keys (kWh).

    `props` maps a period key (day, week, month, year, last_day, last_week, last_month,
    last_year) to the feature's property; `index` picks an element when the property is an
    array (the day/week/month/year arrays: [current, previous, ...]). An array's values
    are as of its `<prop>ValueReadAt` (the device refreshes them rarely, and some stop
    altogether), which goes into `HeatPumpSample.counters_read_at`.
    """

    kind: str  # "heat", "electricity" or "heating_rod" (the rod's electricity)
    circuit: str  # total, heating, dhw, cooling
    feature: str
    props: tuple[tuple[str, str, int | None], ...]
    fallback: bool = False  # only used when no non-fallback counter of this kind exists


_SUMMARY = (("day", "currentDay", None), ("month", "currentMonth", None),
            ("year", "currentYear", None), ("last_month", "lastMonth", None),
            ("last_year", "lastYear", None))
_ARRAYS = (("day", "day", 0), ("last_day", "day", 1), ("week", "week", 0),
           ("last_week", "week", 1), ("month", "month", 0), ("last_month", "month", 1),
           ("year", "year", 0), ("last_year", "year", 1))
_CIRCUITS = ("total", "heating", "dhw", "cooling")

COUNTERS: tuple[CounterSpec, ...] = (
    *(CounterSpec("heat", c, f"heating.heat.production.summary.{c}", _SUMMARY)
      for c in _CIRCUITS),
    *(CounterSpec("electricity", c, f"heating.power.consumption.summary.{c}", _SUMMARY)
      for c in _CIRCUITS),
    # Vitotronic devices with a compressor energy balance (Vitocal 333-G): weekly counters.
    *(CounterSpec("heat", c, f"heating.compressors.0.heat.production.{c}.week",
                  (("week", "value", None),)) for c in ("heating", "dhw", "cooling")),
    *(CounterSpec("electricity", c, f"heating.compressors.0.power.consumption.{c}.week",
                  (("week", "value", None),)) for c in ("heating", "dhw", "cooling")),
    # The day/week/month/year arrays are refreshed rarely (`dayValueReadAt` can be days
    # old), so they are only used when a device has no summary at all, and then as of
    # their read-at times.
    *(CounterSpec("electricity", c, f"heating.power.consumption.{c}", _ARRAYS, fallback=True)
      for c in _CIRCUITS),
    # The heating rod's own electricity (Vitocal 222-S, 250-A), the same summary shape as
    # the heat pump's; the arrays (PyViCare's getHeatingRodPowerConsumption*ThisYear) only
    # where a device has no summary.
    *(CounterSpec("heating_rod", c, f"heating.heatingRod.power.consumption.summary.{c}",
                  _SUMMARY) for c in ("heating", "dhw")),
    *(CounterSpec("heating_rod", c, f"heating.heatingRod.power.consumption.{c}", _ARRAYS,
                  fallback=True) for c in ("total", "heating", "dhw")),
)

# COUNTERS resolved once: each spec with its props as (counter key, property, array index,
# the array's read-at property)
_COUNTER_PLAN: tuple[tuple[CounterSpec, tuple[tuple[str, str, int | None, str], ...]], ...] = \
    tuple((spec, tuple((f"{spec.kind}.{spec.circuit}.{period}", prop, index,
                        f"{prop}ValueReadAt") for period, prop, index in spec.props))
          for spec in COUNTERS)

MESSAGE_FEATURES: tuple[tuple[str, str], ...] = (
    ("error", "device.messages.errors.raw"),
    ("status", "device.messages.status.raw"),
    ("service", "device.messages.service.raw"),
    ("info", "device.messages.info.raw"),
)

ENERGY_FACTORS_TO_KWH = {"kilowattHour": 1.0, "wattHour": 0.001, None: 1.0, "": 1.0}


@functools.lru_cache(maxsize=8)
def _field_plan(circuit: str) -> tuple[tuple[FieldSpec, tuple[str, ...]], ...]:
    """`FIELDS` with `{c}` in their feature names resolved for one heating circuit (a
    device has one or two; resolved once, not at every poll)."""
    return tuple((spec, tuple(name.format(c=circuit) for name in spec.features))
                 for spec in FIELDS)


_FieldPlan = tuple[tuple[str, tuple[str, ...], str,
                         Callable[[Any, str | None], FieldValue | None]], ...]
_CounterPlan = tuple[tuple[CounterSpec, tuple[tuple[str, str, int | None, str], ...]], ...]
_SHAPES: dict[tuple[str, tuple[Any, ...]], tuple[_FieldPlan, _CounterPlan]] = {}
_SHAPES_KEPT = 64  # one or two shapes per device (a feature that comes and goes)


def _shape_plan(circuit: str, shape: tuple[Any, ...]) -> tuple[_FieldPlan, _CounterPlan]:
    """The rows of `FIELDS` (for `circuit`) and `_COUNTER_PLAN` that can find anything in
    an answer with these feature names, each field row with only its names that are
    there (in its order): the rest would look up names the answer does not have. Kept
    per (circuit, shape)."""
    key = (circuit, shape)
    found = _SHAPES.get(key)
    if found is not None:
        return found
    present = set(shape)
    fields = tuple((spec.field, tuple(n for n in names if n in present), spec.prop, spec.convert)
                   for spec, names in _field_plan(circuit) if any(n in present for n in names))
    counters = tuple(entry for entry in _COUNTER_PLAN if entry[0].feature in present)
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[key] = (fields, counters)
    return fields, counters


def map_values(features: Features) -> dict[str, FieldValue]:
    """Every `FIELDS` row the device offers, converted; absent rows are left out."""
    circuit = features.circuit()
    values: dict[str, FieldValue] = {}
    usable = features.get
    for field, names, prop, convert in _shape_plan(circuit, features.shape)[0]:
        if field in values:
            continue  # an earlier row of the same field was present: first wins
        for name in names:
            feature = usable(name)  # (Features.prop, inline: some twenty-five per poll)
            if feature is None:
                continue
            entry = (feature.get("properties") or {}).get(prop)
            if ((type(entry) is not dict and not isinstance(entry, Mapping))
                    or "value" not in entry):  # (_is_mapping, inline)
                continue
            converted = convert(entry["value"], entry.get("unit"))
            if converted is not None:
                values[field] = converted
                break
    hours = features.prop("heating.compressors.0.statistics", "hours")
    if hours is not None and "compressor_hours_h" in values:
        # E3 devices count whole hours, Vitotronic ones tenths: keep that visible.
        values["compressor_hours_resolution_h"] = (
            1.0 if isinstance(hours[0], int) else 0.1)
    target = _active_program_temperature(features, circuit)
    if target is not None:
        values["heating_target_temp_c"] = target
    return values


def _active_program_temperature(features: Features, circuit: str) -> float | None:
    """Room target of the active heating program (what the owner set)."""
    active = features.prop(f"heating.circuits.{circuit}.operating.programs.active", "value")
    if active is None or not isinstance(active[0], str):
        return None
    found = features.prop(f"heating.circuits.{circuit}.operating.programs.{active[0]}",
                          "temperature")
    return None if found is None else _temp_c(*found)


def map_counters(features: Features) -> dict[str, float]:
    """The device's energy counters in kWh, keyed "<kind>.<circuit>.<period>"."""
    return map_counters_read_at(features)[0]


def map_counters_read_at(features: Features) -> tuple[dict[str, float], dict[str, datetime]]:
    """The device's energy counters in kWh, keyed "<kind>.<circuit>.<period>", and for
    the array counters the time the device read them (`<prop>ValueReadAt`, UTC)."""
    counters: dict[str, float] = {}
    read_at: dict[str, datetime] = {}
    kinds_with_primary: set[str] = set()
    stamps_seen: dict[str, datetime | None] = {}  # an answer repeats its read-at stamps
    for spec, props_plan in _shape_plan(features.circuit(), features.shape)[1]:
        if spec.fallback and spec.kind in kinds_with_primary:
            continue
        feature = features.get(spec.feature)
        if feature is None:
            continue
        props = feature.get("properties") or {}
        found_any = False
        arrays: list[str] = []
        for key, prop, index, stamp_prop in props_plan:
            entry = props.get(prop)
            if type(entry) is not dict and not isinstance(entry, Mapping):  # (_is_mapping)
                continue
            value, unit = entry.get("value"), entry.get("unit")
            if index is not None:
                if not isinstance(value, list) or len(value) <= index:
                    continue
                value = value[index]
            factor = ENERGY_FACTORS_TO_KWH.get(unit)
            if factor is None or (type(value) is not float  # (a float: a number, at once)
                                  and (isinstance(value, bool)
                                       or not isinstance(value, int | float))):
                continue
            counters[key] = round(float(value) * factor, 6)
            if index is not None:
                arrays.append(key)
                stamp = props.get(stamp_prop)
                text = stamp.get("value") if _is_mapping(stamp) else None
                if isinstance(text, str):
                    if text not in stamps_seen:
                        stamps_seen[text] = _parse_time(text)
                    when = stamps_seen[text]
                else:
                    when = None
                if when is not None:
                    read_at[key] = when
            found_any = True
        stamps = [read_at[k] for k in arrays if k in read_at]
        for key in arrays:  # an array without its own stamp is as old as the feature's
            if key not in read_at and stamps:
                read_at[key] = min(stamps)
        if found_any and not spec.fallback:
            kinds_with_primary.add(spec.kind)
    return counters, read_at


def map_messages(features: Features) -> tuple[HeatPumpMessage, ...]:
    """Active error/status/service/info messages (the logbook is history, not mapped)."""
    messages: list[HeatPumpMessage] = []
    for kind, name in MESSAGE_FEATURES:
        found = features.prop(name, "entries")
        if found is None or not isinstance(found[0], list):
            continue
        for entry in found[0]:
            if not isinstance(entry, Mapping):
                continue
            messages.append(HeatPumpMessage(
                kind=kind,
                code=str(entry.get("errorCode") or entry.get("code") or "unknown"),
                priority=str(entry.get("priority") or ""),
                text=str(entry.get("description") or entry.get("text") or ""),
                since=_parse_time(entry.get("timestamp")),
            ))
    return tuple(messages)


def error_count(features: Features, messages: Iterable[HeatPumpMessage]) -> int | None:
    """Active errors, or None when the device reports no error feature at all."""
    if features.get("device.messages.errors.raw") is not None:
        return sum(1 for m in messages if m.kind == "error")
    counter = features.prop("device.messages.errors.counter.d6", "value")
    if counter is not None and isinstance(counter[0], int) and not isinstance(counter[0], bool):
        return counter[0]
    return None


def _parse_time(value: Any) -> datetime | None:
    """An API time stamp (ISO 8601, "Z") as an aware UTC datetime; one without a zone is
    UTC (the API's times are); None when it is not a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def map_sample(entities: Sequence[Feature], device: str, time: datetime) -> HeatPumpSample:
    """One device's feature list from one poll -> HeatPumpSample stamped `time`."""
    features = Features(entities)
    values = map_values(features)
    messages = map_messages(features)
    errors = error_count(features, messages)
    if errors is not None:
        values["error_count"] = errors
    counters, read_at = map_counters_read_at(features)
    return HeatPumpSample(time=time, device=device, values=values, counters=counters,
                          messages=messages, counters_read_at=read_at)
