"""The heat pump's own JAZ (bot/device_basis.py) and how /jaz shows it: labelled as the
device's, below the metered figure, never mixed into it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.commands import Context, answer
from bot.device_basis import DeviceRecord, device_jaz_lines, pair_periods, within
from collector.points import device_energy_points
from collector.vicare.history import device_history
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.vicare_cloud import fixture

NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)
HEADER = ("the heat pump's own figures (from its memory, not metered; its electricity "
          "leaves out what the meter counts besides):")


def rec(kind: str, circuit: str, period: str, start: date, kwh: float,
        complete: bool = True, device: str = "hp") -> DeviceRecord:
    return DeviceRecord(device, kind, circuit, period, start, kwh * 1000, complete)


def month(kind_kwh: dict[str, float], start: date, complete: bool = True,
          device: str = "hp") -> list[DeviceRecord]:
    """Records of one month: keys "heat.heating", "electricity.dhw", ..."""
    return [rec(*key.split("."), "month", start, kwh, complete, device)
            for key, kwh in kind_kwh.items()]


FULL = {"heat.heating": 300.0, "heat.dhw": 100.0, "electricity.heating": 75.0,
        "electricity.dhw": 45.0, "heat.total": 999.0, "electricity.total": 1.0}


def test_heating_and_hot_water_pair_before_the_totals():
    (j,) = pair_periods(month(FULL, date(2025, 1, 1)))
    assert (j.heat_wh, j.electricity_wh, j.circuits) == (400_000.0, 120_000.0,
                                                         ("heating", "dhw"))
    assert j.ratio == pytest.approx(400 / 120)
    assert j.end == date(2025, 2, 1)


def test_totals_pair_when_the_circuits_do_not():
    records = month({"heat.total": 500.0, "electricity.total": 125.0, "heat.heating": 1.0},
                    date(2025, 2, 1))
    (j,) = pair_periods(records)
    assert (j.heat_wh, j.electricity_wh, j.circuits) == (500_000.0, 125_000.0, ("total",))


def test_no_figure_for_an_unfinished_period_or_without_electricity():
    unfinished = month(FULL, date(2025, 3, 1), complete=False)
    before_install = month({"heat.total": 0.0, "electricity.total": 0.0}, date(2024, 3, 1))
    one_side = month({"heat.heating": 300.0, "heat.dhw": 100.0}, date(2024, 4, 1))
    assert pair_periods(unfinished + before_install + one_side) == []


def test_the_coarsest_periods_inside_are_chosen():
    records = [*month(FULL, date(2025, 12, 1)), *month(FULL, date(2026, 1, 1)),
               rec("heat", "total", "year", date(2025, 1, 1), 5000.0),
               rec("electricity", "total", "year", date(2025, 1, 1), 1250.0),
               *(rec(k, "total", "day", date(2026, 2, d), kwh)
                 for d in (1, 2) for k, kwh in (("heat", 40.0), ("electricity", 10.0)))]
    chosen = within(pair_periods(records), date(2025, 1, 1), date(2026, 3, 1))
    assert [(j.period, j.start) for j in chosen] == [
        ("year", date(2025, 1, 1)), ("month", date(2026, 1, 1)), ("day", date(2026, 2, 1)),
        ("day", date(2026, 2, 2))]
    # a period only partly inside is left out
    assert within(pair_periods(records), date(2025, 12, 2), date(2026, 2, 1)) == [
        pair_periods(records)[2]]


def test_lines_give_the_figure_and_each_month():
    records = [*month(FULL, date(2025, 11, 1)), *month(FULL, date(2025, 12, 1)),
               *month({**FULL, "heat.heating": 180.0}, date(2026, 1, 1))]
    assert device_jaz_lines(records, date(2025, 11, 1), date(2026, 2, 1)) == [
        HEADER,
        "  JAZ 3.00 = 1,080 kWh heat / 360 kWh electricity (device), 3 months with both "
        "figures, 01.11.2025–31.01.2026",
        "  per month: 11.2025 3.33 · 12.2025 3.33 · 01.2026 2.33"]
    assert device_jaz_lines(records, date(2025, 12, 1), date(2026, 1, 1), "COP") == [
        HEADER, "  COP 3.33 = 400 kWh heat / 120 kWh electricity (device), month 12.2025"]
    assert device_jaz_lines(records, date(2026, 2, 1), date(2026, 3, 1)) == []


def test_two_heat_pumps_are_named():
    records = [*month(FULL, date(2025, 11, 1), device="a"),
               *month({**FULL, "electricity.dhw": 5.0}, date(2025, 11, 1), device="b")]
    assert device_jaz_lines(records, date(2025, 11, 1), date(2025, 12, 1)) == [
        HEADER,
        "  a: JAZ 3.33 = 400 kWh heat / 120 kWh electricity (device), month 11.2025",
        "  b: JAZ 5.00 = 400 kWh heat / 80.0 kWh electricity (device), month 11.2025"]


@pytest.fixture
def console(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp_path)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        yield Context(store, s, lambda: NOW)


def imported(ctx: Context, dump: str) -> None:
    records = device_history(fixture(dump)["data"], "7571381681420106-0", ctx.settings.tz)
    ctx.store.write(device_energy_points(records, ctx.settings.tz))
    ctx.store.flush()


def test_jaz_shows_last_years_device_figure_on_a_store_without_meter_data(console):
    imported(console, "Vitocal250A.json")
    # lastYear of the heat summaries over year[1] of the electricity arrays
    assert answer("/jaz 2024", console).text.splitlines() == [
        "JAZ year 2024", "JAZ: no data in this period", HEADER,
        "  JAZ 4.00 = 21,376 kWh heat / 5,346 kWh electricity (device), year 2024"]
    # September 2025: lastMonth of the summaries over month[1] of the arrays
    assert answer("/jaz 2025-09", console).text.splitlines()[-2:] == [
        HEADER, "  COP 4.70 = 573 kWh heat / 122 kWh electricity (device), month 09.2025"]
    # October 2025 was not over when the device read it: no figure
    assert HEADER not in answer("/jaz 2025-10", console).text


def test_a_device_without_heat_memory_adds_nothing(console):
    imported(console, "Vitocal200S_E8NEV.json")  # electricity arrays only
    assert answer("/jaz 2023-02", console).text.splitlines() == [
        "COP February 2023", "COP: no data in this period"]
