"""Live on demand: the requests the bot leaves: one commit (/status and the like), or every
poll for ten minutes (/live)."""

from __future__ import annotations

import os
import time

from heatpump.live import (
    ASKED_FRESH_S,
    COMMIT_REQUEST,
    LIVE_REQUEST,
    LIVE_WINDOW_S,
    live_wanted,
    request_live,
    requests,
)


def test_a_live_request_is_wanted_for_the_window_then_not(tmp_path):
    assert not live_wanted(tmp_path)
    request_live(tmp_path, stream=True)
    now = time.time()
    assert live_wanted(tmp_path, now)
    assert live_wanted(tmp_path, now + LIVE_WINDOW_S - 1)
    assert not live_wanted(tmp_path, now + LIVE_WINDOW_S + 1)
    assert os.stat(tmp_path / LIVE_REQUEST).st_mode & 0o777 == 0o600


def test_a_commit_request_is_one_request_not_a_window(tmp_path):
    assert requests(tmp_path) == (None, None)
    request_live(tmp_path)
    now = time.time()
    asked = requests(tmp_path, now)
    assert asked.live is None and asked.commit is not None
    assert not live_wanted(tmp_path, now)  # no poll-by-poll commits for it
    assert requests(tmp_path, now + ASKED_FRESH_S + 1).commit is None  # history at a restart
    assert os.stat(tmp_path / COMMIT_REQUEST).st_mode & 0o777 == 0o600


def test_a_read_only_data_dir_is_no_error(tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    request_live(missing)  # nothing to do, nothing raised
    assert not live_wanted(missing)


def test_status_and_live_ask_for_fresh_data_in_the_stores_data_dir(tmp_path):
    from datetime import UTC, datetime

    from bot.commands import Context, answer
    from heatpump.settings import Settings
    from heatpump.store.sqlite import SQLiteStore

    settings = Settings(data_dir=tmp_path)
    with SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz) as store:
        ctx = Context(store, settings, lambda: datetime(2026, 1, 1, tzinfo=UTC))
        answer("/jaz 2025-11", ctx)
        # a period that ended long ago needs no fresh samples
        assert requests(tmp_path) == (None, None)
        answer("/status", ctx)
        assert requests(tmp_path).commit is not None and not live_wanted(tmp_path)
        (tmp_path / COMMIT_REQUEST).unlink()
        answer("/jaz", ctx)  # the last 12 months, up to the hour just ended (docs/bot.md)
        assert requests(tmp_path).commit is not None
    demo = tmp_path / "demo"
    demo.mkdir()
    with SQLiteStore(demo / "heatpump.sqlite3", settings.tz) as store:
        answer("/live", Context(store, settings, lambda: datetime(2026, 1, 1, tzinfo=UTC)))
        assert live_wanted(demo)


def test_a_collector_seen_only_by_its_answers_counts_as_running(tmp_path):
    """docker compose: the bot's container has its own /dev/shm and never sees the
    collector's heartbeat; a collector that answered a request within a day is taken to
    run, one that stopped withdraws its answer, one whose visible heartbeat says stopped
    does not run."""
    from heatpump import heartbeat
    from heatpump.live import ANSWERED_TRUST_S, answer, answered, collector_runs, withdraw

    assert not collector_runs(tmp_path)
    assert request_live(tmp_path) is None  # nobody to wait for
    answer(tmp_path)  # a collector handled an earlier request
    assert collector_runs(tmp_path)
    assert not collector_runs(tmp_path, time.time() + ANSWERED_TRUST_S + 1)
    asked = request_live(tmp_path)
    assert asked is not None and not answered(tmp_path, asked + 1e-3)
    answer(tmp_path)
    assert answered(tmp_path, asked)
    heartbeat.beat(tmp_path, "collector", {"stopped": True})
    assert not collector_runs(tmp_path)
    heartbeat.beat(tmp_path, "collector", {"sources": {}})
    assert collector_runs(tmp_path)
    heartbeat.heartbeat_path(tmp_path, "collector").unlink()
    withdraw(tmp_path)
    assert not collector_runs(tmp_path)
