"""`heatpump doctor`: what it finds, a next step for every problem, a non-zero exit."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from heatpump.heartbeat import heartbeat_path
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.paths import ROOT

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
    # the doctor's poll is stored (not its energy: the collector's counters bridge it)
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
    beat = heartbeat_path(data, "collector")
    beat.parent.mkdir(parents=True, exist_ok=True)
    beat.write_text("{}")
    os.utime(beat, (0, 0))
    r = doctor(tmp_path, VICARE_DUMP=str(DUMP))
    assert "2.0 MB waiting in the spool" in r.stdout
    assert "heartbeat is old" in r.stdout and "-> check `heatpump collect`" in r.stdout


def test_shelly_found_with_generation_model_and_channel(tmp_path):
    from tests.fakes.shelly import FakeShelly, load_device

    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password="s3cret-pass") as fake:
        r = doctor(tmp_path, SHELLY_URL=fake.url, SHELLY_USERNAME="admin",
                   SHELLY_PASSWORD="s3cret-pass")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[  ok] Shelly meter" in r.stdout
    assert "generation 2, model SPEM-003CEBEU" in r.stdout and "import counter" in r.stdout
    assert "s3cret-pass" not in r.stdout + r.stderr


CASES = ROOT / "tests" / "fixtures" / "shelly" / "cases"


def test_pro3em_without_counters_is_told_to_update_not_to_fix_the_channel(tmp_path):
    """Field case pro3em_emdata_empty_oldfw: early firmware answers emdata:0 with its id
    only. The meter is read (power), the missing counters are named with the fix, and what
    the collector does meanwhile is said."""
    from tests.fakes.shelly import FakeShelly

    with FakeShelly(json.loads((CASES / "pro3em_emdata_empty_oldfw.json").read_text())) as fake:
        r = doctor(tmp_path, SHELLY_URL=fake.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[warn] Shelly meter" in r.stdout
    assert "now: 3040 W, import counter none" in r.stdout
    assert "reports no energy counters (firmware 0.14.1)" in r.stdout
    assert "integrates the power" in r.stdout and "ESTIMATE" in r.stdout
    assert "-> update the meter's firmware" in r.stdout
    assert "SHELLY_CHANNEL" not in r.stdout and "no all phases" not in r.stdout


def test_pro3em_counters_at_zero_while_power_flows_are_called_stuck(tmp_path):
    """Field case pro3em_emdata_all_zero_unimeter352: 3 kW and every counter 0.00."""
    from tests.fakes.shelly import FakeShelly

    case = json.loads((CASES / "pro3em_emdata_all_zero_unimeter352.json").read_text())
    with FakeShelly(case) as fake:
        r = doctor(tmp_path, SHELLY_URL=fake.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "now: 3040 W, import counter 0.000 kWh" in r.stdout
    assert "the energy counter reads 0 while 3040 W flow: a stuck counter" in r.stdout
    assert "counter_stuck" in r.stdout and "-> restart the meter" in r.stdout


def test_shelly_problems_fail_with_the_next_step(tmp_path):
    from tests.fakes.shelly import FakeShelly, load_device
    from tests.influxd import free_port

    r = doctor(tmp_path, SHELLY_URL=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "[FAIL] Shelly meter" in r.stdout and "unreachable" in r.stdout
    assert "-> check SHELLY_URL" in r.stdout
    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password="right-one") as fake:
        r = doctor(tmp_path, SHELLY_URL=fake.url, SHELLY_USERNAME="admin",
                   SHELLY_PASSWORD="wrong-one")
    assert r.returncode == 1 and "auth_failed" in r.stdout
    assert "-> the meter has a password" in r.stdout
    assert "wrong-one" not in r.stdout + r.stderr


def test_unreachable_influxdb_fails_with_the_next_step(tmp_path):
    from tests.influxd import free_port

    r = doctor(tmp_path, VICARE_DUMP=str(DUMP), INFLUX_URL=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "[FAIL] Store" in r.stdout and "-> check that InfluxDB runs at" in r.stdout


def test_a_password_inside_a_url_is_never_printed(tmp_path):
    """SHELLY_URL/INFLUX_URL may carry user:password@ (both clients accept it); the next
    steps name the URL, so they must name it without its credentials."""
    from tests.influxd import free_port

    r = doctor(tmp_path, VICARE_DUMP=str(DUMP),
               SHELLY_URL=f"http://admin:url-secret-1@127.0.0.1:{free_port()}",
               INFLUX_URL=f"http://user:url-secret-2@127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "-> check SHELLY_URL=http://127.0.0.1:" in r.stdout
    assert "-> check that InfluxDB runs at http://127.0.0.1:" in r.stdout
    assert "url-secret" not in r.stdout + r.stderr


def test_a_misspelt_variable_is_a_warning_in_the_settings_section(tmp_path):
    r = doctor(tmp_path, VICARE_DUMP=str(DUMP), SHELY_URL="http://127.0.0.1:9")
    assert "[warn] Settings" in r.stdout
    assert "SHELY_URL" in r.stdout and "did you mean SHELLY_URL" in r.stdout.replace("`", "")


def test_a_damaged_store_is_not_ok(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "heatpump.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4096)
    r = doctor(tmp_path, VICARE_DUMP=str(DUMP))
    assert r.returncode == 1
    assert "[FAIL] Store" in r.stdout and "heatpump.sqlite3" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_each_meter_of_shelly_meters_is_checked_and_named_by_its_role(tmp_path):
    from tests.fakes.shelly import FakeShelly, load_device
    from tests.influxd import free_port

    gone = f"http://127.0.0.1:{free_port()}"
    with FakeShelly(load_device("gen2_pro3em_fw161.json")) as fake:
        r = doctor(tmp_path, SHELLY_METERS=f"outdoor_unit={fake.url};indoor_unit={gone}")
    assert r.returncode == 1
    assert "[FAIL] Shelly meters (2)" in r.stdout
    assert "outdoor_unit: generation 2, model SPEM-003CEBEU" in r.stdout
    assert "outdoor_unit: now: " in r.stdout
    assert "indoor_unit: unreachable" in r.stdout
    assert f"-> check indoor_unit={gone} in SHELLY_METERS" in r.stdout
