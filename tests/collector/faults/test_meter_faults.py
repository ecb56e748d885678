"""A meter that trickles, floods or lies, over real HTTP on 127.0.0.1 (issue 15).

A trickling answer (one byte every 2 s) fails the poll within SHELLY_TIMEOUT_SECONDS — the
limit is on the whole request, not on each read — and the meter's health is not "up"; an
answer of 200 MB is refused without being read into memory; an answer of the right syntax
and the wrong shape is refused and invents nothing. Times are asserted with wide margins
(the trickle would take hours; the bound is seconds)."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.collect_cmd import build_collector
from collector.service import Collector, VirtualClock
from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyBadResponse, ShellyTimeout
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.collector.faults.meter import LiveMeter

PASSWORD = "meter-secret-4711"
T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)


def collector(data: Path, meter: LiveMeter, timeout_s: float = 4.0) -> Collector:
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data), "HEATPUMP_TZ": "UTC",
                               "SHELLY_URL": meter.url, "SHELLY_USERNAME": "admin",
                               "SHELLY_PASSWORD": PASSWORD,
                               "SHELLY_TIMEOUT_SECONDS": str(timeout_s)})
    clock = VirtualClock(T0)
    sources, state = build_sources(s, clock)
    store = SQLiteStore(data / "heatpump.sqlite3", s.tz)
    return build_collector(s, sources, store, clock=clock, threaded=False, state=state)


def poll(col: Collector) -> None:
    """One poll of the meter, 10 s after the previous one on the collector's clock."""
    assert isinstance(col.clock, VirtualClock)
    col.clock.advance(10)
    col.poll_now(col.jobs[0].source)


def test_a_trickling_answer_fails_the_poll_within_the_timeout(tmp_path):
    with LiveMeter(password=PASSWORD) as meter:
        col = collector(tmp_path, meter, timeout_s=4.0)
        poll(col)  # recognised and read normally: up
        assert [st.status for st in col.health.states.values()] == ["up"]
        meter.mode = "trickle"
        started = time.monotonic()
        poll(col)
        took = time.monotonic() - started
        assert meter.faulted >= 1
        # 4 s whole-request deadline; a per-read limit would wait for 4096 bytes * 2 s
        assert took < 4.0 + 6.0
        (state,) = col.health.states.values()
        assert state.status != "up" and state.reason == "unreachable"
        col.shutdown()


def test_the_client_gives_up_a_trickle_after_its_whole_request_deadline():
    with LiveMeter(password=PASSWORD) as meter, \
            ShellyClient(meter.url, password=PASSWORD, timeout_s=3.0) as client:
        client.identify()
        meter.mode = "trickle"
        started = time.monotonic()
        with pytest.raises(ShellyTimeout, match="within 3 s"):
            client.poll()
        assert time.monotonic() - started < 3.0 + 5.0


@pytest.mark.parametrize("mode", ["flood", "flood-chunked"])
def test_a_200_mb_answer_is_refused_without_reading_it_into_memory(mode):
    with LiveMeter(password=PASSWORD) as meter, \
            ShellyClient(meter.url, password=PASSWORD, timeout_s=20.0) as client:
        client.identify()
        meter.mode = mode
        tracemalloc.start()
        try:
            with pytest.raises(ShellyBadResponse, match="larger than 1024 KB"):
                client.poll()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8_000_000  # the whole answer would be 200 MB (and ~1 GB parsed)
        meter.mode = None
        assert client.poll().energy_import_wh is not None  # the next poll works again


def test_an_answer_of_the_wrong_shape_is_refused_and_invents_nothing(tmp_path):
    with LiveMeter(password=PASSWORD) as meter:
        col = collector(tmp_path, meter)
        meter.clock = col.clock.monotonic  # the counter follows the collector's clock
        poll(col)
        meter.mode = "lie"
        for _ in range(3):
            poll(col)
        meter.mode = None
        poll(col)
        col.shutdown()
    with SQLiteStore(tmp_path / "heatpump.sqlite3", UTC) as store:  # type: ignore[arg-type]
        far = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        health = store.points("health", *far)
        el = store.points("electricity", *far)
    refused = [p.fields.get("reason") for p in health if p.fields.get("status") != "up"]
    assert refused, [p.fields for p in health]
    assert set(refused) <= {"bad_response", "unsupported"}, refused
    # the energy booked is exactly what the counter advanced between the true answers
    booked = sum(p.fields.get("energy_wh", 0.0) for p in el if p.tags.get("source") == "meter")
    assert booked == pytest.approx(meter.truth_wh(), abs=1e-6)
