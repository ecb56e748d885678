"""SIGTERM -> exit in <= 5 s while the Viessmann cloud hangs (issue 15): the collector's
real scheduler (threaded, real clock) over the real PyViCare, whose login meets a fake
identity server that does not answer for a minute. The stop is what the SIGTERM handler
does (`request_stop`); the bound has a wide margin against the minute it would take."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from collector.collect_cmd import build_collector
from collector.service import RealClock
from collector.wiring import build_sources
from heatpump.store.sqlite import SQLiteStore
from tests.collector.vicare.conftest import live_settings


def test_the_collector_stops_within_5_s_while_the_login_hangs(cloud, tmp_path,
                                                              clock) -> None:
    clock.now = datetime.now(UTC)
    cloud.add_device("Vitocal250A")
    cloud.hang_seconds = 60.0
    settings = live_settings(cloud, tmp_path / "data")
    sources, state = build_sources(settings, RealClock())
    store = SQLiteStore(tmp_path / "data" / "heatpump.sqlite3", settings.tz)
    col = build_collector(settings, sources, store, threaded=True, state=state)
    hung = threading.Event()

    def stop_once_the_login_hangs() -> None:
        (job,) = col.jobs
        deadline = time.monotonic() + 30
        while not job.running and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # well inside the minute the identity server takes
        if job.running and cloud.count("/idp/v3/authorize") == 0:  # the login hangs
            hung.set()
        stopped_at.append(time.monotonic())
        col.request_stop()

    stopped_at: list[float] = []
    threading.Thread(target=stop_once_the_login_hangs, daemon=True).start()
    col.run()
    took = time.monotonic() - stopped_at[0]
    assert hung.is_set()
    assert took <= 5.0, took
