"""Meter accounting against power x time: glitches, faulty counters, gaps across hours,
meters without counters, and the local state a restart resumes from (issue 13)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from collector.accounting.meter import (
    MeterConfig,
    MeterState,
    flush,
    state_from_json,
    state_to_json,
    step,
)
from collector.readings import MeterReading
from heatpump.store.base import Point

T0 = datetime(2026, 1, 15, 11, 50, 5, tzinfo=UTC)
DEV = "shellypro3em-aabbccddeeff"
CFG = MeterConfig(DEV, running_w=250)


class Meter:
    """A meter whose counter follows the power exactly (trapezoid between polls), read
    every 10 s; `shown(i, counter)` is what the counter reads instead (the fault)."""

    def __init__(self, powers, counter=52_000.0, shown=None, t0=T0):
        self.readings, self.true = [], []
        c = counter
        for i, p in enumerate(powers):
            if i:
                c += (powers[i - 1] + p) / 2 * 10 / 3600
            self.true.append(c)
            value = shown(i, c) if shown else c
            self.readings.append(MeterReading(t0 + timedelta(seconds=10 * i), DEV, p, value,
                                              10_000 + 10 * i))

    def used(self, a=0, b=None) -> float:
        b = len(self.true) - 1 if b is None else b
        return self.true[b] - self.true[a]


def run(readings, cfg=CFG, state=None):
    state = state or MeterState()
    points, events = [], []
    for r in readings:
        state, update = step(state, r, cfg)
        points += update.points
        events += update.events
    state, tail = flush(state, cfg)
    return state, stored(points + tail), events


def stored(points):
    """The electricity minutes as the store keeps them (a minute written again overwrites
    the fields it carries)."""
    merged: dict[datetime, Point] = {}
    for p in points:
        if p.measurement == "electricity":
            old = merged.get(p.time)
            merged[p.time] = p if old is None else Point(p.measurement, p.time,
                                                         {**old.fields, **p.fields}, p.tags)
    return [merged[t] for t in sorted(merged)]


def total(minutes, name="energy_wh"):
    return sum(p.fields.get(name, 0.0) for p in minutes)


def kinds(events):
    return [e.kind for e in events if e.kind != "rejected"]


# --- glitches: held, then counted once ----------------------------------------------------


def test_the_issue_case_a_dip_that_recovers_then_a_spike_counts_what_was_used():
    """Issue 13: the counter dipped 100 Wh for 30 s and recovered, then read +50 Wh for one
    poll. Stored before: 187.7 Wh for 44.6 Wh used; now exactly what was used."""
    m = Meter([1000.0] * 17, shown=lambda i, c: c - 100 if 4 <= i < 7 else
              c + 50 if i == 12 else c)
    _, minutes, events = run(m.readings)
    assert m.used() == pytest.approx(44.44, abs=0.01)
    assert total(minutes) == pytest.approx(m.used(), abs=1e-9)
    assert total(minutes, "duration_s") == pytest.approx(160.0)
    assert kinds(events) == ["counter_glitch", "counter_glitch"]
    assert "went down" in events[0].detail and "faster than the power" in events[1].detail
    assert all(e.health_status is None for e in events)  # logged, not a health change


def test_a_late_counter_that_catches_up_is_exact_and_no_glitch():
    # The counter updates only every 30 s; the power every poll: the held readings resolve
    # when it catches up, its energy split over the minutes by the power.
    m = Meter([2000.0] * 40, shown=None)
    late = [MeterReading(r.time, DEV, r.power_w, m.true[i - i % 3], r.uptime_s)
            for i, r in enumerate(m.readings)]
    _, minutes, events = run(late)
    assert total(minutes) == pytest.approx(m.true[39 - 39 % 3] - m.true[0])
    assert {e.kind for e in events} <= {"counter_late"}
    assert all(p.fields.get("bridged_wh", 0) == 0 for p in minutes)


def test_a_dip_at_idle_is_held_like_any_other():
    m = Meter([20.0] * 30, shown=lambda i, c: c - 100 if 10 <= i < 13 else c)
    _, minutes, events = run(m.readings)
    assert total(minutes) == pytest.approx(m.used())
    assert kinds(events) == ["counter_glitch"]


# --- faulty counters: reported, no valid energy --------------------------------------------


def test_a_counter_that_stands_still_while_power_flows_is_stuck_and_its_minutes_empty():
    # 3 kW for 10 minutes, the counter stuck; then it moves again with the power.
    powers = [3000.0] * 100
    m = Meter(powers, shown=lambda i, c: 52_000.0 if i < 60 else c)
    state, minutes, events = run(m.readings)
    assert kinds(events)[:1] == ["counter_fault"]
    assert "stood still while power flowed" in events[0].detail
    # held from the first poll that disagrees (10 s), decided `hold_s` (180 s) later
    assert events[0].time - T0 == timedelta(seconds=190)
    # no minute before the counter moved again holds energy ...
    moved = T0 + timedelta(seconds=600)
    assert total([p for p in minutes if p.time < moved.replace(second=0)]) == 0
    # ... and once it moves with the power, the fault ends and energy counts again
    assert "counter_ok" in kinds(events) and state.fault is None
    counted = total(minutes)
    assert 0 < counted <= m.used(60)  # the jump back is never counted
    assert counted == pytest.approx(m.used(60), abs=3 * 3000 * 10 / 3600)


def test_a_stuck_counter_is_a_degraded_state_until_it_agrees_again():
    m = Meter([3000.0] * 40, shown=lambda i, c: 52_000.0)
    state, minutes, _ = run(m.readings)
    assert state.fault == "counter_stuck" and "disagrees with the power" in state.fault_detail
    assert total(minutes) == 0 and total(minutes, "running_s") == pytest.approx(390.0)
    from collector.accounting.meter import MeterAccountant

    acc = MeterAccountant(CFG, state)
    # idle afterwards: without power the stuck counter proves nothing, nothing counts
    idle = Meter([15.0] * 40, counter=52_000.0, t0=T0 + timedelta(seconds=400))
    for r in idle.readings:
        acc.add(r)
    assert acc.state.fault == "counter_stuck"


def test_a_counter_running_twice_as_fast_as_the_power_is_reported():
    m = Meter([1000.0] * 40, shown=lambda i, c: 52_000.0 + 2 * (c - 52_000.0))
    state, minutes, events = run(m.readings)
    assert "counter_fault" in kinds(events) and state.fault == "counter_fast"
    assert total(minutes) == 0


def test_a_counter_creeping_at_a_third_of_the_power_is_found_over_a_window():
    # 350 W: each 10-s step is within the counter's resolution, the sum is not.
    m = Meter([350.0] * 200, shown=lambda i, c: 52_000.0 + (c - 52_000.0) / 3)
    state, minutes, _ = run(m.readings)
    assert state.fault == "counter_stuck" and "creeps" in state.fault_detail
    counted = total(minutes)
    assert counted < 20.0  # what was counted before the window judged it
    assert total([p for p in minutes if p.time > T0 + timedelta(minutes=5)]) == 0


# --- gaps: spread over their minutes, bridged across hours ---------------------------------


def test_a_meter_outage_across_hours_is_spread_and_bridged():
    """Issue 13: a 2-hour outage used to put its 7240 s into one minute (274 % of its
    hour). Now every minute of the gap gets its share, marked bridged; the first and last
    hours keep what was measured."""
    cfg = MeterConfig(DEV, running_w=250)
    t0 = datetime(2026, 1, 15, 8, 14, 5, tzinfo=UTC)
    m = Meter([2000.0] * 800, t0=t0)
    readings = m.readings[:6] + m.readings[730:]  # silent from 08:15:05 to 10:15:45
    _, minutes, _ = run(readings, cfg)
    assert total(minutes) == pytest.approx(m.used())  # nothing lost
    assert total(minutes, "bridged_s") == pytest.approx(7250.0)  # 08:14:55 to 10:15:45
    assert total(minutes, "bridged_wh") == pytest.approx(m.used(5, 730))
    assert max(p.fields.get("duration_s", 0) for p in minutes) <= 60.0 + 1e-9
    by_hour: dict[int, float] = {}
    for p in minutes:
        measured = p.fields.get("duration_s", 0) - p.fields.get("bridged_s", 0)
        by_hour[p.time.hour] = by_hour.get(p.time.hour, 0.0) + measured
    # measured: 08:14:05-08:14:55 and 10:15:45-10:27:15; hour 9 none
    assert by_hour == pytest.approx({8: 50.0, 9: 0.0, 10: 690.0})
    assert total(minutes, "running_wh") == pytest.approx(m.used() - m.used(5, 730))


def test_an_outage_inside_one_hour_stays_whole_in_the_minute_where_it_ends():
    m = Meter([1000.0] * 80)
    readings = m.readings[:3] + m.readings[60:]  # 11:50:25 -> 12:00:05: crosses 12:00
    _, minutes, _ = run(readings, MeterConfig(DEV, running_w=250))
    assert total(minutes, "bridged_s") > 0  # across the hour: bridged
    m2 = Meter([1000.0] * 80, t0=T0 - timedelta(minutes=20))  # 11:30:05 on: inside 11:xx
    readings = m2.readings[:3] + m2.readings[60:]
    _, minutes, _ = run(readings, MeterConfig(DEV, running_w=250))
    assert total(minutes, "bridged_s") == 0
    gap_minute = [p for p in minutes if p.fields.get("duration_s", 0) > 60]
    assert len(gap_minute) == 1  # 11:30:25 -> 11:40:05, then five polls in 11:40
    assert gap_minute[0].fields["duration_s"] == pytest.approx(580 + 50)
    assert total(minutes) == pytest.approx(m2.used())


def test_an_outage_that_misses_its_hour_by_seconds_counts_in_that_hour():
    # The meter's last poll before 10:00:00 was at 09:59:55; it answers again at 10:30:05:
    # all but 5 s of the gap lie in hour 10, so hour 10 keeps it (at most 5 s of energy
    # misplaced); the 5 s in hour 9 are bridged.
    t0 = datetime(2026, 1, 15, 9, 59, 15, tzinfo=UTC)
    m = Meter([2000.0] * 200, t0=t0)
    readings = m.readings[:5] + m.readings[186:]  # 09:59:55, then 10:30:15
    _, minutes, _ = run(readings, MeterConfig(DEV))
    bridged = {p.time.hour: p.fields.get("bridged_s", 0) for p in minutes
               if p.fields.get("bridged_s")}
    assert bridged == {9: pytest.approx(5.0)}
    assert total(minutes) == pytest.approx(m.used())


def test_a_month_long_outage_is_spread_per_quarter_hour():
    t0 = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    a = MeterReading(t0, DEV, 500.0, 1000.0, 10)
    b = MeterReading(t0 + timedelta(seconds=10), DEV, 500.0, 1000.0 + 500 * 10 / 3600, 20)
    c = MeterReading(t0 + timedelta(days=30, seconds=10), DEV, 500.0,
                     1000.0 + 500 * (30 * 86400 + 10) / 3600, 30 * 86400 + 20)
    _, minutes, _ = run([a, b, c])
    assert total(minutes) == pytest.approx(500 * (30 * 86400 + 10) / 3600)
    assert 30 * 96 <= len(minutes) <= 30 * 96 + 3  # not 43,200 minute points
    assert all(p.time.second == 0 for p in minutes)


def test_a_held_interval_across_an_hour_is_split_by_the_measured_power_not_bridged():
    # The counter reads nothing valid for 90 s around 12:00 while the power is measured:
    # the counter's advance afterwards is split by that power, hour by hour, not bridged.
    powers = [300.0] * 20 + [3000.0] * 40
    m = Meter(powers, t0=datetime(2026, 1, 15, 11, 58, 25, tzinfo=UTC))
    readings = [MeterReading(r.time, DEV, r.power_w, None if 5 <= i < 14 else r.energy_import_wh,
                             r.uptime_s) for i, r in enumerate(m.readings)]
    _, minutes, _ = run(readings)
    assert total(minutes) == pytest.approx(m.used())
    assert total(minutes, "bridged_s") == 0
    # by the power measured in each minute: hour 11 gets the polls up to 11:59:55
    hour11 = total([p for p in minutes if p.time.hour == 11])
    assert hour11 == pytest.approx(m.used(0, 9))


# --- a meter without an energy counter ----------------------------------------------------


def test_a_reading_without_counter_is_integrated_and_marked_estimated():
    rs = [MeterReading(T0 + timedelta(seconds=10 * i), DEV, 1800.0, None, 10 + 10 * i,
                       has_counter=False) for i in range(13)]
    state, minutes, events = run(rs)
    assert total(minutes) == pytest.approx(1800 * 120 / 3600)
    assert total(minutes, "estimated_wh") == pytest.approx(total(minutes))
    assert not [e for e in events if e.kind == "rejected"]  # no counter: nothing to reject
    # the counters appear (firmware update): counted from the first one, never a jump
    more = [MeterReading(rs[-1].time + timedelta(seconds=10 * (i + 1)), DEV, 1800.0,
                         70_000.0 + 5.0 * i, 200) for i in range(6)]
    _, minutes2, events2 = run(more, state=state)
    both = stored(minutes + minutes2)
    # the interval up to the first counter value is still integrated, then the counter
    assert total(both, "estimated_wh") == pytest.approx(1800 * 130 / 3600)
    assert total(both) - total(both, "estimated_wh") == pytest.approx(25.0)
    assert kinds(events2) == []


# --- the local state: a restart resumes exactly, at any reading -------------------------


def test_a_restart_from_the_local_state_at_any_reading_changes_nothing():
    """Whatever the moment (inside a hold, a fault, a minute), a collector that saved its
    state (as JSON, as the state file does) and restarts from it stores the same."""
    powers = [3000.0 if (i // 40) % 2 else 30.0 for i in range(160)]
    m = Meter(powers, shown=lambda i, c: c - 100 if 20 <= i < 23 else
              c + 70 if i == 50 else 52_000.0 if 90 <= i < 130 else c)
    _, whole, _ = run(m.readings)
    for cut in range(1, len(m.readings), 7):
        state, first, _ = run(m.readings[:cut])
        state = state_from_json(json.loads(json.dumps(state_to_json(state))))
        _, second, _ = run(m.readings[cut:], state=state)
        again = stored(first + second)
        assert [(p.time, dict(p.fields)) for p in again] == \
            [(p.time, dict(p.fields)) for p in whole], cut


def test_a_state_file_from_before_issue_13_still_resumes():
    old = {"baseline": {"time": T0.isoformat(), "counter_wh": 500.0, "uptime_s": 100},
           "suspect": None, "prev_time": T0.isoformat(), "prev_power_w": 720.0,
           "running": True, "negative_since": None, "reversed_reported": False,
           "bucket": {"minute": T0.replace(second=0).isoformat(), "energy_wh": 1.0,
                      "duration_s": 5.0, "counter_wh": 500.0, "running_s": 5.0,
                      "starts": 0, "has_energy": True, "has_power": True}}
    state = state_from_json(old)
    assert state.baseline.counter_wh == 500.0 and state.held is None
    _, minutes, _ = run([MeterReading(T0 + timedelta(seconds=10), DEV, 720.0, 502.0, 110)],
                        state=state)
    assert total(minutes) == pytest.approx(3.0)
