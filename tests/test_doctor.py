"""`heatpump doctor`: what it finds, a next step for every problem, a non-zero exit."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "tests" / "fixtures" / "vicare" / "Vitocal250A.json"


def doctor(tmp_path, *args, **env):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("VICARE", "SHELLY", "INFLUX", "HEATPUMP"))}
    e.update({"HEATPUMP_DATA_DIR": str(tmp_path / "data"), "HEATPUMP_TZ": "Europe/Berlin",
              "PYTHONPATH": str(ROOT), **env})
    return subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", "/nonexistent",
                           "doctor", *args], cwd=tmp_path, env=e, capture_output=True,
                          text=True, timeout=120)


def test_replayed_device_fields_heat_method_and_redacted_dump(tmp_path):
    dump = tmp_path / "saved.json"
    r = doctor(tmp_path, "--save-dump", str(dump), VICARE_DUMP=str(DUMP))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "device Vitocal250A: Vitocal250A" in out
    assert "heat method counter" in out and "outside_temp_c" in out
    assert "sqlite" in out and "All good." in out
    body = json.loads(dump.read_text())
    assert len(body["data"]) == 325
    # the doctor's poll is stored, so the collector's heat accounting continues from it
    store = SQLiteStore(tmp_path / "data" / "heatpump.sqlite3", Settings.from_mapping({}).tz)
    try:
        assert store.points("heatpump", datetime(2000, 1, 1, tzinfo=UTC),
                            datetime(2100, 1, 1, tzinfo=UTC))
    finally:
        store.close()


def test_nothing_configured_fails_with_a_next_step(tmp_path):
    r = doctor(tmp_path)
    assert r.returncode == 1
    assert "[FAIL] Settings" in r.stdout and "no source configured" in r.stdout
    assert "-> set SHELLY_URL" in r.stdout and "heatpump demo" in r.stdout


def test_stale_heartbeat_and_spool_are_reported(tmp_path):
    data = tmp_path / "data"
    (data / "spool").mkdir(parents=True)
    (data / "spool" / "000000000001.jsonl").write_text("x" * 2_000_000)
    beat = data / "collector.heartbeat"
    beat.write_text("{}")
    os.utime(beat, (0, 0))
    r = doctor(tmp_path, VICARE_DUMP=str(DUMP))
    assert "2.0 MB waiting in the spool" in r.stdout
    assert "heartbeat is old" in r.stdout and "-> check `heatpump collect`" in r.stdout
