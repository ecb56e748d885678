"""Alert delivery when Telegram refuses: the real python-telegram-bot client against the
fake Bot API, which answers with the real error envelopes of tests/fixtures/telegram/."""

from __future__ import annotations

import json
import logging

import pytest

from bot.alerts import persist
from tests.bot.alerts.test_delivery import GROUP, OWNER, Harness
from tests.paths import FIXTURES

MIGRATED = json.loads((FIXTURES / "telegram" / "tg_supergroup_migrated_response.json")
                      .read_text())
BLOCKED = json.loads((FIXTURES / "telegram" / "tg_blocked_by_user_response.json").read_text())
SUPERGROUP = MIGRATED["parameters"]["migrate_to_chat_id"]  # -1002471352452


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path).start()
    yield h
    h.stop()


def fault_alerts(h, chat: int, after: int = 0) -> list:
    return [c for c in h.api.sent_to(chat, after) if "F.1100" in c.params["text"]
            and c.params["text"].startswith("⚠️")]


def test_a_group_that_became_a_supergroup_gets_its_alerts_there(harness, caplog):
    h = harness
    assert h.ask(GROUP, "/subscribe").startswith("Subscribed")
    h.api.refuse("sendMessage", GROUP, MIGRATED)  # the old id is refused for good
    n = len(h.api.calls)
    with caplog.at_level(logging.WARNING, logger="bot.alerts.service"):
        h.tick()
    # the old id was tried once, with Telegram's answer the alert went to the new id
    assert len([c for c in h.api.calls[n:] if c.method == "sendMessage"
                and int(c.params["chat_id"]) == GROUP]) == 1
    (alert,) = fault_alerts(h, SUPERGROUP, n)
    assert alert.params["text"].startswith("⚠️ Heat pump fault F.1100")
    subs = h.bot.alerts.subscribers
    assert subs.chats() == [SUPERGROUP]
    assert persist.Subscribers(h.settings.data_dir).chats() == [SUPERGROUP]  # on disk
    assert (f"chat {GROUP} became the supergroup {SUPERGROUP}" in caplog.text
            and f"replace {GROUP} by {SUPERGROUP} in TELEGRAM_ALLOWED_CHAT_IDS" in caplog.text)
    assert persist.load_state(h.settings.data_dir)["outbox"] == []  # nothing left behind
    # the supergroup is allowed from now on, without a restart: it is answered...
    assert "This chat is subscribed" in h.ask(SUPERGROUP, "/alerts")
    # ...and later alerts go straight there (the repeat after ALERT_REPEAT_H, forced here)
    state = persist.load_state(h.settings.data_dir)
    for rec in state["alerts"].values():
        rec["last_sent"] = "2000-01-01T00:00:00+00:00"
    persist.save_state(h.settings.data_dir, state)
    n = len(h.api.calls)
    h.tick()
    repeat = [c for c in h.api.sent_to(SUPERGROUP, n) if "Still active" in c.params["text"]]
    assert len(repeat) == 1 and h.api.sent_to(GROUP, n) == []


def test_the_service_message_of_a_migration_moves_the_subscription(harness):
    h = harness
    h.ask(GROUP, "/subscribe")
    h.api.push_migration(GROUP, SUPERGROUP)
    assert "This chat is subscribed" in h.ask(SUPERGROUP, "/alerts")  # allowed, subscribed
    assert h.bot.alerts.subscribers.chats() == [SUPERGROUP]
    n = len(h.api.calls)
    h.tick()
    assert len(fault_alerts(h, SUPERGROUP, n)) == 1
    assert h.api.sent_to(GROUP, n) == []  # nothing is answered to the service messages


def test_a_migration_of_a_chat_not_allowed_changes_nothing(harness):
    h = harness
    stranger_group, elsewhere = -100555, -1009999999999
    h.api.push_migration(stranger_group, elsewhere)
    refusal = h.ask(elsewhere, "/status")
    assert "TELEGRAM_ALLOWED_CHAT_IDS" in refusal  # still a stranger
    assert h.bot.alerts.allowed_chats() == frozenset({OWNER, GROUP})


def test_a_user_who_blocked_the_bot_is_unsubscribed(harness, caplog):
    h = harness
    h.ask(OWNER, "/subscribe")
    h.ask(GROUP, "/subscribe")
    h.api.refuse("sendMessage", OWNER, BLOCKED)
    n = len(h.api.calls)
    with caplog.at_level(logging.WARNING, logger="bot.alerts.service"):
        h.tick()
    assert len(fault_alerts(h, GROUP, n)) == 1  # the other chat still gets it
    assert h.bot.alerts.subscribers.chats() == [GROUP]
    assert f"chat {OWNER} cannot receive alerts (Forbidden: bot was blocked by the user)" in (
        caplog.text)
    assert persist.load_state(h.settings.data_dir)["outbox"] == []


@pytest.mark.parametrize("body", [
    {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5",
     "parameters": {"retry_after": 5}},
])
def test_temporary_refusals_keep_the_alert_for_the_next_check(harness, body):
    h = harness
    h.ask(OWNER, "/subscribe")
    h.api.refuse("sendMessage", OWNER, body, times=1)
    n = len(h.api.calls)
    h.tick()
    assert fault_alerts(h, OWNER, n) == []
    (item,) = persist.load_state(h.settings.data_dir)["outbox"]
    assert item["chats"] == [OWNER] and "F.1100" in item["text"]
    assert h.bot.alerts.subscribers.chats() == [OWNER]
    h.tick()  # Telegram answers again
    assert len(fault_alerts(h, OWNER, n)) == 1
    assert persist.load_state(h.settings.data_dir)["outbox"] == []


def test_a_refused_message_is_dropped_for_that_chat_but_the_chat_stays(harness, caplog):
    h = harness
    h.ask(OWNER, "/subscribe")
    h.api.refuse("sendMessage", OWNER, {"ok": False, "error_code": 400,
                                        "description": "Bad Request: can't parse entities"})
    with caplog.at_level(logging.ERROR, logger="bot.alerts.service"):
        h.tick()
    assert "refused for chat 4242 (Can't parse entities)" in caplog.text
    assert persist.load_state(h.settings.data_dir)["outbox"] == []
    assert h.bot.alerts.subscribers.chats() == [OWNER]
