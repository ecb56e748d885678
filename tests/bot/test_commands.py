"""The one command table, without Telegram: /help, the console and a chat read the same rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.alerts.persist import Subscribers
from bot.commands import BY_NAME, COMMANDS, Chat, Context, answer, menu
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore

NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)
OWNER = 4242


@pytest.fixture
def console(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp_path),
                               "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER)})
    with SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz) as store:
        yield Context(store, s, lambda: NOW)


def test_help_and_menu_list_the_rows_in_order(console):
    listed = [c for c in COMMANDS if c.listed]
    assert [name for name, _ in menu()] == [c.name for c in listed]
    assert [c.name for c in listed] == ["status", "jaz", "cost", "compare", "chart", "changes",
                                        "export", "live", "report", "subscribe", "unsubscribe",
                                        "alerts", "mute", "help"]
    assert dict(menu())["jaz"] == ("JAZ/COP of a period: "
                                   "/jaz [today|yesterday|7d|month|12m|2025|2025-11]")
    assert dict(menu())["mute"] == ("silence alerts here for a while: "
                                    "/mute 2h, /mute 1d, /mute off")
    help_lines = answer("/help", console).text.splitlines()
    assert help_lines[1:1 + len(menu())] == [f"/{n} – {d}" for n, d in menu()]
    assert "start" in BY_NAME and not BY_NAME["start"].listed


def test_every_row_answers_in_the_console(console):
    for command in COMMANDS:
        reply = answer(f"/{command.name}", console)
        assert reply.text.strip(), command.name
        if command.needs_chat:
            assert reply.text.startswith(f"/{command.name} works in Telegram only"), reply.text
        else:
            assert "works in Telegram only" not in reply.text
    assert {c.name for c in COMMANDS if c.needs_chat} == {"subscribe", "unsubscribe", "mute"}


def test_alert_commands_act_on_the_chat(console):
    subs = Subscribers(console.settings.data_dir)
    chat = dataclasses.replace(console, chat=Chat(OWNER, subs))
    stranger = dataclasses.replace(console, chat=Chat(999001, subs))
    assert "not allowed" in answer("/subscribe", stranger).text
    assert answer("/subscribe", chat).text.startswith("Subscribed")
    assert subs.is_subscribed(OWNER) and not subs.is_subscribed(999001)
    assert answer("/mute@heatpump_test_bot 2h", chat).text.startswith("Muted until 14:02")
    assert "This chat is muted until 14:02" in answer("/alerts", chat).text
    console_alerts = answer("/alerts", console).text
    assert "send /subscribe to the bot there" in console_alerts
    assert "This chat" not in console_alerts
    assert answer("/unsubscribe", chat).text.startswith("Unsubscribed")
    assert Subscribers(console.settings.data_dir).chats() == []
