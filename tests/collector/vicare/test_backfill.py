"""Importing the heat pump's memory: at the collector's start (no extra call) and by
`heatpump backfill` (one guarded call per device), idempotent in the store."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector import backfill_cmd
from heatpump.settings import Settings
from heatpump.store import open_store
from tests.collector.vicare.conftest import Clock, live_settings
from tests.fakes.vicare_cloud import FIXTURES, FakeCloud

FEATURES = "/iot/v2/features/installations/"
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def energy_points(points):
    return [p for p in points if p.measurement == "device_energy"]


def test_the_first_poll_after_a_start_imports_then_once_a_day(cloud: FakeCloud, make_source,
                                                              clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    first = energy_points(source.poll().points)
    assert cloud.count(FEATURES) == 1  # the poll's own answer: no extra call
    assert len(first) == 89
    assert {p.tags["device"] for p in first} == {"7571381681420106-0"}
    clock.advance(300)
    assert energy_points(source.poll().points) == []  # same local day
    clock.now = datetime(2026, 1, 15, 23, 5, tzinfo=UTC)  # 00:05 on the 16th in Berlin
    assert len(energy_points(source.poll().points)) == 89
    assert cloud.count(FEATURES) == 3
    # a restart imports again (same periods, same keys: overwritten, not doubled)
    clock.advance(300)
    assert len(energy_points(make_source().poll().points)) == 89


def run_backfill(settings: Settings) -> int:
    return backfill_cmd.run(argparse.Namespace(), settings)


def stored(settings: Settings) -> list:
    with open_store(settings) as store:
        return store.points("device_energy", *FAR)


def test_backfill_makes_one_guarded_call_per_device_and_never_doubles(
        cloud: FakeCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cloud.add_device("Vitocal250A")
    cloud.add_device("Vitocal222S", gateway="7571381681420107")
    settings = live_settings(cloud, tmp_path / "data")
    assert run_backfill(settings) == 0
    assert cloud.count(FEATURES) == 2
    out = capsys.readouterr()
    assert "one Viessmann API call per heat pump" in out.err
    assert "0 of 1400 used in the last 24 h" in out.err
    assert ("imported 7571381681420107-0 heat (cooling, dhw, heating): 2 days, 2 months, "
            "2 years (since 01.09.2025), the device's own figures") in out.out
    points = stored(settings)
    assert len(points) == 89 + 89
    with open_store(settings) as store:
        calls = store.points("api_call", *FAR)
    assert sum(1 for p in calls if p.tags["kind"] == "features") == 2
    assert run_backfill(settings) == 0
    assert len(stored(settings)) == len(points)  # the same periods overwrite
    assert cloud.count(FEATURES) == 4


def test_backfill_is_refused_when_the_budget_is_spent(cloud: FakeCloud, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cloud.add_device("Vitocal250A")
    settings = live_settings(cloud, tmp_path / "data", VICARE_DAILY_BUDGET="3")
    assert run_backfill(settings) == 1  # login (2 calls) and listing spend the 3
    assert cloud.count(FEATURES) == 0
    err = capsys.readouterr().err
    assert "7571381681420106-0: quota_exhausted" in err
    assert stored(settings) == []


def test_backfill_from_a_dump_costs_nothing_and_is_idempotent(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_mapping({
        "VICARE_DUMP": str(FIXTURES / "Vitocal222S.json"), "HEATPUMP_TZ": "Europe/Berlin",
        "HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    assert run_backfill(settings) == 0
    assert run_backfill(settings) == 0
    points = stored(settings)
    assert len(points) == 89
    year = next(p for p in points if p.tags == {
        "device": "Vitocal222S", "basis": "device", "period": "year", "kind": "electricity",
        "circuit": "total"} and p.fields["period_start"] == "2024-01-01")
    assert year.fields["energy_wh"] == 2152000.0 and year.fields["complete"] is True
    assert year.time == datetime(2023, 12, 31, 23, 0, tzinfo=UTC)
    assert "one Viessmann API call" not in capsys.readouterr().err  # no quota involved


def test_backfill_without_a_heat_pump_says_what_to_set(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    assert run_backfill(settings) == 2
    assert "VICARE_USERNAME" in capsys.readouterr().err


def test_the_command_is_listed() -> None:
    from heatpump.cli import COMMANDS, build_parser

    assert COMMANDS["backfill"] == "collector.backfill_cmd"
    assert "backfill" in build_parser().format_help()



def test_the_backfill_summary_in_german():
    """Issue 19: what `heatpump backfill` imported, in the owner's language."""
    from datetime import UTC, date, datetime

    from collector.backfill_cmd import summary_lines
    from collector.readings import DeviceEnergy
    from heatpump import i18n

    read = datetime(2026, 11, 29, 12, tzinfo=UTC)
    records = [DeviceEnergy("hp1", "electricity", "total", period, start, 1.0, True, read, "f")
               for period, start in (("day", date(2026, 11, 28)), ("day", date(2026, 11, 27)),
                                     ("month", date(2026, 10, 1)), ("year", date(2025, 1, 1)))]
    assert summary_lines(records) == [
        "imported hp1 electricity (total): 2 days, 1 month, 1 year (since 01.10.2026), the "
        "device's own figures"]
    with i18n.using("de"):
        assert summary_lines(records) == [
            "hp1 Strom (total) importiert: 2 Tage, 1 Monat, 1 Jahr (seit 01.10.2026), die "
            "eigenen Zahlen des Geräts"]
