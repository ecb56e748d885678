"""When the sink commits: every HEATPUMP_FLUSH_MINUTES, at once for the first batch, a
change of health, while someone looks (live), or every batch with flush_s=0; what waits is
spooled if the store fails meanwhile, and nothing is reported durable before it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.sink import DurableSink
from collector.spool import Spool
from heatpump.store.base import Point
from tests.collector_helpers import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def point(i: int) -> Point:
    return Point("meter", T0 + timedelta(seconds=10 * i), {"power_w": float(i)},
                 {"device": "m"})


class Mono:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def sink(tmp_path, flush_s: float, live=None):
    store, mono = MemoryStore(), Mono()
    return DurableSink(store, Spool(tmp_path / "spool", 10_000_000), mono, flush_s=flush_s,
                       live=live), store, mono


def test_commits_every_flush_s_and_says_when_durable(tmp_path):
    s, store, mono = sink(tmp_path, flush_s=600)
    assert s.write([point(0)]) is True  # the first batch is committed at once
    assert store.flushes == 1
    for i in range(1, 60):
        mono.t = 10.0 * i
        assert s.write([point(i)]) is False  # waits for the commit
    assert store.flushes == 1 and len(store.all("meter")) == 1
    mono.t = 600.0
    assert s.write([point(60)]) is True
    assert store.flushes == 2 and len(store.all("meter")) == 61


def test_a_change_of_health_and_live_commit_at_once(tmp_path):
    wanted = {"live": False}
    s, store, mono = sink(tmp_path, flush_s=600, live=lambda: wanted["live"])
    s.write([point(0)])
    mono.t = 10
    assert s.write([point(1)]) is False
    assert s.write([point(2)], urgent=True) is True
    wanted["live"] = True
    mono.t = 20
    assert s.write([point(3)]) is True
    assert store.flushes == 3


def test_every_batch_with_flush_s_zero(tmp_path):
    s, store, _ = sink(tmp_path, flush_s=0)
    for i in range(5):
        assert s.write([point(i)]) is True
    assert store.flushes == 5


def test_a_store_failing_between_commits_spools_what_waited(tmp_path):
    s, store, mono = sink(tmp_path, flush_s=600)
    s.write([point(0)])
    for i in range(1, 4):
        mono.t = 10.0 * i
        s.write([point(i)])
    store.down = True
    mono.t = 600.0
    assert s.write([point(4)]) is True  # durable: in the spool, with what waited
    assert [p.fields["power_w"] for p in s.spool] == [1.0, 2.0, 3.0, 4.0]
    store.down = False
    store.buffer.clear()  # the store lost its copy (a restart): the spool has them
    assert s.pump(force=True)
    assert sorted(p.fields["power_w"] for p in store.all("meter")) == [0, 1, 2, 3, 4]


def test_close_commits_or_spools_what_waits(tmp_path):
    s, store, mono = sink(tmp_path, flush_s=600)
    s.write([point(0)])
    mono.t = 10
    s.write([point(1)])
    store.down = True
    s.close()
    assert [p.fields["power_w"] for p in s.spool] == [1.0]


def test_a_source_that_fails_commits_its_down_state_and_what_waited_at_once(tmp_path):
    """A poll that raises (the meter unreachable) is a change of health like any other: its
    `down` point and the samples before it are committed at once, not at the next hourly
    commit, which never comes while no source delivers (a meter-only set-up)."""
    from collector.service import Collector, VirtualClock
    from tests.collector_helpers import CountingSource

    clock = VirtualClock(T0)
    store = MemoryStore()
    s = DurableSink(store, Spool(tmp_path / "spool", 10_000_000), clock.monotonic,
                    flush_s=3600)
    fail = lambda n: ConnectionRefusedError("refused") if n > 30 else None  # noqa: E731
    col = Collector([CountingSource("meter", 10, clock.now, fail=fail)], s, tmp_path,
                    clock=clock, threaded=False)
    col.start()
    while clock.now() < T0 + timedelta(minutes=30):  # no shutdown: it would commit
        col.step()
    assert [(h.fields["status"], h.fields["reason"]) for h in store.all("health")] == [
        ("up", ""), ("down", "unreachable")]
    assert len(store.all("meter")) == 30  # every sample before the failure
