"""When the sink commits: every HEATPUMP_FLUSH_MINUTES, at once for the first batch, a
change of health, a change of a heat pump's messages, a changed setting and a new live
request, every batch while someone looks (live), or every batch with flush_s=0; what waits
is spooled if the store fails meanwhile, and nothing is reported durable before it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.sink import DurableSink
from collector.spool import Spool
from heatpump.live import Requests
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
    request = {"now": Requests(None, None)}
    s, store, mono = sink(tmp_path, flush_s=600, live=lambda: request["now"])
    s.write([point(0)])
    mono.t = 10
    assert s.write([point(1)]) is False
    assert s.write([point(2)], urgent=True) is True
    request["now"] = Requests(1.7e9, None)  # /live
    s.look_live()
    mono.t = 20
    assert s.write([point(3)]) is True  # every batch while /live is in force
    assert store.flushes == 3


def test_a_commit_request_commits_once_then_the_cadence_resumes(tmp_path):
    """/status asks for one commit, not for every poll (each costs an SD card pages)."""
    request = {"now": Requests(None, None)}
    s, store, mono = sink(tmp_path, flush_s=3600, live=lambda: request["now"])
    s.write([point(0)])
    mono.t = 10
    assert s.write([point(1)]) is False
    request["now"] = Requests(None, 1.7e9)  # the bot touched commit.request
    assert s.look_live() is True
    assert store.flushes == 2
    for i in range(2, 20):
        mono.t = 10.0 * i
        assert s.write([point(i)]) is False  # back to the hourly cadence
        assert s.look_live() is False
    assert store.flushes == 2


def test_a_new_live_request_commits_what_waits_without_waiting_for_a_write(tmp_path):
    """/status waits up to 15 s for a commit; with only a heat pump polled every 5 minutes no
    write comes in that time, so the look itself commits what waits, once per request."""
    request = {"now": Requests(None, None)}
    s, store, mono = sink(tmp_path, flush_s=3600, live=lambda: request["now"])
    s.write([point(0)])
    mono.t = 10
    assert s.write([point(1)]) is False
    assert s.look_live() is False  # nobody looks
    assert store.flushes == 1 and len(store.all("meter")) == 1
    request["now"] = Requests(1.7e9, None)  # the bot touched live.request (/live)
    assert s.look_live() is True
    assert store.flushes == 2 and len(store.all("meter")) == 2
    assert s.look_live() is False  # the same request: nothing new, nothing waits
    request["now"] = Requests(None, None)  # it expired: batches wait for the hourly commit
    s.look_live()
    mono.t = 20
    assert s.write([point(2)]) is False
    request["now"] = Requests(None, 1.7e9 + 900)  # a new commit request (/status)
    assert s.look_live() is True
    assert store.flushes == 3 and len(store.all("meter")) == 3


def test_a_live_request_that_finds_the_store_down_spools_what_waited(tmp_path):
    request = {"now": Requests(None, None)}
    s, store, mono = sink(tmp_path, flush_s=3600, live=lambda: request["now"])
    s.write([point(0)])
    mono.t = 10
    s.write([point(1)])
    store.down = True
    request["now"] = Requests(None, 1.7e9)
    assert s.look_live() is False
    assert [p.fields["power_w"] for p in s.spool] == [1.0] and not s.up


def test_a_request_is_answered_even_when_nothing_waits(tmp_path):
    """The bot waits for a newer sample or the collector's answer: a second /status within
    one heat pump poll (nothing new to commit) is answered at once, not after LIVE_WAIT_S;
    a commit that fails is not answered."""
    request = {"now": Requests(None, None)}
    answers: list[int] = []
    store, mono = MemoryStore(), Mono()
    s = DurableSink(store, Spool(tmp_path / "spool", 10_000_000), mono, flush_s=3600,
                    live=lambda: request["now"], answer=lambda: answers.append(store.flushes))
    s.write([point(0)])
    mono.t = 10
    s.write([point(1)])
    request["now"] = Requests(None, 1.7e9)
    assert s.look_live() is True and answers == [2]  # answered after the commit
    request["now"] = Requests(None, 1.7e9 + 5)
    assert s.look_live() is False and answers == [2, 2]  # nothing waited: answered at once
    assert s.look_live() is False and answers == [2, 2]  # the same request: once
    s.write([point(2)])
    store.down = True
    request["now"] = Requests(None, 1.7e9 + 9)
    assert s.look_live() is False and answers == [2, 2]  # not committed: no answer

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


# --- what the collector commits at once on the embedded store's regular cadence ---------
# The real collector (build_collector: the wiring of `heatpump collect`) over the simulated
# Vitocal alone (no meter), into SQLite, on a virtual clock; a second connection reads what
# the bot would see. The first poll at T0 is committed; the next regular commit an hour or
# more later.

def vicare_only(tmp_path, scenarios=()):
    from collector.collect_cmd import build_collector
    from collector.service import VirtualClock
    from collector.wiring import Devices, build_sources
    from heatpump.settings import Settings
    from heatpump.store.sqlite import SQLiteStore
    from simhouse.demo_cmd import simulated_house
    from simhouse.scenarios import Setup

    data = tmp_path / "data"
    data.mkdir()
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    assert settings.flush_s >= 3600  # the embedded store's default: an hour or more
    clock = VirtualClock(T0)
    house = simulated_house(settings, T0, Setup(scenarios=tuple(scenarios)), 11, clock.now)
    sources, state = build_sources(settings, clock, data_dir=data,
                                   devices=Devices(vicare=house.vitocal.answer))
    db = data / "heatpump.sqlite3"
    col = build_collector(settings, sources, SQLiteStore(db, settings.tz), clock=clock,
                          threaded=False, data_dir=data, state=state)
    col.start()

    def until(minutes: float) -> None:
        while clock.now() < T0 + timedelta(minutes=minutes):
            col.step()

    def bot_sees(measurement: str) -> list[Point]:
        store = SQLiteStore(db, settings.tz)  # the bot's own connection
        try:
            return store.points(measurement, T0 - timedelta(days=1), T0 + timedelta(days=1))
        finally:
            store.close()

    return col, clock, until, bot_sees, data


def minute(p: Point) -> float:
    return (p.time - T0).total_seconds() / 60


def test_a_fault_message_and_its_end_are_committed_at_once(tmp_path):
    """The alert rule reads each device's last stored poll's messages: the poll where a
    fault begins, and the one where it ends, are committed at once (two commits per fault),
    the polls between wait for the regular commit as before."""
    from simhouse.house import Fault

    fault = Fault(T0 + timedelta(minutes=20), T0 + timedelta(minutes=40))
    *_, until, bot_sees, _ = vicare_only(tmp_path, [fault])
    until(21)
    assert [(minute(m), m.tags["code"]) for m in bot_sees("message")
            if m.tags["kind"] == "error"] == [(20, "F.1100")]
    polls = bot_sees("heatpump")
    assert minute(polls[-1]) == 20 and polls[-1].fields["error_count"] == 1
    until(36)  # the fault goes on: nothing new for the alerts, nothing committed
    assert minute(bot_sees("heatpump")[-1]) == 20
    until(41)  # its end (no message any more) is committed at once
    polls = bot_sees("heatpump")
    assert minute(polls[-1]) == 40 and polls[-1].fields["error_count"] == 0
    assert [minute(p) for p in polls] == [5 * i for i in range(9)]  # with all before it
    assert max(minute(m) for m in bot_sees("message") if m.tags["kind"] == "error") == 35


def test_a_setting_change_is_committed_at_once(tmp_path):
    from simhouse.house import CurveChange

    *_, until, bot_sees, _ = vicare_only(
        tmp_path, [CurveChange(T0 + timedelta(minutes=20), 0.5)])
    until(16)
    assert bot_sees("setting_change") == [] and minute(bot_sees("heatpump")[-1]) == 0
    until(21)
    changes = bot_sees("setting_change")
    assert [(minute(c), c.tags["setting"], c.fields["old"], c.fields["new"])
            for c in changes] == [(20, "heating_curve_slope", "0.6", "0.5")]
    assert minute(bot_sees("heatpump")[-1]) == 20
    until(26)  # the next poll changes nothing: it waits for the regular commit
    assert minute(bot_sees("heatpump")[-1]) == 20


def test_a_new_live_request_commits_within_the_bots_wait_without_a_poll(tmp_path):
    """/status touches commit.request and waits LIVE_WAIT_S for a commit; a Viessmann-only
    set-up polls every 5 minutes, so the loop itself looks (two stats per step, at least
    every LIVE_LOOK_S) and commits what it holds, once; /live has every poll committed."""
    from heatpump.live import COMMIT_DONE, LIVE_WAIT_S, request_live

    col, clock, until, bot_sees, data = vicare_only(tmp_path)
    until(31)  # the poll at 30 min is the last; the next is at 35
    assert minute(bot_sees("heatpump")[-1]) == 0  # 5..30 wait for the regular commit
    request_live(data)  # what the bot does for /status
    asked = clock.monotonic()
    col.step()
    assert [minute(p) for p in bot_sees("heatpump")] == [5 * i for i in range(7)]
    assert clock.monotonic() - asked <= LIVE_WAIT_S
    assert (data / COMMIT_DONE).exists()  # answered: the bot's wait ends with it
    until(36)  # one commit asked, one made: the next poll waits for the regular commit
    assert minute(bot_sees("heatpump")[-1]) == 30
    request_live(data, stream=True)  # /live
    col.step()
    until(41)  # while /live is in force every poll is committed
    assert minute(bot_sees("heatpump")[-1]) == 40
    col.shutdown()  # a stopped collector answers no more: the bot must not wait for it
    assert not (data / COMMIT_DONE).exists()
