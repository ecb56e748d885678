"""The collector with real parts: the real SQLite store, real PyViCare replaying a real
Viessmann dump (with the API's real 429 body), and the `heatpump collect` process itself
(SIGTERM within 5 s, kill -9 loses at most the last poll)."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from PyViCare.PyViCareUtils import PyViCareRateLimitError

from collector.collect_cmd import build_collector
from collector.service import VirtualClock
from collector.wiring import build_sources
from heatpump.heartbeat import heartbeat_path
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.paths import ROOT

FIX = ROOT / "tests" / "fixtures" / "vicare"
DUMP = FIX / "Vitocal250A.json"
T0 = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)


def settings(tmp_path, **extra):
    env = {"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "Europe/Berlin",
           "VICARE_DUMP": str(DUMP), **extra}
    return Settings.from_mapping(env)


def test_replayed_vicare_survives_a_429_and_reports_it(tmp_path):
    s = settings(tmp_path)
    clock = VirtualClock(T0)
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    (vicare,), state = build_sources(s, clock)
    col = build_collector(s, [vicare], store, clock=clock, threaded=False, state=state)
    body = json.loads((FIX / "errors" / "rate_limit.json").read_text())
    polls = {"n": 0}

    col.start()
    real_get = None
    while clock.now() < T0 + timedelta(hours=2):
        col.step()
        if vicare.reader._manager is not None and real_get is None:
            mgr = vicare.reader._manager
            real_get = mgr.get

            def get(url, real_get=real_get):
                if "/features" in url:
                    polls["n"] += 1
                    if 5 <= polls["n"] <= 7:
                        raise PyViCareRateLimitError(body)  # what PyViCare raises on a 429
                return real_get(url)

            mgr.get = get
    col.shutdown()
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", s.tz)
    end = T0 + timedelta(days=1)
    samples = store.points("heatpump", T0 - timedelta(days=1), end)
    health = store.points("health", T0 - timedelta(days=1), end)
    assert len(samples) == 24 - 3  # polls at 0, 5, ... 115 min; three refused with 429
    reasons = [(h.fields["status"], h.fields["reason"]) for h in health]
    assert ("down", "rate_limited") in reasons
    limited = next(h for h in health if h.fields["reason"] == "rate_limited")
    assert "until" in limited.fields
    assert reasons[-1][0] == "up"  # and it came back
    beat = json.loads(heartbeat_path(tmp_path, "collector").read_text())
    assert beat["sources"]["vicare/Vitocal250A"]["status"] == "up"
    assert beat["sources"]["vicare/account"]["status"] == "up"
    store.close()


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VICARE", "SHELLY",
                                                                     "INFLUX", "HEATPUMP"))}
    env.update({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "Europe/Berlin",
                "VICARE_DUMP": str(DUMP), "VICARE_POLL_SECONDS": "60",
                "PYTHONPATH": str(ROOT)})
    return env


def _start(tmp_path):
    return subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file", "/nonexistent",
                             "collect"], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_polls(tmp_path, n, timeout=60):
    beat = heartbeat_path(tmp_path, "collector")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(beat.read_text()).get("polls", 0) >= n:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError("collector did not poll in time")


def _rows(tmp_path, measurement):
    db = sqlite3.connect(tmp_path / "heatpump.sqlite3")
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        assert tables, "no tables"
    finally:
        db.close()
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", Settings.from_mapping({}).tz)
    try:
        return store.points(measurement, datetime(2000, 1, 1, tzinfo=UTC),
                            datetime(2100, 1, 1, tzinfo=UTC))
    finally:
        store.close()


def test_sigterm_stops_the_real_process_within_5_s_with_data_flushed(tmp_path):
    proc = _start(tmp_path)
    try:
        _wait_polls(tmp_path, 1)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert "SIGTERM received" in out and "collector stopped" in out
    assert len(_rows(tmp_path, "heatpump")) == 1
    beat = json.loads(heartbeat_path(tmp_path, "collector").read_text())
    assert beat["stopped"] is True


def test_kill_9_loses_at_most_the_last_poll_and_restart_continues(tmp_path):
    proc = _start(tmp_path)
    try:
        _wait_polls(tmp_path, 1)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = _rows(tmp_path, "heatpump")
    assert len(first) == 1  # the poll that finished before the kill is durable
    heartbeat_path(tmp_path, "collector").unlink()
    proc = _start(tmp_path)
    try:
        _wait_polls(tmp_path, 1)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = _rows(tmp_path, "heatpump")
    assert len(rows) == 2 and rows[0].time == first[0].time
    # the restarted source resumed from its saved sample: the interval between the two
    # polls was accounted (heat counters of the dump do not move, so the energy is 0)
    heat = _rows(tmp_path, "heat")
    assert heat and all(h.time == rows[1].time for h in heat)


def test_no_source_configured_points_to_the_demo(tmp_path):
    env = _env(tmp_path)
    env.pop("VICARE_DUMP")
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", "/nonexistent",
                        "collect"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert "heatpump demo" in r.stderr and "SHELLY_URL" in r.stderr


def test_kill_9_with_a_fast_meter_loses_at_most_one_poll(tmp_path):
    """Committing every poll (HEATPUMP_FLUSH_MINUTES=0, InfluxDB's default)."""
    from tests.fakes.shelly import FakeShelly, load_device

    with FakeShelly(load_device("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json")) as fake:
        env = _env(tmp_path)
        env.pop("VICARE_DUMP")
        env.update({"SHELLY_URL": fake.url, "SHELLY_POLL_SECONDS": "1",
                    "HEATPUMP_FLUSH_MINUTES": "0"})

        def answered():  # /status requests minus the one of the device recognition
            return sum(1 for r in fake.requests if r.startswith("/status")) - 1

        proc = subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file",
                                 "/nonexistent", "collect"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while answered() < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # somewhere inside a poll cycle
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        polls = answered()
        assert polls >= 6
        stored = len(_rows(tmp_path, "meter"))
        assert polls - 1 <= stored <= polls


def test_kill_9_between_commits_loses_raw_samples_but_no_energy(tmp_path):
    """The embedded store's default: commits every 20 minutes. A kill -9 loses the raw
    samples since the last commit; the energy of that time is not lost: after the restart
    the counter bridges it, so the stored energy equals the counter's whole advance."""
    import threading

    from tests.fakes.shelly import FakeShelly, load_device

    with FakeShelly(load_device("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json")) as fake:
        meter = fake.status["meters"][0]
        meter["power"] = 120.0
        stop = threading.Event()

        def run_meter():  # 120 W: one watt-minute every half second
            while not stop.wait(0.5):
                meter["total"] += 1

        threading.Thread(target=run_meter, daemon=True).start()
        env = _env(tmp_path)
        env.pop("VICARE_DUMP")
        env.update({"SHELLY_URL": fake.url, "SHELLY_POLL_SECONDS": "1"})

        def answered():
            return sum(1 for r in fake.requests if r.startswith("/status"))

        def run(until_polls, sig):
            proc = subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file",
                                     "/nonexistent", "collect"], cwd=tmp_path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            try:
                deadline = time.monotonic() + 60
                while answered() < until_polls and time.monotonic() < deadline:
                    time.sleep(0.05)
                proc.send_signal(sig)
                proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()

        run(8, signal.SIGKILL)
        raw_after_kill = len(_rows(tmp_path, "meter"))
        assert raw_after_kill < 5  # the first poll was committed, the rest waited
        run(answered() + 6, signal.SIGTERM)
        stop.set()
    meters = sorted(_rows(tmp_path, "meter"), key=lambda p: p.time)
    counters = [p.fields["energy_import_wh"] for p in meters if "energy_import_wh" in p.fields]
    stored = sum(p.fields.get("energy_wh", 0.0) for p in _rows(tmp_path, "electricity"))
    assert counters[-1] > counters[0] + 0.2  # watt-minutes: 1/60 Wh each
    assert stored == pytest.approx(counters[-1] - counters[0], abs=1e-6)


def test_once_polls_each_source_once_and_exits(tmp_path):
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", "/nonexistent",
                        "collect", "--once"], cwd=tmp_path, env=_env(tmp_path),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(_rows(tmp_path, "heatpump")) == 1


def test_container_healthcheck_reads_the_running_collectors_heartbeat(tmp_path):
    """The one health check of docs/deployment.md (deploy/healthcheck.py) against the real
    `heatpump collect`: healthy while it polls (with its sources' states in the reason),
    unhealthy once it stopped (however fresh the file) and when the file is stale."""
    def check(*args):
        return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py"),
                               "collector", *args], env=_env(tmp_path), capture_output=True,
                              text=True, timeout=60)

    r = check()
    assert r.returncode == 1 and "no heartbeat" in r.stdout
    proc = _start(tmp_path)
    try:
        _wait_polls(tmp_path, 1)
        r = check()
        assert r.returncode == 0, r.stdout
        assert "vicare/Vitocal250A up" in r.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    r = check()
    assert r.returncode == 1 and "stopped" in r.stdout, r.stdout
    beat = heartbeat_path(tmp_path, "collector")
    body = json.loads(beat.read_text())
    del body["stopped"]  # as if it hung instead: only the age tells
    beat.write_text(json.dumps(body))
    assert check().returncode == 0
    os.utime(beat, (time.time() - 900, time.time() - 900))
    r = check()
    assert r.returncode == 1 and re.search(r"is 9\d\d s old \(limit 180 s\)", r.stdout), r.stdout
    assert check("--max-age", "1000").returncode == 0


