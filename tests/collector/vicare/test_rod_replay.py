"""`heatpump replay` of the real dumps that report a heating rod, as the bot shows it:
/status gives the rod's state and today's rod electricity, /jaz the rod's electricity of
the period (the counters of the 222-S and 250-A; the 333-G's running time per level)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import Context, answer
from collector.replay_cmd import replay
from collector.summary import format_run_summary, run_summary
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.vicare_cloud import fixture

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
POLLS = 25  # two hours, every 5 minutes


def _set(body: dict, feature: str, **props: float) -> None:
    f = next(f for f in body["data"] if f["feature"] == feature)
    for prop, value in props.items():
        f["properties"][prop]["value"] = round(value, 1) if isinstance(value, float) else value


def _folder(tmp_path: Path, dump: str, change) -> Path:
    folder = tmp_path / dump
    folder.mkdir()
    for i in range(POLLS):
        body = fixture(f"{dump}.json")
        change(body, i)
        name = (T0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H-%M-%SZ")
        (folder / f"{name}.json").write_text(json.dumps(body))
    return folder


def _run(tmp_path: Path, folder: Path, **env: str) -> tuple[str, str, str]:
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                      "HEATPUMP_TZ": "Europe/Berlin", **env})
    into = tmp_path / "replay"
    start, end, _ = replay(folder, settings, into)
    now = T0 + timedelta(hours=3, minutes=10)  # every interval in a complete hour
    with SQLiteStore(into / "heatpump.sqlite3", settings.tz) as store:
        ctx = Context(store, settings, lambda: now)
        summary = format_run_summary(run_summary(store, start, end, settings.tz), settings.tz)
        return answer("/status", ctx).text, answer("/jaz today", ctx).text, summary


@pytest.mark.parametrize("dump", ["Vitocal222S", "Vitocal250A"])
def test_the_rods_counters_in_status_and_jaz(dump: str, tmp_path: Path) -> None:
    """A hot-water hygiene run: the rod's dhw counters gain 0.1 kWh per poll (2.4 kWh over
    24 intervals), its heating counters stand still."""
    def change(body: dict, i: int) -> None:
        f = "heating.heatingRod.power.consumption.summary.dhw"
        base = next(x for x in body["data"] if x["feature"] == f)["properties"]
        _set(body, f, currentDay=base["currentDay"]["value"] + 0.1 * i,
             currentMonth=base["currentMonth"]["value"] + 0.1 * i,
             currentYear=base["currentYear"]["value"] + 0.1 * i)
    status, jaz, summary = _run(tmp_path, _folder(tmp_path, dump, change))
    assert "  heating rod (its own):         2.400 kWh electricity\n" in summary, summary
    assert "🔥 heating rod ON" in status, status
    assert "today: heating rod 2.4 kWh (as the heat pump reports it)" in status, status
    assert "heating rod: 2.4 kWh electricity in this period (as the heat pump reports it)" \
        in jaz, jaz


def test_the_333g_rods_runtime_times_its_power(tmp_path: Path) -> None:
    """Level one for 120 s per poll: 24 × 120 s × 3 kW = 2.4 kWh, estimated."""
    def change(body: dict, i: int) -> None:
        _set(body, "heating.heatingRod.runtime", levelOne=815476 + 120 * i)
    folder = _folder(tmp_path, "Vitocal333G-with-Vitovent300F", change)
    status, jaz, summary = _run(tmp_path, folder, HEATPUMP_HEATING_ROD_KW="3,6")
    assert "  heating rod (its own):         2.400 kWh electricity (estimated from its " \
        "running time)" in summary, summary
    assert "🔥 heating rod off" in status, status
    assert "today: heating rod 2.4 kWh (estimated from its running time)" in status, status
    assert "heating rod: 2.4 kWh electricity in this period" in jaz, jaz


def test_the_333g_rods_runtime_without_its_power(tmp_path: Path) -> None:
    def change(body: dict, i: int) -> None:
        _set(body, "heating.heatingRod.runtime", levelOne=815476 + 120 * i)
    folder = _folder(tmp_path, "Vitocal333G-with-Vitovent300F", change)
    status, jaz, summary = _run(tmp_path, folder)
    assert "heating rod" not in summary  # its energy is not known: no line, never 0
    assert "today: heating rod ran 48 min (its electricity is not known: set " \
        "HEATPUMP_HEATING_ROD_KW)" in status, status
    assert "heating rod: ran 48 min, its electricity is not known" in jaz, jaz
