"""The spool: survives crashes, replays in order, caps its size dropping raw samples first."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector import spool as spool_mod
from collector.sink import DurableSink
from collector.spool import Spool
from heatpump.store.base import Point
from tests.collector_helpers import MemoryStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def meter(i: int) -> Point:
    return Point("meter", T0 + timedelta(seconds=10 * i),
                 {"power_w": 1000.0 + i, "energy_import_wh": 5.0 * i, "uptime_s": i},
                 {"device": "shelly1"})


def energy(i: int) -> Point:
    return Point("electricity", T0 + timedelta(minutes=i),
                 {"energy_wh": 12.5, "duration_s": 60.0, "counter_wh": 12.5 * i},
                 {"device": "shelly1", "source": "meter", "circuit": "total"})


def test_round_trip_keeps_types_and_order(tmp_path):
    sp = Spool(tmp_path, 10**9)
    pts = [meter(i) for i in range(5)] + [Point("health", T0, {"status": "down",
                                                               "failures": 3},
                                                {"source": "vicare", "device": "-"})]
    sp.append(pts[:3])
    sp.append(pts[3:])
    back = list(sp)
    assert back == pts
    assert isinstance(back[0].fields["uptime_s"], int)
    assert isinstance(back[0].fields["power_w"], float)


def test_a_new_process_never_appends_to_an_old_segment_and_a_torn_line_is_skipped(tmp_path):
    sp = Spool(tmp_path, 10**9)
    sp.append([meter(0), meter(1)])
    seg = sp.segments()[0]
    with open(seg, "a") as f:  # kill -9 in the middle of a write
        f.write('{"m":"meter","t":"2026-01-')
    sp2 = Spool(tmp_path, 10**9)
    sp2.append([meter(2)])
    assert len(sp2.segments()) == 2
    assert [p.fields["uptime_s"] for p in sp2] == [0, 1, 2]


def test_cap_drops_oldest_meter_samples_never_energy(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(spool_mod, "SEGMENT_BYTES", 4000)
    sp = Spool(tmp_path, 40_000)
    for i in range(600):
        sp.append([meter(i)] + ([energy(i // 6)] if i % 6 == 0 else []))
    assert sp.size_bytes <= 40_000
    got = list(sp)
    energies = [p for p in got if p.measurement == "electricity"]
    assert len(energies) == 100  # every energy interval survives
    meters = [p.fields["uptime_s"] for p in got if p.measurement == "meter"]
    assert meters == sorted(meters) and meters[-1] == 599  # the newest raw samples stay
    assert meters[0] > 0  # ... and the oldest went
    assert sp.dropped["meter"] == 600 - len(meters)
    assert "spool 50% full" in caplog.text and "spool 80% full" in caplog.text
    assert "dropped the oldest" in caplog.text


def test_sink_spools_while_down_and_replays_in_order_without_doubling(tmp_path):
    now = [0.0]
    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path, 10**9), lambda: now[0])
    sink.write([meter(0)])
    store.down = True
    for i in range(1, 50):
        sink.write([meter(i)])
        now[0] += 10
    assert not sink.up and sink.spool
    store.down = False
    sink.write([meter(50)])  # still queued behind the spool: order is kept
    assert len(store.all("meter")) == 1
    assert sink.pump()
    assert not sink.spool and sink.up
    assert [p.fields["uptime_s"] for p in store.all("meter")] == list(range(51))
    # a replay after a crash (same points again) overwrites, never doubles
    sink.write([meter(i) for i in range(51)])
    assert len(store.all("meter")) == 51


def test_replay_backs_off_while_the_store_stays_down(tmp_path):
    now = [0.0]
    store = MemoryStore()
    store.down = True
    sink = DurableSink(store, Spool(tmp_path, 10**9), lambda: now[0])
    sink.write([meter(0)])
    flushes = store.flushes
    assert not sink.pump()  # within the back-off: no attempt at all
    now[0] += 5
    assert not sink.pump()  # attempt fails, next in 10 s
    now[0] += 5
    assert not sink.pump()
    store.down = False
    now[0] += 5
    assert sink.pump()
    assert store.flushes > flushes and len(store.all("meter")) == 1


def test_resume_lookup_prefers_newer_spooled_points(tmp_path):
    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path, 10**9), lambda: 0.0)
    sink.write([energy(1)])
    store.down = True
    sink.write([energy(2), energy(3)])
    got = sink.latest("electricity", ["counter_wh"], {"device": "shelly1", "source": "meter"})
    assert got["counter_wh"].value == 37.5 and got["counter_wh"].time == energy(3).time


def test_a_spool_left_by_a_crashed_run_is_replayed_before_new_data(tmp_path):
    Spool(tmp_path, 10**9).append([meter(0), meter(1)])  # the earlier process died here
    store = MemoryStore()
    sink = DurableSink(store, Spool(tmp_path, 10**9), lambda: 100.0)
    assert not sink.up  # queued behind the old spool
    sink.write([meter(2)])
    assert store.all("meter") == []
    assert sink.pump()
    assert [p.fields["uptime_s"] for p in store.all("meter")] == [0, 1, 2]


def test_a_long_replay_is_done_in_slices(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_mod, "SEGMENT_BYTES", 500)
    store = MemoryStore()
    store.down = True
    sink = DurableSink(store, Spool(tmp_path, 10**9), lambda: 100.0)
    for i in range(40):
        sink.write([meter(i)])
    store.down = False
    assert not sink.pump(force=True, budget_s=0.0)  # one segment per call with no budget
    assert sink.replaying and 0 < len(store.all("meter")) < 40
    while not sink.pump(force=True, budget_s=0.0):
        pass
    assert not sink.replaying
    assert [p.fields["uptime_s"] for p in store.all("meter")] == list(range(40))


def test_a_point_the_store_refuses_for_good_is_dropped_not_spooled(tmp_path, caplog):
    from heatpump.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "h.sqlite3", ZoneInfo("UTC"))
    sink = DurableSink(store, Spool(tmp_path / "spool", 10**9), lambda: 0.0)
    bad = Point("meter", T0, {"power_w": float("nan")}, {"device": "shelly1"})
    sink.write([meter(0), bad, meter(1)])
    assert sink.up and not sink.spool and sink.invalid == 1
    assert "dropped an invalid meter point" in caplog.text
    assert len(store.points("meter", T0, T0 + timedelta(hours=1))) == 2
    store.close()


def test_a_full_disk_keeps_the_points_in_memory_and_spools_them_later(tmp_path,
                                                                        monkeypatch, caplog):
    """Issue 15: the store down AND the disk full lost nothing, yet the log said "lost".
    The points wait in memory (not durable: the accounting state is not saved) and go to
    the spool, in order, when the disk takes data again; nothing is counted lost."""
    import errno

    store = MemoryStore()
    store.down = True
    sp = Spool(tmp_path / "spool", 10**9)
    sink = DurableSink(store, sp, lambda: 0.0)
    real_append = sp.append

    def full(points):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sp, "append", full)
    assert sink.write([meter(0)]) is False  # not durable
    assert sink.write([meter(1), meter(2)]) is False
    assert (sink.lost, sink.held) == (0, 3)
    assert "cannot spool 1 points" in caplog.text and "kept in memory" in caplog.text
    assert "lost" not in caplog.text
    monkeypatch.setattr(sp, "append", real_append)
    assert sink.write([meter(3)]) is True  # durable again, the held points first
    assert (sink.lost, sink.held) == (0, 0)
    assert [p.fields["uptime_s"] for p in sp] == [0, 1, 2, 3]


def test_only_what_memory_cannot_hold_is_counted_lost(tmp_path, monkeypatch, caplog):
    import errno

    from collector import sink as sink_mod

    monkeypatch.setattr(sink_mod, "MAX_HELD_POINTS", 4)
    store = MemoryStore()
    store.down = True
    sp = Spool(tmp_path / "spool", 10**9)
    sink = DurableSink(store, sp, lambda: 0.0)

    def full(points):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sp, "append", full)
    sink.write([energy(0)])
    for i in range(6):
        sink.write([meter(i)])
    assert (sink.lost, sink.held) == (3, 4)
    assert "3 lost so far" in caplog.text
    monkeypatch.undo()
    sink.pump(force=True)  # the disk takes data again
    kept = list(sp)
    assert kept[0] == energy(0)  # raw samples go first, energy is kept
    assert [p.fields["uptime_s"] for p in kept[1:]] == [3, 4, 5]


def test_held_points_go_to_the_store_first_when_it_answers_again(tmp_path, monkeypatch):
    import errno

    store = MemoryStore()
    store.down = True
    sp = Spool(tmp_path / "spool", 10**9)
    sink = DurableSink(store, sp, lambda: 0.0)
    monkeypatch.setattr(sp, "append", lambda points: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system")))
    sink.write([meter(0), meter(1)])
    store.down = False
    assert sink.pump(force=True)  # nothing spooled: the store is up again
    assert sink.write([meter(2)]) is True
    assert [p.fields["uptime_s"] for p in store.all("meter")] == [0, 1, 2]
    assert (sink.lost, sink.held) == (0, 0)
