"""The service loop on a virtual clock: grid timing, coalescing, health changes, heartbeat,
spooling through a store outage, and a clean shutdown with every buffer flushed."""

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from collector.health import SourceError
from collector.service import Collector, RealClock, VirtualClock, classify
from collector.sink import DurableSink
from collector.spool import Spool
from heatpump.heartbeat import heartbeat_path
from tests.collector_helpers import CountingSource, MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make(tmp_path, sources_fn, store=None, clock=None):
    clock = clock or VirtualClock(T0)
    store = store or MemoryStore()
    sink = DurableSink(store, Spool(tmp_path / "spool", 10**9), clock.monotonic)
    srcs = sources_fn(clock)
    return Collector(srcs, sink, tmp_path, clock=clock, threaded=False), store, clock, srcs


def test_polls_on_the_grid_for_an_hour(tmp_path):
    col, store, clock, (src,) = make(tmp_path, lambda c: [
        CountingSource("m", 10, c.now, duration=lambda n: 0.3, advance=c.advance)])
    col.run(until=lambda: clock.now() >= T0 + timedelta(hours=1))
    times = [p.time for p in store.all("meter")]
    assert len(times) == 360
    # stamped 0.3 s into each slot, never drifting: slot k is at T0 + 10 k + 0.3
    assert all(abs((t - T0).total_seconds() - 10 * k - 0.3) < 1e-6 for k, t in enumerate(times))
    assert src.closed and store.all("electricity")  # accounting flushed at shutdown


def test_slow_poll_skips_and_coalesces(tmp_path):
    col, store, clock, (_src,) = make(tmp_path, lambda c: [
        CountingSource("m", 10, c.now, duration=lambda n: 35.0 if n == 3 else 0.0,
                       advance=c.advance)])
    col.run(until=lambda: clock.now() >= T0 + timedelta(seconds=100))
    offsets = [(p.time - T0).total_seconds() for p in store.all("meter")]
    # polls at 0, 10, 20 (lasts 35 s, answers at 55), then one catch-up, then on the grid
    assert offsets[:3] == [0.0, 10.0, 55.0]
    assert offsets[3:6] == [55.0, 60.0, 70.0] or offsets[3:6] == [60.0, 70.0, 80.0]
    assert col.jobs[0].grid.skipped >= 2


def test_health_points_only_on_change_with_reason_and_until(tmp_path, caplog):
    until = T0 + timedelta(hours=5)

    def fail(n):
        if 3 <= n <= 8:
            return SourceError("quota_exhausted", "daily API limit reached", until=until)
        if n == 9:
            return ConnectionRefusedError("refused")
        return None

    caplog.set_level(logging.INFO)
    col, store, clock, _ = make(tmp_path, lambda c: [
        CountingSource("vicare", 300, c.now, fail=fail)])
    col.run(until=lambda: clock.now() >= T0 + timedelta(seconds=300 * 12 - 1))
    health = store.all("health")
    assert [(h.fields["status"], h.fields["reason"]) for h in health] == [
        ("up", ""), ("down", "quota_exhausted"), ("down", "unreachable"), ("up", "")]
    assert health[1].fields["until"] == "2026-01-01T05:00:00Z"
    assert health[1].tags == {"source": "vicare", "device": "dev1"}
    assert health[2].fields["failures"] == 7
    lines = [r.getMessage() for r in caplog.records if r.name == "collector"]
    assert len([m for m in lines if "vicare" in m]) == 4  # one line per change, not per poll
    assert any("vicare dev1 up again after 7 failed polls, down since 2026-01-01 00:10 UTC"
               in m for m in lines)
    beat = json.loads(heartbeat_path(tmp_path, "collector").read_text())
    assert beat["sources"]["vicare/dev1"]["status"] == "up" and beat["stopped"] is True


def test_store_outage_loses_nothing_and_doubles_nothing(tmp_path):
    store = MemoryStore()
    col, store, _clock, _ = make(tmp_path, lambda c: [CountingSource("m", 10, c.now)],
                                store=store)
    col.start()
    for _ in range(30):
        col.step()
    store.down = True
    for _ in range(100):
        col.step()
    assert col.sink.spool and not col.sink.up
    store.down = False
    for _ in range(100):
        col.step()
    col.shutdown()
    vals = [p.fields["energy_import_wh"] for p in store.all("meter")]
    assert vals == [float(i) for i in range(1, len(vals) + 1)]
    assert len(vals) == col.jobs[0].source.n
    assert not col.sink.spool
    st = [(h.tags["source"], h.fields["status"]) for h in store.all("health")]
    assert ("store", "down") in st and ("store", "up") in st


def test_restart_resumes_from_spool_when_store_is_down(tmp_path):
    store = MemoryStore()
    col, _, clock, _ = make(tmp_path, lambda c: [CountingSource("m", 10, c.now)], store=store)
    store.down = True
    col.run(until=lambda: clock.now() >= T0 + timedelta(seconds=55))
    col2, _, _, (src2,) = make(tmp_path, lambda c: [CountingSource("m", 10, c.now)],
                               store=store, clock=clock)
    col2.start()
    assert src2.resumed_from["energy_import_wh"].value == 6.0
    col2.shutdown()


def test_sigterm_style_stop_is_fast_even_with_a_hung_poll(tmp_path):
    hang = threading.Event()

    class Hung(CountingSource):
        def poll(self):
            hang.wait(30)
            return super().poll()

    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path / "spool", 10**9), time.monotonic)
    fast = CountingSource("fast", 0.05, lambda: datetime.now(UTC))
    col = Collector([fast, Hung("slow", 1, lambda: datetime.now(UTC))], sink, tmp_path,
                    clock=RealClock())
    t = threading.Thread(target=col.run)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    col.request_stop()
    t.join(10)
    elapsed = time.monotonic() - t0
    hang.set()
    assert not t.is_alive() and elapsed < 5
    assert fast.n >= 3 and len(store.all("meter")) == fast.n
    assert fast.closed and store.all("electricity")


def test_classify_table():
    assert classify(TimeoutError()).reason == "unreachable"
    assert classify(ValueError("x")).reason == "bad_response"
    e = classify(RuntimeError("boom"))
    assert e.reason == "error" and "boom" in e.detail


def test_raw_retention_setting_deletes_old_raw_samples(tmp_path):
    """HEATPUMP_RAW_RETENTION_DAYS is applied by the running collector (at start, then
    daily): raw meter samples older than that go, newer ones and energy stay."""
    from collector.collect_cmd import build_collector
    from heatpump.settings import Settings
    from heatpump.store.base import Point
    from heatpump.store.sqlite import SQLiteStore

    for days, old_left in (("0", 1), ("2", 0)):
        d = tmp_path / days
        s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(d), "HEATPUMP_TZ": "Europe/Berlin",
                                   "HEATPUMP_RAW_RETENTION_DAYS": days})
        d.mkdir()
        store = SQLiteStore(d / "heatpump.sqlite3", s.tz)
        tags = {"device": "m1"}
        store.write([Point("meter", T0 - timedelta(days=10), {"power_w": 1.0}, tags),
                     Point("meter", T0 - timedelta(days=1), {"power_w": 2.0}, tags),
                     Point("electricity", T0 - timedelta(days=10),
                           {"energy_wh": 5.0, "duration_s": 3600.0},
                           {"device": "m1", "source": "meter", "circuit": "total"})])
        store.flush()
        clock = VirtualClock(T0)
        col = build_collector(s, [CountingSource("m", 10, clock.now, advance=clock.advance)],
                              store, clock=clock, threaded=False, data_dir=d)
        col.run(until=lambda c=clock: c.now() >= T0 + timedelta(minutes=1))
        with SQLiteStore(d / "heatpump.sqlite3", s.tz) as check:
            old = check.points("meter", T0 - timedelta(days=11), T0 - timedelta(days=9))
            recent = check.points("meter", T0 - timedelta(days=2), T0 - timedelta(hours=1))
            energy = check.points("electricity", T0 - timedelta(days=11),
                                  T0 - timedelta(days=9))
        assert (len(old), len(recent), len(energy)) == (old_left, 1, 1), days


def test_offline_polls_that_change_only_data_are_written_together_in_order(tmp_path):
    """collector/drive.py's merged polls: the same points as poll by poll, in fewer sink
    writes; a change of health writes what waited first, then itself, at its own time."""
    from collector.drive import every, run_polls

    def fail(n):
        return SourceError("unreachable", "no answer") if n in (5, 6) else None

    col, store, clock, (src,) = make(tmp_path, lambda c: [
        CountingSource("meter", 10, c.now, fail=fail)])
    writes = []
    write = col.sink.write
    col.sink.write = lambda points, urgent=False, polls=1: writes.append(
        [(p.measurement, p.time) for p in points]) or write(points, urgent, polls)
    run_polls(col, every(src, T0, T0 + timedelta(seconds=100)), clock)
    meter = [p.fields["energy_import_wh"] for p in store.all("meter")]
    assert meter == [1.0, 2.0, 3.0, 4.0, 7.0, 8.0, 9.0, 10.0]  # every answered poll
    health = [(h.time, h.fields["status"]) for h in store.all("health")]
    assert health == [(T0, "up"), (T0 + timedelta(seconds=40), "down"),
                      (T0 + timedelta(seconds=60), "up")]
    # the first poll is a change (up); polls 2-4 wait and go before the outage's point;
    # 8-10 go together at shutdown, before the accounting's last points
    assert [len(w) for w in writes] == [2, 3, 1, 2, 3, 1]
    assert writes[1] == [("meter", T0 + timedelta(seconds=s)) for s in (10, 20, 30)]


def test_merged_offline_polls_keep_a_bulk_loads_commit_cadence(tmp_path):
    """A bulk load (the demo, a replay) commits every `flush_every` polls, merged or not: a
    merged write counts as the polls it holds (counted as one write, a whole demo would be
    one transaction, held in memory and in the WAL)."""
    from collector.drive import every, run_polls
    from collector.service import MERGE_POINTS

    clock = VirtualClock(T0)
    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path / "spool", 10**9), clock.monotonic,
                       flush_every=2 * MERGE_POINTS)
    src = CountingSource("meter", 10, clock.now)
    col = Collector([src], sink, tmp_path, clock=clock, threaded=False)
    run_polls(col, every(src, T0, T0 + timedelta(seconds=10 * 10 * MERGE_POINTS)), clock)
    # 10 x MERGE_POINTS polls of one point: merged writes of MERGE_POINTS polls, a commit
    # every second one (5), the first poll's change of health and the shutdown's
    assert 6 <= store.flushes <= 8
    assert len(store.all("meter")) == 10 * MERGE_POINTS


def test_an_urgent_poll_is_not_merged_offline(tmp_path):
    """poll_now(merge=True) writes a batch its source marks urgent (a heat pump's messages
    or settings changed) at once, after the polls merged before it, like a change of health;
    merged with the next ones it would wait for the next commit."""
    from dataclasses import replace

    class Marking(CountingSource):
        def poll(self):
            return replace(super().poll(), urgent=self.n == 4)

    clock = VirtualClock(T0)
    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path / "spool", 10**9), clock.monotonic,
                       flush_s=3600)
    src = Marking("vicare", 300, clock.now)
    col = Collector([src], sink, tmp_path, clock=clock, threaded=False)
    col.start()
    for n in range(5):
        clock.set(T0 + timedelta(minutes=5 * n))
        col.poll_now(src, merge=True)
    # the first poll (a change of health) and the urgent fourth with the two before it
    assert [p.fields["energy_import_wh"] for p in store.all("meter")] == [1, 2, 3, 4]
    assert store.flushes == 2
