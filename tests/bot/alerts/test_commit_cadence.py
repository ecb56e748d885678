"""The stale alert against the real collector's commit cadence on the embedded store.

The collector (its real service, the simulated house's devices, a virtual clock) commits
once an hour; the bot's alert check reads the same SQLite file through its own connection
every 5 minutes, as on a Raspberry Pi. Before the check allowed for the commit cadence it
took the hour of samples waiting in the collector's memory for an hour of silence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.alerts.service import AlertService
from collector.collect_cmd import build_collector
from collector.service import VirtualClock
from collector.wiring import Devices, build_sources
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from simhouse.demo_cmd import simulated_house
from simhouse.scenarios import Setup

T0 = datetime(2026, 1, 12, tzinfo=UTC)
CHECK = timedelta(minutes=5)


def run_collector_and_checks(data: Path, hours: float, stop_after: float | None = None):
    """Collector for `hours` (it stops committing after `stop_after` hours: killed), alert
    checks every 5 min throughout; returns [(now, notification)], [(now, stored ages)]."""
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    assert settings.flush_s >= 3600  # the embedded store's default cadence: an hour or more
    clock = VirtualClock(T0)
    house = simulated_house(settings, T0, Setup(), 1, clock.now)
    sources, state = build_sources(settings, clock, devices=Devices(
        meter=house.shelly.answer, vicare=house.vitocal.answer))
    db = data / "heatpump.sqlite3"
    collector = build_collector(settings, sources, SQLiteStore(db, settings.tz),
                                clock=clock, threaded=False, state=state)
    reader = SQLiteStore(db, settings.tz)  # the bot's own connection
    alerts = AlertService(settings, reader, now=clock.now, apprise=False, data_dir=data)
    sent, ages = [], []
    marks = {"next": T0 + CHECK}
    end = T0 + timedelta(hours=hours)

    def check(now: datetime) -> None:
        sent.extend((now, n) for n in alerts.check(now))
        newest = {m: max((p.time for p in reader.latest(m).values()), default=None)
                  for m in ("meter", "heatpump")}
        ages.append((now, {m: now - t for m, t in newest.items() if t is not None}))

    def until() -> bool:
        now = clock.now()
        while now >= marks["next"]:
            check(marks["next"])
            marks["next"] += CHECK
        return now >= (end if stop_after is None else T0 + timedelta(hours=stop_after))

    collector.run(until=until)
    if stop_after is not None:  # killed: nothing more is committed, the checks go on
        while marks["next"] < end:
            check(marks["next"])
            marks["next"] += CHECK
    reader.close()
    return sent, ages


def test_hourly_commits_raise_no_stale_alert(tmp_path):
    sent, ages = run_collector_and_checks(tmp_path, hours=5)
    # The store did lag by about an hour before each commit ...
    assert max(a["meter"] for _, a in ages) >= timedelta(minutes=55)
    assert max(a["heatpump"] for _, a in ages) >= timedelta(minutes=55)
    # ... and no check took that for silence.
    assert [n.kind for _, n in sent if n.kind == "stale"] == []


def test_a_killed_collector_is_reported_after_threshold_plus_cadence(tmp_path):
    sent, ages = run_collector_and_checks(tmp_path, hours=6, stop_after=2.5)
    stale = [(now, n) for now, n in sent if n.kind == "stale"]
    assert {n.key.split(":")[1] for _, n in stale} == {"meter", "heatpump"}
    for now, n in stale:
        source = n.key.split(":")[1]
        age = next(a[source] for t, a in ages if t == now)
        # ALERT_STALE_*_MIN (60) plus HEATPUMP_FLUSH_MINUTES, found by a 5-min check
        late = timedelta(minutes=60, seconds=Settings().flush_s)
        assert late <= age < late + CHECK
        assert "is the collector still running" in n.text
