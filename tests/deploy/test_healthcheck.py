"""The container health check reads the heartbeat files the collector and bot touch."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from heatpump.heartbeat import heartbeat_path
from tests.deploy.files import ROOT

SCRIPT = ROOT / "deploy" / "healthcheck.py"
_spec = importlib.util.spec_from_file_location("healthcheck", SCRIPT)
healthcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(healthcheck)


def beat(path, age_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))


def test_fresh_heartbeat_is_healthy(tmp_path):
    path = heartbeat_path(tmp_path, "collector")
    beat(path, 10)
    healthy, reason = healthcheck.check(path, 180, time.time())
    assert healthy and "s old" in reason


def test_stale_heartbeat_is_unhealthy(tmp_path):
    path = heartbeat_path(tmp_path, "bot")
    beat(path, 181)
    healthy, reason = healthcheck.check(path, 180, time.time())
    assert not healthy and "limit 180 s" in reason


def test_missing_heartbeat_is_unhealthy(tmp_path):
    healthy, reason = healthcheck.check(heartbeat_path(tmp_path, "bot"), 180, time.time())
    assert not healthy and "does not exist" in reason


@pytest.mark.parametrize(("process", "intervals", "expected"), [
    ("bot", [], 180),
    ("bot", [300.0], 180),
    ("collector", [], 180),
    ("collector", [10.0], 180),            # Shelly only
    ("collector", [10.0, 300.0], 660),     # a beat per Viessmann poll still counts as alive
    ("collector", [3600.0], 7260),
])
def test_default_max_age_follows_the_slowest_poll(process, intervals, expected):
    assert healthcheck.default_max_age_s(process, intervals) == expected


def fake_proc(tmp_path, *cmdlines: list[str]):
    for pid, argv in enumerate(cmdlines, start=1):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv)
                                                      + b"\0")
    (tmp_path / "self").mkdir()
    return tmp_path


@pytest.mark.parametrize(("cmdlines", "expected"), [
    ([["/opt/venv/bin/python", "/opt/venv/bin/heatpump", "collect"]], "collector"),
    ([["/sbin/docker-init", "--", "heatpump", "bot"],
      ["/opt/venv/bin/python", "/opt/venv/bin/heatpump", "bot"]], "bot"),
    ([["python", "-m", "heatpump.cli", "--env-file", "/x/.env", "collect"]], "collector"),
    ([["/opt/venv/bin/python", "/opt/venv/bin/heatpump", "doctor"]], ""),
    ([["sleep", "100"]], None),
])
def test_detects_which_process_the_container_runs(tmp_path, cmdlines, expected):
    assert healthcheck.detect_process(fake_proc(tmp_path, *cmdlines)) == expected


def run(*args: str, data_dir, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("HEATPUMP_", "INFLUX_", "SHELLY_", "VICARE_", "TELEGRAM_"))}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=60, cwd=data_dir,
                          env={**clean, "PYTHONPATH": str(ROOT), "HEATPUMP_DATA_DIR":
                               str(data_dir), **env})


def test_script_exit_codes_follow_the_heartbeat(tmp_path):
    assert run("collector", data_dir=tmp_path).returncode == 1
    beat(heartbeat_path(tmp_path, "collector"), 5)
    r = run("collector", data_dir=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    beat(heartbeat_path(tmp_path, "collector"), 400)
    assert run("collector", data_dir=tmp_path).returncode == 1  # 180 s: no source enabled
    r = run("collector", data_dir=tmp_path, VICARE_USERNAME="me@example.com",
            VICARE_PASSWORD="pw-secret-1234", VICARE_CLIENT_ID="abc")
    assert r.returncode == 0, r.stdout  # 660 s with a 300 s Viessmann poll
    assert run("collector", "--max-age", "300", data_dir=tmp_path).returncode == 1


def test_invalid_settings_are_unhealthy_without_showing_secrets(tmp_path):
    beat(heartbeat_path(tmp_path, "bot"), 1)
    r = run("bot", data_dir=tmp_path, VICARE_USERNAME="me@example.com",
            VICARE_PASSWORD="pw-secret-1234")
    assert r.returncode == 1
    assert "VICARE_CLIENT_ID" in r.stdout and "pw-secret-1234" not in r.stdout + r.stderr


def test_help_answers():
    r = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "heartbeat" in r.stdout


def test_a_beat_from_the_library_is_what_the_health_check_reads(tmp_path):
    from heatpump import heartbeat

    assert heartbeat.age_s(tmp_path / "new", "bot", time.time()) is None
    beat(heartbeat_path(tmp_path, "bot"), 1000)  # an old beat from before a restart
    assert run("bot", data_dir=tmp_path).returncode == 1
    heartbeat.beat(tmp_path, "bot")
    assert heartbeat.age_s(tmp_path, "bot", time.time()) < 5
    assert run("bot", data_dir=tmp_path).returncode == 0
    heartbeat.beat(tmp_path / "missing" / "dir", "collector")  # creates the data dir
    assert heartbeat_path(tmp_path / "missing" / "dir", "collector").exists()


def test_a_stopped_process_is_unhealthy_until_it_beats_again(tmp_path):
    from heatpump import heartbeat

    heartbeat.beat(tmp_path, "bot", {"stopped": True})  # what a bot writes when it stops
    r = run("bot", data_dir=tmp_path)
    assert r.returncode == 1 and "stopped" in r.stdout
    heartbeat.beat(tmp_path, "bot")  # the restarted bot's first plain beat
    assert run("bot", data_dir=tmp_path).returncode == 0


def test_library_and_health_check_know_the_same_processes():
    from heatpump import heartbeat

    assert set(heartbeat.PROCESSES) == set(healthcheck.HEARTBEAT_OF_COMMAND.values())
    assert healthcheck.MIN_MAX_AGE_S >= 3 * heartbeat.BEAT_EVERY_S
    with pytest.raises(ValueError, match="unknown process"):
        heartbeat.heartbeat_path(Path("/data"), "collect")
