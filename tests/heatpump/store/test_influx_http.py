"""An InfluxDB that hangs, trickles, floods or cuts its answers: a StoreError in time, never
a hung call, a huge answer in memory or shortened data."""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heatpump.store.base import Point, StoreError
from heatpump.store.influx import InfluxStore
from tests.conftest import BERLIN, influxd_binary
from tests.heatpump.store.bad_influx import BadInflux
from tests.influxd import Influxd

T0 = datetime(2026, 1, 15, tzinfo=UTC)
DEADLINE_S = 1.0
SLACK_S = 0.75  # what a call may take beyond its deadline (scheduling on a busy machine)
FIXTURE = Path(__file__).parents[2] / "fixtures" / "influxdb" / "influx1x_maxrowlimit_answer.json"


def meter(i: int, device: str = "d") -> Point:
    return Point("meter", T0 + timedelta(seconds=10 * i), {"power_w": float(i)},
                 {"device": device})


def timed_error(call) -> tuple[StoreError, float]:
    start = time.monotonic()
    with pytest.raises(StoreError) as info:
        call()
    return info.value, time.monotonic() - start


@pytest.fixture
def bad():
    with BadInflux() as server:
        yield server


@pytest.mark.parametrize("mode", ["silent", "trickle_headers", "trickle_body"])
def test_a_server_that_hangs_or_trickles_gives_a_store_error_within_the_deadline(bad, mode):
    store = InfluxStore(bad.url, "db", BERLIN, timeout_s=DEADLINE_S)
    assert store.latest("meter", ["power_w"]) == {}  # a normal server so far
    bad.mode = mode
    err, took = timed_error(lambda: store.latest("meter", ["power_w"]))
    assert "no complete answer" in str(err) and f"{DEADLINE_S:g} s" in str(err)
    assert DEADLINE_S * 0.9 <= took <= DEADLINE_S + SLACK_S, took
    if mode == "trickle_body":
        assert bad.sent >= 2  # it did trickle: each read was quick, the whole was not
    store.write([meter(1)])
    err, took = timed_error(store.flush)
    assert took <= DEADLINE_S + SLACK_S, took
    bad.mode = "ok"
    store.flush()  # the buffer was kept and goes out now
    assert any(r.startswith("POST /write") for r in bad.requests)
    store.close()


def test_a_store_made_while_the_server_hangs_gives_up_within_the_deadline(bad):
    bad.mode = "silent"
    start = time.monotonic()
    store = InfluxStore(bad.url, "db", BERLIN, timeout_s=DEADLINE_S)  # no error: it is down
    assert time.monotonic() - start <= DEADLINE_S + SLACK_S
    _err, took = timed_error(lambda: store.tag_values("meter", "device"))
    assert took <= DEADLINE_S + SLACK_S
    bad.mode = "ok"
    assert store.tag_values("meter", "device") == []
    store.close()


@pytest.mark.parametrize("mode", ["flood", "huge_length"])
def test_a_huge_answer_is_refused_without_holding_it(bad, mode):
    cap = 1024 * 1024
    store = InfluxStore(bad.url, "db", BERLIN, timeout_s=10.0, max_answer_bytes=cap)
    bad.mode = mode
    tracemalloc.start()
    try:
        err, took = timed_error(lambda: store.points("meter", T0, T0 + timedelta(days=1)))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "answered too much" in str(err) and f"{cap:,} bytes" in str(err)
    assert took < 5.0
    assert peak < 4 * cap, peak  # the 400 MB it offers never sit in memory
    if mode == "huge_length":
        assert "announces 300,000,000 bytes" in str(err)
    store.close()


def test_the_real_max_row_limit_answer_is_an_error_not_short_data(bad):
    """tests/fixtures/influxdb/: `"partial": true` on the series, not on the result."""
    answer = json.loads(FIXTURE.read_text())
    assert "partial" not in answer["results"][0]
    assert answer["results"][0]["series"][0]["partial"] is True
    store = InfluxStore(bad.url, "db", BERLIN, timeout_s=5.0)
    bad.mode, bad.body = "answer", FIXTURE.read_bytes()
    for call in (lambda: store.points("meter", T0, T0 + timedelta(days=1)),
                 lambda: store.latest("meter", ["power_w"]),
                 lambda: store.sums("meter", ["power_w"], T0, T0 + timedelta(days=1), "day",
                                    BERLIN)):
        err, _took = timed_error(call)
        assert "cut an answer short" in str(err) and "max-row-limit" in str(err)
    # The same mark on the result (how later versions may say it) is refused as well.
    bad.body = json.dumps({"results": [{"statement_id": 0, "partial": True, "series": []}]}
                          ).encode()
    with pytest.raises(StoreError, match="cut an answer short"):
        store.points("meter", T0, T0 + timedelta(days=1))
    store.close()



@pytest.mark.parametrize("body", [
    {"results": [{"statement_id": 0}]},  # one result for two statements
    {"results": [{"statement_id": 0}, {"statement_id": 1}, {"statement_id": 2}]},
    {"results": {"statement_id": 0}},
    {"results": [{"statement_id": 0, "series": [{"name": "meter"}]}, {"statement_id": 1}]},
    {"results": [{"statement_id": 0, "series": [{"columns": ["time"], "values": [5]}]},
                 {"statement_id": 1}]},
])
def test_an_answer_of_another_shape_is_one_clear_error(bad, body):
    """A proxy or another server version answering fewer results than statements, or
    series without rows: a StoreError naming the shape, never a ValueError or KeyError."""
    store = InfluxStore(bad.url, "db", BERLIN, timeout_s=5.0)
    bad.mode, bad.body = "answer", json.dumps(body).encode()
    with pytest.raises(StoreError, match="another shape"):
        store.latest("meter", ["power_w", "energy_import_wh"])
    store.close()

@pytest.mark.influx
def test_a_real_influxd_with_a_max_row_limit_never_gives_short_data(tmp_path):
    with Influxd(influxd_binary(), tmp_path / "influxd", max_row_limit=5) as server:
        store = InfluxStore(server.url, "rows", BERLIN)
        store.write([meter(i) for i in range(4)] + [meter(i, "e") for i in range(4)])
        store.flush()
        # Within the limit: whole answers.
        assert len(store.points("meter", T0, T0 + timedelta(hours=1), {"device": "d"})) == 4
        assert store.latest("meter", ["power_w"])["power_w"].value == 3.0
        # Beyond it: influxd cuts the answer, the store refuses it.
        with pytest.raises(StoreError, match="cut an answer short"):
            store.points("meter", T0, T0 + timedelta(hours=1))
        store.close()


@pytest.mark.influx
def test_a_frozen_influxd_gives_a_store_error_within_the_deadline_and_recovers(make_influxd):
    server = make_influxd()
    store = InfluxStore(server.url, "frozen", BERLIN, timeout_s=DEADLINE_S)
    store.write([meter(0)])
    store.flush()
    server.freeze()  # SIGSTOP: connections are still accepted, nothing answers
    try:
        err, took = timed_error(lambda: store.latest("meter"))
        assert "no complete answer" in str(err)
        assert took <= DEADLINE_S + SLACK_S, took
        store.write([meter(1)])
        _err, took = timed_error(store.flush)
        assert took <= DEADLINE_S + SLACK_S, took
        _err, took = timed_error(lambda: store.sums(
            "meter", ["power_w"], T0, T0 + timedelta(days=1), "day", BERLIN))
        assert took <= DEADLINE_S + SLACK_S, took
    finally:
        server.thaw()
    store.flush()  # the kept point goes out once the server answers again
    assert store.latest("meter")["power_w"].value == 1.0
    store.close()
