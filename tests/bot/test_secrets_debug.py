"""No secret at any log level: Apprise at DEBUG through the product's log set-up, and the
bot, `chat` and `alerts` run at DEBUG against the fakes (the fake Bot API, a local Apprise
endpoint) with every secret set, their whole output searched."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.deliver import AppriseChannel
from bot.alerts.persist import Subscribers
from heatpump.logs import setup_logging, url_secrets
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import House
from tests.bot.alerts.test_delivery import Receiver
from tests.fakes.telegram import TOKEN, FakeBotApi
from tests.paths import ROOT

OWNER = 4242
PATH_SECRET = "Wh00kSecretPath0123"
SECRETS = {  # what each piece is, for the failure message
    TOKEN: "the bot token", TOKEN.split(":")[1]: "the bot token's secret part",
    "s3cretpass": "the Apprise URL's password", PATH_SECRET: "the webhook path",
    "Pa4amSecret": "an Apprise query parameter", "HeaderSecret9": "an Apprise header",
    "V1careSecret": "VICARE_PASSWORD", "0123456789abcdefclient": "VICARE_CLIENT_ID",
    "Sh3llyPassw0rd": "SHELLY_PASSWORD", "InfluxPassw0rd": "INFLUX_PASSWORD",
}


def apprise_url(port: int) -> str:
    return (f"json://alice:s3cretpass@127.0.0.1:{port}/hooks/{PATH_SECRET}"
            "?-apikey=Pa4amSecret&+X-Auth=HeaderSecret9")


def leaks(text: str) -> list[str]:
    return [what for secret, what in SECRETS.items() if secret in text]


def test_url_secrets_names_every_part():
    parts = url_secrets("json://alice:s3cretpass@127.0.0.1:1/hooks/Wh00kSecretPath0123"
                        "?-apikey=Pa4amSecret&+X-Auth=HeaderSecret9")
    for piece in ("s3cretpass", "alice", PATH_SECRET, "hooks/" + PATH_SECRET, "Pa4amSecret",
                  "HeaderSecret9"):
        assert piece in parts
    assert "127.0.0.1" not in parts  # a host name or address is no secret
    assert "4174216298" in url_secrets("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js")
    assert "my-heatpump" in url_secrets("ntfys://ntfy.sh/my-heatpump")


def test_apprise_at_debug_prints_no_webhook_path(monkeypatch):
    """Apprise's own DEBUG lines name the URL it posts to and its parameters; through the
    product's log set-up every part of the configured URL is masked."""
    receiver = Receiver()
    try:
        url = apprise_url(receiver.port)
        settings = Settings.from_mapping({"APPRISE_URLS": url})
        out = io.StringIO()
        root = logging.getLogger()
        saved = root.handlers[:], root.level
        try:
            setup_logging("DEBUG", settings.secrets())
            root.handlers[0].setStream(out)
            channel = AppriseChannel([url])
            assert channel.send("fault", "raised", "⚠️ Heat pump fault F.1100")
        finally:
            root.handlers[:], _ = saved
            root.setLevel(saved[1])
        assert receiver.bodies and receiver.bodies[0]["message"] == "⚠️ Heat pump fault F.1100"
    finally:
        receiver.close()
    text = out.getvalue()
    assert "JSON POST URL" in text  # Apprise did log at DEBUG...
    assert leaks(text) == [], text  # ...and nothing of the URL's secrets got through


@pytest.fixture
def world(tmp_path):
    """A data dir with a house that has an active fault, a subscribed owner, the fake Bot
    API and a local Apprise endpoint; the environment of every command holds all secrets."""
    data = tmp_path / "data"
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    store = SQLiteStore(data / "heatpump.sqlite3", Settings().tz)
    House(end - timedelta(days=3), end,
          faults=[(now - timedelta(hours=2), now + timedelta(hours=2), "F.1100")]).write(store)
    store.close()
    Subscribers(data).subscribe(OWNER)
    api = FakeBotApi().start()
    receiver = Receiver()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           # matplotlib's font cache of this user: a fresh one takes a minute to build
           "HOME": os.environ.get("HOME", str(tmp_path)),
           "HEATPUMP_DATA_DIR": str(data), "HEATPUMP_LOG_LEVEL": "DEBUG",
           "HEATPUMP_TZ": "Europe/Berlin", "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER), "TELEGRAM_API_BASE_URL": api.url,
           "APPRISE_URLS": apprise_url(receiver.port),
           "VICARE_USERNAME": "owner@example.com", "VICARE_PASSWORD": "V1careSecret",
           "VICARE_CLIENT_ID": "0123456789abcdefclient",
           "SHELLY_URL": "http://admin:Sh3llyPassw0rd@127.0.0.1:1",
           "INFLUX_USERNAME": "heatpump", "INFLUX_PASSWORD": "InfluxPassw0rd"}
    yield tmp_path, env, api, receiver
    api.stop()
    receiver.close()


def heatpump(env, cwd, *args, timeout=120) -> str:
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file",
                        str(cwd / "none.env"), *args], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout + r.stderr


def test_chat_and_alerts_at_debug_print_no_secret(world):
    tmp, env, _, _ = world
    output = ""
    for words in (["/status"], ["/alerts"], ["/jaz", "7d"], ["--out", str(tmp), "/chart"]):
        output += heatpump(env, tmp, "chat", *words)
    output += heatpump(env, tmp, "alerts")
    output += heatpump(env, tmp, "alerts", "--replay", "1d", "--step", "1h")
    assert "F.1100" in output and "Heat pump status" in output
    assert leaks(output) == [], output[-3000:]


def test_the_bot_at_debug_prints_no_secret(world):
    """The whole bot: commands answered, the alert check's first run (20 s after start)
    sends the fault through Telegram and Apprise, then SIGTERM; stdout and stderr of all
    of it hold no secret."""
    tmp, env, api, receiver = world
    log = tmp / "bot.log"  # a file, not a pipe: a full pipe would block the bot's logging
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file",
                                 str(tmp / "none.env"), "bot"], cwd=tmp, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        api.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
        for text in ("/status", "/alerts", "/chart 24h", "/subscribe"):
            n = len(api.calls)
            api.push_text(OWNER, text)
            api.wait_for(lambda c: c.method in ("sendMessage", "sendPhoto"), after=n,
                         timeout=60)
        api.wait_for(lambda c: c.method == "sendMessage" and "F.1100" in c.params["text"],
                     timeout=90)
        deadline = time.monotonic() + 30
        while not receiver.bodies and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.bodies and "F.1100" in json.dumps(receiver.bodies[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert "Task was destroyed" not in output  # the render worker ended with the bot
    assert "DEBUG" in output and "JSON POST URL" in output, output[-3000:]
    assert leaks(output) == [], output[-3000:]
