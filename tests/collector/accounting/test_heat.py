"""Heat and heat-pump electricity per interval (collector/accounting/counters.py and
heat.py): the counters' own rollovers (never our clock's), glitches, the plausibility cap,
stale arrays, and the sampled methods."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from collector.accounting.counters import (
    CounterFamilies,
    Reading,
    counter_step,
    family_circuits,
    reading_of,
)
from collector.accounting.heat import (
    DEFAULT_CAP_KW,
    REBASE_AFTER,
    HeatAccountant,
    choose_heat_method,
    device_state_from_json,
    device_state_to_json,
    sampled_interval,
)
from collector.accounting.running import RunningLedger
from collector.readings import HeatPumpSample
from heatpump.estimates import ERROR_BANDS, RATED_SETTING, band_text

BERLIN = ZoneInfo("Europe/Berlin")
CAP = 14.0  # kW: twice a 7 kW rating


def t(*args: int) -> datetime:
    """A local Berlin wall-clock time as UTC."""
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def hp(time: datetime, counters: dict[str, float] | None = None,
       read_at: dict[str, datetime] | None = None, **values) -> HeatPumpSample:
    return HeatPumpSample(time=time, device="hp", values=values, counters=counters or {},
                          counters_read_at=read_at or {})


def summary(prefix: str, day: float, month: float, year: float,
            last_month: float | None = None, last_year: float | None = None) -> dict:
    c = {f"{prefix}.day": day, f"{prefix}.month": month, f"{prefix}.year": year}
    if last_month is not None:
        c[f"{prefix}.last_month"] = last_month
    if last_year is not None:
        c[f"{prefix}.last_year"] = last_year
    return c


def step(prev: dict, cur: dict, a: datetime, b: datetime, prefix: str = "heat.heating",
         cap: float = CAP):
    kind, circuit = prefix.split(".")
    ref = reading_of(hp(a, prev), kind, circuit)
    now = reading_of(hp(b, cur), kind, circuit)
    assert ref is not None and now is not None
    return counter_step(ref, now, cap, prefix)


# --- the counter that did not roll over ------------------------------------------------------


def test_within_a_period_the_coarsest_counter_is_differenced() -> None:
    s = step(summary("heat.heating", 10.0, 100.0, 1000.0),
             summary("heat.heating", 10.4, 100.4, 1000.4), t(2026, 1, 15, 10),
             t(2026, 1, 15, 10, 5))
    assert s.accept and s.problem is None
    d = s.delta
    assert d.kwh == pytest.approx(0.4) and d.exact and d.basis == "year counter"
    assert (d.start, d.end, d.duration_s) == (t(2026, 1, 15, 10), t(2026, 1, 15, 10, 5), 300)
    assert d.rollover is None


def test_a_day_rollover_needs_no_bridge() -> None:
    # 23:58 -> 00:03: the day counter restarts at 0.2, the year counter keeps counting.
    s = step(summary("heat.heating", 30.0, 300.0, 3000.0),
             summary("heat.heating", 0.2, 300.5, 3000.5), t(2026, 1, 15, 23, 58),
             t(2026, 1, 16, 0, 3))
    assert s.delta.kwh == pytest.approx(0.5) and s.delta.exact
    assert s.delta.basis == "year counter" and s.delta.rollover is None


def test_a_day_counter_that_restarts_when_our_clock_says_nothing() -> None:
    # The device's day ended at 22:00 our time (another zone): the drop is what counts.
    s = step(summary("heat.heating", 30.0, 300.0, 3000.0),
             summary("heat.heating", 0.1, 300.2, 3000.2), t(2026, 1, 15, 21, 58),
             t(2026, 1, 15, 22, 3))
    assert s.delta.kwh == pytest.approx(0.2) and s.delta.exact


def test_a_late_device_books_nothing_across_our_month_end() -> None:
    """Field case vicare_*_month_rollover_lag: polled at 23:55 and 00:05 on the 1st, the
    device has not rolled over yet: 0 kWh, not last month's total once more."""
    counters = summary("heat.heating", 6.1, 250.0, 1500.0, last_month=400.0,
                       last_year=3900.0)
    s = step(counters, counters, t(2026, 1, 31, 23, 55), t(2026, 2, 1, 0, 5))
    assert s.delta.kwh == 0.0 and s.delta.exact and s.problem is None


def test_an_early_device_is_not_bridged_twice() -> None:
    """The device rolled its month over at 23:55; our month ends at 00:00. The interval
    after ours must not bridge with lastMonth again (that booked the month twice)."""
    before = summary("heat.heating", 20.0, 500.0, 6000.0, last_month=400.0)
    rolled = summary("heat.heating", 0.1, 0.1, 6000.4, last_month=500.3)
    after = summary("heat.heating", 0.5, 0.5, 6000.8, last_month=500.3)
    first = step(before, rolled, t(2026, 1, 31, 23, 50), t(2026, 1, 31, 23, 56))
    second = step(rolled, after, t(2026, 1, 31, 23, 56), t(2026, 2, 1, 0, 1))
    assert first.delta.kwh == pytest.approx(0.4)
    assert second.delta.kwh == pytest.approx(0.4) and second.delta.basis == "year counter"


def test_a_whole_kwh_year_counter_gives_way_to_a_finer_one() -> None:
    s = step(summary("heat.heating", 10.3, 100.3, 1000.0),
             summary("heat.heating", 11.4, 101.4, 1001.0), t(2026, 1, 15, 10),
             t(2026, 1, 15, 10, 10))
    assert s.delta.basis == "month counter" and s.delta.kwh == pytest.approx(1.1)
    # ... but not a finer one that restarted unseen (it gained less than the year)
    days = step({"heat.heating.day": 0.2, "heat.heating.year": 800.0},
                {"heat.heating.day": 0.3, "heat.heating.year": 850.0}, t(2026, 1, 5),
                t(2026, 1, 15))
    assert days.delta.basis == "year counter" and days.delta.kwh == pytest.approx(50.0)


def test_a_long_gap_is_bridged_by_the_year_counter() -> None:
    s = step(summary("heat.heating", 10.0, 100.0, 1000.0),
             summary("heat.heating", 3.0, 180.0, 1080.0), t(2026, 1, 10, 12), t(2026, 1, 13, 9))
    assert s.delta.kwh == pytest.approx(80.0) and s.delta.exact
    assert s.delta.duration_s == (t(2026, 1, 13, 9) - t(2026, 1, 10, 12)).total_seconds()


# --- rollovers: bridged only when the counter really went down ------------------------------


def test_month_rollover_without_a_year_counter_uses_last_month() -> None:
    prev = {"heat.heating.day": 20.0, "heat.heating.month": 500.0,
            "heat.heating.last_month": 400.0}
    cur = {"heat.heating.day": 0.3, "heat.heating.month": 0.3,
           "heat.heating.last_month": 500.6}
    s = step(prev, cur, t(2026, 1, 31, 23, 58), t(2026, 2, 1, 0, 3))
    assert s.delta.kwh == pytest.approx(0.9) and s.delta.exact
    assert s.delta.basis == "month counter across its rollover (last_month)"
    assert "bridged exactly with last_month" in s.delta.rollover


def test_month_rollover_without_any_bridge_is_a_lower_bound() -> None:
    prev = {"heat.heating.day": 20.0, "heat.heating.month": 500.0}
    cur = {"heat.heating.day": 0.3, "heat.heating.month": 0.3}
    s = step(prev, cur, t(2026, 1, 31, 23, 58), t(2026, 2, 1, 0, 3))
    assert s.delta.kwh == pytest.approx(0.3) and not s.delta.exact
    assert "the tail before it is unknown" in s.delta.basis
    assert "no last_month" in s.delta.rollover


def test_year_rollover_uses_last_year() -> None:
    s = step(summary("heat.dhw", 5.0, 200.0, 9000.0, 190.0, 8000.0),
             summary("heat.dhw", 0.1, 0.1, 0.1, 200.2, 9000.2), t(2025, 12, 31, 23, 58),
             t(2026, 1, 1, 0, 3), "heat.dhw")
    assert s.delta.kwh == pytest.approx(0.3) and s.delta.exact
    assert s.delta.basis == "year counter across its rollover (last_year)"


def test_year_rollover_two_hours_late_is_bridged_when_it_happens() -> None:
    before = summary("heat.dhw", 5.0, 200.0, 9000.0, 190.0, 8000.0)
    still = summary("heat.dhw", 5.4, 200.4, 9000.4, 190.0, 8000.0)  # 00:03: not yet
    rolled = summary("heat.dhw", 0.1, 0.1, 0.1, 200.8, 9000.8)  # 02:03
    assert step(before, still, t(2025, 12, 31, 23, 58),
                t(2026, 1, 1, 0, 3), "heat.dhw").delta.kwh == pytest.approx(0.4)
    s = step(still, rolled, t(2026, 1, 1, 1, 58), t(2026, 1, 1, 2, 3), "heat.dhw")
    assert s.delta.kwh == pytest.approx(0.5) and s.delta.rollover


def test_year_rollover_without_last_counters_is_a_lower_bound() -> None:
    s = step(summary("heat.dhw", 5.0, 200.0, 9000.0), summary("heat.dhw", 0.1, 0.1, 0.1),
             t(2025, 12, 31, 23, 58), t(2026, 1, 1, 0, 3), "heat.dhw")
    assert s.delta.kwh == pytest.approx(0.1) and not s.delta.exact


def test_week_counters_of_the_333g() -> None:
    prev = {"heat.heating.week": 36.2}
    same = step(prev, {"heat.heating.week": 36.5}, t(2026, 1, 14, 12), t(2026, 1, 14, 12, 5))
    assert same.delta.kwh == pytest.approx(0.3) and same.delta.exact
    new_week = step(prev, {"heat.heating.week": 0.1}, t(2026, 1, 18, 23, 58),
                    t(2026, 1, 19, 0, 3))
    assert new_week.delta.kwh == pytest.approx(0.1) and not new_week.delta.exact


def test_a_last_month_that_did_not_change_is_no_bridge() -> None:
    """The month counter reads lower but lastMonth is last month's as before: a glitch,
    not a rollover (bridging would book lastMonth - before again)."""
    prev = {"heat.heating.month": 250.0, "heat.heating.last_month": 400.0}
    cur = {"heat.heating.month": 0.2, "heat.heating.last_month": 400.0}
    s = step(prev, cur, t(2026, 1, 15, 12), t(2026, 1, 15, 12, 5))
    assert s.delta is None and not s.accept and s.problem[0] == "counter_glitch"
    assert "last_month stayed 400.0 kWh: no rollover" in s.problem[1]


# --- glitches, contradictions and the cap ----------------------------------------------------


def test_a_transient_all_zero_answer_is_a_glitch() -> None:
    before = summary("heat.heating", 10.0, 100.0, 1000.0, 90.0, 900.0)
    zero = {k: 0.0 for k in before}
    s = step(before, zero, t(2026, 1, 15, 12), t(2026, 1, 15, 12, 5))
    assert s.delta is None and not s.accept
    assert s.problem[0] == "counter_glitch" and "every counter reads 0" in s.problem[1]


def test_a_dip_is_a_glitch() -> None:
    s = step(summary("heat.heating", 10.0, 100.0, 1000.0, 90.0, 900.0),
             summary("heat.heating", 9.0, 99.0, 999.0, 90.0, 900.0), t(2026, 1, 15, 12),
             t(2026, 1, 15, 12, 5))
    assert s.delta is None and s.problem[0] == "counter_glitch"
    assert "too much to have restarted" in s.problem[1]


def test_a_finer_counter_that_gains_more_than_a_coarser_one_contradicts_it() -> None:
    s = step(summary("heat.heating", 10.0, 100.0, 1000.0),
             summary("heat.heating", 12.0, 100.2, 1000.2), t(2026, 1, 15, 12),
             t(2026, 1, 15, 12, 5))
    assert s.delta is None and s.problem[0] == "counter_glitch"



def test_a_summed_total_allows_each_circuits_truncations() -> None:
    """Two circuits truncated to 0.1 kWh each: the summed total's month and year counters
    may disagree by up to 0.4 kWh without contradicting each other (seen in a fault-free
    30-day demo: month +0.6, year +0.4, and the total was held back for an hour). It books
    what the circuits book, by their coarsest counters."""
    a, b = t(2026, 11, 20, 19, 45, 2), t(2026, 11, 20, 19, 50, 2)
    prev = {**summary("heat.heating", 27.7, 1122.0, 9359.3),
            **summary("heat.dhw", 7.2, 127.6, 2178.9)}
    cur = {**summary("heat.heating", 27.7, 1122.1, 9359.3),
           **summary("heat.dhw", 7.7, 128.1, 2179.3)}
    steps = {c: counter_step(reading_of(hp(a, prev), "heat", c),
                             reading_of(hp(b, cur), "heat", c), CAP, f"heat.{c}")
             for c in ("heating", "dhw")}
    total = CounterFamilies(hp(a, prev)).readings("heat")["total"]
    now = CounterFamilies(hp(b, cur)).readings("heat")["total"]
    assert total.parts == ("heating", "dhw")
    s = counter_step(total, now, CAP, "heat.total")
    assert s.problem is None and s.delta is not None
    assert s.delta.kwh == pytest.approx(0.4)
    assert s.delta.kwh == pytest.approx(sum(x.delta.kwh for x in steps.values()))
    # ... but a real contradiction of a summed total is still one
    worse = {**cur, "heat.dhw.month": 128.5}  # 0.6 kWh apart: more than two truncations
    bad = counter_step(total, CounterFamilies(hp(b, worse)).readings("heat")["total"], CAP,
                       "heat.total")
    assert bad.delta is None and bad.problem[0] == "counter_glitch"

def test_a_delta_above_the_plausible_output_is_rejected_not_booked() -> None:
    s = step(summary("heat.heating", 10.0, 100.0, 1000.0),
             summary("heat.heating", 15.0, 105.0, 1005.0), t(2026, 1, 15, 12),
             t(2026, 1, 15, 12, 5))
    assert s.delta is None and s.accept  # counting goes on from the new level
    assert s.problem[0] == "counter_rejected"
    assert "5.0 kWh in 5 min (60 kW" in s.problem[1] and "plausible 14 kW" in s.problem[1]


def test_nothing_to_compare_starts_a_new_reference() -> None:
    a = reading_of(hp(t(2026, 1, 1), {"heat.heating.week": 3.0}), "heat", "heating")
    b = reading_of(hp(t(2026, 1, 1, 1), summary("heat.heating", 1, 2, 3)), "heat", "heating")
    s = counter_step(a, b, CAP)
    assert s.accept and s.delta is None and s.problem is None


# --- the arrays: as of their read-at time --------------------------------------------------


def test_arrays_that_were_not_read_again_are_no_evidence() -> None:
    """Field case vicare_stale_day_array_ha130273: the same arrays before and after local
    midnight (dayValueReadAt ten days old): nothing new, so nothing is booked."""
    read = datetime(2024, 10, 31, 22, 58, 23, tzinfo=UTC)
    counters = {"electricity.heating.day": 0.2, "electricity.heating.last_day": 3.6,
                "electricity.heating.month": 0.2, "electricity.heating.last_month": 163.5}
    at = dict.fromkeys(counters, read)
    a = reading_of(hp(t(2024, 11, 10, 23, 55), counters, at), "electricity", "heating")
    b = reading_of(hp(t(2024, 11, 11, 0, 5), counters, at), "electricity", "heating")
    s = counter_step(a, b, CAP)
    assert s == type(s)()  # no delta, keep the reference, no problem


def test_an_array_reading_counts_from_read_at_to_read_at() -> None:
    r1, r2 = t(2026, 1, 15, 9, 0), t(2026, 1, 15, 11, 0)
    a = hp(t(2026, 1, 15, 9, 2), {"electricity.total.day": 5.0, "electricity.total.year": 900.0},
           {"electricity.total.day": r1, "electricity.total.year": r1})
    b = hp(t(2026, 1, 15, 11, 4), {"electricity.total.day": 7.5, "electricity.total.year": 902.5},
           {"electricity.total.day": r2, "electricity.total.year": r2})
    d = counter_step(reading_of(a, "electricity", "total"),
                     reading_of(b, "electricity", "total"), CAP).delta
    assert d.kwh == pytest.approx(2.5) and (d.start, d.end) == (r1, r2)


def test_stale_arrays_are_reported_once_with_since_when_and_their_return() -> None:
    acct = HeatAccountant(7.0, 300)
    read = datetime(2024, 10, 31, 22, 58, 23, tzinfo=UTC)
    counters = {"electricity.heating.day": 0.2, "electricity.heating.year": 800.0}

    def poll(when: datetime, at: datetime, day: float = 0.2, year: float = 800.0):
        return acct.add(hp(when, {"electricity.heating.day": day,
                                  "electricity.heating.year": year},
                           dict.fromkeys(counters, at)))

    first = poll(t(2024, 11, 10, 23, 55), read)
    assert [r for r, _ in first.events] == ["counters_stale"]
    assert "since 2024-10-31 22:58 UTC (10.0 days before this poll)" in first.events[0][1]
    second = poll(t(2024, 11, 11, 0, 5), read)
    assert second.points == [] and second.events == []  # reported once, nothing booked
    fresh = poll(t(2024, 11, 11, 0, 10), t(2024, 11, 11, 0, 9), 0.3, 850.0)
    assert [r for r, _ in fresh.events] == ["counters_resumed"]
    # the energy over the stale span is booked as one interval covering it, from read-at
    # to read-at (the bot leaves such an interval out of hourly COPs)
    (span,) = [p for p in fresh.points if p.tags["circuit"] == "heating"]
    assert span.fields["energy_wh"] == pytest.approx(50_000.0)
    assert span.time == t(2024, 11, 11, 0, 9)
    assert span.fields["duration_s"] == (t(2024, 11, 11, 0, 9) - read).total_seconds()
    later = poll(t(2024, 11, 11, 0, 15), t(2024, 11, 11, 0, 14), 0.6, 850.3)
    (point,) = [p for p in later.points if p.tags["circuit"] == "heating"]
    assert point.fields["energy_wh"] == pytest.approx(300.0)


# --- the accountant: points, events, totals, state ------------------------------------------


def test_points_per_circuit_and_a_summed_total() -> None:
    acct = HeatAccountant(7.0, 300)
    acct.add(hp(t(2026, 1, 15, 12), {**summary("heat.heating", 1.0, 10.0, 100.0),
                                     **summary("heat.dhw", 2.0, 20.0, 200.0)}))
    update = acct.add(hp(t(2026, 1, 15, 12, 5), {**summary("heat.heating", 1.3, 10.3, 100.3),
                                                 **summary("heat.dhw", 2.1, 20.1, 200.1)}))
    points = {p.tags["circuit"]: p for p in update.points}
    assert set(points) == {"heating", "dhw", "total"}
    assert points["total"].fields["energy_wh"] == pytest.approx(400.0)
    assert points["heating"].fields == {"energy_wh": 300.0, "duration_s": 300.0,
                                        "estimate": False}
    assert points["total"].tags == {"device": "hp", "method": "counter", "circuit": "total"}
    assert points["total"].time == t(2026, 1, 15, 12, 5)


def test_heatpump_electricity_points_use_the_same_counter_logic() -> None:
    acct = HeatAccountant(7.0, 300)
    acct.add(hp(t(2026, 1, 31, 23, 58), summary("electricity.heating", 3.0, 90.0, 900.0, 80.0)))
    update = acct.add(hp(t(2026, 2, 1, 0, 3),
                         summary("electricity.heating", 0.1, 0.1, 900.3, 90.2)))
    points = {p.tags["circuit"]: p for p in update.points}
    assert points["heating"].tags["source"] == "heatpump"
    assert points["heating"].fields["energy_wh"] == pytest.approx(300.0)
    assert points["total"].fields["energy_wh"] == pytest.approx(300.0)


def test_a_glitch_is_reported_once_and_its_energy_reappears_after_it() -> None:
    acct = HeatAccountant(7.0, 300)
    good = summary("heat.heating", 10.0, 100.0, 1000.0, 90.0, 900.0)
    acct.add(hp(t(2026, 1, 15, 12), good))
    zero = {k: 0.0 for k in good}
    first = acct.add(hp(t(2026, 1, 15, 12, 5), zero))
    again = acct.add(hp(t(2026, 1, 15, 12, 10), zero))
    assert first.points == [] and [r for r, _ in first.events] == ["counter_glitch"]
    assert again.points == [] and again.events == []
    back = acct.add(hp(t(2026, 1, 15, 12, 15), summary("heat.heating", 10.9, 100.9, 1000.9,
                                                       90.0, 900.0)))
    (heating,) = [p for p in back.points if p.tags["circuit"] == "heating"]
    assert heating.fields["energy_wh"] == pytest.approx(900.0)
    assert heating.fields["duration_s"] == 900.0  # from the last good reading


def test_a_glitch_that_lasts_becomes_a_new_baseline() -> None:
    acct = HeatAccountant(7.0, 300)
    acct.add(hp(t(2026, 1, 15, 0), summary("heat.heating", 10.0, 100.0, 1000.0)))
    low = summary("heat.heating", 1.0, 10.0, 100.0)  # cleared counters, counting again
    acct.add(hp(t(2026, 1, 15, 0, 5), low))
    when = t(2026, 1, 15, 0, 5) + REBASE_AFTER
    update = acct.add(hp(when, summary("heat.heating", 1.5, 10.5, 100.5)))
    assert update.points == [] and "counting goes on" in update.events[0][1]
    later = acct.add(hp(when + timedelta(minutes=5), summary("heat.heating", 1.8, 10.8, 100.8)))
    (heating,) = [p for p in later.points if p.tags["circuit"] == "heating"]
    assert heating.fields["energy_wh"] == pytest.approx(300.0)


def test_a_bridged_rollover_is_an_event() -> None:
    acct = HeatAccountant(7.0, 300)
    acct.add(hp(t(2025, 12, 31, 23, 58), summary("heat.dhw", 5.0, 200.0, 9000.0, 190.0,
                                                 8000.0)))
    update = acct.add(hp(t(2026, 1, 1, 0, 3), summary("heat.dhw", 0.1, 0.1, 0.1, 200.2,
                                                      9000.2)))
    (event,) = update.events
    assert event[0] == "counter_rollover"
    assert event[1].startswith("heat.dhw: the year counter restarted between 2025-12-31 "
                               "22:58 UTC and 2025-12-31 23:03 UTC; bridged exactly")


def test_the_cap_follows_the_rated_output() -> None:
    assert HeatAccountant(7.0, 300).cap_kw(hp(t(2026, 1, 1))) == 14.0
    assert HeatAccountant(None, 300).cap_kw(hp(t(2026, 1, 1))) == DEFAULT_CAP_KW
    assert HeatAccountant(None, 300).cap_kw(hp(t(2026, 1, 1), device_rated_heat_kw=10.0)) == 20


def test_state_survives_a_restart_including_a_pending_glitch() -> None:
    acct = HeatAccountant(7.0, 300)
    good = summary("heat.heating", 10.0, 100.0, 1000.0, 90.0, 900.0)
    acct.add(hp(t(2026, 1, 15, 12), good))
    acct.add(hp(t(2026, 1, 15, 12, 5), dict.fromkeys(good, 0.0)))
    acct.devices["hp"].families["heat.heating"].day_restart = "off"
    saved = device_state_to_json(acct.devices["hp"])
    state = device_state_from_json(saved)
    assert state.families["heat.heating"].day_restart == "off"
    assert state.families["heat.heating"].glitch_since == t(2026, 1, 15, 12, 5)
    resumed = HeatAccountant(7.0, 300, devices={"hp": state})
    update = resumed.add(hp(t(2026, 1, 15, 12, 10), summary("heat.heating", 10.6, 100.6,
                                                            1000.6, 90.0, 900.0)))
    (heating,) = [p for p in update.points if p.tags["circuit"] == "heating"]
    assert heating.fields["energy_wh"] == pytest.approx(600.0)
    assert update.events == []  # the glitch was already reported before the restart


def test_state_written_before_the_references_existed_resumes() -> None:
    old = {"time": t(2026, 1, 15, 12).isoformat(), "device": "hp", "values": {},
           "counters": summary("heat.heating", 10.0, 100.0, 1000.0)}
    state = device_state_from_json(old)
    assert set(state.families) == {"heat.heating", "heat.total"}
    acct = HeatAccountant(7.0, 300, devices={"hp": state})
    update = acct.add(hp(t(2026, 1, 15, 12, 5), summary("heat.heating", 10.2, 100.2, 1000.2)))
    assert {p.tags["circuit"]: p.fields["energy_wh"] for p in update.points} == \
        pytest.approx({"heating": 200.0, "total": 200.0})


@pytest.mark.parametrize("damaged", [
    {"time": "2026-01-15T12:00:00", "device": "hp", "values": {}, "counters": {}},
    {"time": "2026-01-15T12:00:00+00:00", "device": "hp", "values": {}, "counters": {},
     "families": {"heat.heating": {"ref": {"values": {"day": 1.0}, "times": {}}}}},
])
def test_a_damaged_state_is_an_error(damaged) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        device_state_from_json(damaged)


# --- the whole path over a device with a lag, a zone and truncated counters -----------------


class Device:
    """Counters as a Vitocal keeps them: day/month/year since the device's own period
    starts (its zone, shifted by `lag`), lastMonth/lastYear, truncated to 0.1 kWh."""

    def __init__(self, zone: str, lag: timedelta):
        self.tz, self.lag = ZoneInfo(zone), lag
        self.log: list[tuple[datetime, float]] = [(datetime(2020, 1, 1, tzinfo=UTC), 0.0)]

    def produce(self, until: datetime, kwh: float) -> None:
        self.log.append((until, self.log[-1][1] + kwh))

    def total(self, when: datetime) -> float:
        return max(v for at, v in self.log if at <= when)

    def _start(self, when: datetime, period: str, back: int = 0) -> datetime:
        local = (when - self.lag).astimezone(self.tz)
        y, m, d = local.year, local.month, local.day
        if period == "day":
            start = datetime(y, m, d, tzinfo=self.tz) - timedelta(days=back)
        elif period == "month":
            m -= back
            while m < 1:
                y, m = y - 1, m + 12
            start = datetime(y, m, 1, tzinfo=self.tz)
        else:
            start = datetime(y - back, 1, 1, tzinfo=self.tz)
        return start.astimezone(UTC) + self.lag

    def counters(self, when: datetime) -> dict[str, float]:
        now = self.total(when)

        def trunc(v: float) -> float:
            return math.floor(v * 10 + 1e-6) / 10

        out = {f"heat.heating.{p}": trunc(now - self.total(self._start(when, p)))
               for p in ("day", "month", "year")}
        for p in ("month", "year"):
            out[f"heat.heating.last_{p}"] = trunc(self.total(self._start(when, p))
                                                  - self.total(self._start(when, p, 1)))
        return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1.1), min_size=30, max_size=200),
       st.sampled_from(["Europe/Berlin", "UTC", "America/New_York"]),
       st.integers(min_value=-15, max_value=180), st.integers(min_value=0, max_value=700))
def test_booked_energy_is_the_devices_own_whatever_its_zone_and_lag(
        steps, zone, lag_min, offset_min) -> None:
    """Polls every 5 min across a New Year (and so a month and a day end) of a device with
    its own zone and a reset lag: what is booked equals what its counters accumulated
    (no phantom, no truncation loss beyond the two ends' 0.1 kWh)."""
    dev = Device(zone, timedelta(minutes=lag_min))
    start = datetime(2025, 12, 31, 22, 0, tzinfo=UTC) + timedelta(minutes=offset_min - 350)
    acct = HeatAccountant(7.0, 300)
    when = start
    acct.add(hp(when, dev.counters(when)))
    booked = 0.0
    for kwh in steps:
        when += timedelta(minutes=5)
        dev.produce(when, kwh * 5 / 60 * 12)  # up to 13 kW over 5 minutes
        update = acct.add(hp(when, dev.counters(when)))
        assert not [e for e in update.events if e[0] != "counter_rollover"], update.events
        booked += sum(p.fields["energy_wh"] for p in update.points
                      if p.tags["circuit"] == "heating") / 1000.0
    produced = dev.total(when) - dev.total(start)
    assert booked == pytest.approx(produced, abs=0.2)


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


def test_the_estimates_state_their_rated_output_source_and_measured_band() -> None:
    mod = hp(t(2026, 1, 15, 12), compressor_modulation_pct=40.0, device_rated_heat_kw=10.0)
    own = choose_heat_method(mod, None)
    assert own.method == "modulation" and own.rated.kw == 10.0
    assert "rated output 10 kW (the heat pump's own figure" in own.reason
    assert band_text("modulation") in own.reason
    setting = choose_heat_method(mod, 6.0)
    assert setting.rated.kw == 6.0 and setting.rated.source == RATED_SETTING
    run = choose_heat_method(hp(t(2026, 1, 15, 12), compressor_active=True), 6.0)
    assert band_text("runtime") in run.reason and "not a JAZ" in run.reason
    lo, hi = ERROR_BANDS["runtime"]
    assert band_text("runtime") == f"{lo * 100:+.0f} % to {hi * 100:+.0f} %".replace("-", "−")


def test_flow_method_integrates_while_the_compressor_runs() -> None:
    a = hp(t(2026, 1, 15, 12), flow_l_h=1000.0, supply_temp_c=35.0, return_temp_c=30.0,
           compressor_active=True)
    b = hp(t(2026, 1, 15, 12, 5), flow_l_h=1000.0, supply_temp_c=36.0, return_temp_c=30.0,
           compressor_active=True)
    choice = choose_heat_method(b, None)
    iv = sampled_interval(a, b, choice)
    assert choice.method == "flow"
    # mean of 5815 W and 6978 W over 300 s
    assert iv.energy_wh == pytest.approx((5815.0 + 6978.0) / 2 * 300 / 3600)
    assert iv.method == "flow" and not iv.estimate and iv.circuit == "total"
    off = hp(t(2026, 1, 15, 12, 10), flow_l_h=1000.0, supply_temp_c=30.0, return_temp_c=30.0,
             compressor_active=False)
    half = sampled_interval(b, off, choice)
    assert half.energy_wh == pytest.approx(6978.0 * 150 / 3600)  # running half the time
    metered = sampled_interval(b, off, choice, metered=(60.0, 300.0))
    assert metered.energy_wh == pytest.approx(6978.0 * 60 / 3600)


def test_estimates_need_the_rating_and_are_marked() -> None:
    a = hp(t(2026, 1, 15, 12), compressor_modulation_pct=50.0, compressor_active=True)
    b = hp(t(2026, 1, 15, 12, 5), compressor_modulation_pct=100.0, compressor_active=True)
    assert sampled_interval(a, b, choose_heat_method(b, None)) is None
    iv = sampled_interval(a, b, choose_heat_method(b, 8.0))
    assert iv.method == "modulation" and iv.estimate
    assert iv.energy_wh == pytest.approx(8000 * 0.75 * 300 / 3600)
    c = hp(t(2026, 1, 15, 12), compressor_active=True)
    d = hp(t(2026, 1, 15, 12, 5), compressor_active=False)
    runtime = choose_heat_method(d, 8.0)
    rt = sampled_interval(c, d, runtime)
    assert rt.method == "runtime" and rt.energy_wh == pytest.approx(8000 * 150 / 3600)
    assert "on/off flag" in rt.detail
    rm = sampled_interval(c, d, runtime, metered=(120.0, 300.0))
    assert rm.energy_wh == pytest.approx(8000 * 120 / 3600) and "(meter)" in rm.detail


def test_zero_seconds_of_metered_running_is_zero_heat_not_unknown() -> None:
    c = hp(t(2026, 1, 15, 12), compressor_active=True, compressor_modulation_pct=60.0)
    d = hp(t(2026, 1, 15, 12, 5), compressor_active=True, compressor_modulation_pct=60.0)
    runtime = choose_heat_method(hp(d.time, compressor_active=True), 8.0)
    assert sampled_interval(c, d, runtime, metered=(0.0, 300.0)).energy_wh == 0.0
    modulation = choose_heat_method(d, 8.0)
    assert sampled_interval(c, d, modulation, metered=(0.0, 300.0)).energy_wh == 0.0
    # the meter covered too little of the interval: the flags stand in, and say so
    partial = sampled_interval(c, d, runtime, metered=(0.0, 100.0))
    assert partial.energy_wh == pytest.approx(8000 * 300 / 3600)
    assert "on/off flag" in partial.detail


def test_snapshot_methods_refuse_gaps_the_metered_runtime_bridges_them() -> None:
    a = hp(t(2026, 1, 15, 12), compressor_active=True)
    b = hp(t(2026, 1, 15, 13), compressor_active=True)
    runtime = choose_heat_method(b, 8.0)
    assert sampled_interval(a, b, runtime, max_gap_s=900) is None
    bridged = sampled_interval(a, b, runtime, metered=(1800.0, 3600.0), max_gap_s=900)
    assert bridged.energy_wh == pytest.approx(8000 * 1800 / 3600)
    m1 = hp(t(2026, 1, 15, 12), compressor_modulation_pct=50.0)
    m2 = hp(t(2026, 1, 15, 13), compressor_modulation_pct=50.0)
    assert sampled_interval(m1, m2, choose_heat_method(m2, 8.0), metered=(1800.0, 3600.0),
                            max_gap_s=900) is None


def test_a_failed_poll_loses_no_metered_running_time() -> None:
    """The heat pump answers at 12:00 and 12:10 (the 12:05 poll failed): the runtime
    estimate asks the meter's ledger for the whole 10 minutes."""
    ledger = RunningLedger()
    start = t(2026, 1, 15, 12)
    for i in range(1, 61):  # the meter every 10 s, running for the first 7 minutes
        ledger.add(start + timedelta(seconds=10 * i), 10.0, 10.0 if i <= 42 else 0.0)
    acct = HeatAccountant(6.0, 300, running=ledger.between)
    acct.add(hp(start, compressor_active=False))
    (point,) = acct.add(hp(start + timedelta(minutes=10), compressor_active=False)).points
    assert point.tags["method"] == "runtime" and point.fields["estimate"] is True
    assert point.fields["energy_wh"] == pytest.approx(6000 * 420 / 3600)
    assert point.fields["duration_s"] == 600.0


def test_a_device_missing_its_heat_counters_once_does_not_switch_method() -> None:
    acct = HeatAccountant(7.0, 300)
    flow = {"flow_l_h": 1000.0, "supply_temp_c": 35.0, "return_temp_c": 30.0,
            "compressor_active": True}
    acct.add(hp(t(2026, 1, 15, 12), summary("heat.heating", 1.0, 10.0, 100.0), **flow))
    gap = acct.add(hp(t(2026, 1, 15, 12, 5), **flow))
    assert [p for p in gap.points if p.measurement == "heat"] == []
    back = acct.add(hp(t(2026, 1, 15, 12, 10), summary("heat.heating", 1.8, 10.8, 100.8),
                       **flow))
    heat = {p.tags["circuit"]: p for p in back.points if p.measurement == "heat"}
    assert heat["heating"].tags["method"] == "counter"
    assert heat["heating"].fields["energy_wh"] == pytest.approx(800.0)


def test_reading_of_a_total_sums_the_circuits_the_device_reports() -> None:
    s = hp(t(2026, 1, 15), {**summary("heat.heating", 1.0, 10.0, 100.0),
                            "heat.dhw.day": 2.0, "heat.dhw.year": 50.0})
    total = reading_of(s, "heat", "total")
    assert total == Reading({"day": 3.0, "year": 150.0}, {"day": s.time, "year": s.time},
                            ("heating", "dhw"))
    assert reading_of(s, "heat", "cooling") is None


def test_a_device_whose_days_are_not_ours_is_reported_once() -> None:
    """Accounting does not need to know, but the owner does: the device's day counter
    restarts at 02:00 (Berlin), not at midnight. Said once, and again when that changes."""
    acct = HeatAccountant(7.0, 300, tz=BERLIN)

    def poll(when: datetime, day: float, year: float) -> list[str]:
        update = acct.add(hp(when, summary("heat.heating", day, 100.0, year)))
        return [d for r, d in update.events if r == "counter_rollover" and "day counter" in d]

    assert poll(t(2026, 1, 15, 23, 55), 30.0, 1000.0) == []
    assert poll(t(2026, 1, 16, 0, 0), 30.3, 1000.3) == []  # our midnight: no restart
    assert poll(t(2026, 1, 16, 1, 55), 31.5, 1001.5) == []
    (late,) = poll(t(2026, 1, 16, 2, 0), 0.1, 1001.7)
    assert late.startswith("heat.heating: the day counter restarted between 2026-01-16 "
                           "00:55 UTC and 2026-01-16 01:00 UTC (02:00 in Europe/Berlin), "
                           "not at midnight of HEATPUMP_TZ")
    assert poll(t(2026, 1, 17, 1, 55), 30.0, 1031.6) == []
    assert poll(t(2026, 1, 17, 2, 0), 0.1, 1031.8) == []  # the same: said already
    assert poll(t(2026, 1, 17, 23, 55), 30.0, 1061.7) == []
    (back,) = poll(t(2026, 1, 18, 0, 0), 0.2, 1061.9)
    assert "restarted at midnight in HEATPUMP_TZ (Europe/Berlin) again" in back


def test_a_restart_after_a_long_gap_says_nothing_about_the_devices_clock() -> None:
    acct = HeatAccountant(7.0, 300, tz=BERLIN)
    acct.add(hp(t(2026, 1, 15, 20), summary("heat.heating", 30.0, 100.0, 1000.0)))
    update = acct.add(hp(t(2026, 1, 16, 3), summary("heat.heating", 0.1, 105.0, 1005.0)))
    assert update.events == []


def test_a_weekly_counter_that_restarts_at_0_is_no_glitch() -> None:
    """A 333-G's only heat counter is the week's; polled just after its Monday restart it
    reads 0.0: a restart (reported as such, 0 kWh since it), not a glitch."""
    acct = HeatAccountant(7.0, 300)
    acct.add(hp(t(2026, 1, 18, 23, 58), {"heat.dhw.week": 10.7}))
    update = acct.add(hp(t(2026, 1, 19, 0, 3), {"heat.dhw.week": 0.0}))
    assert [r for r, _ in update.events] == ["counter_rollover"]
    assert "no last_week to bridge it" in update.events[0][1]
    assert {p.tags["circuit"]: p.fields["energy_wh"] for p in update.points} == \
        {"dhw": 0.0, "total": 0.0}
    later = acct.add(hp(t(2026, 1, 19, 0, 8), {"heat.dhw.week": 0.4}))
    assert {p.tags["circuit"]: p.fields["energy_wh"] for p in later.points} == \
        pytest.approx({"dhw": 400.0, "total": 400.0})


def test_arrays_read_at_other_times_are_not_compared() -> None:
    """Year and day arrays read at different times: the day's later, larger gain is no
    contradiction of the year's."""
    r0, r1, y1 = t(2026, 1, 15, 8), t(2026, 1, 15, 12), t(2026, 1, 15, 9)
    keys = ("electricity.total.day", "electricity.total.year")
    a = hp(t(2026, 1, 15, 12, 5), {keys[0]: 5.0, keys[1]: 900.0}, dict.fromkeys(keys, r0))
    b = hp(t(2026, 1, 15, 12, 10), {keys[0]: 9.0, keys[1]: 901.0},
           {keys[0]: r1, keys[1]: y1})
    s = counter_step(reading_of(a, "electricity", "total"), reading_of(b, "electricity", "total"),
                     CAP)
    assert s.problem is None and s.delta.kwh == pytest.approx(1.0)
    assert (s.delta.start, s.delta.end) == (r0, y1)


def test_the_method_reason_is_worded_in_the_language_it_is_read_in() -> None:
    """Issue 19: `heatpump doctor` says why a heat method in the owner's language; the
    choice itself (made at every poll) holds only the case and its particulars."""
    from heatpump.i18n import using

    now = t(2026, 1, 15, 12)
    mod = choose_heat_method(hp(now, compressor_modulation_pct=40.0), 8.0)
    assert mod.reason == (
        "no heat counter and no flow_l_h, supply_temp_c, return_temp_c sensor: ESTIMATE = "
        "compressor modulation × rated output 8 kW (HEATPUMP_RATED_HEAT_KW); measured "
        "−25 % to +25 % of the real heat across the seasons")
    counter = choose_heat_method(hp(now, {"heat.heating.day": 1.0}), 8.0)
    with using("de"):
        assert mod.reason == (
            "kein Wärmemengenzähler und kein Sensor für flow_l_h, supply_temp_c, "
            "return_temp_c: SCHÄTZUNG = Verdichtermodulation × Nennleistung 8 kW "
            "(HEATPUMP_RATED_HEAT_KW); gemessen −25 % bis +25 % der wirklichen Wärme über die "
            "Jahreszeiten")
        assert counter.reason == ("das Gerät meldet eigene Wärmemengenzähler (heating); so "
                                  "genau wie der Zähler des Geräts")


@pytest.mark.parametrize("counters", [
    {**summary("heat.heating", 1.0, 2.0, 3.0, 4.0), **summary("heat.dhw", 0.5, 1.5, 2.5),
     **summary("electricity.total", 1.0, 1.0, 1.0), "heating_rod.dhw.day": 0.2},
    {**summary("heat.total", 5.0, 6.0, 7.0), **summary("heat.heating", 1.0, 2.0, 3.0)},
    # keys without a period still name their circuit; an empty total is summed
    {"heat.total": 1.0, **summary("heat.dhw", 0.5, 1.5, 2.5), "heat.cooling": 2.0,
     "electricity.heating.day": 1.0, "electricity.dhw.month": 2.0},
    {},
])
def test_counter_families_agree_with_reading_of(counters: dict[str, float]) -> None:
    """Accounting groups a sample's counters once (CounterFamilies); every reading it takes
    is the one `reading_of` gives, in family_circuits' order with the total last when the
    device reports none."""
    s = hp(t(2026, 1, 1, 12), counters,
           {"heat.dhw.year": t(2026, 1, 1, 11), "heat.heating.day": t(2026, 1, 1, 13)})
    families = CounterFamilies(s)
    for kind in ("heat", "electricity", "heating_rod"):
        circuits = family_circuits(s, kind)
        assert families.circuits(kind) == circuits
        expected = {c: reading_of(s, kind, c)
                    for c in (*circuits, *(() if "total" in circuits or not circuits
                                           else ("total",)))}
        assert families.readings(kind) == {c: r for c, r in expected.items() if r is not None}
        assert list(families.readings(kind)) == [c for c, r in expected.items()
                                                 if r is not None]


def test_counter_families_keep_the_grouping_not_the_values() -> None:
    """The grouping is kept per key set (a device reports the same keys at every poll):
    a later sample with the same keys reads its own values and read-at times, in its own
    key order, and one with other keys groups its own."""
    first = hp(t(2026, 1, 1, 12), summary("heat.heating", 1.0, 2.0, 3.0, 4.0))
    second = hp(t(2026, 1, 1, 12, 5), summary("heat.heating", 1.5, 2.5, 3.5, 4.0),
                {"heat.heating.month": t(2026, 1, 1, 11)})
    assert CounterFamilies(first).readings("heat")["heating"] == Reading(
        {"day": 1.0, "month": 2.0, "year": 3.0, "last_month": 4.0},
        dict.fromkeys(("day", "month", "year", "last_month"), first.time))
    got = CounterFamilies(second).readings("heat")["heating"]
    assert got.values == {"day": 1.5, "month": 2.5, "year": 3.5, "last_month": 4.0}
    assert got.times == {**dict.fromkeys(("day", "year", "last_month"), second.time),
                         "month": t(2026, 1, 1, 11)}
    other = hp(t(2026, 1, 1, 12, 10), {"heat.dhw.year": 9.0, "heat.dhw.day": 1.0})
    families = CounterFamilies(other)
    assert families.circuits("heat") == ("dhw",)
    assert list(families.readings("heat")["dhw"].values) == ["year", "day"]
    shuffled = CounterFamilies(hp(t(2026, 1, 1, 12, 15), {
        "heat.cooling.day": 1.0, "heat.dhw.day": 1.0, "heat.total.day": 2.0,
        "electricity.dhw.day": 0.5, "heat.heating.day": 1.0}))
    assert shuffled.circuits("heat") == ("total", "heating", "dhw", "cooling")
    assert shuffled.circuits("electricity") == ("dhw",)
    assert shuffled.circuits("heating_rod") == ()


_finite_kwh = st.floats(min_value=0, max_value=1e5, allow_nan=False)
_any_kwh = st.one_of(_finite_kwh, st.sampled_from([math.nan, math.inf, -math.inf, -0.0,
                                                    0.0, 1.0, 12.0]))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["day", "week", "month", "year", "last_day",
                                        "last_month", "last_year"]), _any_kwh, max_size=7),
       st.dictionaries(st.sampled_from(["day", "week", "month", "year", "last_day",
                                        "last_month", "last_year"]),
                       st.integers(min_value=-600, max_value=3600 * 30)),
       st.floats(min_value=-5.0, max_value=40.0, allow_nan=False),
       st.sampled_from([(), ("heating", "dhw")]))
@example({"day": 1.0, "year": 2.0}, {"day": 600, "year": 600}, -5.0, ())  # rejected
@example({"day": 1.0, "year": math.inf}, {"day": 600, "year": 600}, 14.0, ())
@example({"day": 1.0, "month": 2.0}, {"day": 600}, 14.0, ("heating", "dhw"))
def test_unchanged_counters_take_the_short_way_to_the_same_step(
        values, moved_s, cap_kw, parts) -> None:
    """`counter_step` of a reading with the reference's values skips the rule tables; it
    must come to exactly what the rules give (the coarsest moved counter, nothing gained;
    a cap below zero, no period or none moved, and NaN or infinite values go the long
    way)."""
    from collector.accounting.counters import _by_the_rules

    a = t(2026, 1, 15, 12)
    ref = Reading(dict(values), dict.fromkeys(values, a), parts)
    cur = Reading(dict(values), {p: a + timedelta(seconds=moved_s.get(p, 0)) for p in values},
                  parts)
    try:
        expected = _by_the_rules(ref, cur, cap_kw, "heat.heating")
    except (ValueError, OverflowError) as exc:  # NaN/inf: the rules refuse them
        with pytest.raises(type(exc)):
            counter_step(ref, cur, cap_kw, "heat.heating")
        return
    got = counter_step(ref, cur, cap_kw, "heat.heating")
    assert got == expected
    if got.delta is not None:
        assert math.copysign(1.0, got.delta.kwh) == math.copysign(1.0, expected.delta.kwh)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["day", "month", "year", "last_year"]),
                                st.one_of(st.floats(allow_nan=False, allow_infinity=False,
                                                    width=64),
                                          st.integers(-10**6, 10**6),
                                          st.sampled_from([-0.0, 0.0, 0.1, 0.2])),
                                min_size=1), min_size=1, max_size=3))
def test_a_summed_total_is_the_plain_sum_of_its_circuits(per_circuit) -> None:
    """The total of a device without one (summed from its circuits at every poll, two of
    them unrolled) is exactly round(sum(...), 6) per common period, read at the oldest of
    their times, as the sum of any other number of circuits."""
    from collector.accounting.counters import _summed

    a = t(2026, 1, 15, 12)
    readings = [Reading(v, {k: a + timedelta(minutes=n + len(k)) for k in v})
                for n, v in enumerate(per_circuit)]
    parts = [f"c{n}" for n in range(len(readings))]
    got = _summed([*readings, None], parts)
    keys = set.intersection(*(set(r.values) for r in readings))
    if not keys:
        assert got is None
        return
    assert got is not None and got.parts == tuple(parts)
    for k in keys:
        want = round(sum(r.values[k] for r in readings), 6)
        assert repr(got.values[k]) == repr(want)
        assert got.times[k] == min(r.times[k] for r in readings)


def test_a_state_snapshot_copies_every_field_of_every_family() -> None:
    """The pipeline keeps `copy_state` of the device for its state file while accounting
    goes on changing the families in place: every field must be copied, and the copies
    must not change with the accountant's."""
    import dataclasses

    from collector.accounting.heat import Family, copy_state

    acct = HeatAccountant(7.0, 300, tz=BERLIN)
    a = t(2026, 1, 15, 12)
    acct.add(hp(a, summary("heat.heating", 1.0, 2.0, 3.0, 4.0)))
    st = acct.devices["hp"]
    fam = st.families["heat.heating"]
    fam.glitch_since, fam.stale_since, fam.day_restart = a, a - timedelta(days=2), "off"
    snap = copy_state(st)
    assert snap.sample is st.sample and snap.families.keys() == st.families.keys()
    for name, f in st.families.items():
        copied = snap.families[name]
        assert copied is not f
        assert {x.name: getattr(copied, x.name) for x in dataclasses.fields(Family)} == \
            {x.name: getattr(f, x.name) for x in dataclasses.fields(Family)}
    fam.day_restart = "midnight"
    assert snap.families["heat.heating"].day_restart == "off"
