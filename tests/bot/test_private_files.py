"""Files private: the data dir 0700 and everything the bot, `chat` and `alerts` create in it
0600 (folders 0700), whatever the umask they were started with."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.persist import STATE_FILE, Subscribers
from bot.alerts.service import AlertService
from heatpump.fsutil import make_private, private_dir, write_atomic
from heatpump.heartbeat import heartbeat_path
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import House
from tests.fakes.telegram import TOKEN, FakeBotApi
from tests.paths import ROOT

OWNER = 4242


def modes(folder: Path) -> dict[str, int]:
    """Permission bits of `folder` and everything in it, by path relative to its parent."""
    out = {folder.name: stat.S_IMODE(folder.stat().st_mode)}
    for p in folder.rglob("*"):
        out[str(p.relative_to(folder.parent))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def assert_private(folder: Path) -> None:
    found = modes(folder)
    assert len(found) > 1
    for name, mode in found.items():
        path = folder.parent / name
        want = 0o700 if path.is_dir() else 0o600
        assert mode == want, f"{name}: {oct(mode)}, want {oct(want)}"


def test_private_dir_and_write_atomic_under_a_loose_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = private_dir(tmp_path / "a" / "b" / "c")
        write_atomic(tmp_path / "x" / "y" / "state.json", "{}")
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", folder, tmp_path / "x", tmp_path / "x" / "y"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p
    assert stat.S_IMODE((tmp_path / "x" / "y" / "state.json").stat().st_mode) == 0o600
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        private_dir(tmp_path / "file")


def test_make_private_tightens_only_own_folders(tmp_path):
    mine = tmp_path / "data"
    mine.mkdir()
    mine.chmod(0o755)
    assert make_private(mine) and stat.S_IMODE(mine.stat().st_mode) == 0o700
    assert not make_private(mine)  # already private
    assert not make_private(tmp_path / "missing")
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        theirs.chmod(0o755)
        os.chown(theirs, 65534, 65534)
        assert not make_private(theirs)  # someone else's folder is left alone
        assert stat.S_IMODE(theirs.stat().st_mode) == 0o755


def test_alert_files_and_set_aside_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                          "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                          "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER)})
        store = SQLiteStore(tmp_path / "store.sqlite3", settings.tz)
        end = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
        House(end - timedelta(days=2), end,
              faults=[(end - timedelta(hours=1), end, "F.1100")]).write(store)
        data = settings.data_dir
        data.mkdir(mode=0o700)
        (data / STATE_FILE).write_text("{cut sh")  # damaged: set aside
        (data / STATE_FILE).chmod(0o644)
        svc = AlertService(settings, store, now=lambda: end, apprise=None)
        svc.subscribers.subscribe(OWNER)
        svc.check()
        store.close()
    finally:
        os.umask(old)
    assert_private(data)
    assert len(list(data.glob(STATE_FILE + ".broken-*"))) == 1


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file",
                           str(cwd / "none.env"), *args], cwd=cwd, env=env, umask=0o022,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def setup(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)  # as git or an older version left it
    store = SQLiteStore(data / "heatpump.sqlite3", Settings().tz)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    House(now - timedelta(days=2), now).write(store)
    store.close()
    for p in data.iterdir():
        p.chmod(0o644)  # files of an older version
    api = FakeBotApi().start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "HOME": os.environ.get("HOME", str(tmp_path)), "HEATPUMP_DATA_DIR": str(data),
           "HEATPUMP_TZ": "Europe/Berlin", "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_ALLOWED_CHAT_IDS": str(OWNER), "TELEGRAM_API_BASE_URL": api.url}
    yield tmp_path, data, env, api
    api.stop()


def test_chat_and_alerts_keep_the_data_dir_private(setup):
    tmp, data, env, _ = setup
    charts = tmp / "charts"
    for args in (["chat", "/status"], ["chat", "--out", str(charts), "/chart"],
                 ["alerts", "--replay", "1d", "--step", "1h"]):
        r = cli(env, tmp, *args)
        assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700  # tightened
    # new files private from the start (older ones are behind the private folder)
    for name, mode in modes(data).items():
        if name.endswith(("-wal", "-shm")):
            assert mode == 0o600, name
    (png,) = charts.glob("*.png")
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert stat.S_IMODE(charts.stat().st_mode) == 0o700


def test_the_bot_writes_only_private_files(setup):
    tmp, data, env, api = setup
    for p in data.iterdir():
        p.unlink()  # the bot starts on an empty data dir: everything in it is its own
    log = tmp / "bot.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file",
                                 str(tmp / "none.env"), "bot"], cwd=tmp, env=env,
                                stdout=sink, stderr=subprocess.STDOUT, umask=0o022)
    try:
        api.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
        for text in ("/subscribe", "/status"):
            n = len(api.calls)
            api.push_text(OWNER, text)
            api.wait_for(lambda c: c.method == "sendMessage", after=n, timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert Subscribers(data).chats() == [OWNER]
    assert heartbeat_path(data, "bot").exists()
    assert_private(data)
