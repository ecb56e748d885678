"""A restart of the collector loses and doubles no energy, even while the store refuses
connections (issue 13's 45-second case) and even when the process is killed between writing
a poll's points and saving its accounting state.

The meter is a fake Shelly Plus 1PM over real HTTP on 127.0.0.1 whose counter follows a
cycling compressor; the store is a real influxd, stopped so that it refuses connections,
or the embedded SQLite store. The truth is what the device served."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collector import state as state_module
from collector.collect_cmd import build_collector
from collector.service import Collector, VirtualClock
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from heatpump.store.influx import InfluxStore
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.shelly import FakeShelly, load_device

T0 = datetime(2026, 1, 12, 6, 0, 3, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
DEVICE = "aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json"
UTC_ZONE = ZoneInfo("UTC")


class Switch(FakeShelly):
    """A Plus 1PM whose counter (Wh, 3 decimals) follows a compressor: 1.8 kW for 6
    minutes, 20 W for 3; every /rpc/Switch.GetStatus answer is kept (the truth)."""

    def __init__(self, clock: VirtualClock):
        super().__init__(load_device(DEVICE))
        self.clock = clock
        self.t, self.wh, self.boot = T0, 7_500.0, T0 - timedelta(days=9)
        self.served: list[tuple[datetime, float]] = []
        self.update()

    def power_at(self, t: datetime) -> float:
        return 1800.0 if (t - T0).total_seconds() / 60 % 9 < 6 else 20.0

    def update(self) -> None:
        now = self.clock.now()
        while self.t < now:  # integrate second by second: the device's own counter
            step = min(timedelta(seconds=1), now - self.t)
            self.wh += self.power_at(self.t) * step.total_seconds() / 3600
            self.t += step
        sw = self.status["switch:0"]
        sw["apower"], sw["aenergy"]["total"] = self.power_at(now), round(self.wh, 3)
        sw["output"] = True
        self.status["sys"]["uptime"] = int((now - self.boot).total_seconds())

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        code, body = super().answer(path, query)
        if path == "/rpc/Switch.GetStatus":
            self.served.append((self.clock.now(), copy.deepcopy(body)["aenergy"]["total"]))
        return code, body


def collector(data_dir: Path, url: str, store: Store, clock: VirtualClock,
              flush_minutes: str = "") -> Collector:
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data_dir), "HEATPUMP_TZ": "UTC",
                               "SHELLY_URL": url, "HEATPUMP_FLUSH_MINUTES": flush_minutes})
    sources, accounting = build_sources(s, clock)
    return build_collector(s, sources, store, clock=clock, threaded=False, state=accounting)


def run_until(col: Collector, device: Switch, clock: VirtualClock, end: datetime) -> None:
    def until() -> bool:
        device.update()
        return clock.now() >= end

    col.run(until=until)


def meter_energy(store: Store) -> tuple[float, list[Point]]:
    el = [p for p in store.points("electricity", *FAR) if p.tags["source"] == "meter"]
    return sum(p.fields.get("energy_wh", 0.0) for p in el), el


def served_wh(device: Switch) -> float:
    """What the counter advanced from the first to the last answer the collector got."""
    return device.served[-1][1] - device.served[0][1]


def restart_while_the_store_refuses(tmp_path: Path, make_influxd, keep_state: bool
                                    ) -> tuple[Switch, Store, float]:
    """Ten minutes with the store up (a clean stop, the spool empty), influxd stopped, 45 s
    without a collector, then a collector that starts while influxd refuses connections;
    influxd comes back after 4 minutes. Returns the device, the store and the energy the
    counter advanced while no collector ran."""
    server = make_influxd()
    clock = VirtualClock(T0)
    data = tmp_path / "data"
    with Switch(clock) as device:
        run_until(collector(data, device.url, InfluxStore(server.url, "hp", UTC_ZONE), clock),
                  device, clock, T0 + timedelta(minutes=10))
        assert not list((data / "spool").glob("*.jsonl"))  # everything reached the store
        server.stop()
        stopped_at = device.served[-1]
        clock.advance(45)  # the collector is down for 45 s (an update, a crash)
        device.update()
        if not keep_state:
            (data / state_module.STATE_FILE).unlink()
        col = collector(data, device.url, InfluxStore(server.url, "hp", UTC_ZONE), clock)
        run_until(col, device, clock, T0 + timedelta(minutes=14))
        assert list((data / "spool").glob("*.jsonl"))  # the store refused: spooled
        server.start()
        run_until(collector(data, device.url, InfluxStore(server.url, "hp", UTC_ZONE), clock),
                  device, clock, T0 + timedelta(minutes=20))
        restarted_at = next(s for s in device.served if s[0] > stopped_at[0])
    assert not list((data / "spool").glob("*.jsonl"))  # replayed
    return device, InfluxStore(server.url, "hp", UTC_ZONE), restarted_at[1] - stopped_at[1]


@pytest.mark.influx
def test_a_restart_while_the_store_refuses_connections_loses_nothing(tmp_path, make_influxd):
    """Issue 13: the resume read fails, the spool is empty; the local accounting state
    (accounting_state.json) carries the last counter reading across the restart, so the
    energy used while no collector ran is counted when it comes back."""
    device, store, downtime_wh = restart_while_the_store_refuses(tmp_path, make_influxd, True)
    with store:
        energy, el = meter_energy(store)
        assert downtime_wh > 10  # the counter moved while no collector ran (1.8 kW, 45 s)
        assert energy == pytest.approx(served_wh(device), abs=1e-6)
        minutes = [p.time for p in el]
        assert len(minutes) == len(set(minutes))  # one point per minute, never two
        span = (device.served[-1][0] - device.served[0][0]).total_seconds()
        assert sum(p.fields.get("duration_s", 0.0) for p in el) == pytest.approx(span)


@pytest.mark.influx
def test_without_the_local_state_that_restart_would_lose_the_downtime(tmp_path,
                                                                      make_influxd):
    """The control: the same run without accounting_state.json (as before issue 13) starts
    counting afresh and loses what the counter advanced while no collector ran."""
    device, store, downtime_wh = restart_while_the_store_refuses(tmp_path, make_influxd,
                                                                 False)
    with store:
        energy, _ = meter_energy(store)
    assert served_wh(device) - energy == pytest.approx(downtime_wh, abs=0.01)


@pytest.mark.parametrize("kill_after", [7, 31, 36, 59, 60, 61])
def test_kill_9_between_the_store_write_and_the_state_save_doubles_nothing(tmp_path,
                                                                          kill_after):
    """The process dies after poll `kill_after`'s points are durable but before its
    accounting state is saved (and without any shutdown: the open minute is never
    flushed). The restart resumes from the state one poll older: it books that poll's
    interval again, into the same minute points, which the store overwrites. So the
    product errs towards counting an interval twice into one place, which stores it once:
    nothing is lost (the state is never saved before the points are durable, so it never
    claims more than was kept) and nothing doubled (a minute's point always carries all of
    that minute's energy, never an increment). Every poll is committed here
    (HEATPUMP_FLUSH_MINUTES=0, InfluxDB's default), so every poll saves the state; a kill
    between the embedded store's hourly commits is
    tests/collector/test_integration.py::test_kill_9_between_commits_loses_raw_samples_but_no_energy."""
    clock = VirtualClock(T0)
    data = tmp_path / "data"
    db = tmp_path / "heatpump.sqlite3"
    with Switch(clock) as device:
        col = collector(data, device.url, SQLiteStore(db, UTC_ZONE), clock, "0")
        saves = {"n": 0}
        real_save = col.state.save

        def save_until_killed() -> None:
            saves["n"] += 1
            if saves["n"] <= kill_after:
                real_save()

        col.state.save = save_until_killed  # type: ignore[method-assign]
        col.start()
        while col.polls <= kill_after:  # kill -9: no shutdown, no flush
            device.update()
            col.step()
        col.sink.store.close()
        assert saves["n"] == kill_after + 1  # the poll after which the state was not saved
        clock.advance(20)
        device.update()
        run_until(collector(data, device.url, SQLiteStore(db, UTC_ZONE), clock), device, clock,
                  T0 + timedelta(minutes=15))
    with SQLiteStore(db, UTC_ZONE) as store:
        energy, el = meter_energy(store)
    assert energy == pytest.approx(served_wh(device), abs=1e-6)
    minutes = [p.time for p in el]
    assert len(minutes) == len(set(minutes))
