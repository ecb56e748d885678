"""A scripted house written through the store's real write path, for the alert tests.

Hourly meter electricity and heat (as the collector's rollups would sum them), heat pump
polls with outdoor temperature and messages, meter samples and health changes, with knobs
for the scenarios the alerts must catch: a fault, an outage, a COP drop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from heatpump.schema import HEALTH_SOURCE
from heatpump.store.base import Point, Store

METER = "shellypro3em-0001"
PUMP = "7571381681420106"


def normal_cop(temp_c: float) -> float:
    return 3.0 + 0.1 * temp_c


def outdoor_c(t: datetime, cold_from: datetime | None = None) -> float:
    """Mild days (2..8 °C with a daily swing); much colder from `cold_from` on."""
    day = t.toordinal()
    base = 5.0 + 3.0 * math.sin(day * 1.3)
    if cold_from is not None and t >= cold_from:
        base = -3.0
    return base + 2.0 * math.sin(2 * math.pi * (t.hour - 9) / 24)


@dataclass
class House:
    start: datetime
    end: datetime
    cop_factor_from: datetime | None = None  # COP times `cop_factor` from here on
    cop_factor: float = 1.0
    cold_from: datetime | None = None
    meter_gap: tuple[datetime, datetime] | None = None
    faults: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    starts_per_hour: int = 1
    rod_from: datetime | None = None  # the heating rod heats the house from here on ...
    rod_wh_per_h: float = 0.0  # ... with this much electricity per hour

    def write(self, store: Store) -> None:
        pts: list[Point] = []
        t = self.start
        while t < self.end:
            temp = outdoor_c(t, self.cold_from)
            cop = normal_cop(temp)
            if self.cop_factor_from is not None and t >= self.cop_factor_from:
                cop *= self.cop_factor
            heat_wh = max(500.0, (16 - temp) * 300.0)
            gap = self.meter_gap is not None and self.meter_gap[0] <= t < self.meter_gap[1]
            if not gap:
                pts.append(Point("electricity", t, {
                    "energy_wh": heat_wh / cop, "duration_s": 3600.0, "running_s": 3000.0,
                    "starts": self.starts_per_hour},
                    {"device": METER, "source": "meter", "circuit": "total"}))
            if self.rod_from is not None:
                rod_wh = self.rod_wh_per_h if t >= self.rod_from else 0.0
                for circuit, wh in (("heating", rod_wh), ("dhw", 0.0), ("total", rod_wh)):
                    pts.append(Point("electricity", t, {"energy_wh": wh, "duration_s": 3600.0},
                                     {"device": PUMP, "source": "heating_rod",
                                      "circuit": circuit}))
            pts.append(Point("heat", t, {"energy_wh": heat_wh, "duration_s": 3600.0,
                                         "estimate": False},
                             {"device": PUMP, "method": "counter", "circuit": "total"}))
            for minute in range(0, 60, 5):
                poll = t + timedelta(minutes=minute)
                active = [code for a, b, code in self.faults if a <= poll < b]
                pts.append(Point("heatpump", poll, {"outside_temp_c": temp,
                                                    "error_count": len(active)},
                                 {"device": PUMP}))
                for code in active:
                    pts.append(Point("message", poll, {
                        "priority": "criticalError", "text": "Compressor fault",
                        "since": self.start.isoformat()},
                        {"device": PUMP, "kind": "error", "code": code}))
            t += timedelta(hours=1)
        # meter samples for the last day, every 5 minutes (enough for the staleness rule)
        t = max(self.start, self.end - timedelta(days=1))
        while t < self.end:
            gap = self.meter_gap is not None and self.meter_gap[0] <= t < self.meter_gap[1]
            if not gap:
                pts.append(Point("meter", t, {"power_w": 900.0, "energy_import_wh": 1e6},
                                 {"device": METER}))
            t += timedelta(minutes=5)
        if self.meter_gap is not None:
            a, b = self.meter_gap
            pts.append(Point("health", a + timedelta(minutes=1), {
                "status": "down", "reason": "unreachable",
                "detail": "The meter did not answer within 4 s.", "failures": 6},
                {"source": HEALTH_SOURCE["meter"], "device": METER}))
            if b < self.end:
                pts.append(Point("health", b, {"status": "up", "reason": "", "detail": "",
                                               "failures": 0},
                                 {"source": HEALTH_SOURCE["meter"], "device": METER}))
        store.write(pts)
        store.flush()
