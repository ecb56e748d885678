"""The alert defaults, calibrated on the simulator (docs/alerts.md): a healthy house stays
quiet over a whole year, cold and mild, while its faults still raise their alerts.

A year through the real collector takes minutes, so the year is judged from the simulator's
exact daily figures (heat, electricity, compressor runtime and starts, mean outdoor
temperature: what `bot.store_reads.complete_days` reads from a store), with the real rule
engine checking every morning. Two short demo runs through the real collector, a cold week
in January and mild days in late May on which the old short-cycling default fired, show
that the days the bot reads from a store are those figures, and stay quiet too.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

import bot.alerts.rules as rules
from bot import store_reads
from bot.alert_data import DayStats, Snapshot
from bot.alerts.engine import empty_state, evaluate
from bot.alerts.replay import replay
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill
from simhouse.house import CopDrop, HeatPumpModel, Scenario, Simulator

TZ = ZoneInfo("Europe/Berlin")
FIRST = date(2025, 12, 1)
# the short-cycling heat pump: a 2-minute minimum run, 0.1 K hysteresis and a lowest output
# of 60 % (an oversized unit badly set up)
SHORT_CYCLING = HeatPumpModel(min_run_min=2, min_off_min=5, hysteresis_k=0.1,
                              min_modulation=0.6)


def _midnight_utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(UTC)


def simulated_days(seed: int, first: date, n: int, scenarios: tuple[Scenario, ...] = (),
                   heat_pump: HeatPumpModel | None = None) -> list[DayStats]:
    """The simulator's exact figures of `n` local days from `first`."""
    sim = Simulator(seed, _midnight_utc(first) - timedelta(days=1), TZ, scenarios=scenarios,
                    heat_pump=heat_pump)
    out = []
    for i in range(n):
        d = first + timedelta(days=i)
        m = sim.minutes(_midnight_utc(d), _midnight_utc(d + timedelta(days=1)))
        t = Simulator.truth_of(m)
        out.append(DayStats(d, heat_wh=t.heat_wh, electricity_wh=t.electricity_wh,
                            running_s=t.compressor_running_s, starts=t.compressor_starts,
                            outside_temp_c=float(np.mean(m["outdoor_c"])), coverage=1.0))
    return out


def every_morning(days: list[DayStats], cfg: Settings) -> list[tuple[date, str, str]]:
    """(day checked, kind, event) of every message a bot checking at 07:00 would send."""
    state = empty_state()
    sent = []
    for i, d in enumerate(days):
        today = d.day + timedelta(days=1)
        now = datetime(today.year, today.month, today.day, 7, tzinfo=TZ).astimezone(UTC)
        snap = Snapshot(now, days=tuple(days[max(0, i - 50):i + 1]), today=today)
        state, notes = evaluate(snap, state, cfg, TZ)
        sent += [(today, n.kind, n.event) for n in notes]
    return sent


def raised(sent: list[tuple[date, str, str]]) -> list[tuple[str, str]]:
    return [(d.isoformat(), kind) for d, kind, event in sent if event == "raised"]


@pytest.fixture(scope="module")
def healthy_years() -> dict[int, list[DayStats]]:
    return {seed: simulated_days(seed, FIRST, 365) for seed in (1, 2, 3)}


def test_a_healthy_year_raises_nothing(healthy_years):
    for seed, days in healthy_years.items():
        assert every_morning(days, Settings()) == [], seed
    worst = max(d.starts / (d.running_s / 3600) for days in healthy_years.values()
                for d in days if d.running_s >= 3 * 3600)
    assert 3.5 < worst < 0.8 * Settings().alert_short_cycle_starts_per_h  # 3.9: runs of 15 min


def test_the_old_defaults_were_too_eager(healthy_years, monkeypatch):
    """Without the new defaults the same healthy year alerts: 3 starts per runtime hour on
    mild days, and a COP line extrapolated 8 K into spring."""
    old = raised(every_morning(healthy_years[1], Settings(alert_short_cycle_starts_per_h=3)))
    assert len(old) >= 10 and {kind for _, kind in old} == {"short_cycle"}
    monkeypatch.setattr(rules, "EXTRAPOLATE_WARM_K", 8.0)
    assert raised(every_morning(healthy_years[3], Settings())) == [("2026-04-28", "cop_drop")]


@pytest.mark.parametrize(("month", "first_alert"), [(1, "2026-01-13"), (4, "2026-04-13")])
def test_a_cop_drop_raises_once_in_winter_and_in_spring(month, first_alert):
    at = _midnight_utc(date(2026, month, 10))
    drop = CopDrop(at, 0.75, at + timedelta(days=10))
    sent = every_morning(simulated_days(1, FIRST, 170, scenarios=(drop,)), Settings())
    assert raised(sent) == [(first_alert, "cop_drop")]
    assert [e for _, kind, e in sent if kind == "cop_drop"][-1] == "resolved"


def test_a_short_cycling_heat_pump_raises():
    days = simulated_days(1, date(2026, 3, 20), 30, heat_pump=SHORT_CYCLING)
    sent = every_morning(days, Settings())
    assert raised(sent) == [("2026-03-21", "short_cycle"), ("2026-03-31", "short_cycle")]


@pytest.mark.parametrize(("now", "days"), [
    (datetime(2026, 1, 16, 5, 0, tzinfo=UTC), 4),  # a cold week's end: -5..+3 °C
    (datetime(2026, 5, 30, 5, 0, tzinfo=UTC), 4),  # mild days the old default hit (3.7/h)
])
def test_the_real_collector_reads_the_same_days_and_stays_quiet(tmp_path, now, days):
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                               "HEATPUMP_TZ": "Europe/Berlin"})
    summary, house = backfill(s, days, 1, [], now=now, out=io.StringIO())
    with open_store(s, demo=True) as store:
        measured = store_reads.complete_days(store, summary.end, TZ, days)
        sent = replay(store, s, summary.start + timedelta(days=1), summary.end,
                      timedelta(hours=1))
        assert [n.text for _, n in sent] == []
        old = replay(store, Settings.from_mapping({
            "HEATPUMP_DATA_DIR": str(tmp_path / "data"), "HEATPUMP_TZ": "Europe/Berlin",
            "ALERT_SHORT_CYCLE_STARTS_PER_H": "3"}), summary.start + timedelta(days=1),
            summary.end, timedelta(hours=1))
    whole = [d for d in measured if _midnight_utc(d.day) >= summary.start]
    assert len(whole) >= days - 2
    for d in whole:
        truth = house.sim.truth(_midnight_utc(d.day), _midnight_utc(d.day + timedelta(days=1)))
        assert d.starts == truth.compressor_starts, d.day
        assert d.running_s == pytest.approx(truth.compressor_running_s, abs=600), d.day
        assert d.coverage == 1.0
    if now.month == 5:  # the old limit would have fired on these days
        assert [n.kind for _, n in old if n.event == "raised"] == ["short_cycle"]
