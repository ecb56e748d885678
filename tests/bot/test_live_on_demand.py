"""A /status after a quiet while: the bot asks the collector for live data and, when a
collector runs beside it, waits for its first commit instead of answering with samples an
hour old (the embedded store is committed every 90 minutes; heatpump.live)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bot.commands import Context, answer
from heatpump import heartbeat
from heatpump.live import request_live, requests
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


def meter(at: datetime, power: float) -> Point:
    return Point("meter", at, {"power_w": power}, {"device": "shellypro3em-1"})


def test_the_first_status_waits_for_the_collectors_commit(tmp_path):
    settings = Settings(data_dir=tmp_path)
    heartbeat.beat(tmp_path, "collector", {"sources": {}})  # a collector runs here
    with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as store:
        store.write([meter(NOW - timedelta(minutes=50), 111.0)])  # the last regular commit
        store.flush()

        def collector_commits():  # what the collector does at its next poll
            time.sleep(1.0)
            assert requests(tmp_path).commit is not None  # one commit asked
            with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as other:
                other.write([meter(NOW - timedelta(seconds=5), 1234.0)])
                other.flush()

        worker = threading.Thread(target=collector_commits)
        worker.start()
        started = time.monotonic()
        text = answer("/status", Context(store, settings, lambda: NOW)).text
        worker.join()
        assert 0.9 < time.monotonic() - started < 10
        assert "1234 W" in text, text


def test_no_wait_without_a_collector_or_while_live(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as store:
        store.write([meter(NOW - timedelta(minutes=50), 111.0)])
        store.flush()
        started = time.monotonic()
        text = answer("/status", Context(store, settings, lambda: NOW)).text
        assert time.monotonic() - started < 3  # no collector: nothing to wait for
        assert "111 W" in text
        heartbeat.beat(tmp_path, "collector", {"sources": {}})
        request_live(tmp_path, stream=True)  # /live runs: every poll is committed anyway
        started = time.monotonic()
        answer("/status", Context(store, settings, lambda: NOW))
        assert time.monotonic() - started < 3  # no wait while /live has every poll committed


def test_across_containers_the_bot_waits_for_the_collectors_answer(tmp_path):
    """docker compose with the embedded store: no heartbeat visible (each container has its
    own /dev/shm), but the collector answered a request before: /status waits for its
    commit; when the collector held nothing new, its answer ends the wait at once."""
    from heatpump import live

    settings = Settings(data_dir=tmp_path)
    live.answer(tmp_path)  # an earlier request was answered: a collector runs
    with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as store:
        store.write([meter(NOW - timedelta(minutes=50), 111.0)])
        store.flush()

        def collector(commit: bool):
            time.sleep(1.0)
            if commit:
                with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as other:
                    other.write([meter(NOW - timedelta(seconds=5), 1234.0)])
                    other.flush()
            live.answer(tmp_path)

        # the second /status 10 minutes later: the collector holds nothing new
        for commit, now in ((True, NOW), (False, NOW + timedelta(minutes=10))):
            worker = threading.Thread(target=collector, args=(commit,))
            worker.start()
            started = time.monotonic()
            text = answer("/status", Context(store, settings, lambda now=now: now)).text
            worker.join()
            took = time.monotonic() - started
            assert 0.9 < took < 5, took  # waited for the answer, not LIVE_WAIT_S (15 s)
            assert "1234 W" in text, text
