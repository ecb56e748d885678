"""`heatpump bot`, `chat` and `alerts` with a store that cannot be opened or read: one
clear line on stderr and an exit code, never a traceback. The real CLI in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes.telegram import TOKEN, FakeBotApi
from tests.influxd import free_port
from tests.paths import ROOT

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")
COMMANDS = {"bot": ["bot"], "chat": ["chat", "/status"], "alerts": ["alerts"],
            "export": ["export", "--from", "2026-11-01"]}


def run_cli(args: list[str], data: Path, extra: dict[str, str] | None = None,
            unprivileged: bool = False) -> subprocess.CompletedProcess:
    """`heatpump ARGS` with only the given settings; `unprivileged`: as root without the
    capabilities that ignore file permissions (so a mode 000 file is refused as it would
    be for any other user)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "HOME": str(data.parent), "HEATPUMP_DATA_DIR": str(data),
           "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_ALLOWED_CHAT_IDS": "4242",
           "MPLCONFIGDIR": str(data.parent / "mpl"), **(extra or {})}
    prefix = []
    if unprivileged and os.geteuid() == 0:
        prefix = [shutil.which("setpriv") or "setpriv", "--bounding-set",
                  "-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "heatpump.cli", "--env-file",
                           str(data.parent / "none.env"), *args], cwd=data.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def one_clear_line(r: subprocess.CompletedProcess, command: str) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = [line for line in r.stderr.splitlines()
             if line.strip() and not LOG_LINE.match(line)]  # log records aside
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"heatpump {command}: ")
    return lines[0]


@pytest.fixture
def api():
    """The fake Bot API, so a bot that did start would talk to 127.0.0.1 only."""
    server = FakeBotApi().start()
    yield server
    server.stop()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_damaged_sqlite_file(tmp_path, api, command):
    data = tmp_path / "data"
    data.mkdir()
    (data / "heatpump.sqlite3").write_bytes(b"this is not a database, it was cut short" * 50)
    r = run_cli(COMMANDS[command], data, {"TELEGRAM_API_BASE_URL": api.url})
    line = one_clear_line(r, command)
    # the store's own words ("file is not a database", "it is not an SQLite database")
    assert "heatpump.sqlite3" in line and re.search(r"not an? (SQLite )?database", line)
    assert not [c for c in api.calls if c.method != "getMe"]  # the bot never started


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_where_the_store_file_should_be(tmp_path, api, command):
    data = tmp_path / "data"
    (data / "heatpump.sqlite3").mkdir(parents=True)
    r = run_cli(COMMANDS[command], data, {"TELEGRAM_API_BASE_URL": api.url})
    assert "heatpump.sqlite3" in one_clear_line(r, command)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_data_dir_that_is_a_file(tmp_path, api, command):
    data = tmp_path / "data"
    data.write_text("not a folder")
    r = run_cli(COMMANDS[command], data, {"TELEGRAM_API_BASE_URL": api.url})
    assert "Not a directory" in one_clear_line(r, command) or "data" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                    reason="as root, setpriv (util-linux) is needed to honour file modes")
@pytest.mark.parametrize("command", COMMANDS)
def test_no_permission_on_the_store(tmp_path, api, command):
    data = tmp_path / "data"
    data.mkdir()
    (data / "heatpump.sqlite3").write_bytes(b"")
    (data / "heatpump.sqlite3").chmod(0o000)
    r = run_cli(COMMANDS[command], data, {"TELEGRAM_API_BASE_URL": api.url},
                unprivileged=True)
    line = one_clear_line(r, command)
    assert "heatpump.sqlite3" in line
    assert "unable to open database file" in line or "permission denied" in line


@pytest.mark.parametrize("command", ["chat", "alerts"])
def test_influxdb_down(tmp_path, command):
    """Nothing listens on the port: the command says the store cannot be read. (`heatpump
    bot` keeps running through a store outage and answers that in the chat instead.)"""
    data = tmp_path / "data"
    url = f"http://127.0.0.1:{free_port()}"
    r = run_cli(COMMANDS[command], data, {"INFLUX_URL": url, "INFLUX_BUCKET": "heatpump"})
    line = one_clear_line(r, command)
    assert "InfluxDB at " + url in line and "unreachable" in line


@pytest.mark.influx
@pytest.mark.parametrize("command", COMMANDS)
def test_influxdb_refusing_the_credentials(tmp_path, make_influxd, api, command):
    server = make_influxd(auth=True)
    server.create_admin("admin", "the-right-password")
    data = tmp_path / "data"
    r = run_cli(COMMANDS[command], data, {
        "INFLUX_URL": server.url, "INFLUX_BUCKET": "heatpump", "INFLUX_USERNAME": "admin",
        "INFLUX_PASSWORD": "a-wrong-password", "TELEGRAM_API_BASE_URL": api.url})
    line = one_clear_line(r, command)
    assert "refused the credentials" in line and "a-wrong-password" not in r.stderr


def test_alerts_refuses_an_absurd_replay_period(tmp_path):
    """Issue 19: the message states the option's real limits (it spoke of /mute and
    /unsubscribe, which a terminal command has nothing to do with)."""
    r = run_cli(["alerts", "--replay", "99999999999w"], tmp_path / "data")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("heatpump alerts: --replay '99999999999w': give a duration "
                                "more than 0 and at most 3660 days, e.g. 14d, 48h or 1w, or "
                                "'all' for all stored data")


@pytest.mark.parametrize(("args", "line"), [
    (["--replay", "foo"], "heatpump alerts: --replay 'foo': give a duration more than 0 and "
                          "at most 3660 days, e.g. 14d, 48h or 1w, or 'all' for all stored data"),
    (["--replay", "0d"], "heatpump alerts: --replay '0d': give a duration more than 0 and "
                         "at most 3660 days, e.g. 14d, 48h or 1w, or 'all' for all stored data"),
    (["--replay", "3660d", "--step", "31d"],
     "heatpump alerts: --step '31d': give a time between checks more than 0 and at most 30 "
     "days, e.g. 15m (the default) or 1h"),
])
def test_alerts_options_state_their_limits(tmp_path, args, line):
    from bot.alerts.cli import parse_args

    r = run_cli(["alerts", *args], tmp_path / "data")
    assert r.returncode == 2 and r.stderr.strip() == line, r.stderr
    # the limits are the ones parsed: the largest values named are accepted
    assert parse_args("3660d", "30d") == (timedelta(days=3660), timedelta(days=30))
    assert parse_args("all", "15m") == (None, timedelta(minutes=15))
