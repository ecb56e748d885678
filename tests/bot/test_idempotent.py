"""Handlers that can be pressed twice, sent again or given absurd numbers: the same state
and a clear answer every time (the real python-telegram-bot client against the fake Bot
API on 127.0.0.1, a real SQLite store)."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

import bot.telegram_app as telegram_app
from bot.alerts import commands as alert_commands
from bot.alerts.persist import Subscribers
from bot.commands import COMMANDS, Chat, Context, answer
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.test_telegram import OWNER, Harness

ABSURD = ["99999999999w", "9" * 400 + "d", "99999999999999999999m", "99999999999.5h",
          "1e308", "-99999999999w", "0.0000000001m", "99999999999", "2025-99999999999"]
NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)


@pytest.fixture
def chat_ctx(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp_path),
                               "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        subs = Subscribers(tmp_path)
        yield Context(store, s, lambda: NOW, chat=Chat(OWNER, subs))


@pytest.mark.parametrize("arg", ["99999999999w", "9" * 400 + "d", "99999999999999999999m",
                                 "31d", "4.5w"])
def test_absurd_mute_gives_the_usage_line(chat_ctx, arg):
    subs = chat_ctx.chat.subscribers
    subs.subscribe(OWNER)
    text = answer(f"/mute {arg}", chat_ctx).text
    assert text.startswith("Sorry: at most 30 days")
    assert text.endswith(alert_commands.mute_usage())
    assert subs.muted_until(OWNER, NOW) is None  # nothing changed


def test_parse_duration_never_overflows():
    for arg in ("99999999999w", "9" * 400 + "d"):
        with pytest.raises(ValueError, match="at most 3660 days"):
            alert_commands.parse_duration(arg, maximum=timedelta(days=3660))


def test_every_command_answers_absurd_numbers(chat_ctx):
    """Each row of the command table, with each absurd argument, subscribed: a reply,
    never an exception (an OverflowError used to escape /mute)."""
    subs = chat_ctx.chat.subscribers
    console = dataclasses.replace(chat_ctx, chat=None)
    for command in COMMANDS:
        for arg in ABSURD:
            subs.subscribe(OWNER)
            for ctx in (chat_ctx, console):
                reply = answer(f"/{command.name} {arg}", ctx)
                assert reply.text.strip(), (command.name, arg)


def test_commands_sent_twice_leave_the_same_state(chat_ctx):
    subs = chat_ctx.chat.subscribers
    assert answer("/subscribe", chat_ctx).text.startswith("Subscribed")
    assert "already" in answer("/subscribe", chat_ctx).text
    assert subs.chats() == [OWNER]
    first = answer("/mute 2h", chat_ctx).text
    assert answer("/mute 2h", chat_ctx).text == first
    assert subs.muted_until(OWNER, NOW) == NOW + timedelta(hours=2)
    assert answer("/unsubscribe", chat_ctx).text.startswith("Unsubscribed")
    assert "not subscribed" in answer("/unsubscribe", chat_ctx).text
    assert Subscribers(chat_ctx.settings.data_dir).chats() == []


# --- in Telegram -----------------------------------------------------------------------------


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    harness.start()
    yield harness
    harness.stop()


def live_message(h, call) -> int:
    return next(mid for (chat, mid), m in sorted(h.api.messages.items())
                if chat == OWNER and m.get("text") == call.params["text"])


def edits_of(h, mid: int, after: int) -> list:
    return [c for c in h.api.calls[after:] if c.method == "editMessageText"
            and int(c.params["message_id"]) == mid]


def test_stop_pressed_twice_keeps_the_final_snapshot(h):
    call = h.ask(OWNER, "/live")
    mid = live_message(h, call)
    n = len(h.api.calls)
    h.api.push_button(OWNER, mid, "live stop")
    h.api.push_button(OWNER, mid, "live stop")
    answers = [h.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=n)]
    answers.append(h.api.wait_for(lambda c: c.method == "answerCallbackQuery"
                                  and c is not answers[0], after=n))
    time.sleep(1.0)  # three live ticks: none may edit a stopped view
    (stop,) = edits_of(h, mid, n)
    assert stop.params["text"] == call.params["text"] + "\n(stopped)"
    assert h.api.messages[(OWNER, mid)]["text"] == call.params["text"] + "\n(stopped)"
    assert "reply_markup" not in h.api.messages[(OWNER, mid)]  # the button is gone
    assert [a.params.get("text") for a in answers] == ["stopped",
                                                       "This live view has already ended."]


def test_a_newer_live_ends_the_older_and_its_button_stops_nothing(h):
    first = h.ask(OWNER, "/live")
    old = live_message(h, first)
    second = h.ask(OWNER, "/live")
    new = next(mid for (chat, mid), m in sorted(h.api.messages.items())
               if chat == OWNER and mid > old and m.get("text") == second.params["text"])
    ended = h.api.wait_for(lambda c: c.method == "editMessageText"
                           and int(c.params["message_id"]) == old)
    assert ended.params["text"].endswith("(ended: a newer /live follows)")
    deadline = time.monotonic() + 10
    while OWNER not in h.bot.live and time.monotonic() < deadline:
        time.sleep(0.01)  # the newer view is registered right after that edit
    assert h.bot.live[OWNER].message_id == new
    n = len(h.api.calls)
    h.api.push_button(OWNER, old, "live stop")  # a stale button (a client that lagged)
    press = h.api.wait_for(lambda c: c.method == "answerCallbackQuery", after=n)
    assert press.params["text"] == "This live view has already ended."
    assert h.bot.live[OWNER].message_id == new  # the newer view goes on
    assert edits_of(h, old, n) == []


def test_a_tick_in_flight_does_not_overwrite_the_stop(h, monkeypatch):
    """The stop button pressed while a tick is reading the store: the tick must not edit
    the message back to a live view (with a stop button) afterwards."""
    reading, release = threading.Event(), threading.Event()
    real = telegram_app.live_snapshot

    def slow_snapshot(ctx):
        text = real(ctx)
        reading.set()
        release.wait(20)
        return text + " (newer)"

    call = h.ask(OWNER, "/live")
    mid = live_message(h, call)
    monkeypatch.setattr(telegram_app, "live_snapshot", slow_snapshot)
    assert reading.wait(20)  # a tick is inside the store read now
    n = len(h.api.calls)
    h.api.push_button(OWNER, mid, "live stop")
    h.api.wait_for(lambda c: c.method == "editMessageText"
                   and c.params["text"].endswith("(stopped)"), after=n)
    release.set()
    time.sleep(1.0)
    assert len(edits_of(h, mid, n)) == 1
    assert h.api.messages[(OWNER, mid)]["text"].endswith("(stopped)")


def test_a_chart_button_pressed_twice_edits_twice_and_never_fails(h):
    call = h.ask(OWNER, "/chart power 24h")
    mid = next(mid for (chat, mid), m in h.api.messages.items()
               if chat == OWNER and m.get("caption") == call.params["caption"])
    n = len(h.api.calls)
    h.api.push_button(OWNER, mid, "chart temps 7d")
    h.api.push_button(OWNER, mid, "chart temps 7d")
    deadline = time.monotonic() + 30
    while (len([c for c in h.api.calls[n:] if c.method == "editMessageMedia"]) < 2
           and time.monotonic() < deadline):
        time.sleep(0.05)
    h.ask(OWNER, "/help")  # everything before it was handled
    edits = [c for c in h.api.calls[n:] if c.method == "editMessageMedia"]
    assert len(edits) == 2
    assert "Temperatures (30-min means), last 7 days" in h.api.messages[(OWNER, mid)]["caption"]
    assert not [c for c in h.api.sent_to(OWNER, n) if "failed" in c.params.get("text", "")]
    assert len([c for c in h.api.calls[n:] if c.method == "answerCallbackQuery"]) == 2
