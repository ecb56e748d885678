"""Alerts over a real store (SQLite and InfluxDB): snapshot reading, replay, check, outbox."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import store_reads
from bot.alerts import persist
from bot.alerts.replay import print_replay, replay
from bot.alerts.service import AlertService, PermanentFailure
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import METER, PUMP, House, normal_cop

TZ = ZoneInfo("Europe/Berlin")
END = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
START = END - timedelta(days=45)


def settings(tmp_path, **extra) -> Settings:
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                  "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                  "TELEGRAM_ALLOWED_CHAT_IDS": "111,222,333,444", **extra})


# `store` (tests/conftest.py): each test runs on embedded SQLite and on a real influxd.


def local_midnight(days_before_end: int) -> datetime:
    d = END.astimezone(TZ).date() - timedelta(days=days_before_end)
    return datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(UTC)


def test_snapshot_reads_sources_messages_and_days(store):
    House(START, END, faults=[(END - timedelta(hours=1), END + timedelta(hours=1),
                               "F.1100")]).write(store)
    snap = store_reads.alert_snapshot(store, Settings(), TZ, END)
    seen = {(s.source, s.device): s.last_time for s in snap.sources}
    assert seen == {("meter", METER): END - timedelta(minutes=5),
                    ("heatpump", PUMP): END - timedelta(minutes=5)}
    (poll,) = snap.polls
    assert poll.device == PUMP and poll.error_count == 1
    assert [(m.kind, m.code, m.priority, m.text) for m in poll.messages] == [
        ("error", "F.1100", "criticalError", "Compressor fault")]
    assert snap.today == END.astimezone(TZ).date()
    days = snap.days
    assert days[-1].day == snap.today - timedelta(days=1)  # today is not complete
    full = [d for d in days if d.coverage == 1.0]
    assert len(full) >= 40
    for d in full:
        assert d.outside_temp_c is not None and d.cop is not None
        # daily COP of the written hours, against the curve at the day's mean temperature
        assert d.cop == pytest.approx(normal_cop(d.outside_temp_c), rel=0.03)
        assert d.running_s == pytest.approx(24 * 3000.0)


def test_snapshot_in_the_past_ignores_later_data(store):
    House(START, END).write(store)
    past = END - timedelta(days=2)
    snap = store_reads.alert_snapshot(store, Settings(), TZ, past)
    assert {s.last_time for s in snap.sources} == {past}
    assert snap.days[-1].day == past.astimezone(TZ).date() - timedelta(days=1)


def test_sources_that_never_delivered_do_not_alert(store):
    House(START, END).write(store)
    snap = store_reads.alert_snapshot(store, Settings(), TZ, START - timedelta(hours=5))
    assert snap.sources == () and snap.polls == ()


def test_replay_meter_outage_with_collector_error(store, tmp_path):
    gap = (END - timedelta(hours=4), END - timedelta(hours=2))
    House(START, END, meter_gap=gap).write(store)
    sent = replay(store, settings(tmp_path), END - timedelta(hours=5), END,
                  timedelta(minutes=5))
    assert [(n.kind, n.event) for _, n in sent] == [("stale", "raised"), ("stale", "resolved")]
    (t1, raised), (t2, resolved) = sent
    assert t1 == gap[0] - timedelta(minutes=5) + timedelta(minutes=60)
    assert "electricity meter (Shelly)" in raised.text
    assert "since 06:55" in raised.text  # last sample 05:55 UTC, Berlin time
    assert "not reachable on the network" in raised.text
    assert "did not answer within 4 s" in raised.text
    assert t2 == gap[1] + timedelta(minutes=30)
    assert "06:55 to 09:00" in resolved.text


def test_replay_fault_appears_and_clears(store, tmp_path):
    House(START, END, faults=[(END - timedelta(hours=3), END - timedelta(hours=1),
                               "F.1100")]).write(store)
    out = io.StringIO()
    n = print_replay(store, settings(tmp_path), out, END - timedelta(hours=4), END,
                     timedelta(minutes=5))
    text = out.getvalue()
    assert n == 2, text
    assert "⚠️ Heat pump fault F.1100 (criticalError): Compressor fault" in text
    assert "✅ Resolved: heat pump fault F.1100" in text


def test_cop_drop_in_cold_weather_versus_cold_spell(store, tmp_path):
    cold = local_midnight(5)
    House(START, END, cold_from=cold, cop_factor_from=cold, cop_factor=0.7).write(store)
    notes = AlertService(settings(tmp_path), store, now=lambda: END).check()
    (drop,) = [n for n in notes if n.kind == "cop_drop"]
    assert drop.event == "raised" and "3 days in a row" in drop.text
    assert "at −" in drop.text  # the cold temperatures are named


def test_cold_spell_with_normal_cop_stays_quiet(store, tmp_path):
    House(START, END, cold_from=local_midnight(5)).write(store)
    notes = AlertService(settings(tmp_path), store, now=lambda: END).check()
    assert notes == []


def test_short_cycling_from_stored_starts(store, tmp_path):
    House(START, END, starts_per_hour=6).write(store)  # 6 starts per 50 min of runtime
    notes = AlertService(settings(tmp_path), store, now=lambda: END).check()
    assert [(n.kind, n.event) for n in notes] == [("short_cycle", "raised")]
    assert "7.2 starts per hour" in notes[0].text


def test_outbox_delivers_to_subscribed_unmuted_chats_and_retries(store, tmp_path):
    House(START, END, faults=[(END - timedelta(hours=1), END + timedelta(hours=1),
                               "F.1100")]).write(store)
    s = settings(tmp_path)
    svc = AlertService(s, store, now=lambda: END)
    subs = svc.subscribers
    for chat in (111, 222, 333, 444):
        subs.subscribe(chat)
    subs.mute(222, END + timedelta(hours=2))
    attempts: list[int] = []
    delivered: list[tuple[int, str]] = []

    async def send(chat: int, text: str) -> None:
        attempts.append(chat)
        if chat == 333 and attempts.count(333) == 1:
            raise ConnectionError("network down")
        if chat == 444:
            raise PermanentFailure("bot was blocked by the user")
        delivered.append((chat, text))

    notes = svc.check()
    assert [n.kind for n in notes] == ["fault"]
    assert asyncio.run(svc.deliver(send)) == 1
    assert [c for c, _ in delivered] == [111]
    assert not subs.is_subscribed(444)
    # a restart between attempts: the outbox is on disk
    svc2 = AlertService(s, store, now=lambda: END + timedelta(minutes=5))
    assert asyncio.run(svc2.deliver(send)) == 1
    assert [c for c, _ in delivered] == [111, 333]
    assert persist.load_state(s.data_dir)["outbox"] == []
    # the next check sends nothing new (fires once)
    assert svc2.check(END + timedelta(minutes=5)) == []


def test_heatpump_alerts_cli_replays_the_stored_data(tmp_path, monkeypatch, capsys):
    from heatpump.cli import main

    data = tmp_path / "data"
    data.mkdir()
    s = SQLiteStore(data / "heatpump.sqlite3", TZ)
    end = START + timedelta(days=2)
    House(START, end, meter_gap=(end - timedelta(hours=8), end - timedelta(hours=6)),
          faults=[(end - timedelta(hours=4), end - timedelta(hours=3), "F.1100")]).write(s)
    s.close()
    monkeypatch.setenv("HEATPUMP_DATA_DIR", str(data))
    monkeypatch.setenv("HEATPUMP_TZ", "Europe/Berlin")
    assert main(["--env-file", str(tmp_path / "none.env"), "alerts", "--replay", "all",
                 "--step", "10m"]) == 0
    out = capsys.readouterr().out
    # the gap, and the end of the data (the replay runs two hours past it)
    assert out.count("⚠️ No data from the electricity meter") == 2
    assert out.count("✅ Meter data is arriving again") == 1
    assert out.count("⚠️ Heat pump fault F.1100") == 1
    assert out.count("✅ Resolved: heat pump fault F.1100") == 1
    assert "No data from the heat pump (Viessmann cloud)" in out
    assert not (data / "alerts_state.json").exists()  # a replay never touches bot state
    assert main(["--env-file", str(tmp_path / "none.env"), "alerts", "--step", "soon"]) == 2
    # one check at a time with fresh data and no fault (as `heatpump alerts` checks now):
    # "no alerts now", never a window from a time to the same time
    import io

    from bot.alerts.replay import print_replay
    out = io.StringIO()
    with SQLiteStore(data / "heatpump.sqlite3", TZ) as store:
        at = START + timedelta(days=1)
        assert print_replay(store, settings(tmp_path), out, start=at, end=at) == 0
    assert out.getvalue() == f"No alerts now ({at.astimezone(TZ):%Y-%m-%d %H:%M}).\n"


def test_replay_all_stops_at_now(tmp_path, monkeypatch, capsys):
    """`heatpump alerts --replay all` on data that is still arriving: the last check is now,
    not two hours after the last sample (which called fresh data missing)."""
    import bot.alerts.cli as alerts_cli
    from heatpump.cli import main

    data = tmp_path / "data"
    data.mkdir()
    with SQLiteStore(data / "heatpump.sqlite3", TZ) as s:
        House(END - timedelta(days=2), END).write(s)  # last samples at END - 5 min
    now = END + timedelta(minutes=30)
    monkeypatch.setattr(alerts_cli, "utcnow", lambda: now)
    monkeypatch.setenv("HEATPUMP_DATA_DIR", str(data))
    monkeypatch.setenv("HEATPUMP_TZ", "Europe/Berlin")
    assert main(["--env-file", str(tmp_path / "none.env"), "alerts", "--replay", "all",
                 "--step", "15m"]) == 0
    out = capsys.readouterr().out
    assert out.endswith(f" and {now.astimezone(TZ):%Y-%m-%d %H:%M}.\n"), out
    assert "No data" not in out
    # without a `now` (a stored period of the past) it still runs two hours past the data
    with SQLiteStore(data / "heatpump.sqlite3", TZ) as s:
        buf = io.StringIO()
        print_replay(s, settings(tmp_path), buf, step=timedelta(minutes=15))
    assert "No data from the electricity meter" in buf.getvalue()



def test_replay_allows_for_uncommitted_samples_only_near_the_present(tmp_path):
    """The embedded store is committed hourly: an hour before the present its newest samples
    may still be in the collector's memory, further back everything is stored. So data whose
    newest sample is 67 min old now raises nothing at the last check, while the same end of
    data in the past is reported at the threshold, as a current store shows it."""
    from bot.alerts.replay import replay

    cfg = settings(tmp_path)
    assert cfg.flush_s >= 3600  # the embedded store's default: an hour or more
    with SQLiteStore(tmp_path / "heatpump.sqlite3", TZ) as s:
        House(END - timedelta(days=2), END).write(s)  # last samples at END - 5 min
        step = timedelta(minutes=5)
        start = END - timedelta(hours=1)
        present = END + timedelta(minutes=62)
        assert replay(s, cfg, start, present, step, present=present) == []
        assert [n.kind for _, n in replay(s, cfg, start, present, step)] == ["stale"] * 2
        past = replay(s, cfg, start, END + timedelta(hours=3), step,
                      present=END + timedelta(hours=5))
        assert [n.kind for _, n in past] == ["stale"] * 2  # meter and heat pump
        assert {t for t, _ in past} == {END + timedelta(minutes=55)}

def test_the_demo_store_keeps_its_own_alert_state(tmp_path):
    from bot.alerts.service import state_dir

    s = settings(tmp_path)
    demo = SQLiteStore(s.data_dir / "demo" / "heatpump.sqlite3", TZ)
    real = SQLiteStore(s.data_dir / "heatpump.sqlite3", TZ)
    assert state_dir(s, demo) == s.data_dir / "demo"
    assert state_dir(s, real) == s.data_dir
    demo.close()
    real.close()


def test_the_time_data_came_back_is_read_once_and_only_when_it_came_back(tmp_path):
    from bot.alert_data import SourceSeen
    from bot.alerts.resumed import note_resumed

    class CountingStore(SQLiteStore):
        reads = 0

        def points(self, *args, **kwargs):
            CountingStore.reads += 1
            return super().points(*args, **kwargs)

    gap = (END - timedelta(hours=3), END - timedelta(hours=1))
    with CountingStore(tmp_path / "heatpump.sqlite3", TZ) as store:
        House(START, END, meter_gap=gap).write(store)
        last = gap[0] - timedelta(minutes=5)  # the meter's last sample before the gap
        state = {"alerts": {f"stale:meter:{METER}": {
            "kind": "stale", "status": "active",
            "facts": {"source": "meter", "device": METER, "last": last.isoformat()}}}}
        silent = [SourceSeen("meter", METER, last)]
        assert note_resumed(store, state, gap[1], silent) == state
        assert CountingStore.reads == 0  # still silent: nothing read
        now = END - timedelta(minutes=30)
        back = note_resumed(store, state, now, [SourceSeen("meter", METER, now)])
        facts = back["alerts"][f"stale:meter:{METER}"]["facts"]
        assert facts["back"] == gap[1].isoformat() and CountingStore.reads == 1
        assert note_resumed(store, back, now, [SourceSeen("meter", METER, now)]) == back
        assert CountingStore.reads == 1  # found once, kept
