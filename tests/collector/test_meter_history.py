"""`heatpump backfill` imports the meter's own per-minute records from before the collector's
first reading (collector/meter_history.py): from the simulated Pro 3EM through the real
client and records reader into the store; exact against the simulator's truth, idempotent,
resumable, and bounded by the collector's own data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector import backfill_cmd
from collector.meter_history import CHUNK, import_meter_records
from collector.points import electricity_point
from collector.shelly.client import ShellyClient
from collector.shelly.transport import AnswerTransport
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import simulated_house
from simhouse.scenarios import build_setup

NOW = datetime(2026, 1, 15, 12, 0, 30, tzinfo=UTC)
FIRST = datetime(2026, 1, 13, 12, 0, tzinfo=UTC)  # the simulator (and the records) start
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


class Meter:
    """The simulated meter behind the real client; counts (and can break) GetData asks."""

    def __init__(self, model: str = "pro3em"):
        self.settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin"})
        self.house = simulated_house(self.settings, FIRST + timedelta(days=1),
                                     build_setup([], NOW, model), 5, lambda: NOW, model)
        self.asked: list[str] = []
        self.fail_after: int | None = None

    def answer(self, path: str) -> tuple[int, Any]:
        if "GetData" in path:
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise ConnectionError("the meter went away")
            self.asked.append(path)
        return self.house.shelly.answer(path)

    def client(self) -> ShellyClient:
        return ShellyClient("sim://meter", channel="",
                            transport=AnswerTransport(self.answer, "sim://meter"))


def settings_in(tmp_path) -> Settings:
    return Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                  "SHELLY_URL": "http://127.0.0.1:9", "HEATPUMP_TZ": "UTC"})


def backfill(settings: Settings, meter: Meter) -> int:
    return backfill_cmd.meter_records(settings, meter.client(), now=NOW)


def stored(settings: Settings) -> dict[datetime, dict[str, Any]]:
    with open_store(settings) as store:
        return {p.time: dict(p.fields) for p in store.points("electricity", *FAR,
                                                            {"source": "meter"})}


def test_the_meters_memory_is_imported_minute_by_minute_as_it_measured(tmp_path, capsys):
    settings, meter = settings_in(tmp_path), Meter()
    assert backfill(settings, meter) == 0
    minutes = stored(settings)
    assert min(minutes) == FIRST and max(minutes) == datetime(2026, 1, 15, 11, 59, tzinfo=UTC)
    assert len(minutes) == 2 * 1440
    sim = meter.house.sim
    for m in list(minutes)[::97]:  # every 97th minute against the simulator's truth
        truth = sim.truth(m, m + timedelta(minutes=1)).electricity_wh
        assert minutes[m]["energy_wh"] == pytest.approx(truth, abs=0.011)
    for f in minutes.values():  # marked as from the meter's memory; no counter, no runtime
        assert f["filled_wh"] == f["energy_wh"] and f["duration_s"] == 60.0
        assert "counter_wh" not in f and "running_s" not in f and "bridged_wh" not in f
    total = sum(f["energy_wh"] for f in minutes.values())
    truth = sim.truth(FIRST, datetime(2026, 1, 15, 12, 0, tzinfo=UTC)).electricity_wh
    assert total == pytest.approx(truth, abs=1.0)  # 2880 minutes x 3 phases, 4 decimals
    out = capsys.readouterr().out
    assert (f"imported meter shellypro3em-aabbccddee01: 2880 minutes, {total / 1000:.1f} kWh "
            "(13.01.2026 12:00 – 15.01.2026 12:00 UTC), from the meter's own records") in out


def test_a_second_run_imports_nothing_again(tmp_path, capsys):
    settings, meter = settings_in(tmp_path), Meter()
    assert backfill(settings, meter) == 0
    first = stored(settings)
    meter.asked.clear()
    assert backfill(settings, meter) == 0
    assert meter.asked == []  # not even read again
    assert stored(settings) == first
    assert "its records are imported already" in capsys.readouterr().out


def test_an_interrupted_import_continues_where_it_stopped(tmp_path, capsys):
    whole = settings_in(tmp_path / "whole")
    assert backfill(whole, Meter()) == 0
    settings, meter = settings_in(tmp_path / "broken"), Meter()
    meter.fail_after = 7  # the meter goes away in the third 6-hour span
    assert backfill(settings, meter) == 1
    err = capsys.readouterr().err
    assert "the meter went away" in err and "run it again to continue" in err
    part = stored(settings)
    assert max(part) == FIRST + 2 * CHUNK - timedelta(minutes=1)  # two whole spans kept
    meter.fail_after, meter.asked = None, []
    assert backfill(settings, meter) == 0
    resumed = int((FIRST + 2 * CHUNK).timestamp())
    assert meter.asked[0].startswith(f"/rpc/EMData.GetData?id=0&ts={resumed}&")
    assert stored(settings) == stored(whole)  # the same as one uninterrupted run


def test_the_import_stops_at_the_collectors_own_first_reading(tmp_path):
    settings, meter = settings_in(tmp_path), Meter()
    own = datetime(2026, 1, 14, 9, 17, tzinfo=UTC)
    with open_store(settings) as store:  # the collector's first minute: it has a counter
        store.write([electricity_point(own, "shellypro3em-aabbccddee01", "meter", "total",
                                       {"counter_wh": 123456.0})])
    assert backfill(settings, meter) == 0
    minutes = stored(settings)
    assert max(m for m in minutes if m != own) == own - timedelta(minutes=1)
    assert minutes[own] == {"counter_wh": 123456.0}  # the collector's minute untouched
    assert len(minutes) == int((own - FIRST) / timedelta(minutes=1)) + 1


def test_a_meter_without_records_has_nothing_to_import(tmp_path, capsys):
    settings = settings_in(tmp_path)
    assert backfill(settings, Meter("plus1pm")) == 0
    assert "keeps no energy records; nothing to import" in capsys.readouterr().out
    assert stored(settings) == {}


def test_progress_is_reported_per_span(tmp_path):
    meter = Meter()
    seen: list[tuple[int, int]] = []
    writes: list[int] = []
    with open_store(settings_in(tmp_path)) as store:
        done = import_meter_records(meter.client(), store,
                                    lambda points: writes.append(len(points)), NOW,
                                    _append(seen))
    assert done.minutes == 2880
    assert seen == [(360 * i, 2880) for i in range(1, 9)]
    assert writes == [360] * 8


def _append(seen: list[tuple[int, int]]) -> Callable[[int, int], None]:
    return lambda done, total: seen.append((done, total))


def test_each_meter_of_shelly_meters_is_imported_with_its_role(tmp_path):
    """With several meters, backfill's minutes carry the meter's role tag as the collector's
    own do (collector.points.with_role); the one meter's stay untagged."""
    settings = Settings.from_mapping({
        "HEATPUMP_DATA_DIR": str(tmp_path / "data"), "HEATPUMP_TZ": "UTC",
        "SHELLY_METERS": "outdoor_unit=http://127.0.0.1:9;indoor_unit=http://127.0.0.1:10"})
    outdoor = settings.meters[0]
    assert outdoor.role == "outdoor_unit"
    assert backfill_cmd.meter_records(settings, Meter().client(), now=NOW, spec=outdoor) == 0
    with open_store(settings) as store:
        points = store.points("electricity", *FAR, {"source": "meter"})
    assert len(points) == 2880
    assert {p.tags.get("role") for p in points} == {"outdoor_unit"}


def test_a_gen1_3em_is_backfilled_from_its_em_data_csv_hour_by_hour_as_it_measured(tmp_path):
    """The Gen1 3EM's file holds 10-minute rows before yesterday 00:00 UTC (here 13.01.
    12:00 - 14.01. 00:00) and minute rows since; both come back to the simulator's truth
    per hour (rounding: 2 decimals per phase and row)."""
    settings, meter = settings_in(tmp_path), Meter("3em")
    assert backfill(settings, meter) == 0
    minutes = stored(settings)
    assert min(minutes) == FIRST and len(minutes) == 2 * 1440
    sim = meter.house.sim
    per_minute_from = datetime(2026, 1, 14, tzinfo=UTC)
    for h in range(48):
        a = FIRST + timedelta(hours=h)
        got = sum(f["energy_wh"] for m, f in minutes.items() if a <= m < a + timedelta(hours=1))
        rows = 60 if a >= per_minute_from else 6  # each rounded to 0.01 Wh per phase
        assert got == pytest.approx(sim.truth(a, a + timedelta(hours=1)).electricity_wh,
                                    abs=rows * 3 * 0.005), a
    ten = FIRST + timedelta(minutes=20)  # a 10-minute row, spread evenly over its minutes
    assert len({round(minutes[ten + timedelta(minutes=k)]["energy_wh"], 9)
                for k in range(10)}) == 1
    assert all(f["filled_wh"] == f["energy_wh"] and "counter_wh" not in f
               for f in minutes.values())
    assert backfill(settings, meter) == 0 and len(stored(settings)) == 2 * 1440  # idempotent
