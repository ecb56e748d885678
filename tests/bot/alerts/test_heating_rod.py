"""The heating rod alert (bot/alerts/rules.py, heating_rod_rule): a day above the energy or
runtime limit, or rod heating in mild weather, raises with the energy used; a day within
the limits resolves it; hot-water hygiene runs in mild weather stay quiet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alert_data import DayStats, Snapshot
from bot.alerts.engine import empty_state, evaluate
from bot.alerts.rules import heating_rod_rule
from bot.alerts.service import AlertService
from heatpump.settings import Settings
from tests.bot.alerts.house import House

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2026, 1, 11)
NOW = datetime(2026, 1, 12, 7, 0, tzinfo=TZ).astimezone(UTC)


def judge(day: DayStats, cfg: Settings | None = None):
    (f,) = heating_rod_rule(Snapshot(NOW, days=(day,)), cfg or Settings(), (), {})
    return f.verdict, f.facts.get("reasons")


def test_more_than_the_daily_energy_raises() -> None:
    assert judge(DayStats(DAY, rod_wh=5100.0, outside_temp_c=-8.0)) == ("raise", ["energy"])
    assert judge(DayStats(DAY, rod_wh=4900.0, outside_temp_c=-8.0)) == ("clear", [])
    assert judge(DayStats(DAY, rod_wh=9000.0, outside_temp_c=-8.0),
                 Settings(alert_rod_kwh_per_day=0)) == ("clear", [])


def test_a_longer_runtime_than_allowed_raises() -> None:
    day = DayStats(DAY, rod_wh=None, rod_running_s=3 * 3600 + 60, outside_temp_c=-8.0)
    assert judge(day) == ("raise", ["runtime"])
    assert judge(day, Settings(alert_rod_hours_per_day=4)) == ("clear", [])


def test_rod_heating_in_mild_weather_raises_but_a_hygiene_run_does_not() -> None:
    heating = DayStats(DAY, rod_wh=800.0, rod_heating_wh=600.0, outside_temp_c=6.5)
    assert judge(heating) == ("raise", ["mild"])
    off = Settings.from_mapping({"ALERT_ROD_MILD_C": "off"})
    assert off.alert_rod_mild_c is None and judge(heating, off) == ("clear", [])
    assert Settings.from_mapping({"ALERT_ROD_MILD_C": ""}).alert_rod_mild_c == 5.0
    assert judge(DayStats(DAY, rod_wh=800.0, rod_heating_wh=600.0, outside_temp_c=4.9)) \
        == ("clear", [])
    hygiene = DayStats(DAY, rod_wh=2500.0, rod_heating_wh=0.0, outside_temp_c=12.0)
    assert judge(hygiene) == ("clear", [])


def test_no_rod_figures_no_finding_and_an_old_day_holds() -> None:
    assert heating_rod_rule(Snapshot(NOW, days=(DayStats(DAY, heat_wh=1.0),)), Settings(),
                            (), {}) == []
    old = DayStats(DAY - timedelta(days=5), rod_wh=9000.0)
    (f,) = heating_rod_rule(Snapshot(NOW, days=(old,), today=DAY + timedelta(days=1)),
                            Settings(), (), {})
    assert f.verdict == "hold"


def test_raised_with_the_energy_then_resolved() -> None:
    stuck = DayStats(DAY, rod_wh=14200.0, rod_running_s=5 * 3600.0, rod_estimated=True,
                     outside_temp_c=-2.0)
    state, notes = evaluate(Snapshot(NOW, days=(stuck,)), empty_state(), Settings(), TZ)
    assert [n.text for n in notes] == [
        "🔥 Heating rod on Sun 11 Jan: 14.2 kWh of electricity (estimated from its running "
        "time), ran 5.0 h; more than 5 kWh a day (ALERT_ROD_KWH_PER_DAY); longer than 3 h a "
        "day (ALERT_ROD_HOURS_PER_DAY). Every kWh of rod heat costs about three times what "
        "the heat pump needs for it. Check whether the rod was switched on by hand or by a "
        "screed-drying or hygiene program, the bivalence temperature, and whether the heat "
        "pump itself reports a fault."]
    fine = DayStats(DAY + timedelta(days=1), rod_wh=0.0, outside_temp_c=-1.0)
    _, notes = evaluate(Snapshot(NOW + timedelta(days=1), days=(stuck, fine)), state,
                        Settings(), TZ)
    assert [(n.kind, n.event, n.text) for n in notes] == [
        ("heating_rod", "resolved", "✅ The heating rod is back within limits: Mon 12 Jan "
         "0.0 kWh.")]


def test_a_stuck_rod_in_the_store_alerts(store, tmp_path) -> None:
    """Over a real store: the rod's electricity (source=heating_rod) of yesterday, 1 kWh
    an hour for heating."""
    end = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
    midnight = datetime(2026, 1, 19, 0, 0, tzinfo=TZ).astimezone(UTC)
    House(end - timedelta(days=3), end, rod_from=midnight, rod_wh_per_h=1000.0).write(store)
    cfg = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                 "HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    notes = AlertService(cfg, store, now=lambda: end).check()
    (rod,) = [n for n in notes if n.kind == "heating_rod"]
    assert rod.event == "raised"
    assert rod.text.startswith("🔥 Heating rod on Mon 19 Jan: 24.0 kWh of electricity; more "
                               "than 5 kWh a day (ALERT_ROD_KWH_PER_DAY)"), rod.text
