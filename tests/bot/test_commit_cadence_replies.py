"""Replies over periods that end now, against the collector's hourly commits.

On the embedded store the collector commits every HEATPUMP_FLUSH_MINUTES (an hour by
default), and once when the bot touches `commit.request` (heatpump.live). A /jaz, /cost,
/chart, /export or /report whose period ends within that hour asks for that commit as
/status does and waits for it, so what it shows is complete up to now; without a collector
beside the bot nothing changes. The wait is for a newer sample of any source, so a
Viessmann-only house (no meter) is not kept waiting LIVE_WAIT_S for a meter sample.

The store is real (SQLite, the synthetic house); the collector is scripted: it holds the
samples of the last 55 minutes and commits them when the bot first waits, which the test's
clock (`sleep`, `monotonic` of the Context) tells, so nothing here sleeps.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import charts, store_reads
from bot.commands import Context, answer, chart_of
from heatpump import heartbeat
from heatpump.live import COMMIT_REQUEST, LIVE_WAIT_S
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests import synthetic

NOW = datetime(2026, 1, 12, 2, 35, tzinfo=UTC)  # Monday 03:35 in Berlin
MIDNIGHT = datetime(2026, 1, 11, 23, 0, tzinfo=UTC)  # Monday 00:00 in Berlin
HELD = timedelta(minutes=55)  # the last commit was 55 minutes before now, the next is due


class Collector:
    """The collector beside the bot: it committed everything until HELD before now, holds
    the rest, which it commits at once when asked for live data (the bot's first wait).
    It is also the test's clock: `sleep` advances `monotonic`."""

    def __init__(self, db: Path, settings: Settings, held: list[Point]):
        self.db, self.settings, self.held = db, settings, held
        self.t = 1000.0
        self.slept = 0.0
        self.committed = False

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.slept += seconds
        if not self.committed and self.held:
            with SQLiteStore(self.db, self.settings.tz) as own:  # its own connection
                own.write(self.held)
                own.flush()
            self.committed = True


def house(tmp_path: Path, points: list[Point], now: datetime = NOW,
          collector_runs: bool = True, **env: str) -> tuple[Context, Collector]:
    """A store holding `points` until HELD before `now`; the rest up to `now` waits in the
    collector."""
    settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": str(tmp_path), **env})
    assert settings.flush_s >= 3600  # the embedded store's default: an hour or more
    if collector_runs:
        heartbeat.beat(tmp_path, "collector", {"sources": {}})
    db = tmp_path / "heatpump.sqlite3"
    store = SQLiteStore(db, settings.tz)
    store.write([p for p in points if p.time < now - HELD])
    store.flush()
    collector = Collector(db, settings, [p for p in points if now - HELD <= p.time < now])
    return Context(store, settings, lambda: now, sleep=collector.sleep,
                   monotonic=collector.monotonic), collector


def synthetic_house(tmp_path: Path, **kw) -> tuple[Context, Collector]:
    return house(tmp_path, list(synthetic.points(MIDNIGHT - timedelta(days=2), NOW)), **kw)


def test_jaz_today_waits_for_the_commit_and_covers_every_hour(tmp_path):
    ctx, collector = synthetic_house(tmp_path)
    text = answer("/jaz today", ctx).text
    assert collector.committed and collector.slept <= 1.0, collector.slept
    assert "covers 100% of the period (3 of 3 h" in text, text


def test_without_a_collector_nothing_changes(tmp_path):
    ctx, collector = synthetic_house(tmp_path, collector_runs=False)
    text = answer("/jaz today", ctx).text
    assert collector.slept == 0 and not collector.committed
    assert "covers 67% of the period (2 of 3 h" in text, text  # what the store holds


def test_a_period_that_ended_long_ago_asks_for_nothing(tmp_path):
    ctx, collector = synthetic_house(tmp_path)
    answer("/jaz 2025-12", ctx)
    answer("/export 2025-12 day", ctx)
    assert collector.slept == 0
    assert not (tmp_path / COMMIT_REQUEST).exists()


def test_cost_today_counts_the_held_hour(tmp_path):
    ctx, collector = synthetic_house(tmp_path, COST_PRICE_PER_KWH="0.30",
                                  COST_CURRENCY="EUR")
    text = answer("/cost today", ctx).text
    assert collector.committed, text
    hourly = store_reads.hourly_meter_wh(ctx.store, MIDNIGHT, MIDNIGHT + timedelta(hours=3),
                                         ctx.settings.tz)
    assert len(hourly) == 3 and all(wh > 0 for _t, wh in hourly)
    kwh = sum(wh for _t, wh in hourly) / 1000
    assert f"{kwh:.1f} kWh" in text, (kwh, text)


def test_export_today_writes_no_cut_off_hour(tmp_path):
    ctx, collector = synthetic_house(tmp_path)
    reply = answer("/export today hour", ctx)
    assert collector.committed and reply.document is not None
    rows = list(csv.DictReader(io.StringIO(reply.document[1].decode("utf-8"))))
    assert len(rows) == 3
    last = rows[-1]
    assert last["cop"], last  # 02:00-03:00 local: both sides complete, so a COP


def test_chart_of_the_last_24_hours_waits_for_the_commit(tmp_path):
    ctx, collector = synthetic_house(tmp_path)
    stored_png = charts.chart_png(chart_of(ctx, "energy", "24h"))[0]  # the current hour hatched
    reply = answer("/chart energy 24h", ctx)
    assert collector.committed and (tmp_path / COMMIT_REQUEST).exists()
    assert reply.photo == charts.chart_png(chart_of(ctx, "energy", "24h"))[0] != stored_png


def test_report_preview_of_yesterday_just_after_midnight_waits(tmp_path):
    """/report in the console at 00:35: yesterday's last 55 minutes still wait."""
    early = MIDNIGHT + timedelta(minutes=35)
    ctx, collector = house(tmp_path, list(synthetic.points(MIDNIGHT - timedelta(days=2), early)),
                           now=early)
    text = answer("/report daily", ctx).text
    assert collector.committed, text
    assert "covers 100% of the period (24 of 24 h" in text, text


# --- the wait itself: any source, at most LIVE_WAIT_S ----------------------------------------

PUMP = "7571381681420106"


def poll(at: datetime, supply_c: float) -> Point:
    return Point("heatpump", at, {"supply_temp_c": supply_c, "outside_temp_c": 3.0,
                                  "compressor_active": True}, {"device": PUMP})


def test_a_viessmann_only_status_waits_for_the_heat_pumps_poll_not_for_a_meter(tmp_path):
    """No meter: the held heat pump poll (4 minutes old, committed on the bot's request)
    ends the wait at once; it used to wait LIVE_WAIT_S for a meter sample."""
    polls = [poll(NOW - timedelta(minutes=m), 30.0 + m / 10) for m in range(120, 0, -5)]
    polls.append(poll(NOW - timedelta(minutes=4), 47.3))
    ctx, collector = house(tmp_path, polls)
    text = answer("/status", ctx).text
    assert collector.committed and collector.slept <= 1.0, collector.slept
    assert "47.3" in text, text


def test_the_wait_ends_after_live_wait_s_when_nothing_comes(tmp_path):
    ctx, collector = house(tmp_path, [poll(NOW - timedelta(minutes=70), 40.0)])
    newest = store_reads.newest_sample_time(ctx.store, NOW)
    assert newest == NOW - timedelta(minutes=70)
    assert not store_reads.wait_for_sample_after(ctx.store, newest, NOW, LIVE_WAIT_S,
                                                 collector.sleep, collector.monotonic)
    assert LIVE_WAIT_S <= collector.slept <= LIVE_WAIT_S + 0.5


def test_no_wait_when_the_store_is_fresh(tmp_path):
    ctx, collector = house(tmp_path, [poll(NOW - timedelta(seconds=40), 40.0)])
    store = SQLiteStore(collector.db, ctx.settings.tz)
    store.write([Point("meter", NOW - timedelta(seconds=10), {"power_w": 800.0},
                       {"device": "shellypro3em-0001"})])
    store.flush()
    newest = store_reads.newest_sample_time(store, NOW)
    assert store_reads.wait_for_sample_after(store, newest, NOW, LIVE_WAIT_S,
                                             collector.sleep, collector.monotonic)
    assert collector.slept == 0
