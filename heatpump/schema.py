"""What is stored: measurements, their tags and fields, with units and types.

This module is the single source of the stored schema, which is a public contract (Grafana
users chart it). `docs/schema.md` documents it and a test keeps the two in step. Every series
carries a `device` tag so a house with two heat pumps or two meters works.

Rollups: for measurements with `rollup=True`, the store keeps `<name>_1h` (UTC hours) and
`<name>_1d` (local days of the configured zone, tagged `tz`) with `<field>_sum` and
`<field>_count` for every numeric field marked `rollup`, so long ranges never read raw rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldType = Literal["float", "int", "bool", "str"]


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    unit: str  # "" for unitless / text
    doc: str
    rollup: bool = False  # numeric fields whose mean/sum over long ranges is wanted


@dataclass(frozen=True)
class Measurement:
    name: str
    doc: str
    tags: tuple[str, ...]
    fields: tuple[FieldDef, ...]
    rollup: bool = False

    def field(self, name: str) -> FieldDef:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _f(name: str, type_: FieldType, unit: str, doc: str, rollup: bool = False) -> FieldDef:
    return FieldDef(name, type_, unit, doc, rollup)


# The tag that says which loads a meter sees (heatpump/boundary.py, ROLE_LOADS): on `meter`
# and on `electricity` with source=meter. Absent: "heatpump", the one meter at SHELLY_URL
# (that meter's data is written without it, as before roles existed).
METER_ROLE_TAG = "role"
METER_ROLE_DOC = ("`role` (meters of SHELLY_METERS): which loads the meter sees, one of "
                  "heatpump, heatpump_with_rod, outdoor_unit, indoor_unit, heating_rod, "
                  "circulation_pumps, system (docs/boundary.md); absent means heatpump, the "
                  "one meter at SHELLY_URL.")

METER = Measurement(
    "meter",
    "Raw sample of the electricity meter, every SHELLY_POLL_SECONDS (collector's UTC clock). "
    + METER_ROLE_DOC,
    ("device", METER_ROLE_TAG),
    (
        _f("power_w", "float", "W", "Active power of the selected channel(s), signed as the "
           "meter reports it.", rollup=True),
        _f("energy_import_wh", "float", "Wh", "The meter's cumulative import counter, converted "
           "to Wh (Gen1 plugs count watt-minutes). Goes back to 0 on a counter reset."),
        _f("uptime_s", "int", "s", "Device uptime; a decrease reveals a reboot."),
    ),
    rollup=True,
)

# Heat pump fields are filled by the Viessmann mapping (collector/vicare). A feature the
# device lacks is absent, never zero.
HEATPUMP = Measurement(
    "heatpump",
    "Raw poll of the heat pump through the Viessmann API, every VICARE_POLL_SECONDS, stamped "
    "with the time the API answered.",
    ("device",),
    (
        _f("outside_temp_c", "float", "°C", "Outside temperature.", rollup=True),
        _f("supply_temp_c", "float", "°C", "Supply (flow) temperature of the heating water.",
           rollup=True),
        _f("return_temp_c", "float", "°C", "Return temperature of the heating water.",
           rollup=True),
        _f("dhw_temp_c", "float", "°C", "Hot-water cylinder temperature.", rollup=True),
        _f("primary_supply_temp_c", "float", "°C", "Primary circuit (source) supply.",
           rollup=True),
        _f("primary_return_temp_c", "float", "°C", "Primary circuit (source) return.",
           rollup=True),
        _f("compressor_active", "bool", "", "Compressor running at the time of the poll."),
        _f("compressor_phase", "str", "", "Compressor phase as reported (e.g. heating, off)."),
        _f("compressor_modulation_pct", "float", "%", "Compressor modulation.", rollup=True),
        _f("compressor_speed_rps", "float", "rps", "Compressor speed.", rollup=True),
        _f("compressor_hours_h", "float", "h", "Compressor operating hours counter (integer "
           "resolution on E3 devices, 0.1 h on Vitotronic)."),
        _f("compressor_starts", "int", "", "Compressor starts counter."),
        _f("flow_l_h", "float", "l/h", "Volumetric flow of the heating circuit.", rollup=True),
        _f("heating_mode", "str", "", "Active heating operating mode."),
        _f("dhw_mode", "str", "", "Active hot-water operating mode."),
        _f("heating_target_temp_c", "float", "°C", "Room target of the heating circuit's "
           "active program."),
        _f("dhw_target_temp_c", "float", "°C", "Hot-water target temperature."),
        _f("error_count", "int", "", "Number of active error messages (0 when none), so "
           "'no fault' is recorded rather than absent."),
        _f("compressor_hours_resolution_h", "float", "h", "Resolution of the hours counter "
           "as the device reports it: 1 on E3 devices (whole hours), 0.1 on Vitotronic."),
        _f("heating_program", "str", "", "Active program of the heating circuit (e.g. normal, "
           "reduced, eco)."),
        _f("heating_supply_target_temp_c", "float", "°C", "Supply temperature the heating "
           "circuit currently aims for (heating curve); 0 on some devices while idle."),
        _f("heating_curve_slope", "float", "", "Slope of the heating circuit's heating curve "
           "as set on the device (heating.circuits.N.heating.curve, 0.2-3.5)."),
        _f("heating_curve_shift_k", "float", "K", "Shift (parallel offset) of the heating "
           "curve as set on the device."),
        _f("device_rated_heat_kw", "float", "kW", "The compressor's rated heat output as the "
           "device reports it (heating.compressors.0.power); the estimated heat methods use "
           "it when HEATPUMP_RATED_HEAT_KW is not set."),
        _f("heating_rod_active", "bool", "", "The backup heater (heating rod) is on at the "
           "time of the poll (heating.heatingRod `active`, or heating.heatingRod.status "
           "`overall`)."),
        *(_f(f"heating_rod_level{n}_active", "bool", "", f"The heating rod runs at level {n} "
             "(heating.heatingRod.status).") for n in (1, 2, 3)),
        _f("heating_rod_hours_h", "float", "h", "The heating rod's operating hours counter "
           "(heating.heatingRod.statistics, whole hours)."),
        _f("heating_rod_starts", "int", "", "The heating rod's starts counter."),
        *(_f(f"heating_rod_runtime_level{n}_s", "float", "s", f"The heating rod's running "
             f"time counter at level {n} (heating.heatingRod.runtime `level{word}`); times "
             "HEATPUMP_HEATING_ROD_KW it gives the rod's estimated electricity.")
          for n, word in ((1, "One"), (2, "Two"))),
        _f("heating_rod_power_w", "float", "W", "The heating rod's current electric power as "
           "the device reports it (heating.heatingRod.power.consumption.current)."),
        _f("heating_rod_heat_target", "str", "", "What the heating rod heats, as reported "
           "(heating.heatingRod.heatTarget, e.g. none)."),
        _f("secondary_heat_generator_active", "bool", "", "A secondary heat generator (a "
           "boiler in a bivalent system) is on (heating.secondaryHeatGenerator `active`)."),
        _f("secondary_heat_generator_state", "str", "", "Its state as reported "
           "(heating.secondaryHeatGenerator.state or .status)."),
        *(_f(f"device_{kind}_{circuit}", "float", "", f"The device's own {label} "
             f"({circuit}), as it reports it (not measured by this software).")
          for kind, label, circuits in (
              ("spf", "seasonal performance factor", ("total", "heating", "dhw")),
              ("scop", "seasonal COP", ("total", "heating", "dhw")),
              ("cop", "COP", ("total", "heating", "dhw", "cooling")))
          for circuit in circuits),
    ),
    rollup=True,
)

MESSAGE = Measurement(
    "message",
    "One point per active heat pump message per poll (same time as its `heatpump` poll).",
    ("device", "kind", "code"),
    (
        _f("priority", "str", "", "Priority as reported (e.g. criticalError, warning)."),
        _f("text", "str", "", "Human-readable text or error description, when reported."),
        _f("since", "str", "", "When the device says the message appeared (ISO 8601)."),
    ),
)

ELECTRICITY = Measurement(
    "electricity",
    "Electric energy per interval. `source=meter`: from the meter's cumulative counter "
    "(aggregated per UTC minute); `source=heatpump`: what the heat pump reports of itself; "
    "`source=heating_rod`: the heat pump's backup heater (heating rod), per heat pump poll "
    "interval, from the device's own rod counters (circuit heating, dhw and their total) or, "
    "where the device reports only the rod's running time per level, that time × "
    "HEATPUMP_HEATING_ROD_KW (circuit total, all of it in `estimated_wh`). The rod's "
    "electricity is never part of `source=heatpump` (docs/boundary.md). With source=meter: "
    + METER_ROLE_DOC,
    ("device", "source", "circuit", METER_ROLE_TAG),
    (
        _f("energy_wh", "float", "Wh", "Energy used in the interval.", rollup=True),
        _f("duration_s", "float", "s", "Time covered by the interval (gaps excluded).",
           rollup=True),
        _f("counter_wh", "float", "Wh", "Counter value at the end of the interval, so "
           "accounting resumes exactly after a restart."),
        _f("running_s", "float", "s", "Compressor running time in the interval (power above "
           "HEATPUMP_RUNNING_W); for source=heating_rod the rod's running time by its "
           "runtime counters.", rollup=True),
        _f("starts", "int", "", "Compressor starts in the interval.", rollup=True),
        _f("running_wh", "float", "Wh", "Part of energy_wh drawn while the compressor ran "
           "(power above HEATPUMP_RUNNING_W): the electricity of the running COP "
           "(source=meter).", rollup=True),
        _f("bridged_wh", "float", "Wh", "Part of energy_wh that bridges a gap across an hour "
           "boundary, spread evenly over the gap's minutes: real energy whose hour is not "
           "known, left out of the JAZ pairing (source=meter; absent = 0).", rollup=True),
        _f("bridged_s", "float", "s", "Part of duration_s covered by bridged_wh (absent = 0).",
           rollup=True),
        _f("estimated_wh", "float", "Wh", "Part of energy_wh integrated from power because "
           "the meter has no energy counter, or (source=heating_rod) the rod's running time × "
           "HEATPUMP_HEATING_ROD_KW: an estimate (absent = 0).", rollup=True),
        _f("filled_wh", "float", "Wh", "Part of energy_wh filled from the meter's own "
           "per-minute records (Shelly EMData/EM1Data) for a gap in the collector's readings: "
           "the counter's advance across the gap, placed minute by minute as the meter "
           "recorded it, so the pairing counts it; the gap's running time and starts stay "
           "unknown. Written by the collector, and by `heatpump backfill` for the time before "
           "the collector's first reading (source=meter; absent = 0).", rollup=True),
    ),
    rollup=True,
)

HEAT = Measurement(
    "heat",
    "Heat delivered per heat pump poll interval, by the best method the device allows.",
    ("device", "method", "circuit"),
    (
        _f("energy_wh", "float", "Wh", "Heat delivered in the interval.", rollup=True),
        _f("duration_s", "float", "s", "Time covered by the interval.", rollup=True),
        _f("estimate", "bool", "", "True for the estimated methods (modulation, runtime)."),
    ),
    rollup=True,
)

HEALTH = Measurement(
    "health",
    "A change of a source's state (not one point per poll), written by the collector.",
    ("source", "device"),
    (
        _f("status", "str", "", "up, down or degraded."),
        _f("reason", "str", "", "Machine-readable reason, e.g. quota_exhausted, login_failed, "
           "device_offline, gateway_offline, server_error, unreachable, auth_failed, "
           "bad_response, rate_limited, counter_reset. The heat pump's own energy counters "
           "(source vicare): counter_rollover (a period ended and the energy across it was "
           "bridged: how, and when the device reset), counter_glitch (counters that "
           "contradict themselves, e.g. all 0 or down without a rollover: ignored until they "
           "make sense again), counter_rejected (a delta above the plausible output, not "
           "stored), counters_stale (the device stopped updating them: which, since when; "
           "nothing is booked from them), counters_resumed (updated again)."),
        _f("detail", "str", "", "One human sentence (never a secret)."),
        _f("until", "str", "", "ISO 8601 UTC time until which the source waits (quota)."),
        _f("failures", "int", "", "Consecutive failures so far."),
    ),
)

# The `source` tag of the `health` points the collector writes, per data measurement they
# explain ("store" is the store itself), and the `device` tags of health points that concern
# every device of that source: the Viessmann account (login, quota) and a meter whose id is
# not known yet ("-").
HEALTH_SOURCE = {"meter": "meter", "heatpump": "vicare"}
HEALTH_STORE_SOURCE = "store"
HEALTH_ANY_DEVICE = ("account", "-")

API_CALL = Measurement(
    "api_call",
    "One point per Viessmann API call, so the bot can show the quota used.",
    ("source", "kind"),
    (
        _f("calls", "int", "", "Always 1; sum it per day."),
        _f("status_code", "int", "", "HTTP status of the answer (0 when none came)."),
    ),
)

# The heat pump's own memory (collector/vicare/history.py): energy per calendar period as
# the device itself counted it, imported from its day/month/year arrays and summaries. A
# separate basis from the metered `electricity`/`heat` intervals, never summed with them.
DEVICE_ENERGY = Measurement(
    "device_energy",
    "Energy per calendar period as the heat pump itself remembers it (its day/month/year "
    "arrays and summaries in the Viessmann API), imported at the collector's start, once a "
    "day after, and by `heatpump backfill`. Time = the start of the period in the "
    "device's calendar (local midnight of its first day, HEATPUMP_TZ), as a UTC instant; "
    "the same period imported again overwrites (never doubles). A separate basis from the "
    "metered `electricity` and `heat`: never added to them.",
    ("device", "basis", "period", "kind", "circuit"),
    (
        _f("energy_wh", "float", "Wh", "Energy of the period as the device reports it "
           "(0.1 kWh resolution; a period before the device counted reads 0)."),
        _f("complete", "bool", "", "True when the period had ended when the device read "
           "the value (index 1 and older of an array, lastMonth/lastYear of a summary); "
           "False for the current period (index 0, currentDay/currentMonth/currentYear)."),
        _f("read_at", "str", "", "When the device read the value (ISO 8601 UTC): the "
           "array's `*ValueReadAt`, or the summary feature's `timestamp`."),
        _f("period_start", "str", "", "The period's first day in the device's calendar "
           "(ISO date, e.g. 2025-09-01), the same instant as the point's time."),
        _f("feature", "str", "", "Where the value came from, e.g. "
           "heating.power.consumption.total.month[1] or "
           "heating.heat.production.summary.dhw.lastMonth."),
    ),
)

SETTING_CHANGE = Measurement(
    "setting_change",
    "A setting of the heat pump changed between two polls: detected by the collector from "
    "the polled `heatpump` fields (collector/changes.py), one point per setting at the poll "
    "that first showed the new value. /changes lists them with the COP before and after. "
    "The `setting` tag names the `heatpump` field: heating_curve_slope, "
    "heating_curve_shift_k, heating_target_temp_c (only while the active program stays the "
    "same), dhw_target_temp_c, heating_mode, dhw_mode.",
    ("device", "setting"),
    (
        _f("old", "str", "", "The value before, as text (a number in the unit of the "
           "`heatpump` field named by the `setting` tag)."),
        _f("new", "str", "", "The value after, as text."),
        _f("previous_poll", "str", "", "ISO 8601 UTC time of the last poll with the old "
           "value: the change happened between it and this point."),
    ),
)
# The `setting` tag of `setting_change`: the `heatpump` fields that are the owner's settings.
# The room target counts only while the active program stays the same (a program switch by
# the time schedule is no change of a setting); the flow target the curve computes is left
# out (it follows the outdoor temperature).
SETTING_FIELDS = ("heating_curve_slope", "heating_curve_shift_k", "heating_target_temp_c",
                  "dhw_target_temp_c", "heating_mode", "dhw_mode")

MEASUREMENTS: dict[str, Measurement] = {
    m.name: m for m in (METER, HEATPUMP, MESSAGE, ELECTRICITY, HEAT, HEALTH, API_CALL,
                        DEVICE_ENERGY, SETTING_CHANGE)
}

ROLLUP_LEVELS = ("1h", "1d")
# The measurements whose meter points carry METER_ROLE_TAG.
ROLE_TAGGED = frozenset({"meter", "electricity"})


def rollup_name(measurement: str, level: str) -> str:
    return f"{measurement}_{level}"


# Values of the `method` tag of `heat`, best first.
HEAT_METHODS = ("counter", "flow", "modulation", "runtime")
ESTIMATED_HEAT_METHODS = frozenset({"modulation", "runtime"})
# Values of the `source` tag of `electricity`: the meter's counter, the heat pump's own
# figure, the heat pump's backup heater (heating rod) as the device reports it.
ELECTRICITY_SOURCES = ("meter", "heatpump", "heating_rod")
# Values of the `circuit` tag.
CIRCUITS = ("total", "heating", "dhw", "cooling")
# Values of the tags of `device_energy`: `basis` says whose figure it is (only the
# device's own so far), `period` its calendar period, `kind` what was counted.
DEVICE_BASIS = "device"
DEVICE_ENERGY_PERIODS = ("day", "month", "year")
DEVICE_ENERGY_KINDS = ("heat", "electricity")
