"""collector/bounded_store.py: a store call returns within its wait whatever the store
does; the real hang (influxd under SIGSTOP) is in tests/collector/faults/test_store_hang.py.
Here the embedded store is held by a lock the test keeps, so each case is exact."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from collector.bounded_store import BoundedStore, StoreNoAnswer
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore

T = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)


class Held(SQLiteStore):
    """The embedded store, whose commits wait while `hold` is set."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.hold = threading.Event()
        self.released = threading.Event()

    def flush(self) -> None:
        if self.hold.is_set():
            self.released.wait(30)
        super().flush()


@pytest.fixture
def held(tmp_path):
    store = Held(tmp_path / "db.sqlite3", ZoneInfo("UTC"))
    yield store
    store.released.set()


def point(minute: int) -> Point:
    return Point("meter", T.replace(minute=minute), {"power_w": 100.0}, {"device": "m"})


def test_a_hung_call_fails_within_the_wait_and_the_next_fail_at_once(held):
    bounded = BoundedStore(held, wait_s=0.3)
    bounded.write([point(1)])
    bounded.flush()  # answered in time
    held.hold.set()
    started = time.monotonic()
    with pytest.raises(StoreNoAnswer, match=r"within 0\.3 s"):
        bounded.flush()
    with pytest.raises(StoreNoAnswer, match="has not answered"):
        bounded.write([point(2)])  # does not queue behind the hung call
    assert time.monotonic() - started < 0.3 + 2.0
    held.hold.clear()
    held.released.set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the abandoned call ends; the store is usable again
        try:
            bounded.write([point(3)])
            break
        except StoreNoAnswer:
            time.sleep(0.05)
    bounded.flush()
    assert [p.time.minute for p in bounded.points("meter", T, T.replace(hour=7))] == [1, 3]


def test_give_up_ends_a_wait_at_once(held):
    bounded = BoundedStore(held, wait_s=20.0)
    held.hold.set()
    threading.Timer(0.2, bounded.give_up).start()
    started = time.monotonic()
    with pytest.raises(StoreNoAnswer):
        bounded.flush()
    assert time.monotonic() - started < 5.0  # not the 20 s wait


def test_a_slow_store_gets_a_longer_wait_and_a_fast_one_the_short_wait_again(held):
    bounded = BoundedStore(held, wait_s=0.2, max_wait_s=5.0)
    held.hold.set()
    threading.Timer(0.5, held.released.set).start()
    with pytest.raises(StoreNoAnswer):
        bounded.flush()
    deadline = time.monotonic() + 10
    while bounded.wait_s == 0.2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0.2 < bounded.wait_s <= 5.0  # it answered late (0.5 s): slow, not hung
    held.hold.clear()
    for _ in range(8):
        bounded.flush()
    assert bounded.wait_s == 0.2


def test_opening_a_store_that_does_not_answer_is_no_error(tmp_path):
    release = threading.Event()

    def slow_open() -> SQLiteStore:
        release.wait(30)
        return SQLiteStore(tmp_path / "db.sqlite3", ZoneInfo("UTC"))

    started = time.monotonic()
    bounded = BoundedStore.opening(slow_open, wait_s=0.2)
    assert time.monotonic() - started < 5.0
    with pytest.raises(StoreNoAnswer):
        bounded.info()
    release.set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            assert bounded.info().backend == "sqlite"
            break
        except StoreNoAnswer:
            time.sleep(0.05)
    else:
        raise AssertionError("the store never opened")


class Slow(SQLiteStore):
    """The embedded store, healthy but slow: every write and read takes `slow_s`."""

    slow_s = 0.05

    def write(self, points) -> None:
        time.sleep(self.slow_s)
        super().write(points)

    def points(self, *args, **kw):
        time.sleep(self.slow_s)
        return super().points(*args, **kw)


def test_two_threads_asking_a_slow_healthy_store_at_once_both_get_their_answer(tmp_path):
    """At start the meter's poll thread reads the store (to resume its accounting) while
    the main loop writes: the second call waits its turn, it is no hang."""
    slow = Slow(tmp_path / "db.sqlite3", ZoneInfo("UTC"))
    bounded = BoundedStore(slow, wait_s=2.0)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer() -> None:
        start.wait()
        try:
            for minute in range(10):
                bounded.write([point(minute)])
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    start.wait()
    reads = 0
    for _ in range(10):
        bounded.points("meter", T, T.replace(hour=7))  # overlaps the writer's 50 ms calls
        reads += 1
    thread.join(30)
    assert errors == [] and reads == 10
    assert bounded.abandoned == 0
    bounded.flush()
    assert [p.time.minute for p in bounded.points("meter", T, T.replace(hour=7))] == list(
        range(10))


class Entered(Held):
    """Held, and telling when a held commit has begun."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.entered = threading.Event()

    def flush(self) -> None:
        self.entered.set()
        super().flush()


@pytest.fixture
def entered(tmp_path):
    store = Entered(tmp_path / "db.sqlite3", ZoneInfo("UTC"))
    yield store
    store.released.set()


def in_background(fn) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_call_in_progress_makes_the_next_caller_wait_its_turn_not_fail(entered):
    bounded = BoundedStore(entered, wait_s=5.0)
    entered.hold.set()
    thread, errors = in_background(bounded.flush)  # in progress, its caller still waits
    assert entered.entered.wait(5)
    threading.Timer(0.3, entered.released.set).start()
    started = time.monotonic()
    bounded.write([point(1)])  # waits for the commit in progress, then is made
    assert time.monotonic() - started >= 0.2
    thread.join(10)
    assert errors == [] and bounded.abandoned == 0
    bounded.flush()
    assert [p.time.minute for p in bounded.points("meter", T, T.replace(hour=7))] == [1]


def test_waiting_for_a_turn_counts_towards_the_callers_own_wait(entered):
    bounded = BoundedStore(entered, wait_s=5.0)
    entered.hold.set()
    thread, errors = in_background(bounded.flush)
    assert entered.entered.wait(5)
    bounded.finish_by(time.monotonic() + 0.3)  # shutdown: later calls wait 0.3 s at most
    started = time.monotonic()
    with pytest.raises(StoreNoAnswer, match="still busy"):
        bounded.write([point(1)])
    assert 0.2 <= time.monotonic() - started < 3.0
    assert bounded.abandoned == 0  # the write was never started, the commit still awaited
    entered.released.set()
    thread.join(10)
    assert errors == []


def test_give_up_ends_the_wait_of_a_caller_waiting_its_turn(entered):
    bounded = BoundedStore(entered, wait_s=20.0)
    entered.hold.set()
    thread, errors = in_background(bounded.flush)
    assert entered.entered.wait(5)
    threading.Timer(0.2, bounded.give_up).start()
    started = time.monotonic()
    with pytest.raises(StoreNoAnswer):
        bounded.write([point(1)])
    assert time.monotonic() - started < 5.0  # not the 20 s wait
    thread.join(10)  # the commit's own caller ended its wait too
    assert len(errors) == 1 and isinstance(errors[0], StoreNoAnswer)


def test_a_caller_waiting_its_turn_fails_at_once_when_the_call_ahead_is_given_up(entered):
    bounded = BoundedStore(entered, wait_s=0.3)
    entered.hold.set()
    thread, errors = in_background(bounded.flush)  # given up after 0.3 s: hung
    assert entered.entered.wait(5)
    bounded.wait_s = 20.0  # the second caller would wait long for a turn of its own
    started = time.monotonic()
    with pytest.raises(StoreNoAnswer, match="has not answered"):
        bounded.write([point(1)])
    assert time.monotonic() - started < 5.0  # not the 20 s: the store is hung
    thread.join(10)
    assert len(errors) == 1 and "within 0.3 s" in str(errors[0])
    assert bounded.abandoned == 1


class SlowEverywhere(SQLiteStore):
    """The embedded store, healthy but slow (`slow_s` per request), as a loaded disk or a
    remote InfluxDB is: the collector's threads are sure to ask it at the same moment."""

    slow_s = 0.05

    def write(self, points) -> None:
        time.sleep(self.slow_s)
        super().write(points)

    def flush(self) -> None:
        time.sleep(self.slow_s)
        super().flush()

    def latest(self, *args, **kw):
        time.sleep(self.slow_s)
        return super().latest(*args, **kw)

    def points(self, *args, **kw):
        time.sleep(self.slow_s)
        return super().points(*args, **kw)


def test_the_collector_starting_in_real_time_over_the_simulated_house_sees_no_store_down(
        tmp_path, caplog):
    """`heatpump demo --live` / `heatpump collect` at start: the meter's first poll reads
    the store on its poll thread (to resume its accounting) while the main loop writes the
    heat pump's first batch. Neither is a store down, and nothing is spooled."""
    import logging

    from collector.service import RealClock
    from heatpump.settings import Settings
    from simhouse.demo_cmd import run_service, simulated_house
    from simhouse.scenarios import Setup

    caplog.set_level(logging.INFO)
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    clock = RealClock()
    house = simulated_house(settings, clock.now(), Setup(), 7, clock.now)
    store = SlowEverywhere(tmp_path / "db.sqlite3", settings.tz)
    stop_at = time.monotonic() + 4.0  # both first polls (meter and heat pump) are at start
    col = run_service(settings, house, store, clock=clock, data_dir=tmp_path / "demo",
                      until=lambda: time.monotonic() >= stop_at, install_signals=False)
    assert col.polls >= 2
    assert isinstance(col.sink.store, BoundedStore) and col.sink.store.abandoned == 0
    said = [r.getMessage() for r in caplog.records if r.name.startswith("collector")]
    assert not [line for line in said if "store down" in line or "spooling" in line
                or "hung" in line or "cannot read" in line], said
    assert not list((tmp_path / "demo" / "spool").glob("*"))
    check = SQLiteStore(tmp_path / "db.sqlite3", settings.tz)
    far = (T.replace(year=2000), T.replace(year=2100))
    health = check.points("health", *far)
    assert health and {h.fields["status"] for h in health} == {"up"}  # the store never down
    assert check.points("heatpump", *far) and check.points("meter", *far)
