"""A fresh demo store holds the simulated heat pump's memory of the past year (imported by the
collector's first poll), and /jaz shows its monthly device JAZ: exactly the simulator's own
counters, truncated to 0.1 kWh as the device reports them."""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.commands import Context, answer
from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.timeutil import calendar_start, local_midnight_utc
from simhouse.demo_cmd import backfill
from simhouse.house import Simulator

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def trunc(kwh: float) -> float:
    return max(0.0, math.floor(kwh * 10.0 + 1e-6) / 10.0)


def counted(sim: Simulator, series: str, first: date, end: date, settings: Settings) -> float:
    """kWh the simulated device counted for `series` over the local days [first, end),
    truncated as its arrays report it."""
    a, b = (local_midnight_utc(d, settings.tz) for d in (first, end))
    return trunc(sim.device_totals_kwh(b)[series] - sim.device_totals_kwh(a)[series])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings = Settings.from_mapping({
        "HEATPUMP_DATA_DIR": str(tmp_path_factory.mktemp("demo") / "data"),
        "HEATPUMP_TZ": "Europe/Berlin"})
    _, house = backfill(settings, 0.25, 3, [], now=NOW, out=io.StringIO())
    return settings, house.sim


def device_jaz(sim: Simulator, settings: Settings, first: date, end: date) -> tuple[float, float]:
    heat = sum(counted(sim, f"heat.{c}", first, end, settings) for c in ("heating", "dhw"))
    electricity = sum(counted(sim, f"electricity.{c}", first, end, settings)
                      for c in ("heating", "dhw"))
    return round(heat, 1), round(electricity, 1)


def test_the_months_of_the_past_year_are_the_simulators_counters(demo):
    settings, sim = demo
    with open_store(settings, demo=True) as store:
        points = store.points("device_energy", *FAR, {"period": "month"})
    stored = {(p.tags["kind"], p.tags["circuit"], p.fields["period_start"]): p for p in points}
    # 13 months for heat (heating, dhw) and electricity (total, heating, dhw)
    assert len(stored) == 13 * 5
    for back in range(1, 13):  # the complete months, January 2025 to December 2025
        first = calendar_start("month", date(2026, 1, 15), back)
        end = calendar_start("month", first, -1)
        for kind, circuit in (("heat", "heating"), ("heat", "dhw"),
                              ("electricity", "heating"), ("electricity", "dhw")):
            p = stored[(kind, circuit, first.isoformat())]
            assert p.fields["energy_wh"] == pytest.approx(
                counted(sim, f"{kind}.{circuit}", first, end, settings) * 1000, abs=1e-6)
            assert p.fields["complete"] is True
            assert p.time == local_midnight_utc(first, settings.tz)
    january = stored[("heat", "heating", "2026-01-01")]
    assert january.fields["complete"] is False


def test_jaz_shows_the_device_jaz_of_each_month_of_the_past_year(demo):
    settings, sim = demo
    with open_store(settings, demo=True) as store:
        ctx = Context(store, settings, lambda: NOW)
        year = answer("/jaz 2025", ctx).text.splitlines()
        last_12 = answer("/jaz 12m", ctx).text.splitlines()
    heat, electricity = device_jaz(sim, settings, date(2025, 1, 1), date(2026, 1, 1))
    assert year[-3] == ("the heat pump's own figures (from its memory, not metered; its "
                        "electricity leaves out what the meter counts besides):")
    assert year[-2] == (f"  JAZ {heat / electricity:.2f} = {heat:,.0f} kWh heat / "
                        f"{electricity:,.0f} kWh electricity (device), year 2025")
    months = []
    for m in range(1, 13):
        first = date(2025, m, 1)
        h, e = device_jaz(sim, settings, first, calendar_start("month", first, -1))
        months.append(f"{m:02d}.2025 {h / e:.2f}")
    assert year[-1] == "  per month: " + " · ".join(months)
    assert 2.5 < heat / electricity < 5.5
    # the last 12 months (16.01.2025 – today): February to December 2025 are whole
    assert last_12[-1] == "  per month: " + " · ".join(months[1:])
    assert last_12[0] == "JAZ last 12 months (16.01.2025 – today)"
    # the metered figure stays the meter's: 6 hours of the demo, not a year
    assert "covers <1% of the period" in "\n".join(last_12)


def test_the_device_figures_are_not_in_the_metered_sums(demo):
    settings, _ = demo
    with open_store(settings, demo=True) as store:
        heat = store.points("heat", NOW - timedelta(days=400), NOW)
    assert heat and min(p.time for p in heat) >= NOW - timedelta(hours=7)
