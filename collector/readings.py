"""Plain data handed from a source (real device, replayed dump or simulator) to accounting.

Every source produces these; everything after them (accounting, points, store) is shared,
so the demo exercises the same path as a real installation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from heatpump.store.base import FieldValue
from heatpump.timeutil import calendar_start, local_midnight_utc


class MeterReading(NamedTuple):
    """One meter poll, stamped with the collector's UTC clock (never the device's). A named
    tuple (immutable, hashable): one is made per poll, 8,640 a day per meter, and a frozen
    dataclass's __init__ costs about three times as much."""

    time: datetime
    device: str
    power_w: float | None
    energy_import_wh: float | None  # cumulative import counter, in Wh
    uptime_s: int | None = None
    # False when the device has no energy counter at all (Pro 3EM firmware before 1.0):
    # accounting then integrates power and marks that energy as an estimate
    has_counter: bool = True


@dataclass(frozen=True, slots=True)
class HeatPumpMessage:
    kind: str  # "error", "status", "service" or "info"
    code: str
    priority: str
    text: str = ""
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class HeatPumpSample:
    """One heat pump poll, stamped with the time the API actually answered.

    `values` holds fields of the `heatpump` measurement (absent when the device lacks the
    feature). `counters` holds the device's own energy counters in kWh, keyed
    "<heat|electricity|heating_rod>.<total|heating|dhw|cooling>.<period>" (heating_rod: the
    backup heater's electricity), period one of day, week,
    month, year (the current periods) or last_day, last_week, last_month, last_year.
    `counters_read_at` gives, for the counters the device read at another time than this
    poll (the day/week/month/year arrays and their `*ValueReadAt`), that time (UTC); a
    counter without an entry is as of `time`.
    """

    time: datetime
    device: str
    values: Mapping[str, FieldValue]
    counters: Mapping[str, float] = field(default_factory=dict)
    messages: tuple[HeatPumpMessage, ...] = ()
    counters_read_at: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceEnergy:
    """One period's energy as the heat pump remembers it (a `device_energy` point; read by
    collector/vicare/history.py)."""

    device: str
    kind: str  # "heat" or "electricity"
    circuit: str  # total, heating, dhw, cooling
    period: str  # day, month, year
    start: date  # the period's first day in the device's calendar
    energy_kwh: float
    complete: bool  # the period had ended when the device read the value
    read_at: datetime  # UTC
    feature: str  # e.g. heating.power.consumption.total.month[1]

    def start_utc(self, tz: ZoneInfo) -> datetime:
        """The UTC instant of the local midnight that starts the period."""
        return local_midnight_utc(self.start, tz)

    def end(self) -> date:
        """The first day after the period."""
        return calendar_start(self.period, self.start, -1)
