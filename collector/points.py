"""One builder per stored measurement: the only place the collector turns values into points.

Every source (real device, dump, recording, simulator) goes through these, so a stored
point looks the same whichever way its data came. The measurements, their tags and fields
are the public schema of heatpump.schema (docs/schema.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collector.readings import DeviceEnergy, HeatPumpSample
from heatpump.boundary import DEFAULT_ROLE
from heatpump.schema import (
    API_CALL,
    DEVICE_BASIS,
    DEVICE_ENERGY,
    ELECTRICITY,
    HEALTH,
    HEAT,
    HEATPUMP,
    MESSAGE,
    METER,
    METER_ROLE_TAG,
    ROLE_TAGGED,
    SETTING_CHANGE,
)
from heatpump.store.base import FieldValue, Point


def iso_utc(t: datetime) -> str:
    """ISO 8601 in UTC with a Z, as string fields of the schema hold times."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meter_point(time: datetime, device: str, power_w: float | None,
                energy_import_wh: float | None, uptime_s: int | None) -> Point | None:
    """The raw `meter` sample (validated values only); None when nothing valid is left."""
    fields: dict[str, FieldValue] = {}
    if power_w is not None:
        fields["power_w"] = power_w
    if energy_import_wh is not None:
        fields["energy_import_wh"] = energy_import_wh
    if uptime_s is not None:
        fields["uptime_s"] = uptime_s
    return Point(METER.name, time, fields, {"device": device}) if fields else None


def heatpump_points(sample: HeatPumpSample) -> list[Point]:
    """The `heatpump` point of one poll and one `message` point per active message."""
    tags = {"device": sample.device}
    points = [Point(HEATPUMP.name, sample.time, dict(sample.values), tags)] if sample.values \
        else []
    for m in sample.messages:
        fields: dict[str, FieldValue] = {"priority": m.priority, "text": m.text}
        if m.since is not None:
            fields["since"] = iso_utc(m.since)
        points.append(Point(MESSAGE.name, sample.time, fields,
                            {"device": sample.device, "kind": m.kind, "code": m.code}))
    return points


def electricity_point(time: datetime, device: str, source: str, circuit: str,
                      fields: dict[str, FieldValue]) -> Point:
    """An `electricity` interval: `source` is "meter" (the meter's counter, per UTC minute)
    or "heatpump" (what the device reports of itself); `fields` as in the schema."""
    return Point(ELECTRICITY.name, time, fields,
                 {"device": device, "source": source, "circuit": circuit})


def heat_point(time: datetime, device: str, method: str, circuit: str, energy_wh: float,
               duration_s: float, estimate: bool) -> Point:
    """A `heat` interval ending at `time` (one per circuit and poll interval)."""
    return Point(HEAT.name, time, {"energy_wh": round(energy_wh, 3), "duration_s": duration_s,
                                   "estimate": estimate},
                 {"device": device, "method": method, "circuit": circuit})


def health_point(time: datetime, source: str, device: str, status: str, reason: str,
                 detail: str, until: datetime | None = None, failures: int | None = None
                 ) -> Point:
    """A change of a source's state (or a one-off event such as a counter reset)."""
    fields: dict[str, Any] = {"status": status, "reason": reason, "detail": detail}
    if failures is not None:
        fields["failures"] = failures
    if until is not None:
        fields["until"] = iso_utc(until)
    return Point(HEALTH.name, time, fields, {"source": source, "device": device})


def api_call_point(time: datetime, source: str, kind: str, status_code: int,
                   calls: int = 1) -> Point:
    """One Viessmann API call (the bot shows the quota used)."""
    return Point(API_CALL.name, time, {"calls": calls, "status_code": status_code},
                 {"source": source, "kind": kind})


def device_energy_points(records: Iterable[DeviceEnergy], tz: ZoneInfo) -> list[Point]:
    """The `device_energy` points of `records` (heatpump.schema.DEVICE_ENERGY)."""
    points = []
    for r in records:
        points.append(Point(
            DEVICE_ENERGY.name, r.start_utc(tz),
            {"energy_wh": round(r.energy_kwh * 1000.0, 3), "complete": r.complete,
             "read_at": iso_utc(r.read_at),
             "period_start": r.start.isoformat(), "feature": r.feature},
            {"device": r.device, "basis": DEVICE_BASIS, "period": r.period, "kind": r.kind,
             "circuit": r.circuit}))
    return points


def setting_change_point(time: datetime, device: str, setting: str, old: str, new: str,
                         previous_poll: datetime) -> Point:
    """A setting of the heat pump that changed between `previous_poll` and the poll at
    `time` (collector.changes)."""
    return Point(SETTING_CHANGE.name, time,
                 {"old": old, "new": new, "previous_poll": iso_utc(previous_poll)},
                 {"device": device, "setting": setting})


def with_role(points: Iterable[Point], role: str) -> list[Point]:
    """A meter's points with its `role` tag (heatpump.schema.METER_ROLE_TAG); the one
    meter's role, "heatpump", is written as no tag, so its series stay as they were before
    roles existed."""
    if role == DEFAULT_ROLE:
        return list(points)
    return [dataclasses.replace(p, tags={**p.tags, METER_ROLE_TAG: role})
            if p.measurement in ROLE_TAGGED else p for p in points]
