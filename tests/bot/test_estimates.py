"""/jaz and /status name an estimate's measured band, and /jaz its rated output and where
that comes from (HEATPUMP_RATED_HEAT_KW or the heat pump's own figure), through
bot.commands.answer over a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import Context, answer
from heatpump.estimates import band_text
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore

NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


def hours_of_data(store: SQLiteStore, method: str, device_kw: float | None = None) -> None:
    """The last 10 complete hours: 1 kWh from the meter, 3 kWh of heat by `method`."""
    end = NOW.replace(minute=0)
    points = []
    for i in range(10):
        t = end - i * H - timedelta(seconds=1)
        points.append(Point("electricity", t, {"energy_wh": 1000.0, "duration_s": 3600.0},
                            {"device": "m", "source": "meter", "circuit": "total"}))
        points.append(Point("heat", t, {"energy_wh": 3000.0, "duration_s": 3600.0,
                                        "estimate": method in ("modulation", "runtime")},
                            {"device": "hp", "method": method, "circuit": "total"}))
    values: dict = {"outside_temp_c": 2.0}
    if device_kw is not None:
        values["device_rated_heat_kw"] = device_kw
    points.append(Point("heatpump", end - timedelta(minutes=3), values, {"device": "hp"}))
    store.write(points)
    store.flush()


def ask(tmp_path, text: str, method: str, device_kw: float | None = None, **env: str) -> str:
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path), **env})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        hours_of_data(store, method, device_kw)
        return answer(text, Context(store, s, lambda: NOW)).text


def test_a_runtime_estimate_states_its_band_and_the_setting(tmp_path) -> None:
    text = ask(tmp_path, "/jaz today", "runtime", HEATPUMP_RATED_HEAT_KW="7")
    assert "heat ESTIMATED from compressor runtime and rated output" in text
    line = next(x for x in text.splitlines() if x.startswith("runtime estimate"))
    assert line.startswith("runtime estimate: rated output 7 kW (HEATPUMP_RATED_HEAT_KW); "
                           f"measured {band_text('runtime')} of the real heat")
    assert "not a JAZ" in line


def test_a_modulation_estimate_names_the_devices_own_rated_output(tmp_path) -> None:
    text = ask(tmp_path, "/jaz today", "modulation", device_kw=10.0)
    assert ("modulation estimate: rated output 10 kW (the heat pump's own figure, "
            f"heating.compressors.0.power); measured {band_text('modulation')} of the real "
            "heat" in text)


def test_the_setting_wins_over_the_devices_figure(tmp_path) -> None:
    text = ask(tmp_path, "/jaz today", "modulation", device_kw=10.0,
               HEATPUMP_RATED_HEAT_KW="8")
    assert "rated output 8 kW (HEATPUMP_RATED_HEAT_KW)" in text and "10 kW" not in text


def test_flow_states_its_band_and_counters_say_nothing_extra(tmp_path) -> None:
    flow = ask(tmp_path / "f", "/jaz today", "flow")
    assert f"flow method: measured {band_text('flow')} of the real heat" in flow
    assert "rated output" not in flow
    counter = ask(tmp_path / "c", "/jaz today", "counter")
    assert "of the real heat" not in counter and "rated output" not in counter


@pytest.mark.parametrize("method", ["runtime", "modulation"])
def test_status_shows_the_band_beside_estimated_heat(tmp_path, method) -> None:
    text = ask(tmp_path, "/status", method, HEATPUMP_RATED_HEAT_KW="7")
    today = next(x for x in text.splitlines() if x.startswith("today:"))
    assert f"(estimated: {method} {band_text(method)})" in today
