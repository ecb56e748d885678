"""The Shelly field cases (tests/fixtures/shelly/cases, provenance in its README) through the
real path: the fake Shelly serves the case over HTTP on 127.0.0.1, the collector (real
client, meter accounting, service, health book) polls it on a virtual clock into the real
SQLite store, and the bot's /status reads the result."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import Context, answer
from collector.collect_cmd import build_collector
from collector.service import VirtualClock
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.shelly import FakeShelly
from tests.paths import FIXTURES

CASES = FIXTURES / "shelly" / "cases"
T0 = datetime(2026, 1, 12, 9, 0, 0, tzinfo=UTC)
RUN = timedelta(minutes=10)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
DEVICE = "shellypro3em-aabbccddeeff"
POWER_W = 3039.524  # em:0 total_act_power of both cases


def collect(tmp_path, case: str) -> tuple[Settings, SQLiteStore, VirtualClock]:
    """Ten minutes of 10-second polls of the case's answers."""
    body = json.loads((CASES / case).read_text())
    clock = VirtualClock(T0)
    with FakeShelly(body) as fake:
        s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
                                   "SHELLY_URL": fake.url})
        sources, state = build_sources(s, clock)
        store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
        col = build_collector(s, sources, store, clock=clock, threaded=False, state=state)
        col.run(until=lambda: clock.now() >= T0 + RUN)
    return s, SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz), clock


def test_counters_at_zero_while_3_kw_flow_are_no_valid_energy(tmp_path):
    """pro3em_emdata_all_zero_unimeter352: the counter is found stuck and reported; the
    minutes carry their running time but no energy, so no JAZ counts them as 0 Wh."""
    s, store, clock = collect(tmp_path, "pro3em_emdata_all_zero_unimeter352.json")
    with store:
        meter = store.points("meter", *FAR)
        el = store.points("electricity", *FAR)
        health = [p for p in store.points("health", *FAR) if p.tags["source"] == "meter"]
        assert len(meter) >= 55 and all(p.fields["energy_import_wh"] == 0.0 for p in meter)
        assert [p for p in el if "energy_wh" in p.fields] == []  # not one valid minute
        assert sum(p.fields.get("running_s", 0.0) for p in el) == pytest.approx(
            (meter[-1].time - meter[0].time).total_seconds())  # the compressor ran
        degraded = [p for p in health if p.fields["status"] == "degraded"]
        assert [p.fields["reason"] for p in degraded] == ["counter_stuck"]
        assert "stood still while power flowed" in degraded[0].fields["detail"]
        # within the hold window (180 s) of the first disagreement
        assert degraded[0].time - meter[0].time <= timedelta(seconds=200)
        status = answer("/status", Context(store, s, clock.now)).text
    assert f"meter {DEVICE}: DEGRADED" in status and "counter_stuck" in status
    assert "today: electricity –" in status  # a gap, never 0 kWh


def test_a_meter_without_counters_integrates_power_as_an_estimate(tmp_path):
    """pro3em_emdata_empty_oldfw: read, not refused; 3039.5 W integrated over the polls,
    every Wh of it marked estimated, and /status says so."""
    s, store, clock = collect(tmp_path, "pro3em_emdata_empty_oldfw.json")
    with store:
        meter = store.points("meter", *FAR)
        el = store.points("electricity", *FAR)
        assert meter and all("energy_import_wh" not in p.fields for p in meter)
        energy = sum(p.fields.get("energy_wh", 0.0) for p in el)
        covered = sum(p.fields.get("duration_s", 0.0) for p in el)
        span = (meter[-1].time - meter[0].time).total_seconds()
        assert covered == pytest.approx(span)
        assert energy == pytest.approx(POWER_W * span / 3600)
        assert sum(p.fields.get("estimated_wh", 0.0) for p in el) == pytest.approx(energy)
        assert not [p for p in store.points("health", *FAR) if p.fields["status"] != "up"]
        status = answer("/status", Context(store, s, clock.now)).text
    assert "today: electricity 0.5 kWh (estimated)" in status


def test_phases_exporting_on_a_gen1_3em_are_a_reversed_clamp(tmp_path):
    """gen1_3em_export_phases_iobroker369: two of three phases read negative power (total
    -642.64 W) while the import counters stand still. After 60 s of it the meter's health is
    degraded with reason reversed_clamp (once, with the power and the fix), and the energy
    stored is what the import counters say: they did not move, so 0 Wh, never a negative
    figure from the exporting phases."""
    s, store, clock = collect(tmp_path, "gen1_3em_export_phases_iobroker369.json")
    with store:
        meter = store.points("meter", *FAR)
        el = store.points("electricity", *FAR)
        health = [p for p in store.points("health", *FAR) if p.tags["source"] == "meter"]
        assert {p.fields["power_w"] for p in meter} == {-642.64}
        # the import counters of the three phases: 2019449.8 + 544891.4 + 568915.6 Wh
        counters = [p.fields["energy_import_wh"] for p in meter]
        assert counters == [pytest.approx(3133256.8)] * len(meter)
        assert sum(p.fields["energy_wh"] for p in el) == 0.0
        degraded = [p for p in health if p.fields["status"] == "degraded"]
        assert {p.fields["reason"] for p in degraded} == {"reversed_clamp"}
        assert "negative power (now -643 W) for 60 s" in degraded[0].fields["detail"]
        assert degraded[0].time - meter[0].time == timedelta(seconds=60)
        status = answer("/status", Context(store, s, clock.now)).text
    assert "DEGRADED" in status and "reversed_clamp" in status
    assert "power -643 W" in status
