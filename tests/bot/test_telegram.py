"""The bot end to end: python-telegram-bot's real HTTP client against a fake Bot API server
on 127.0.0.1, reading a real SQLite store filled through Store.write."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.commands import COMMANDS, menu
from bot.render_queue import RenderQueue
from bot.telegram_app import BotApp, build_app, refusal_text
from heatpump.heartbeat import heartbeat_path
from heatpump.logs import setup_logging
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests import synthetic
from tests.fakes.telegram import TOKEN, FakeBotApi, PollingThread, png_size

OWNER = 4242
GROUP = -100777
STRANGER = 999001


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Harness:
    def __init__(self, tmp: Path, whole: bool = False):
        now = datetime.now(UTC)
        self.settings = Settings.from_mapping({
            "HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_ALLOWED_CHAT_IDS": f"{OWNER},{GROUP}",
        })
        self.store = SQLiteStore(tmp / "heatpump.sqlite3", self.settings.tz)
        start = (now - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        last = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 5)
        synthetic.fill(self.store, start, last - timedelta(minutes=4), gaps=[
            synthetic.Gap("meter", now - timedelta(hours=20), now - timedelta(hours=18))])
        synthetic.message(self.store, last)  # an active fault at the latest poll
        self.store.write([Point("meter", now, {"power_w": 1500.0},
                                {"device": synthetic.METER})])
        self.store.flush()
        self.api = FakeBotApi().start()
        self.settings = Settings.from_mapping({
            "HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_ALLOWED_CHAT_IDS": f"{OWNER},{GROUP}",
            "TELEGRAM_API_BASE_URL": self.api.url,
        })
        # a render queue without a per-chat limit: the fuzz test wants an answer to every
        # one of its 1000 texts (the limit has its own test, tests/bot/test_render_queue.py)
        self.bot = BotApp(self.settings, self.store, live_interval_s=0.3, live_duration_s=60,
                          render_queue=RenderQueue(per_chat=2000, total=2000))
        # whole: as `heatpump bot` runs it (run_bot), alert commands and check included
        self.app = (build_app(self.settings, self.store) if whole else self.bot.build())
        self.polling = PollingThread(self.app, self.api)

    def start(self) -> None:
        self.polling.start()

    def stop(self) -> None:
        self.polling.stop()
        self.api.stop()
        self.store.close()

    def ask(self, chat: int, text: str, timeout: float = 30):
        """Send `text` from `chat`; the bot's first answer to it."""
        n = len(self.api.calls)
        self.api.push_text(chat, text)
        return self.api.wait_for(
            lambda c: c.method in ("sendMessage", "sendPhoto")
            and int(c.params["chat_id"]) == chat, timeout=timeout, after=n)


@pytest.fixture(scope="module")
def capture():
    setup_logging("DEBUG", secrets=())  # no redaction: nothing may log the token at all
    cap = Capture()
    logging.getLogger().addHandler(cap)
    yield cap
    logging.getLogger().removeHandler(cap)


@pytest.fixture(scope="module")
def h(tmp_path_factory, capture):
    harness = Harness(tmp_path_factory.mktemp("bot"))
    harness.start()
    yield harness
    harness.stop()


def buttons(call) -> list[str]:
    markup = json.loads(call.params["reply_markup"])
    return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]


def test_startup_registers_commands(h):
    names = [c["command"] for c in h.api.commands]
    assert names == [name for name, _ in menu()]
    assert {"subscribe", "unsubscribe", "alerts", "mute"} <= set(names)
    methods = {c.method for c in h.api.calls}
    assert {"getMe", "deleteWebhook", "setMyCommands"} <= methods


def test_status(h):
    text = h.ask(OWNER, "/status").params["text"]
    assert text.startswith("Heat pump status")
    assert "⚡ power" in text and " W, " in text and "STALE" not in text
    assert "compressor" in text and "outdoor" in text and "flow" in text
    assert "F.454" in text and "criticalError" in text  # the active fault
    assert "today: electricity" in text and "COP" in text
    assert "meter shellypro3em-0001: UP since" not in text
    assert "meter shellypro3em-0001: up since" in text  # the meter came back after its gap
    assert "Viessmann API calls:" in text


def test_jaz_states_coverage_and_method(h):
    text = h.ask(OWNER, "/jaz 7d").params["text"]
    lines = text.splitlines()
    assert lines[0].startswith("COP last 7 days")
    assert lines[1].startswith("COP ") and "kWh heat /" in lines[1]
    assert "covers" in lines[2] and "% of the period" in lines[2]
    assert "heat measured by the heat pump's heat counter" in text
    assert "heat split: heating" in text and "hot water" in text
    jaz = h.ask(GROUP, "/jaz@heatpump_test_bot").params["text"]  # group form, default 12m
    assert jaz.startswith("JAZ last 12 months")


def test_chart_is_a_real_png_and_buttons_switch_range(h):
    call = h.ask(OWNER, "/chart power 24h")
    assert call.method == "sendPhoto"
    png = call.files["photo"]
    assert png_size(png) == (1000, 700)
    assert 10_000 < len(png) < 400_000
    assert "Electric power" in call.params["caption"] and "last 24 hours" in call.params["caption"]
    assert "chart power 7d" in buttons(call) and "chart temps 24h" in buttons(call)
    # press "7d" on that photo: the same message is edited with the new chart
    sent = next(m for (chat, mid), m in h.api.messages.items()
                if chat == OWNER and "photo" in m and m.get("caption") == call.params["caption"])
    n = len(h.api.calls)
    h.api.push_button(OWNER, sent["message_id"], "chart temps 7d")
    edit = h.api.wait_for(lambda c: c.method == "editMessageMedia", after=n, timeout=30)
    media = json.loads(edit.params["media"])
    assert "Temperatures (30-min means), last 7 days" in media["caption"]
    attached = edit.files[media["media"].removeprefix("attach://")]
    assert png_size(attached) == (1000, 700) and attached != png
    h.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=n)


def test_export_sends_a_csv_document(h):
    n = len(h.api.calls)
    h.api.push_text(OWNER, "/export 7d day")
    call = h.api.wait_for(lambda c: c.method == "sendDocument"
                          and int(c.params["chat_id"]) == OWNER, after=n, timeout=30)
    sent_at = datetime.now(ZoneInfo("Europe/Berlin"))
    lines = call.files["document"].decode().splitlines()
    assert lines[0].startswith("start_local,start_utc,end_utc,electricity_kwh,heat_kwh,")
    # A header and the 7 local days; today is cut at its last complete hour, so in the
    # first local hour after midnight it has none and no row (bot/export.py `buckets`).
    assert len(lines) == 1 + (7 if sent_at.hour >= 1 else 6)
    assert call.params["caption"].startswith("Export last 7 days")


@pytest.mark.parametrize("kind", ["temps", "cop", "energy", "starts", "heat", "cop-outdoor",
                                  "flow"])
def test_every_chart_kind(h, kind):
    call = h.ask(OWNER, f"/chart {kind} 7d")
    assert call.method == "sendPhoto"
    assert png_size(call.files["photo"]) == (1000, 700)


def test_stranger_gets_one_refusal_with_its_id_and_no_data(h, capture):
    before = len(h.api.calls)
    first = h.ask(STRANGER, "/status")
    assert first.params["text"] == refusal_text(STRANGER)
    h.api.push_text(STRANGER, "/jaz topsecretargument")
    h.api.push_text(STRANGER, "hello there")
    # the owner's next answer proves the stranger's updates were processed (in order)
    h.ask(OWNER, "/help")
    assert len(h.api.sent_to(STRANGER, after=before)) == 1
    assert "refused chat 999001 (private): /status" in capture.text
    assert "refused chat 999001 (private): /jaz" in capture.text
    assert "topsecretargument" not in capture.text and "hello there" not in capture.text
    # a button press from a stranger is answered (so the client stops spinning), nothing sent
    n = len(h.api.calls)
    h.api.push_button(STRANGER, 1, "chart power 12m")
    h.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=n)
    h.ask(OWNER, "/help")
    assert not [c for c in h.api.calls[n:] if c.method in ("sendPhoto", "editMessageMedia")]


@pytest.mark.parametrize(("text", "expect", "then"), [
    ("/jaz foo", "Sorry: 'foo' is not a period",
     "Usage: /jaz [today|yesterday|7d|month|12m|2025|2025-11]"),
    ("/jaz 2099", "Sorry: year 2099 has not begun yet", "Usage: /jaz ["),
    ("/jaz 1999", "Sorry: year 1999 is out of range", "Usage: /jaz ["),
    ("/jaz 7d 8d", "Sorry: /jaz takes one period", "Usage: /jaz ["),
    ("/chart pie", "Sorry: 'pie' is not a chart kind", "Usage: /chart ["),
    ("/status now", "Sorry: /status takes no arguments", "Usage: /status"),
    ("/frobnicate", "Sorry: unknown command /frobnicate", "Commands: /status /jaz /cost"),
    ("what is my COP?", "I did not understand that: I answer commands, e.g. /status or "
     "/jaz 30d. /help lists them all.", None),
])
def test_bad_input_gets_one_line_of_help(h, text, expect, then):
    """Issue 19: a wrong argument gets what was wrong and the command's usage line, never
    the whole help again; free text a one-line hint."""
    reply = h.ask(OWNER, text).params["text"]
    lines = reply.splitlines()
    assert lines[0].startswith(expect) and "Traceback" not in reply
    if then is None:
        assert len(lines) == 1
    else:
        assert len(lines) == 2 and lines[1].startswith(then), reply


def test_sticker_gets_help(h):
    n = len(h.api.calls)
    h.api.push_sticker(OWNER)
    call = h.api.wait_for(lambda c: c.method == "sendMessage", after=n)
    assert call.params["text"].startswith("I did not understand that: I answer commands")


def test_edited_messages_trigger_no_command(h):
    """Editing an old message into a command does not run it: every row of the command
    table, the alert commands included (an edited /subscribe subscribes nobody)."""
    n = len(h.api.calls)
    for command in COMMANDS:
        h.api.push_edit(OWNER, f"/{command.name}")
    h.api.push_edit(OWNER, "/mute 2h")
    h.api.push_edit(OWNER, "hello")
    reply = h.ask(OWNER, "/status")  # answered after the edits were processed (in order)
    assert reply.params["text"].startswith("Heat pump status")
    assert h.api.sent_to(OWNER, after=n) == [reply]
    assert not h.bot.alerts.subscribers.is_subscribed(OWNER)


def test_live_edits_only_on_change_and_stops(h):
    call = h.ask(OWNER, "/live")
    assert buttons(call) == ["live stop"]
    msg = next(m for (chat, _), m in sorted(h.api.messages.items())
               if chat == OWNER and m.get("text") == call.params["text"])
    mid = msg["message_id"]
    n = len(h.api.calls)
    time.sleep(1.2)  # four ticks without new data: no edit
    assert not [c for c in h.api.calls[n:] if c.method == "editMessageText"]
    h.store.write([Point("meter", datetime.now(UTC), {"power_w": 4321.0},
                         {"device": synthetic.METER})])
    h.store.flush()
    edit = h.api.wait_for(lambda c: c.method == "editMessageText", after=n, timeout=10)
    assert int(edit.params["message_id"]) == mid and "4321 W" in edit.params["text"]
    n = len(h.api.calls)
    h.api.push_button(OWNER, mid, "live stop")
    stop = h.api.wait_for(lambda c: c.method == "editMessageText", after=n, timeout=10)
    assert stop.params["text"].endswith("(stopped)")
    h.store.write([Point("meter", datetime.now(UTC), {"power_w": 1234.0},
                         {"device": synthetic.METER})])
    h.store.flush()
    time.sleep(1.0)
    assert len([c for c in h.api.calls[n:] if c.method == "editMessageText"]) == 1


def test_fuzz_1000_texts_always_answered(h):
    rng = random.Random(20261127)
    words = ["status", "jaz", "chart", "live", "help", "start", "JAZ", "chart@heatpump_test_bot",
             "x", "", "stop", "jaz@other_bot"]
    args = ["12m", "7d", "today", "2025", "2025-11", "2025-13", "0d", "-1", "9" * 30, "power",
            "temps", "cop", "energy", "starts", "pie", "24h", "30d", "1y", "ä€😀", "%s%n",
            "<b>", "'", "\\", "month", "yesterday", "", "/", "None", "nan", "1e308"]
    texts = []
    for _ in range(1000):
        w = rng.choice(words)
        if w == "chart" and rng.random() < 0.8:
            w = "chart?"  # keep valid charts (slow to draw) a minority
        a = [rng.choice(args) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
        prefix = rng.choice(["/", "/", "/", "", " /"])
        texts.append((prefix + w + " " + " ".join(a)).rstrip() or "/")
    n = len(h.api.calls)
    for t in texts:
        h.api.push_text(OWNER, t)
    deadline = time.monotonic() + 240
    while len(h.api.sent_to(OWNER, after=n)) < 1000 and time.monotonic() < deadline:
        time.sleep(0.2)
    answers = h.api.sent_to(OWNER, after=n)
    assert len(answers) == 1000
    assert not [a for a in answers if "failed on my side" in a.params.get("text", "")]
    for a in answers:
        if a.method == "sendPhoto":
            assert png_size(a.files["photo"]) == (1000, 700)


def test_token_never_logged(h, capture):
    assert capture.lines  # something was logged at DEBUG
    assert TOKEN not in capture.text
    assert TOKEN.split(":")[1] not in capture.text


def test_failures_answer_briefly_and_are_logged(h, capture, monkeypatch):
    from heatpump.store.base import StoreError

    def down(*a, **k):
        raise StoreError("embedded store read failed (/data/heatpump.sqlite3): disk I/O error")

    monkeypatch.setattr(h.store, "latest", down)
    text = h.ask(OWNER, "/status").params["text"]
    assert text.startswith("The store cannot be read right now (embedded store read failed")

    def bug(*a, **k):
        raise ZeroDivisionError("unexpected")

    monkeypatch.setattr(h.store, "latest", bug)
    text = h.ask(OWNER, "/status").params["text"]
    assert text == "Sorry, that failed on my side; please try again. /help"
    assert "handler failed: ZeroDivisionError" in capture.text
    monkeypatch.undo()
    assert h.ask(OWNER, "/status").params["text"].startswith("Heat pump status")


def test_live_ends_by_itself(h, monkeypatch):
    monkeypatch.setattr(h.bot, "live_duration_s", 0.7)
    call = h.ask(OWNER, "/live")
    n = len(h.api.calls)
    end = h.api.wait_for(lambda c: c.method == "editMessageText"
                         and "live view ended" in c.params["text"], after=n, timeout=10)
    assert "reply_markup" not in end.params  # the stop button is gone
    assert end.params["text"].startswith(call.params["text"].splitlines()[0])
    time.sleep(1.0)
    # one edit of this message (an earlier /live of the fuzz test lost its button: its own)
    assert len([c for c in h.api.calls[n:] if c.method == "editMessageText"
                and c.params["message_id"] == end.params["message_id"]]) == 1


def test_whole_bot_beats_and_knows_every_command(tmp_path):
    """The bot as `heatpump bot` builds it, against the fake Bot API: it writes
    `<data>/bot.heartbeat` from a job of its job queue, and deploy/healthcheck.py (what the
    compose file runs) finds it healthy while the bot runs and unhealthy once it stopped;
    /help lists the alert commands, which answer."""
    import subprocess
    import sys

    from bot.telegram_app import HEARTBEAT_EVERY_S
    from heatpump.heartbeat import BEAT_EVERY_S
    from tests.deploy.files import ROOT

    def check() -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
               "HEATPUMP_DATA_DIR": str(tmp_path)}
        return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "bot"],
                              env=env, capture_output=True, text=True, timeout=60)

    beat = heartbeat_path(tmp_path, "bot")
    assert check().returncode == 1
    harness = Harness(tmp_path, whole=True)
    harness.start()
    try:
        help_reply = harness.ask(OWNER, "/help").params["text"]
        for name, _ in menu():
            assert f"/{name} – " in help_reply
        assert harness.ask(OWNER, "/subscribe").params["text"].startswith("Subscribed")
        assert "This chat is subscribed" in harness.ask(OWNER, "/alerts").params["text"]
        deadline = time.monotonic() + 30
        while not beat.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert beat.exists()
        r = check()
        assert r.returncode == 0, r.stdout
        job = harness.app.job_queue.get_jobs_by_name("heartbeat")[0]
        assert job.job.trigger.interval.total_seconds() == HEARTBEAT_EVERY_S <= BEAT_EVERY_S
        # still beating: the file gets newer while the loop runs
        first = beat.stat().st_mtime
        time.sleep(0.05)
        asyncio.run_coroutine_threadsafe(job.run(harness.app), harness.polling.loop).result(10)
        deadline = time.monotonic() + 10
        while beat.stat().st_mtime == first and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.stat().st_mtime > first
    finally:
        harness.stop()
    r = check()
    assert r.returncode == 1 and "stopped" in r.stdout
