"""The collector reading a fake Shelly over real HTTP on 127.0.0.1 into the real SQLite
store: energy follows the counter through a reboot (counter reset) and a restart of the
collector, with nothing lost and nothing doubled."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.collect_cmd import build_collector
from collector.service import VirtualClock
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.shelly import FakeShelly, load_device

T0 = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
POWER_W = 1200.0


class Plug:
    """Drives the fake Gen1 plug's counter (watt-minutes) and uptime from the clock."""

    def __init__(self, fake: FakeShelly, clock: VirtualClock):
        self.fake, self.clock = fake, clock
        self.base_wh = 500.0  # counter at T0
        self.boot = T0 - timedelta(days=3)
        self.reset_at: datetime | None = None

    def update(self) -> None:
        now = self.clock.now()
        if self.reset_at and now >= self.reset_at and self.boot < self.reset_at:
            self.boot = self.reset_at  # reboot: a Gen1 plug's counter restarts at 0
        since = self.boot if self.boot > T0 else T0
        wh = (0.0 if self.boot > T0 else self.base_wh) + POWER_W * (
            now - since).total_seconds() / 3600
        meter = self.fake.status["meters"][0]
        meter["power"], meter["total"] = POWER_W, round(wh * 60)  # watt-minutes, integer
        self.fake.status["uptime"] = int((now - self.boot).total_seconds())

    def true_wh(self, start: datetime, end: datetime) -> float:
        return POWER_W * (end - start).total_seconds() / 3600


def collector(tmp_path, fake, clock):
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
                               "SHELLY_URL": fake.url})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    sources, state = build_sources(s, clock)
    return build_collector(s, sources, store, clock=clock, threaded=False, state=state)


def test_counter_reset_and_restart_lose_and_double_nothing(tmp_path):
    clock = VirtualClock(T0)
    with FakeShelly(load_device("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json")) as fake:
        plug = Plug(fake, clock)
        plug.reset_at = T0 + timedelta(minutes=20, seconds=5)
        col = collector(tmp_path, fake, clock)
        stop1 = T0 + timedelta(minutes=30)

        def until():
            plug.update()
            return clock.now() >= stop1

        col.run(until=until)
        clock.advance(45)  # the collector is down for 45 s (an update, a crash)
        col2 = collector(tmp_path, fake, clock)
        stop2 = T0 + timedelta(minutes=60)

        def until2():
            plug.update()
            return clock.now() >= stop2

        col2.run(until=until2)

    store = SQLiteStore(tmp_path / "heatpump.sqlite3", ZoneInfo("UTC"))
    meter = store.points("meter", *FAR)
    el = store.points("electricity", *FAR)
    health = store.points("health", *FAR)
    store.close()
    first, last = meter[0].time, meter[-1].time
    # energy from the first to the last reading, through the reboot and the restart
    assert sum(p.fields["energy_wh"] for p in el) == pytest.approx(
        plug.true_wh(first, last), abs=2.0)  # watt-minute resolution and the reset's partial
    reasons = [(p.tags["source"], p.fields["reason"]) for p in health]
    assert ("meter", "counter_reset") in reasons
    assert [p.fields["status"] for p in health if p.tags["source"] == "meter"
            and p.fields["reason"] == ""] == ["up", "up"]  # one per process, not per poll
    minutes = [p.time for p in el]
    assert len(minutes) == len(set(minutes))  # one point per minute, never two
    assert len(meter) == 180 + 180 - 4  # every poll stored; the 45 s down are a gap
