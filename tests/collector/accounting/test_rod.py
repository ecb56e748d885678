"""The heating rod's electricity (collector/accounting/rod.py and the rod families of
HeatAccountant): its counters follow the heat pump's counter rules, its running time per
level is bounded by the interval, a counter that goes down is a glitch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.accounting.heat import (
    REBASE_AFTER,
    HeatAccountant,
    device_state_from_json,
    device_state_to_json,
)
from collector.readings import HeatPumpSample

T0 = datetime(2026, 1, 31, 23, 50, tzinfo=UTC)


def hp(minutes: float, counters: dict[str, float] | None = None, **values) -> HeatPumpSample:
    return HeatPumpSample(T0 + timedelta(minutes=minutes), "hp", values, counters or {})


def rod_points(update) -> list[tuple[str, dict]]:
    return [(p.tags["circuit"], dict(p.fields)) for p in update.points
            if p.measurement == "electricity" and p.tags["source"] == "heating_rod"]


def runtime(minutes: float, one: float, two: float) -> HeatPumpSample:
    return hp(minutes, heating_rod_runtime_level1_s=one, heating_rod_runtime_level2_s=two)


def test_the_year_counter_carries_the_rod_across_its_month_rollover() -> None:
    acc = HeatAccountant(8.0, 300.0)
    acc.add(hp(0, {"heating_rod.dhw.day": 2.0, "heating_rod.dhw.month": 40.0,
                   "heating_rod.dhw.year": 40.0, "heating_rod.dhw.last_month": 30.0}))
    up = acc.add(hp(20, {"heating_rod.dhw.day": 0.3, "heating_rod.dhw.month": 0.3,
                         "heating_rod.dhw.year": 40.8, "heating_rod.dhw.last_month": 40.5}))
    # the year counter did not roll over: 0.8 kWh exactly (last_month agrees: 0.5 + 0.3)
    assert rod_points(up) == [("dhw", {"energy_wh": 800.0, "duration_s": 1200.0}),
                              ("total", {"energy_wh": 800.0, "duration_s": 1200.0})]


def test_a_rod_counter_glitch_books_nothing_and_the_energy_reappears() -> None:
    acc = HeatAccountant(8.0, 300.0)
    c = {"heating_rod.heating.day": 5.0, "heating_rod.heating.year": 90.0,
         "heating_rod.heating.last_year": 300.0}
    acc.add(hp(0, c))
    zero = dict.fromkeys(c, 0.0)
    up = acc.add(hp(5, zero))
    assert rod_points(up) == []
    assert [r for r, _ in up.events] == ["counter_glitch"]
    assert "heating_rod.heating: every counter reads 0" in up.events[0][1]
    up = acc.add(hp(10, {**c, "heating_rod.heating.day": 5.5,
                         "heating_rod.heating.year": 90.5}))
    assert rod_points(up)[0] == ("heating", {"energy_wh": 500.0, "duration_s": 600.0})


def test_runtime_levels_are_summed_and_capped_by_the_interval() -> None:
    acc = HeatAccountant(8.0, 300.0, rod_kw=(2.0, 4.0))
    acc.add(runtime(0, 1000, 50))
    assert rod_points(acc.add(runtime(5, 1300, 50))) == [
        ("total", {"duration_s": 300.0, "running_s": 300.0, "energy_wh": 166.667,
                   "estimated_wh": 166.667})]
    up = acc.add(runtime(10, 1700, 300))  # 650 s of running time in 300 s: impossible
    assert rod_points(up) == []
    assert up.events[0][0] == "counter_rejected"
    assert "650 s of running time in 5 min is more than the interval" in up.events[0][1]
    # the rejected reading is the new reference: counting goes on from it
    assert rod_points(acc.add(runtime(15, 1700, 420)))[0][1]["energy_wh"] == 133.333


def test_a_runtime_counter_that_goes_down_is_a_glitch_then_a_new_baseline() -> None:
    acc = HeatAccountant(8.0, 300.0, rod_kw=(3.0,))
    acc.add(runtime(0, 5000, 0))
    up = acc.add(runtime(5, 0, 0))
    assert rod_points(up) == []
    assert up.events == [("counter_glitch", "heating_rod.runtime: the level1 counter went "
                          "down (5000 s -> 0 s); nothing is booked until the counters make "
                          "sense again")]
    assert rod_points(acc.add(runtime(10, 5120, 0)))[0][1]["running_s"] == 120.0
    acc.add(runtime(15, 10, 0))  # down again ...
    late = REBASE_AFTER / timedelta(minutes=1) + 20
    up = acc.add(runtime(late, 20, 0))  # ... and it stays down: a new baseline
    assert "counting goes on from the current values" in up.events[0][1]
    assert rod_points(acc.add(runtime(late + 5, 80, 0)))[0][1] == {
        "duration_s": 300.0, "running_s": 60.0, "energy_wh": 50.0, "estimated_wh": 50.0}


def test_a_level_without_configured_power_leaves_the_energy_unknown() -> None:
    acc = HeatAccountant(8.0, 300.0, rod_kw=(3.0,))
    acc.add(runtime(0, 0, 0))
    assert rod_points(acc.add(runtime(5, 60, 60))) == [
        ("total", {"duration_s": 300.0, "running_s": 120.0})]


def test_the_rod_runtime_reference_survives_a_restart() -> None:
    acc = HeatAccountant(8.0, 300.0, rod_kw=(3.0, 6.0))
    acc.add(runtime(0, 100, 0))
    saved = device_state_to_json(acc.devices["hp"])
    resumed = HeatAccountant(8.0, 300.0, rod_kw=(3.0, 6.0),
                             devices={"hp": device_state_from_json(saved)})
    assert rod_points(resumed.add(runtime(5, 220, 0)))[0][1]["energy_wh"] == 100.0


def test_rod_counters_win_over_its_runtime() -> None:
    """A device with both books the counters' exact energy only (never twice)."""
    acc = HeatAccountant(8.0, 300.0, rod_kw=(3.0,))
    acc.add(hp(0, {"heating_rod.dhw.year": 1.0}, heating_rod_runtime_level1_s=0.0))
    up = acc.add(hp(5, {"heating_rod.dhw.year": 1.2}, heating_rod_runtime_level1_s=240.0))
    assert rod_points(up) == [("dhw", {"energy_wh": 200.0, "duration_s": 300.0}),
                              ("total", {"energy_wh": 200.0, "duration_s": 300.0})]
