"""Several meters with roles (SHELLY_METERS) through real HTTP on 127.0.0.1 into the real
SQLite store, and the bot's per-boundary JAZ read back from it: each meter keeps its own
accounting, health entry and `role` tag; only the meter that sees the compressor counts
running time; the heat pump's figure sums outdoor and indoor unit, the rod's meter joins
only the whole system's figure."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics import performance
from bot.replies import boundary_lines, performance_lines, status_text
from bot.store_reads import period_data, status_data
from collector.collect_cmd import build_collector
from collector.service import VirtualClock
from collector.wiring import build_sources
from heatpump.heartbeat import heartbeat_path
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.shelly import FakeShelly, load_device

T0 = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
UTC_ZONE = ZoneInfo("UTC")
PLUG = "aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json"


class Plug:
    """A fake Gen1 plug whose counter (watt-minutes) integrates `power(t)` exactly."""

    def __init__(self, fake: FakeShelly, mac: str, power: Callable[[datetime], float]):
        self.fake, self.power = fake, power
        fake.device["shelly"]["mac"] = mac
        self.wh, self.at = 1000.0, T0 - timedelta(minutes=1)

    def update(self, now: datetime) -> None:
        while self.at < now:  # constant power within each whole minute
            step = min(now, self.at + timedelta(minutes=1) - timedelta(
                seconds=self.at.second))
            self.wh += self.power(self.at) * (step - self.at).total_seconds() / 3600
            self.at = step
        meter = self.fake.status["meters"][0]
        meter["power"], meter["total"] = self.power(now), round(self.wh * 60)
        self.fake.status["uptime"] = int((now - T0).total_seconds()) + 86400


def test_three_meters_with_roles_into_the_store_and_the_jaz_of_each_boundary(tmp_path):
    clock = VirtualClock(T0 - timedelta(minutes=1))
    with FakeShelly(load_device(PLUG)) as out, FakeShelly(load_device(PLUG)) as ind, \
            FakeShelly(load_device(PLUG)) as rod:
        plugs = [Plug(out, "0000000000A1", lambda t: 1200.0),
                 Plug(ind, "0000000000B2", lambda t: 60.0),
                 Plug(rod, "0000000000C3", lambda t: 3000.0)]
        s = Settings.from_mapping({
            "HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
            "SHELLY_METERS": f"outdoor_unit={out.url}; indoor_unit={ind.url}; "
                             f"heating_rod={rod.url}"})
        store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
        sources, state = build_sources(s, clock)
        assert [(x.name, x.role) for x in sources] == [
            ("meter", "outdoor_unit"), ("meter", "indoor_unit"), ("meter", "heating_rod")]
        col = build_collector(s, sources, store, clock=clock, threaded=False, state=state)

        def until() -> bool:
            for p in plugs:
                p.update(clock.now())
            return clock.now() >= T0 + 2 * H + timedelta(seconds=30)

        col.run(until=until)

    store = SQLiteStore(tmp_path / "heatpump.sqlite3", UTC_ZONE)
    rows = store.sums("electricity", ("energy_wh", "running_s", "starts"), T0, T0 + 2 * H,
                      "hour", UTC_ZONE, tags={"source": "meter", "circuit": "total"},
                      group_by=("role", "device"))
    got = {(r.start.hour, r.tags["role"], r.tags["device"]):
           (round(r.values["energy_wh"], 3), r.values["running_s"], r.values["starts"])
           for r in rows}
    assert got == {
        (0, "outdoor_unit", "shplg-s-0000000000a1"): (1200.0, 3600.0, 0.0),
        (1, "outdoor_unit", "shplg-s-0000000000a1"): (1200.0, 3600.0, 0.0),
        (0, "indoor_unit", "shplg-s-0000000000b2"): (60.0, 0.0, 0.0),
        (1, "indoor_unit", "shplg-s-0000000000b2"): (60.0, 0.0, 0.0),
        # 3 kW is no compressor: a rod meter counts no running time and no starts
        (0, "heating_rod", "shplg-s-0000000000c3"): (3000.0, 0.0, 0.0),
        (1, "heating_rod", "shplg-s-0000000000c3"): (3000.0, 0.0, 0.0)}
    samples = store.points("meter", T0, T0 + timedelta(seconds=1))
    assert sorted((p.tags["device"], p.tags["role"]) for p in samples) == [
        ("shplg-s-0000000000a1", "outdoor_unit"), ("shplg-s-0000000000b2", "indoor_unit"),
        ("shplg-s-0000000000c3", "heating_rod")]
    beat = json.loads(heartbeat_path(tmp_path, "collector").read_text())
    assert {k for k in beat["sources"] if k.startswith("meter/")} == {
        "meter/shplg-s-0000000000a1", "meter/shplg-s-0000000000b2",
        "meter/shplg-s-0000000000c3"}

    # /status shows each meter's power with its role
    now = T0 + 2 * H + timedelta(seconds=30)
    power = [line for line in status_text(status_data(store, now, UTC_ZONE), s, now
                                          ).splitlines() if line.startswith("⚡")]
    assert power == ["⚡ power (outdoor unit, shplg-s-0000000000a1) 1200 W, 10 s ago",
                     "⚡ power (indoor unit, shplg-s-0000000000b2) 60 W, 10 s ago",
                     "⚡ power (heating rod, shplg-s-0000000000c3) 3000 W, 10 s ago"]

    # the heat pump's heat: 400 Wh per 5 minutes, 4.8 kWh an hour
    store.write([Point("heat", T0 + timedelta(minutes=5 * k + 2), {
        "energy_wh": 400.0, "duration_s": 300.0, "estimate": False},
        {"device": "hp", "method": "counter", "circuit": "total"}) for k in range(24)])
    store.flush()
    data = period_data(store, T0, T0 + 2 * H, UTC_ZONE, T0 + 2 * H)
    perf = performance(data.pairs, T0, T0 + 2 * H)
    assert [*performance_lines(perf, "COP")[:2], *boundary_lines(perf, "COP")] == [
        "COP 3.81 = 9.6 kWh heat / 2.5 kWh electricity (meter)",
        "covers 100% of the period (2 of 2 h with both meter and heat data)",
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump + circulation pumps): "
        "the electricity the meters count (indoor unit, outdoor unit)",
        "whole system COP 1.83 = 15.6 kWh heat / 8.5 kWh electricity; boundary H4 (SEPEMO: "
        "heat pump, heating rod and circulation pumps)",
        "heating rod (its own meter): 6.0 kWh electricity = 70% of the system's electricity "
        "and 38% of its heat"]
    store.close()


def test_two_addresses_of_the_same_device_are_refused_not_mixed(tmp_path):
    clock = VirtualClock(T0)
    with FakeShelly(load_device(PLUG)) as one, FakeShelly(load_device(PLUG)) as same:
        plugs = [Plug(one, "0000000000A1", lambda t: 1200.0),
                 Plug(same, "0000000000A1", lambda t: 60.0)]
        s = Settings.from_mapping({
            "HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
            "SHELLY_METERS": f"outdoor_unit={one.url}; indoor_unit={same.url}"})
        store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
        sources, state = build_sources(s, clock)
        col = build_collector(s, sources, store, clock=clock, threaded=False, state=state)

        def until() -> bool:
            for p in plugs:
                p.update(clock.now())
            return clock.now() >= T0 + timedelta(minutes=5)

        col.run(until=until)
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", UTC_ZONE)
    samples = store.points("meter", T0 - H, T0 + H)
    assert {p.fields["power_w"] for p in samples} == {1200.0}
    assert {p.tags.get("role") for p in samples} == {"outdoor_unit"}
    health = store.points("health", T0 - H, T0 + H)
    assert [(h.fields["status"], h.fields["reason"], h.fields["detail"]) for h in health
            if h.fields["status"] == "down"] == [
        ("down", "bad_response", f"the meter at {same.url} is shplg-s-0000000000a1, already "
         "read as the outdoor_unit meter; check SHELLY_METERS")]
    store.close()


def test_a_recording_of_several_meters_is_refused_with_the_reason(tmp_path):
    import pytest

    from collector.recording import Recorder

    s = Settings.from_mapping({
        "HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
        "SHELLY_METERS": "outdoor_unit=http://127.0.0.1:9; indoor_unit=http://127.0.0.1:10"})
    clock = VirtualClock(T0)
    recorder = Recorder(tmp_path / "rec", clock.now, s)
    with pytest.raises(ValueError, match="--record records one meter; several meters"):
        build_sources(s, clock, recorder=recorder)
    recorder.close()
