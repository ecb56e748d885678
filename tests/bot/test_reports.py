"""/report: which period is due when, the digest on a small store with exact values, the
choices kept on disk, and the scheduled send through the fake Telegram."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.persist import Subscribers
from bot.commands import Chat, Context, answer
from bot.reports import ReportBook, due, last_period
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests import synthetic
from tests.bot.small_store import PUMP, write_days
from tests.fakes.telegram import TOKEN, FakeBotApi, PollingThread, png_size

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # Sunday 09:00 in Berlin
OWNER = 4242


def settings(tmp, **extra: str) -> Settings:
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                  "HEATPUMP_DATA_DIR": str(tmp),
                                  "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER), **extra})


@pytest.mark.parametrize(("every", "key", "label", "before"), [
    ("daily", "2026-11-28", "Saturday 28.11.2026", "2026-11-27"),
    ("weekly", "2026-W47", "week 47 (16.11.–22.11.2026)", "2026-W46"),
    ("monthly", "2026-10", "October 2026", "2026-09"),
])
def test_the_last_complete_period(every, key, label, before):
    tz = settings("/tmp").tz
    period, prev = last_period(every, NOW, tz)
    assert (period.key, period.label, prev.key) == (key, label, before)
    assert prev.end == period.start


def done(end: datetime) -> bool:
    """`due`'s store question: it holds a sample after every period's end."""
    return True


def test_due_at_the_report_time_once():
    tz = settings("/tmp").tz
    assert due("daily", None, NOW, tz, "07:30", done).key == "2026-11-28"
    assert due("daily", None, NOW - timedelta(hours=2), tz, "07:30", done) is None  # 07:00 local
    assert due("daily", "2026-11-28", NOW, tz, "07:30", done) is None  # sent already
    assert due("daily", "2026-11-20", NOW, tz, "07:30", done).key == "2026-11-28"  # only the latest
    assert due("weekly", "2026-W46", NOW, tz, "07:30", done).key == "2026-W47"
    assert due("monthly", "2026-10", NOW, tz, "07:30", done) is None


def test_due_only_once_the_store_holds_the_periods_end():
    """TELEGRAM_REPORT_TIME 00:10: yesterday's last hour may still wait in the collector
    (it commits hourly); the report waits for a sample past midnight, at most
    REPORT_MAX_WAIT, then goes out as the store has it (a collector that is down must
    not hold it back)."""
    from bot.reports import REPORT_MAX_WAIT

    tz = settings("/tmp").tz
    midnight = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # Sunday 00:00 in Berlin
    asked: list[datetime] = []

    def committed_from(first: datetime):
        def committed(end: datetime) -> bool:
            asked.append(end)
            return first >= end
        return committed

    at = midnight + timedelta(minutes=10)
    assert due("daily", None, at, tz, "00:10", committed_from(midnight - timedelta(minutes=20))
               ) is None
    assert asked == [midnight]
    assert due("daily", None, at + timedelta(minutes=35), tz, "00:10",
               committed_from(midnight + timedelta(seconds=10))).key == "2026-11-28"
    late = at + REPORT_MAX_WAIT
    assert due("daily", None, late - timedelta(minutes=1), tz, "00:10",
               committed_from(midnight - timedelta(hours=5))) is None
    asked.clear()
    assert due("daily", None, late, tz, "00:10",
               committed_from(midnight - timedelta(hours=5))).key == "2026-11-28"
    assert asked == []  # not even asked any more
    assert due("daily", None, at - timedelta(minutes=1), tz, "00:10", committed_from(at)) is None
    assert asked == []  # before the report time: no store read


@pytest.fixture
def ctx(tmp_path):
    s = settings(tmp_path)
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        # Friday 27.11.: COP 3.0; Saturday 28.11.: COP 3.5 and a lower heating curve
        write_days(store, datetime(2026, 11, 26, 23, tzinfo=UTC), [(10, 30, 2.0), (10, 35, 4.0)])
        store.write([Point("setting_change", datetime(2026, 11, 28, 12, tzinfo=UTC),
                           {"old": "0.6", "new": "0.5", "previous_poll": "2026-11-28T11:55:00Z"},
                           {"device": PUMP, "setting": "heating_curve_slope"})])
        store.flush()
        yield Context(store, s, lambda: NOW)


DIGEST = [
    "📊 Daily report: Saturday 28.11.2026",
    "electricity 10.0 kWh, heat 35.0 kWh",
    "COP 3.50 = 35.0 kWh heat / 10.0 kWh electricity (meter)",
    "covers 100% of the period (24 of 24 h with both meter and heat data)",
    "Friday 27.11.2026: COP 3.00, heat 30.0 kWh over 100% of it (COP now +17 %)",
    "unusual:",
    "  settings changed 28.11.2026 13:00: heating curve slope 0.6 → 0.5 (/changes)",
]


def test_digest_in_the_console(ctx):
    assert answer("/report", ctx).text.splitlines() == [
        *DIGEST, "(In Telegram, /report daily sends this with a chart at 07:30.)"]
    assert answer("/report off", ctx).text.startswith("/report works in Telegram only")
    assert answer("/report hourly", ctx).text.startswith(
        "Sorry: 'hourly' is not a report; use daily, weekly, monthly or off")


def test_digest_with_cost(ctx, tmp_path):
    s = settings(tmp_path, COST_CURRENCY="EUR", COST_PRICE_PER_KWH="0.30")
    text = answer("/report daily", dataclasses.replace(ctx, settings=s)).text.splitlines()
    assert text[4] == "cost 3.00 EUR; heat at 0.086 EUR/kWh"  # 10 kWh at 0.30; 3.00 / 35


def test_digest_names_gaps(tmp_path):
    s = settings(tmp_path)
    with SQLiteStore(tmp_path / "g.sqlite3", s.tz) as store:
        # Saturday with data in its first 20 hours only
        write_days(store, datetime(2026, 11, 27, 23, tzinfo=UTC), [(10, 35, 4.0)], tz_hours=20)
        text = answer("/report daily", Context(store, s, lambda: NOW)).text.splitlines()
    assert text[3] == "covers 83% of the period (20 of 24 h with both meter and heat data)"
    assert text[4:7] == ["Friday 27.11.2026: no COP to compare with", "unusual:",
                         "  data gaps: meter and heat data together for only 83% of the hours"]


def test_choices_are_kept_and_the_first_report_is_the_next_one(ctx, tmp_path):
    book = ReportBook(tmp_path)
    chat = dataclasses.replace(ctx, chat=Chat(OWNER, Subscribers(tmp_path), book))
    text = answer("/report daily", chat).text.splitlines()
    assert text[0] == ("Daily report here at 07:30: the next one, on Sunday 29.11.2026, comes "
                       "30.11.2026 07:30. /report off stops it. The latest:")
    assert text[2:] == DIGEST
    again = ReportBook(tmp_path)  # as after a restart
    assert again.chats() == [(OWNER, "daily", "2026-11-28")]
    assert due("daily", "2026-11-28", NOW, ctx.settings.tz, "07:30", done) is None
    assert answer("/report", chat).text.startswith("Daily report here at 07:30")
    assert answer("/report off", chat).text == "Reports are off here."
    assert answer("/report off", chat).text == "No reports were on here."
    assert ReportBook(tmp_path).chats() == []


def test_a_damaged_file_is_set_aside_and_its_good_part_kept(tmp_path):
    (tmp_path / "reports.json").write_text(json.dumps({"version": 1, "chats": {
        "4242": {"every": "weekly", "last_sent": "2026-W47"}, "x": {"every": "daily"},
        "77": {"every": "hourly"}}}))
    assert ReportBook(tmp_path).chats() == [(4242, "weekly", "2026-W47")]
    assert [p.name for p in tmp_path.iterdir() if ".broken-" in p.name]
    assert ReportBook(tmp_path).chats() == [(4242, "weekly", "2026-W47")]  # written back


def test_a_report_follows_a_group_that_became_a_supergroup(tmp_path):
    book = ReportBook(tmp_path)
    book.set(-100, "weekly", NOW, settings("/tmp").tz)
    assert book.move(-100, -100777) and not book.move(-100, -100777)
    assert ReportBook(tmp_path).chats() == [(-100777, "weekly", "2026-W47")]


def test_the_job_queue_sends_a_due_report_once(tmp_path):
    from bot.telegram_app import BotApp

    now = datetime.now(UTC)
    api = FakeBotApi().start()
    blocked = 5151
    s = settings(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.url,
                 TELEGRAM_REPORT_TIME="00:00",
                 TELEGRAM_ALLOWED_CHAT_IDS=f"{OWNER},{blocked}")
    api.refuse("sendMessage", blocked, {"ok": False, "error_code": 403,
                                        "description": "Forbidden: bot was blocked by the user"})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    # up to 10 minutes ago, and at least past local midnight: the report waits for a sample
    # after its period's end (the collector commits hourly; test_report_waits_for_the_commit)
    midnight = datetime.combine(now.astimezone(s.tz).date(), datetime.min.time(), s.tz)
    synthetic.fill(store, (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
                   max(now - timedelta(minutes=10), midnight + timedelta(minutes=5)))
    (tmp_path / "reports.json").write_text(json.dumps(
        {"version": 1, "chats": {str(OWNER): {"every": "daily", "last_sent": None},
                                 str(blocked): {"every": "daily", "last_sent": None}}}))
    bot = BotApp(s, store, report_check_s=0.5, first_check_s=3600)
    polling = PollingThread(bot.build(), api)
    polling.start()
    try:
        text = api.wait_for(lambda c: c.method == "sendMessage"
                            and c.params.get("text", "").startswith("📊 Daily report"),
                            timeout=60).params["text"]
        photo = api.wait_for(lambda c: c.method == "sendPhoto", timeout=60)
        assert png_size(photo.files["photo"]) == (1000, 700)
        assert photo.params["caption"].startswith("Energy per day, last 7 days")
        yesterday = (now.astimezone(s.tz).date() - timedelta(days=1)).isoformat()
        assert f"{yesterday[8:10]}.{yesterday[5:7]}.{yesterday[:4]}" in text.splitlines()[0]
        # the chat that blocked the bot is tried once and its report switched off
        api.wait_for(lambda c: c.refused and int(c.params["chat_id"]) == blocked, timeout=60)
        deadline = time.monotonic() + 30
        while len(ReportBook(tmp_path).chats()) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ReportBook(tmp_path).chats() == [(OWNER, "daily", yesterday)]
        time.sleep(2.0)  # four more ticks: nothing is sent twice, nor tried again
        sent = [c for c in api.calls if c.method in ("sendMessage", "sendPhoto")]
        assert len([c for c in sent if not c.refused]) == 2
        assert len([c for c in sent if c.refused]) == 1
    finally:
        polling.stop()
        api.stop()
        store.close()


def test_report_waits_for_the_commit_of_its_last_hour(tmp_path):
    """TELEGRAM_REPORT_TIME 00:10, at 00:20: the collector (hourly commits) has stored
    yesterday up to 23:40; the daily report waits for its commit, then covers every hour."""
    import threading

    from bot.telegram_app import BotApp

    midnight = datetime(2026, 1, 12, 23, 0, tzinfo=UTC)  # Tuesday 13 Jan 00:00 in Berlin
    now = midnight + timedelta(minutes=20)
    ticks = {"n": 0}
    ticked = threading.Event()

    def clock() -> datetime:
        ticks["n"] += 1
        if ticks["n"] >= 6:
            ticked.set()
        return now

    api = FakeBotApi().start()
    s = settings(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.url,
                 TELEGRAM_REPORT_TIME="00:10")
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    synthetic.fill(store, midnight - timedelta(days=3), midnight - timedelta(minutes=20))
    (tmp_path / "reports.json").write_text(json.dumps(
        {"version": 1, "chats": {str(OWNER): {"every": "daily", "last_sent": None}}}))
    bot = BotApp(s, store, now=clock, report_check_s=0.2, first_check_s=3600)
    polling = PollingThread(bot.build(), api)
    polling.start()
    try:
        assert ticked.wait(60)  # several report checks ran ...
        assert [c for c in api.calls if c.method == "sendMessage"] == []  # ... none sent
        # the collector's commit (its own connection): the last 20 minutes of Monday and the
        # first of Tuesday
        with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as collector:
            synthetic.fill(collector, midnight - timedelta(minutes=20),
                           midnight + timedelta(minutes=15))
        text = api.wait_for(lambda c: c.method == "sendMessage", timeout=60).params["text"]
        assert text.splitlines()[0] == "📊 Daily report: Monday 12.01.2026", text
        assert "covers 100% of the period (24 of 24 h with both meter and heat data)" in text
    finally:
        polling.stop()
        api.stop()
        store.close()


GERMAN_DIGEST = [
    "📊 Täglicher Bericht: Samstag 28.11.2026",
    "Strom 10,0 kWh, Wärme 35,0 kWh",
    "COP 3,50 = 35,0 kWh Wärme / 10,0 kWh Strom (Stromzähler)",
    "deckt 100\u00a0% des Zeitraums ab (24 von 24 h mit Zähler- und Wärmedaten)",
    "Freitag 27.11.2026: COP 3,00, Wärme 30,0 kWh über 100\u00a0% davon (COP jetzt +17 %)",
    "ungewöhnlich:",
    "  Einstellungen geändert 28.11.2026 13:00: Neigung der Heizkurve 0,6 → 0,5 (/changes)",
]


def test_reports_in_german(ctx, tmp_path):
    """The digest and the /report answers in German; without an active alert the digest
    lists none (it once listed 'Keine aktiven Alarme.' as unusual)."""
    from heatpump import i18n

    book = ReportBook(tmp_path)
    chat = dataclasses.replace(ctx, chat=Chat(OWNER, Subscribers(tmp_path), book))
    tz = ctx.settings.tz
    with i18n.using("de"):
        labels = [last_period(every, NOW, tz)[0].label for every in ("daily", "weekly",
                                                                      "monthly")]
        empty = answer("/report", chat).text
        text = answer("/report daily", chat).text.splitlines()
        off = answer("/report off", chat).text
        wrong = answer("/report hourly", ctx).text
    assert labels == ["Samstag 28.11.2026", "Woche 47 (16.11.–22.11.2026)", "Oktober 2026"]
    assert empty == ("Hier keine Berichte. /report daily, /report weekly oder /report monthly "
                     "schickt einen um 07:30 (Ortszeit).")
    assert text[0] == ("Täglicher Bericht hier um 07:30: Der nächste, über Sonntag 29.11.2026, "
                       "kommt 30.11.2026 07:30. /report off beendet ihn. Der letzte:")
    assert text[2:] == GERMAN_DIGEST
    assert off == "Berichte sind hier aus."
    assert "'hourly' ist kein Bericht; nimm daily, weekly, monthly oder off" in wrong
