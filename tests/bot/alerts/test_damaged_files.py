"""Alert state, outbox and subscribers read back from damaged or wrong-shaped files: set
aside with a warning, the good part kept, the bot starts, the alert check runs."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts import persist
from bot.alerts.persist import STATE_FILE, SUBSCRIBERS_FILE, Subscribers
from bot.alerts.service import AlertService
from bot.telegram_app import BotApp
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import House
from tests.fakes.telegram import TOKEN

END = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
T = "2026-01-20T09:00:00+00:00"
GOOD_ALERT = {"kind": "fault", "status": "active", "first_seen": T, "fired_at": T,
              "last_sent": T, "facts": {"device": "hp1", "code": "F.1"}, "flaps": 0}
GOOD_MESSAGE = {"key": "fault:hp1", "kind": "fault", "event": "raised", "text": "⚠️ F.1",
                "at": T, "chats": [111], "apprise": False}


def state(**parts):
    return {"version": 1, "alerts": {"fault:hp1": GOOD_ALERT}, "outbox": [GOOD_MESSAGE],
            **parts}


def asides(folder, name):
    return sorted(folder.glob(name + ".broken-*"))


# (file content, the alert keys kept, the outbox keys kept, a word of the warning)
STATE_CASES = {
    "truncated JSON": (json.dumps(state())[:-30], [], [], "not valid JSON"),
    "a list, not an object": (json.dumps([state()]), [], [], "JSON list"),
    "another version": (json.dumps({**state(), "version": 7}), [], [], "version '7'"),
    "alerts as a list": (json.dumps(state(alerts=[GOOD_ALERT])), [], ["fault:hp1"],
                         "'alerts' is not an object"),
    "outbox as an object": (json.dumps(state(outbox={"a": GOOD_MESSAGE})), ["fault:hp1"], [],
                            "'outbox' is not a list"),
    "a string for a time": (json.dumps(state(alerts={
        "fault:hp1": GOOD_ALERT, "fault:x": {**GOOD_ALERT, "first_seen": 12345}})),
        ["fault:hp1"], ["fault:hp1"], "first_seen is not a time"),
    "a time without zone": (json.dumps(state(alerts={
        "fault:hp1": GOOD_ALERT, "stale:x": {**GOOD_ALERT, "kind": "stale",
                                             "fired_at": "2026-01-20T09:00:00"}})),
        ["fault:hp1"], ["fault:hp1"], "has no UTC offset"),
    "a string of words for a number": (json.dumps(state(alerts={
        "fault:hp1": GOOD_ALERT, "fault:y": {**GOOD_ALERT, "flaps": "many"}})),
        ["fault:hp1"], ["fault:hp1"], "is not a count"),
    "an unknown kind": (json.dumps(state(alerts={
        "fault:hp1": GOOD_ALERT, "x": {**GOOD_ALERT, "kind": "nonsense"}})),
        ["fault:hp1"], ["fault:hp1"], "unknown alert kind"),
    "a record that is a list": (json.dumps(state(alerts={"fault:hp1": GOOD_ALERT, "z": [1]})),
                                ["fault:hp1"], ["fault:hp1"], "not an object"),
    "a message without text": (json.dumps(state(outbox=[GOOD_MESSAGE, {**GOOD_MESSAGE,
                                                                       "text": None}])),
                               ["fault:hp1"], ["fault:hp1"], "has no text"),
    "chats as a string": (json.dumps(state(outbox=[GOOD_MESSAGE, {**GOOD_MESSAGE,
                                                                  "chats": "111"}])),
                          ["fault:hp1"], ["fault:hp1"], "not a list"),
    "not UTF-8": (b"\xff\xfe\x00garbage", [], [], "unreadable"),
}


@pytest.mark.parametrize("case", STATE_CASES, ids=list(STATE_CASES))
def test_a_damaged_state_file_is_set_aside_and_its_good_part_kept(tmp_path, caplog, case):
    content, alerts, outbox, why = STATE_CASES[case]
    path = tmp_path / STATE_FILE
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    with caplog.at_level(logging.WARNING, logger="bot.alerts.persist"):
        loaded = persist.load_state(tmp_path)
    assert sorted(loaded["alerts"]) == alerts
    assert [m["key"] for m in loaded.get("outbox", [])] == outbox
    (aside,) = asides(tmp_path, STATE_FILE)
    assert aside.read_bytes() == raw  # kept as it was, for the owner
    assert aside.stat().st_mode & 0o777 == 0o600
    assert why in caplog.text and aside.name in caplog.text
    # the next read finds a clean file (or none): nothing more is set aside
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.alerts.persist"):
        assert persist.load_state(tmp_path)["alerts"] == loaded["alerts"]
    assert caplog.text == "" and len(asides(tmp_path, STATE_FILE)) == 1


def test_repairable_values_are_repaired(tmp_path):
    (tmp_path / STATE_FILE).write_text(json.dumps(state(
        alerts={"fault:hp1": {**GOOD_ALERT, "flaps": "2"}},
        outbox=[{**GOOD_MESSAGE, "chats": ["111", 222]}])))
    loaded = persist.load_state(tmp_path)
    assert loaded["alerts"]["fault:hp1"]["flaps"] == 2
    assert loaded["outbox"][0]["chats"] == [111, 222]


def test_a_directory_in_place_of_the_state_file(tmp_path, caplog):
    (tmp_path / STATE_FILE).mkdir()
    (tmp_path / STATE_FILE / "x").write_text("left by someone")
    with caplog.at_level(logging.WARNING):
        assert persist.load_state(tmp_path) == persist.empty_state()
    (aside,) = asides(tmp_path, STATE_FILE)
    assert aside.is_dir() and (aside / "x").exists()
    assert "it is a directory" in caplog.text
    persist.save_state(tmp_path, persist.empty_state())  # the file can be written again
    assert json.loads((tmp_path / STATE_FILE).read_text()) == persist.empty_state()


SUBSCRIBER_CASES = {
    "a list of chats": ([111, "222"], [111, 222]),
    "chats as a list": ({"version": 1, "chats": [111, -100777]}, [-100777, 111]),
    "a chat id that is no number": ({"chats": {"111": {"muted_until": None},
                                               "abc": {"muted_until": None}}}, [111]),
    "a mute that is no time (kept, unmuted)": ({"chats": {"111": {"muted_until": 5},
                                                          "222": {"muted_until": "soon"}}},
                                               [111, 222]),
    "an entry that is a string": ({"chats": {"111": "yes"}}, [111]),
    "truncated": ('{"version": 1, "chats": {"111": {"muted_until": nu', []),
    "a number": (42, []),
}


@pytest.mark.parametrize("case", SUBSCRIBER_CASES, ids=list(SUBSCRIBER_CASES))
def test_a_damaged_subscribers_file_keeps_every_readable_subscription(tmp_path, caplog, case):
    content, chats = SUBSCRIBER_CASES[case]
    path = tmp_path / SUBSCRIBERS_FILE
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with caplog.at_level(logging.WARNING, logger="bot.alerts.persist"):
        subs = Subscribers(tmp_path)
    assert subs.chats() == chats
    assert subs.recipients(END) == chats  # unreadable mutes count as not muted
    assert len(asides(tmp_path, SUBSCRIBERS_FILE)) == 1 and "damaged" in caplog.text
    assert Subscribers(tmp_path).chats() == chats  # the cleaned file was written back


def test_a_good_mute_survives_beside_a_bad_one(tmp_path):
    until = (END + timedelta(hours=2)).isoformat()
    (tmp_path / SUBSCRIBERS_FILE).write_text(json.dumps(
        {"chats": {"111": {"muted_until": until}, "222": {"muted_until": [1]}}}))
    subs = Subscribers(tmp_path)
    assert subs.muted_until(111, END) == END + timedelta(hours=2)
    assert subs.recipients(END) == [222]


@pytest.fixture
def settings(tmp_path):
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                  "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                  "TELEGRAM_BOT_TOKEN": TOKEN,
                                  "TELEGRAM_ALLOWED_CHAT_IDS": "111"})


def test_the_bot_starts_and_the_check_runs_on_wrong_shaped_files(tmp_path, settings):
    """Every file the bot reads back, wrong-shaped at once: the bot is built, an alert check
    raises the fault and delivers it to the subscription that was readable."""
    data = settings.data_dir
    data.mkdir()
    (data / STATE_FILE).write_text(json.dumps({"version": 1, "alerts": ["x"],
                                               "outbox": "nothing"}))
    (data / SUBSCRIBERS_FILE).write_text(json.dumps({"chats": [111]}))
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz)
    try:
        House(END - timedelta(days=3), END,
              faults=[(END - timedelta(hours=1), END + timedelta(hours=1), "F.1100")]
              ).write(store)
        BotApp(settings, store).build()  # used to stop at start: dict() of a list
        svc = AlertService(settings, store, now=lambda: END, apprise=None)
        assert [n.kind for n in svc.check()] == ["fault"]
        sent: list[int] = []

        async def send(chat: int, text: str) -> None:
            sent.append(chat)

        assert asyncio.run(svc.deliver(send)) == 1 and sent == [111]
    finally:
        store.close()


def test_facts_the_rules_cannot_use_never_break_the_check(tmp_path, settings, caplog):
    """A record that passes the shape checks but whose facts the texts cannot format (a
    number where the stale rule keeps a time): the state goes aside, the check runs from
    a fresh state and keeps the outbox; /alerts shows what it can."""
    from bot.alerts.commands import console_overview
    from tests.bot.alerts.house import METER

    data = settings.data_dir
    data.mkdir()
    key = f"stale:meter:{METER}"
    bad = {**GOOD_ALERT, "kind": "stale", "facts": {"since": 5, "source": "meter"},
           "last_sent": "2000-01-01T00:00:00+00:00"}
    odd = {**GOOD_ALERT, "kind": "short_cycle", "facts": {"rate": "many"}}
    (data / STATE_FILE).write_text(json.dumps(state(alerts={key: bad, "short_cycle": odd})))
    overview = console_overview(persist.load_state(data), settings, END, settings.tz)
    assert "short cycle (details unreadable)" in overview
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz)
    try:
        House(END - timedelta(days=3), END).write(store)
        svc = AlertService(settings, store, now=lambda: END + timedelta(days=2), apprise=None)
        with caplog.at_level(logging.WARNING):
            notes = svc.check()
        assert "the alert rules cannot use it: TypeError" in caplog.text
        assert len(asides(data, STATE_FILE)) == 1
        assert {n.key for n in notes} >= {key}  # raised afresh, with a text that works
        after = persist.load_state(data)
        assert after["outbox"][0]["key"] == "fault:hp1"  # the undelivered message is kept
        assert after["alerts"][key]["facts"]["since"] != 5
    finally:
        store.close()
