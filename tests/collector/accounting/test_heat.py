"""Heat and heat-pump electricity per interval: counters across rollovers, sampled methods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.accounting.heat import (
    boundaries_crossed,
    choose_heat_method,
    counter_delta_kwh,
    electricity_points,
    heat_intervals,
    heat_points,
)
from collector.readings import HeatPumpSample

BERLIN = ZoneInfo("Europe/Berlin")


def t(*args: int) -> datetime:
    """A local Berlin wall-clock time as UTC."""
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def hp(time: datetime, counters: dict[str, float] | None = None, **values) -> HeatPumpSample:
    return HeatPumpSample(time=time, device="hp", values=values, counters=counters or {})


def summary(prefix: str, day: float, month: float, year: float,
            last_month: float | None = None, last_year: float | None = None) -> dict:
    c = {f"{prefix}.day": day, f"{prefix}.month": month, f"{prefix}.year": year}
    if last_month is not None:
        c[f"{prefix}.last_month"] = last_month
    if last_year is not None:
        c[f"{prefix}.last_year"] = last_year
    return c


def delta(prev: dict, cur: dict, a: datetime, b: datetime, prefix: str = "heat.heating"):
    return counter_delta_kwh(prev, cur, prefix, a, b, BERLIN)


def test_within_a_day_uses_the_day_counter() -> None:
    d = delta(summary("heat.heating", 10.0, 100.0, 1000.0),
              summary("heat.heating", 10.4, 100.4, 1000.4),
              t(2026, 1, 15, 10), t(2026, 1, 15, 10, 5))
    assert d is not None and d.kwh == pytest.approx(0.4) and d.exact and d.basis == "day counter"


def test_day_rollover_is_bridged_by_the_month_counter() -> None:
    # 23:58 -> 00:03: the day counter restarts at 0.2, the month counter keeps counting.
    d = delta(summary("heat.heating", 30.0, 300.0, 3000.0),
              summary("heat.heating", 0.2, 300.5, 3000.5),
              t(2026, 1, 15, 23, 58), t(2026, 1, 16, 0, 3))
    assert d.kwh == pytest.approx(0.5) and d.exact and d.basis == "month counter"


def test_day_rollover_without_a_drop_still_uses_the_month_counter() -> None:
    # The device's day counter did not visibly drop (it was 0 before midnight).
    d = delta(summary("heat.heating", 0.0, 300.0, 3000.0),
              summary("heat.heating", 0.1, 300.3, 3000.3),
              t(2026, 1, 15, 23, 58), t(2026, 1, 16, 0, 3))
    assert d.kwh == pytest.approx(0.3) and d.basis == "month counter"


def test_device_clock_resets_before_our_midnight() -> None:
    # The device's day ended a few minutes before ours: the day counter drops inside
    # what is still "today" for us; the month counter is used.
    d = delta(summary("heat.heating", 30.0, 300.0, 3000.0),
              summary("heat.heating", 0.1, 300.2, 3000.2),
              t(2026, 1, 15, 23, 50), t(2026, 1, 15, 23, 55))
    assert d.kwh == pytest.approx(0.2) and d.exact


def test_month_rollover_uses_last_month() -> None:
    d = delta(summary("heat.heating", 20.0, 500.0, 6000.0, last_month=400.0),
              summary("heat.heating", 0.3, 0.3, 6000.9, last_month=500.6),
              t(2026, 1, 31, 23, 58), t(2026, 2, 1, 0, 3))
    assert d.kwh == pytest.approx(0.9) and d.exact
    assert d.basis == "month counter across its rollover (last_month)"


def test_month_rollover_without_last_month_uses_the_year_counter() -> None:
    d = delta(summary("heat.heating", 20.0, 500.0, 6000.0),
              summary("heat.heating", 0.3, 0.3, 6000.9),
              t(2026, 1, 31, 23, 58), t(2026, 2, 1, 0, 3))
    assert d.kwh == pytest.approx(0.9) and d.basis == "year counter"


def test_year_rollover_uses_last_year() -> None:
    d = delta(summary("heat.dhw", 5.0, 200.0, 9000.0, 190.0, 8000.0),
              summary("heat.dhw", 0.1, 0.1, 0.1, 200.2, 9000.2),
              t(2025, 12, 31, 23, 58), t(2026, 1, 1, 0, 3), "heat.dhw")
    # month: last_month (200.2) - 200.0 + 0.1 = 0.3
    assert d.kwh == pytest.approx(0.3) and d.exact


def test_year_rollover_without_last_counters_is_a_lower_bound() -> None:
    d = delta(summary("heat.dhw", 5.0, 200.0, 9000.0),
              summary("heat.dhw", 0.1, 0.1, 0.1),
              t(2025, 12, 31, 23, 58), t(2026, 1, 1, 0, 3), "heat.dhw")
    assert d.kwh == pytest.approx(0.1) and not d.exact and "unknown" in d.basis


def test_week_counters_of_the_333g() -> None:
    prev = {"heat.heating.week": 36.2}
    same_week = counter_delta_kwh(prev, {"heat.heating.week": 36.5}, "heat.heating",
                                  t(2026, 1, 14, 12), t(2026, 1, 14, 12, 5), BERLIN)
    assert same_week.kwh == pytest.approx(0.3) and same_week.exact
    # Sunday 23:58 -> Monday 00:03: only a lower bound is known.
    new_week = counter_delta_kwh(prev, {"heat.heating.week": 0.1}, "heat.heating",
                                 t(2026, 1, 18, 23, 58), t(2026, 1, 19, 0, 3), BERLIN)
    assert new_week.kwh == pytest.approx(0.1) and not new_week.exact


def test_long_gap_is_bridged_by_a_coarser_counter() -> None:
    d = delta(summary("heat.heating", 10.0, 100.0, 1000.0),
              summary("heat.heating", 3.0, 180.0, 1080.0), t(2026, 1, 10, 12), t(2026, 1, 13, 9))
    assert d.kwh == pytest.approx(80.0) and d.exact


def test_nothing_to_compare() -> None:
    assert delta({}, summary("heat.heating", 1, 2, 3), t(2026, 1, 1), t(2026, 1, 1, 1)) is None
    same = summary("heat.heating", 1, 2, 3)
    assert delta(same, same, t(2026, 1, 1, 1), t(2026, 1, 1, 1)) is None


def test_dst_change_day_boundaries() -> None:
    # 2026-03-29 has 23 hours in Berlin; exactly one day boundary between these polls.
    assert boundaries_crossed("day", t(2026, 3, 28, 23, 59), t(2026, 3, 29, 0, 1), BERLIN) == 1
    assert boundaries_crossed("day", t(2026, 3, 29, 0, 1), t(2026, 3, 29, 23, 59), BERLIN) == 0
    assert boundaries_crossed("month", t(2026, 12, 31, 12), t(2027, 1, 1, 0, 1), BERLIN) == 1
    assert boundaries_crossed("week", t(2026, 1, 15, 12), t(2026, 1, 19, 0, 1), BERLIN) == 1


@given(st.lists(st.floats(min_value=0, max_value=3.0), min_size=2, max_size=60),
       st.integers(min_value=0, max_value=23))
def test_counter_sum_over_a_day_rollover_equals_the_true_energy(steps, start_hour) -> None:
    """Accumulating per-interval deltas reproduces the true energy across midnight."""
    start = t(2026, 1, 15, start_hour)
    day_start = datetime(2026, 1, 15, tzinfo=BERLIN)
    total_day, month, year = 0.0, 100.0, 1000.0
    time = start
    prev = hp(time, summary("heat.total", 0.0, month, year))
    produced = measured = 0.0
    for kwh in steps:
        time += timedelta(minutes=30)
        kwh = round(kwh, 1)
        produced += kwh
        month, year = month + kwh, year + kwh
        local_day = time.astimezone(BERLIN).replace(hour=0, minute=0)
        if local_day > day_start:
            day_start, total_day = local_day, kwh  # the device resets and counts this kWh
        else:
            total_day += kwh
        cur = hp(time, summary("heat.total", round(total_day, 1), round(month, 1),
                               round(year, 1)))
        d = counter_delta_kwh(prev.counters, cur.counters, "heat.total", prev.time, cur.time,
                              BERLIN)
        assert d is not None and d.exact
        measured += d.kwh
        prev = cur
    assert measured == pytest.approx(produced, abs=0.2)


# --- method choice and the sampled methods -------------------------------------------------


def test_choice_prefers_counters_then_flow_then_estimates() -> None:
    now = t(2026, 1, 15, 12)
    with_all = hp(now, {"heat.heating.day": 1.0}, flow_l_h=1000.0, supply_temp_c=35.0,
                  return_temp_c=30.0, compressor_modulation_pct=50.0, compressor_active=True)
    assert choose_heat_method(with_all, 8.0).method == "counter"
    flow = hp(now, flow_l_h=1000.0, supply_temp_c=35.0, return_temp_c=30.0,
              compressor_active=True, compressor_modulation_pct=40.0)
    assert choose_heat_method(flow, 8.0).method == "flow"
    mod = hp(now, compressor_modulation_pct=40.0, compressor_active=True)
    assert choose_heat_method(mod, None).method is None
    assert "HEATPUMP_RATED_HEAT_KW" in choose_heat_method(mod, None).reason
    assert choose_heat_method(mod, 8.0).method == "modulation"
    run = hp(now, compressor_active=True)
    assert choose_heat_method(run, 8.0).method == "runtime"
    assert "meter" in choose_heat_method(hp(now), 8.0, running_s_available=True).reason
    assert choose_heat_method(hp(now), 8.0).method is None


def test_flow_method_integrates_while_the_compressor_runs() -> None:
    a = hp(t(2026, 1, 15, 12), flow_l_h=1000.0, supply_temp_c=35.0, return_temp_c=30.0,
           compressor_active=True)
    b = hp(t(2026, 1, 15, 12, 5), flow_l_h=1000.0, supply_temp_c=36.0, return_temp_c=30.0,
           compressor_active=True)
    choice, (iv,) = heat_intervals(a, b, tz=BERLIN)
    assert choice.method == "flow"
    # mean of 5815 W and 6978 W over 300 s
    assert iv.energy_wh == pytest.approx((5815.0 + 6978.0) / 2 * 300 / 3600)
    assert iv.method == "flow" and not iv.estimate and iv.circuit == "total"
    off = hp(t(2026, 1, 15, 12, 10), flow_l_h=1000.0, supply_temp_c=30.0, return_temp_c=30.0,
             compressor_active=False)
    _, (half,) = heat_intervals(b, off, tz=BERLIN)
    assert half.energy_wh == pytest.approx(6978.0 * 150 / 3600)  # running half the time
    _, (metered,) = heat_intervals(b, off, tz=BERLIN, running_s=60.0)
    assert metered.energy_wh == pytest.approx(6978.0 * 60 / 3600)


def test_estimates_need_the_rating_and_are_marked() -> None:
    a = hp(t(2026, 1, 15, 12), compressor_modulation_pct=50.0, compressor_active=True)
    b = hp(t(2026, 1, 15, 12, 5), compressor_modulation_pct=100.0, compressor_active=True)
    assert heat_intervals(a, b, tz=BERLIN)[1] == []
    _, (iv,) = heat_intervals(a, b, tz=BERLIN, rated_heat_kw=8.0)
    assert iv.method == "modulation" and iv.estimate
    assert iv.energy_wh == pytest.approx(8000 * 0.75 * 300 / 3600)
    c = hp(t(2026, 1, 15, 12), compressor_active=True)
    d = hp(t(2026, 1, 15, 12, 5), compressor_active=False)
    _, (rt,) = heat_intervals(c, d, tz=BERLIN, rated_heat_kw=8.0)
    assert rt.method == "runtime" and rt.energy_wh == pytest.approx(8000 * 150 / 3600)
    _, (rm,) = heat_intervals(c, d, tz=BERLIN, rated_heat_kw=8.0, running_s=120.0)
    assert rm.energy_wh == pytest.approx(8000 * 120 / 3600)


def test_sampled_methods_refuse_gaps_but_counters_bridge_them() -> None:
    a = hp(t(2026, 1, 15, 12), compressor_active=True)
    b = hp(t(2026, 1, 15, 13), compressor_active=True)
    assert heat_intervals(a, b, tz=BERLIN, rated_heat_kw=8.0, max_gap_s=900)[1] == []
    c = hp(t(2026, 1, 15, 12), summary("heat.heating", 1.0, 10.0, 100.0))
    d = hp(t(2026, 1, 15, 18), summary("heat.heating", 9.0, 18.0, 108.0))
    _, intervals = heat_intervals(c, d, tz=BERLIN, max_gap_s=900)
    assert {i.circuit for i in intervals} == {"heating", "total"}  # total = sum of circuits
    for iv in intervals:
        assert iv.energy_wh == pytest.approx(8000.0) and iv.duration_s == 6 * 3600


def test_heat_points_per_circuit_and_total() -> None:
    a = hp(t(2026, 1, 15, 12), {**summary("heat.heating", 1.0, 10.0, 100.0),
                                **summary("heat.dhw", 2.0, 20.0, 200.0)})
    b = hp(t(2026, 1, 15, 12, 5), {**summary("heat.heating", 1.3, 10.3, 100.3),
                                   **summary("heat.dhw", 2.1, 20.1, 200.1)})
    points = {p.tags["circuit"]: p for p in heat_points(a, b, tz=BERLIN)}
    assert set(points) == {"heating", "dhw", "total"}
    assert points["total"].fields["energy_wh"] == pytest.approx(400.0)
    assert points["heating"].fields == {"energy_wh": 300.0, "duration_s": 300.0,
                                        "estimate": False}
    assert points["total"].tags == {"device": "hp", "method": "counter", "circuit": "total"}
    assert points["total"].time == b.time


def test_heatpump_electricity_points_use_the_same_counter_logic() -> None:
    a = hp(t(2026, 1, 31, 23, 58), summary("electricity.heating", 3.0, 90.0, 900.0, 80.0))
    b = hp(t(2026, 2, 1, 0, 3), summary("electricity.heating", 0.1, 0.1, 900.3, 90.2))
    points = {p.tags["circuit"]: p for p in electricity_points(a, b, tz=BERLIN)}
    assert points["heating"].tags["source"] == "heatpump"
    assert points["heating"].fields["energy_wh"] == pytest.approx(300.0)
    assert points["total"].fields["energy_wh"] == pytest.approx(300.0)
