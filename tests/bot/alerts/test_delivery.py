"""Alert delivery end to end: python-telegram-bot's real client against the fake Bot API on
127.0.0.1, and Apprise's real json:// plugin posting to a local HTTP server."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.alerts.deliver import AlertChannelError, AppriseChannel, apprise_channel
from bot.alerts.service import AlertService
from bot.telegram_app import BotApp
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import House
from tests.fakes.base import LoopbackServer, QuietHandler
from tests.fakes.telegram import TOKEN, FakeBotApi, PollingThread

OWNER = 4242
GROUP = -100777
STRANGER = 999001


class Receiver:
    """A small HTTP endpoint recording what Apprise posts to it."""

    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        self.status = status
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_body(outer.status)

        self.http = LoopbackServer(Handler).start()
        self.port = self.http.server.server_address[1]

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"

    def close(self) -> None:
        self.http.stop()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Harness:
    def __init__(self, tmp: Path, apprise_url: str | None = None, first_s: float = 3600):
        now = datetime.now(UTC)
        self.api = FakeBotApi().start()
        self.settings = Settings.from_mapping({
            "HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp / "data"),
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_ALLOWED_CHAT_IDS": f"{OWNER},{GROUP}",
            "TELEGRAM_API_BASE_URL": self.api.url, "APPRISE_URLS": apprise_url or ""})
        self.store = SQLiteStore(tmp / "heatpump.sqlite3", self.settings.tz)
        # up to the end of the current hour: the house's last poll is at most 5 min old
        # (ending at the hour made it stale for the last minutes of every hour)
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        House(end - timedelta(days=3), end,
              faults=[(now - timedelta(hours=2), now + timedelta(hours=2), "F.1100")]
              ).write(self.store)
        self.bot = BotApp(self.settings, self.store, first_check_s=first_s)
        self.app = self.bot.build()
        self.polling = PollingThread(self.app, self.api)

    def start(self) -> Harness:
        self.polling.start()
        return self

    def stop(self) -> None:
        self.polling.stop()
        self.api.stop()
        self.store.close()

    def ask(self, chat: int, text: str) -> str:
        after = len(self.api.calls)
        self.api.push_text(chat, text)
        call = self.api.wait_for(lambda c: c.method == "sendMessage"
                                 and int(c.params["chat_id"]) == chat, after=after)
        return str(call.params["text"])

    def tick(self) -> None:
        """Run the scheduled job's callback now, on the bot's loop, and wait for it."""
        context = SimpleNamespace(bot=self.app.bot)
        asyncio.run_coroutine_threadsafe(self.bot.alert_job.tick(context),
                                         self.polling.loop).result(60)


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path).start()
    yield h
    h.stop()


def test_alerts_reach_subscribed_chats_only(harness):
    api = harness.api
    (job,) = harness.app.job_queue.get_jobs_by_name("alerts")
    assert job.trigger.interval == timedelta(minutes=5)  # ALERT_CHECK_MINUTES
    assert "Subscribed" in harness.ask(OWNER, "/subscribe")
    assert "already" in harness.ask(OWNER, "/subscribe")
    refused = harness.ask(STRANGER, "/subscribe")
    assert str(STRANGER) in refused and "TELEGRAM_ALLOWED_CHAT_IDS" in refused
    after = len(api.calls)
    harness.tick()
    call = api.wait_for(lambda c: c.method == "sendMessage" and "F.1100" in c.params["text"],
                        after=after)
    assert int(call.params["chat_id"]) == OWNER
    assert call.params["text"].startswith("⚠️ Heat pump fault F.1100 (criticalError)")
    overview = harness.ask(OWNER, "/alerts")
    assert "Active alerts (1)" in overview and "F.1100" in overview
    assert "subscribed and not muted" in overview
    # a second check does not repeat it
    after2 = len(api.calls)
    harness.tick()
    assert [c for c in api.sent_to(OWNER, after2) if "F.1100" in c.params["text"]
            and c.params["text"].startswith("⚠️")] == []
    assert api.sent_to(GROUP) == [] and api.sent_to(STRANGER, after) == []
    # the menu lists the alert commands next to the bot's own
    names = {c["command"] for c in api.commands}
    assert {"subscribe", "unsubscribe", "alerts", "mute"} <= names
    assert "status" in names


def test_mute_and_unsubscribe(harness):
    assert "not subscribed" in harness.ask(GROUP, "/mute 2h")
    harness.ask(GROUP, "/subscribe")
    assert "Muted until" in harness.ask(GROUP, "/mute 2h")
    assert "not a duration" in harness.ask(GROUP, "/mute soon")
    assert "muted until" in harness.ask(GROUP, "/alerts")
    after = len(harness.api.calls)
    harness.tick()
    state_file = harness.settings.data_dir / "alerts_state.json"
    state = json.loads(state_file.read_text())
    assert any(k.startswith("fault:") for k in state["alerts"])  # raised, but not sent here
    assert [c for c in harness.api.sent_to(GROUP, after) if "F.1100" in c.params["text"]
            and c.params["text"].startswith("⚠️")] == []
    assert "on again" in harness.ask(GROUP, "/mute off")
    assert "Unsubscribed" in harness.ask(GROUP, "/unsubscribe")
    assert "not subscribed" in harness.ask(GROUP, "/alerts")


def test_subscriptions_survive_a_restart(tmp_path):
    h = Harness(tmp_path).start()
    try:
        h.ask(OWNER, "/subscribe")
    finally:
        h.stop()
    h2 = Harness(tmp_path).start()
    try:
        assert "already" in h2.ask(OWNER, "/subscribe")
    finally:
        h2.stop()


# --- Apprise ----------------------------------------------------------------------------


def test_apprise_json_to_local_endpoint(receiver):
    channel = AppriseChannel([receiver.url])
    assert channel.send("fault", "raised", "⚠️ Heat pump fault F.1100")
    (body,) = receiver.bodies
    assert body["title"] == "Heat pump fault"
    assert body["message"] == "⚠️ Heat pump fault F.1100"


def test_apprise_gets_the_same_messages_as_telegram(tmp_path, receiver):
    settings = Settings.from_mapping({
        "HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
        "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER), "APPRISE_URLS": receiver.url})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz)
    end = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
    House(end - timedelta(days=3), end,
          faults=[(end - timedelta(hours=1), end + timedelta(hours=1), "F.1100")]).write(store)
    svc = AlertService(settings, store, now=lambda: end)
    svc.subscribers.subscribe(OWNER)
    sent: list[str] = []

    async def send(chat: int, text: str) -> None:
        sent.append(text)

    svc.check()
    assert asyncio.run(svc.deliver(send)) == 2
    assert [b["message"] for b in receiver.bodies] == sent
    store.close()


def test_apprise_failure_is_retried_from_the_outbox(tmp_path):
    bad = Receiver(status=500)
    try:
        channel = AppriseChannel([bad.url])
        assert channel.send("stale", "raised", "x") is False
    finally:
        bad.close()


def test_apprise_errors_name_no_secret(monkeypatch):
    with pytest.raises(AlertChannelError) as err:
        AppriseChannel(["json://127.0.0.1:1/", "nosuchservice://user:s3cretpass@host"])
    assert "#2 of 2" in str(err.value) and "s3cretpass" not in str(err.value)
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    with pytest.raises(AlertChannelError) as err:
        apprise_channel("json://127.0.0.1:1/")
    assert "pip install 'heatpump-monitor[alerts]'" in str(err.value)
    assert apprise_channel("") is None  # not configured: no import at all


def test_apprise_logs_no_password(caplog):
    bad = Receiver(status=500)
    port = bad.port
    try:
        with caplog.at_level("DEBUG"):
            channel = AppriseChannel([f"json://alice:s3cretpass@127.0.0.1:{port}/"])
            assert channel.send("fault", "raised", "x") is False
    finally:
        bad.close()
    assert caplog.records  # apprise and we did log the failure
    assert "s3cretpass" not in caplog.text


def test_bot_refuses_to_start_without_apprise(tmp_path, monkeypatch, capsys):
    from heatpump.cli import main

    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    monkeypatch.setenv("HEATPUMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("APPRISE_URLS", "json://user:s3cretpass@127.0.0.1:1/")
    assert main(["--env-file", str(tmp_path / "none.env"), "bot"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'heatpump-monitor[alerts]'" in err and "s3cretpass" not in err


def test_the_job_queue_runs_the_check_by_itself(tmp_path):
    from bot.alerts.persist import Subscribers

    Subscribers(tmp_path / "data").subscribe(OWNER)
    h = Harness(tmp_path, first_s=1.0).start()
    try:
        call = h.api.wait_for(lambda c: c.method == "sendMessage"
                              and "F.1100" in str(c.params.get("text")), timeout=120)
        assert int(call.params["chat_id"]) == OWNER
    finally:
        h.stop()
