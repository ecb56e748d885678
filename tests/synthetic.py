"""A synthetic, physically plausible house written through the store's real write path.

Used by the bot tests, docs/bot.md examples and benchmarks/bot_bench.py. Outdoor temperature
follows the season and the day; heat demand follows the outdoor temperature; the compressor
cycles below its minimum output; COP rises with the outdoor temperature; hot water is made
every morning. The points are the ones the collector writes (meter samples, per-minute meter
electricity, per-poll heat split by circuit with the device's own electricity, heat pump
polls, API calls, health changes), so the bot reads what it would read in a real house.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from heatpump.store.base import Point, Store

METER = "shellypro3em-0001"
PUMP = "7571381681420106"


@dataclass(frozen=True)
class Gap:
    source: str  # "meter" or "heatpump"
    start: datetime
    end: datetime
    reason: str = "unreachable"


def outdoor_c(t: datetime) -> float:
    doy = t.timetuple().tm_yday + t.hour / 24
    season = 8.0 - 9.0 * math.cos(2 * math.pi * (doy - 15) / 365)
    day = 3.5 * math.sin(2 * math.pi * (t.hour + t.minute / 60 - 9) / 24)
    return round(season + day, 1)


def cop_at(temp_c: float, dhw: bool) -> float:
    base = 2.3 if dhw else 2.9 + 0.09 * (temp_c + 5)
    return max(1.8, min(5.5, base))


def slot_state(t: datetime) -> tuple[bool, str, float, float]:
    """(running, circuit, heat_w, electric_w) over the 5-minute slot starting at t (UTC)."""
    temp = outdoor_c(t)
    if t.hour == 5 and t.minute < 40:  # hot water every morning (UTC 05:00-05:40)
        heat_w = 4500.0
        return True, "dhw", heat_w, heat_w / cop_at(temp, True)
    demand_w = max(0.0, (16.0 - temp) * 330.0)
    min_w = 1800.0
    if demand_w <= 0:
        return False, "heating", 0.0, 0.0
    if demand_w >= min_w:
        return True, "heating", demand_w, demand_w / cop_at(temp, False)
    # cycling: on for demand/min of each hour, from the top of the hour
    on_minutes = 60 * demand_w / min_w
    running = t.minute < on_minutes
    heat_w = min_w if running else 0.0
    return running, "heating", heat_w, heat_w / cop_at(temp, False) if running else 0.0


def _in_gap(t: datetime, gaps: Sequence[Gap], source: str) -> bool:
    return any(g.source == source and g.start <= t < g.end for g in gaps)


def points(start: datetime, end: datetime, gaps: Sequence[Gap] = (),
           meter_step_s: int = 60, standby_w: float = 18.0) -> Iterator[Point]:
    """Every point of [start, end) in time order; the meter side in `meter_step_s` samples."""
    assert 300 % meter_step_s == 0
    counter_wh = 1_234_000.0
    starts = 0
    prev_running = False
    t = start
    slot = timedelta(seconds=300)
    step = timedelta(seconds=meter_step_s)
    meter_down_before = heatpump_down_before = False
    while t < end:
        running, circuit, heat_w, elec_w = slot_state(t)
        temp = outdoor_c(t)
        # meter: samples and per-interval electricity (what the collector aggregates)
        meter_down = _in_gap(t, gaps, "meter")
        if meter_down != meter_down_before:
            yield _health("meter", METER, t, meter_down, gaps)
            meter_down_before = meter_down
        for k in range(300 // meter_step_s):
            ts = t + k * step
            power_w = elec_w + standby_w
            wh = power_w * meter_step_s / 3600
            counter_wh += wh
            if meter_down:
                continue
            began = running and not prev_running and k == 0
            yield Point("meter", ts + step, {"power_w": round(power_w, 1),
                                             "energy_import_wh": round(counter_wh, 3),
                                             "uptime_s": int((ts - start).total_seconds())},
                        {"device": METER})
            yield Point("electricity", ts + step,
                        {"energy_wh": wh, "duration_s": float(meter_step_s),
                         "counter_wh": round(counter_wh, 3),
                         "running_s": float(meter_step_s) if running else 0.0,
                         "running_wh": wh if running else 0.0,
                         "starts": 1 if began else 0},
                        {"device": METER, "source": "meter", "circuit": "total"})
        if running and not prev_running:
            starts += 1
        prev_running = running
        # heat pump poll at the end of the slot
        hp_down = _in_gap(t, gaps, "heatpump")
        if hp_down != heatpump_down_before:
            yield _health("vicare", PUMP, t, hp_down, gaps)
            heatpump_down_before = hp_down
        if not hp_down:
            poll = t + slot
            supply = 28.0 + max(0.0, 15 - temp) * 0.6 if circuit == "heating" else 52.0
            yield Point("heatpump", poll, {
                "outside_temp_c": temp, "supply_temp_c": round(supply, 1),
                "return_temp_c": round(supply - (5.0 if running else 0.5), 1),
                "dhw_temp_c": 49.0 if circuit == "dhw" else 46.5,
                "compressor_active": running,
                "compressor_phase": ("dhw" if circuit == "dhw" else "heating") if running
                else "off",
                "compressor_modulation_pct": round(min(100.0, heat_w / 80), 0) if running
                else 0.0,
                "compressor_starts": 1000 + starts, "error_count": 0,
                "flow_l_h": 1100.0 if running else 0.0}, {"device": PUMP})
            for c in ("heating", "dhw"):
                hw = heat_w * 300 / 3600 if c == circuit else 0.0
                ew = elec_w * 300 / 3600 * 0.96 if c == circuit else 0.0
                yield Point("heat", poll, {"energy_wh": hw, "duration_s": 300.0,
                                           "estimate": False},
                            {"device": PUMP, "method": "counter", "circuit": c})
                yield Point("electricity", poll, {"energy_wh": ew, "duration_s": 300.0},
                            {"device": PUMP, "source": "heatpump", "circuit": c})
            yield Point("api_call", poll, {"calls": 1, "status_code": 200},
                        {"source": "vicare", "kind": "features"})
        t += slot


def _health(source: str, device: str, t: datetime, down: bool, gaps: Sequence[Gap]) -> Point:
    if not down:
        return Point("health", t, {"status": "up", "reason": "", "detail": "answering again",
                                   "failures": 0}, {"source": source, "device": device})
    gap = next(g for g in gaps if g.start <= t < g.end)
    return Point("health", t, {"status": "down", "reason": gap.reason,
                               "detail": "no answer within 4 s" if source == "meter"
                               else "daily API quota used up",
                               "failures": 3}, {"source": source, "device": device})


def fill(store: Store, start: datetime, end: datetime, gaps: Sequence[Gap] = (),
         meter_step_s: int = 60, batch: int = 50_000) -> int:
    """Write the synthetic house into `store`; returns the number of points."""
    n = 0
    buf: list[Point] = []
    for p in points(start.astimezone(UTC), end.astimezone(UTC), gaps, meter_step_s):
        buf.append(p)
        if len(buf) >= batch:
            store.write(buf)
            store.flush()
            n += len(buf)
            buf = []
    store.write(buf)
    store.flush()
    return n + len(buf)


def message(store: Store, t: datetime, code: str = "F.454", kind: str = "error",
            text: str = "Refrigerant circuit: high pressure", priority: str = "criticalError",
            ) -> None:
    """An active fault at the heat pump poll at `t` (error_count set to match)."""
    store.write([
        Point("message", t, {"priority": priority, "text": text,
                             "since": (t - timedelta(minutes=20)).isoformat()},
              {"device": PUMP, "kind": kind, "code": code}),
        Point("heatpump", t, {"error_count": 1}, {"device": PUMP}),
    ])
    store.flush()
