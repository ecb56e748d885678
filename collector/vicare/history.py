"""The heat pump's own memory: energy per day, month and year as the device counted it.

Every "all features" answer of the Viessmann API (the same single call a poll makes)
carries what the device remembers of its energy, so importing it costs no extra call:

- arrays `heating.power.consumption.{total,heating,dhw,cooling}` (electricity) and
  `heating.heat.production.{total,heating,dhw,cooling}` (heat, on devices that have them),
  each with `day` (8 values), `week`, `month` (13 values) and `year` (2 values) in kWh and
  a `<prop>ValueReadAt` stamp per array. Index 0 is the CURRENT period at that stamp,
  index 1 the one before, and so on (checked on the real dumps: the summary's
  `lastSevenDays` is day[0] + ... + day[6], e.g. Vitocal 200-S E8NEV heating
  6.3 + 10.1 + 7.3 + 2.3 + 11.1 + 11.7 + 10.6 = 59.4; Vitocal 222-S dhw lastMonth 52.9 =
  month[1]).
- summaries `heating.{heat.production,power.consumption}.summary.{heating,dhw,cooling}`
  with currentDay, currentMonth, currentYear, lastMonth, lastYear (and lastSevenDays).

Dating: a value belongs to the calendar period of the device that contained the moment
the device read it, in HEATPUMP_TZ (the device runs on the owner's local time, which is
what its day and month boundaries follow): day[i] is the local date of `dayValueReadAt`
minus i days, month[i] the month of `monthValueReadAt` minus i months, year[i] likewise.
The period is stored by its first local day (as the UTC instant of that local midnight).
An array's own stamp is used, never the poll's time: the arrays are refreshed rarely and
each on its own (the Vitocal 222-S dump has heating read on 28.09. and dhw on 02.10., so
their month[0] are September and October).

A summary has no read-at of its own; the feature's `timestamp` (when the cloud last
changed it) is the best there is, and it can be later than the values: the Vitocal 222-S
dump's electricity summary for heating is stamped 05.10. but holds the figures its array
read on 28.09. (currentMonth 12.6 = September). So a summary is only used for a kind and
circuit that has no array at all (in the real dumps: heat); where the arrays exist they
win.

Not imported: the `week` arrays (weeks overlap months, and their first weekday is not
documented; the day records cover the last 8 days) and `lastSevenDays` (a rolling window
of today and the six days before, no calendar period). Values are stored as the device
reports them, zeros included (a month before the device was installed reads 0); a value
that is not a number or is negative is skipped, never replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collector.readings import DeviceEnergy
from collector.vicare.mapping import ENERGY_FACTORS_TO_KWH, Features
from heatpump.schema import CIRCUITS
from heatpump.timeutil import calendar_start

log = logging.getLogger(__name__)

# Feature name prefixes of the arrays and summaries, per kind.
ARRAY_FEATURES = {"electricity": "heating.power.consumption",
                  "heat": "heating.heat.production"}
SUMMARY_FEATURES = {"electricity": "heating.power.consumption.summary",
                    "heat": "heating.heat.production.summary"}
ARRAY_PERIODS = ("day", "month", "year")
# summary property -> (period, periods back from the current one, complete)
SUMMARY_PROPS = {"currentDay": ("day", 0, False), "currentMonth": ("month", 0, False),
                 "lastMonth": ("month", 1, True), "currentYear": ("year", 0, False),
                 "lastYear": ("year", 1, True)}


def device_history(data: Sequence[Mapping[str, Any]], device: str,
                   tz: ZoneInfo) -> list[DeviceEnergy]:
    """What the device remembers, from one "all features" answer (`data` = its feature
    list), dated in `tz` (see the module docstring). Arrays win over summaries; one record
    per (kind, circuit, period, start)."""
    features = Features(data)
    out: dict[tuple[str, str, str, date], DeviceEnergy] = {}
    with_arrays: set[tuple[str, str]] = set()
    for kind, prefix in ARRAY_FEATURES.items():
        for circuit in CIRCUITS:
            name = f"{prefix}.{circuit}"
            records = list(_array_records(features.get(name), name, device, kind, circuit, tz))
            if records:
                with_arrays.add((kind, circuit))
            for r in records:
                out[(r.kind, r.circuit, r.period, r.start)] = r
    for kind, prefix in SUMMARY_FEATURES.items():
        for circuit in CIRCUITS:
            if (kind, circuit) in with_arrays:
                continue
            name = f"{prefix}.{circuit}"
            for r in _summary_records(features.get(name), name, device, kind, circuit, tz):
                out.setdefault((r.kind, r.circuit, r.period, r.start), r)
    return sorted(out.values(), key=lambda r: (r.kind, r.circuit, r.period, r.start))


def _array_records(feature: Mapping[str, Any] | None, name: str, device: str, kind: str,
                   circuit: str, tz: ZoneInfo) -> Iterable[DeviceEnergy]:
    if feature is None:
        return
    props = feature.get("properties") or {}
    for period in ARRAY_PERIODS:
        entry = props.get(period)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("value"), list):
            continue
        factor = ENERGY_FACTORS_TO_KWH.get(entry.get("unit"))
        stamp = props.get(f"{period}ValueReadAt")
        read_at = _parse_time(stamp.get("value") if isinstance(stamp, Mapping) else None)
        if read_at is None:
            read_at = _parse_time(feature.get("timestamp"))
        if factor is None or read_at is None:
            log.warning("%s.%s: no unit or read-at time the import understands; skipped",
                        name, period)
            continue
        today = read_at.astimezone(tz).date()
        for i, value in enumerate(entry["value"]):
            kwh = _kwh(value, factor)
            if kwh is None:
                continue
            yield DeviceEnergy(device, kind, circuit, period, calendar_start(period, today, i),
                               kwh, i >= 1, read_at, f"{name}.{period}[{i}]")


def _summary_records(feature: Mapping[str, Any] | None, name: str, device: str, kind: str,
                     circuit: str, tz: ZoneInfo) -> Iterable[DeviceEnergy]:
    if feature is None:
        return
    read_at = _parse_time(feature.get("timestamp"))
    if read_at is None:
        return
    today = read_at.astimezone(tz).date()
    props = feature.get("properties") or {}
    for prop, (period, back, complete) in SUMMARY_PROPS.items():
        entry = props.get(prop)
        if not isinstance(entry, Mapping):
            continue
        factor = ENERGY_FACTORS_TO_KWH.get(entry.get("unit"))
        kwh = _kwh(entry.get("value"), factor) if factor is not None else None
        if kwh is None:
            continue
        yield DeviceEnergy(device, kind, circuit, period, calendar_start(period, today, back),
                           kwh, complete, read_at, f"{name}.{prop}")


def _kwh(value: object, factor: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(float(value) * factor, 6)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None



__all__ = ["DeviceEnergy", "device_history"]
