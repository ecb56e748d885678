"""`--demo` without demo data (issue 19: `chat --demo` run from another folder answered from
an empty store it had just created): one line saying where it looked and to run `heatpump
demo`, exit 1, and no store created. The real CLI in a subprocess, from an empty folder."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.demo_store import demo_missing, demo_path
from heatpump import i18n
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.paths import ROOT


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
         "HOME": str(cwd), "MPLCONFIGDIR": str(cwd / "mpl"), **env}
    return subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file",
                           str(cwd / "none.env"), *args], cwd=cwd, env=e, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args", [["chat", "--demo", "/status"], ["chat", "--demo"],
                                  ["export", "--demo", "--from", "2026-11-01"],
                                  ["alerts", "--demo"]])
def test_demo_commands_without_demo_data_say_what_to_run(tmp_path, args):
    r = run_cli(tmp_path, *args)
    where = tmp_path / "data" / "demo" / "heatpump.sqlite3"  # ./data, from this folder
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.strip() == (
        f"heatpump {args[0]}: no demo data in {where}: run `heatpump demo` first (in this "
        "folder, or with the same HEATPUMP_DATA_DIR)")
    assert not where.exists()


def test_in_german(tmp_path):
    r = run_cli(tmp_path, "chat", "--demo", "/jaz", HEATPUMP_LANG="de")
    where = tmp_path / "data" / "demo" / "heatpump.sqlite3"
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"heatpump chat: keine Demo-Daten in {where}: zuerst `heatpump demo` ausführen (in "
        "diesem Ordner oder mit demselben HEATPUMP_DATA_DIR)")


def test_an_empty_demo_store_is_no_demo_data(tmp_path):
    """A demo store an older version created empty (by `chat --demo` itself) is said to be
    empty; one with meter data is used."""
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    demo_path(s).parent.mkdir(parents=True)
    SQLiteStore(demo_path(s), s.tz).close()
    assert demo_missing(s) == (
        f"the demo store {demo_path(s)} holds no data: run `heatpump demo` first (in this "
        "folder, or with the same HEATPUMP_DATA_DIR)")
    with i18n.using("de"):
        assert demo_missing(s).startswith(f"der Demo-Datenspeicher {demo_path(s)} enthält "
                                          "keine Daten: zuerst `heatpump demo` ausführen")
    with SQLiteStore(demo_path(s), s.tz) as store:
        store.write([Point("meter", datetime(2026, 11, 29, 12, tzinfo=UTC),
                           {"power_w": 512.0}, {"device": "shellypro3em-aabbccddee01"})])
    assert demo_missing(s) is None
