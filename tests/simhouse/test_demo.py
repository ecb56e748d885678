"""`heatpump demo`: a simulated house through the real collector into its own store."""

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill, format_summary
from tests.paths import ROOT

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def settings(tmp_path: Path) -> Settings:
    return Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                  "HEATPUMP_TZ": "Europe/Berlin"})


def test_backfill_measures_the_simulated_truth_into_the_demo_store(tmp_path):
    s = settings(tmp_path)
    summary, _sim = backfill(s, 0.5, 3, [], now=NOW, out=io.StringIO())
    # the meter counter is exact; the heat counters step in 0.1 kWh
    assert summary.electricity_kwh == pytest.approx(summary.true_electricity_kwh, rel=0.01)
    assert summary.heat_kwh == pytest.approx(summary.true_heat_kwh, rel=0.05, abs=0.3)
    assert 2.0 < summary.jaz < 6.0
    assert summary.device_electricity_kwh > 0
    # the demo never touches the real store
    assert (s.data_dir / "demo" / "heatpump.sqlite3").exists()
    assert not (s.data_dir / "heatpump.sqlite3").exists()
    with open_store(s, demo=True) as store:
        meter = store.points("meter", NOW - timedelta(days=1), NOW)
        assert 12 * 360 - 10 <= len(meter) <= 12 * 360
        # the devices' own ids, as the collector learns them from their answers
        assert store.tag_values("heatpump", "device") == ["7571381681420106-0"]
        assert store.tag_values("meter", "device") == ["shellypro3em-aabbccddee01"]


def test_rerun_recreates_instead_of_doubling(tmp_path):
    s = settings(tmp_path)
    first, _ = backfill(s, 0.25, 3, [], now=NOW, out=io.StringIO())
    again, _ = backfill(s, 0.25, 3, [], now=NOW, out=io.StringIO())
    assert again.electricity_kwh == pytest.approx(first.electricity_kwh)
    assert again.heat_kwh == pytest.approx(first.heat_kwh)


def test_summary_text_says_what_to_try_next(tmp_path):
    s = settings(tmp_path)
    summary, _ = backfill(s, 0.25, 3, [], now=NOW, out=io.StringIO())
    text = format_summary(summary, 0.25)
    assert "JAZ over the span" in text and f"{summary.jaz:.2f}" in text
    assert "heatpump chat --demo" in text


def test_a_mistyped_scenario_keeps_the_previous_demo_store(tmp_path):
    s = settings(tmp_path)
    backfill(s, 0.1, 3, [], now=NOW, out=io.StringIO())
    db = s.data_dir / "demo" / "heatpump.sqlite3"
    size = db.stat().st_size
    with pytest.raises(ValueError, match="unknown scenario"):
        backfill(s, 0.1, 3, ["earthquake"], now=NOW, out=io.StringIO())
    assert db.stat().st_size == size


def _cli(tmp_path: Path, *args: str, **kw):
    env = {**os.environ, "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
           "HEATPUMP_TZ": "Europe/Berlin", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "heatpump.cli", "--env-file",
                             str(tmp_path / "none"), "demo", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_cli_bad_scenario_is_one_clear_line(tmp_path):
    p = _cli(tmp_path, "--days", "0.1", "--scenario", "earthquake")
    _out, err = p.communicate(timeout=120)
    assert p.returncode == 2
    assert "unknown scenario 'earthquake'" in err and "Traceback" not in err


def test_cli_live_keeps_collecting_until_interrupted(tmp_path):
    from heatpump.live import request_live

    started = datetime.now(UTC)
    p = _cli(tmp_path, "--days", "0.05", "--live")
    s = settings(tmp_path)
    db = s.data_dir / "demo" / "heatpump.sqlite3"
    live = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None and live is None:
        time.sleep(1)
        if db.exists():
            request_live(s.data_dir / "demo")  # as `chat --demo /status`: a commit now
            with open_store(s, demo=True) as store:
                got = store.latest("meter", ["power_w"]).get("power_w")
            # the backfill ends when the process starts; later samples are live polls
            if got is not None and got.time > started + timedelta(seconds=12):
                live = got.time
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert live is not None, err
    assert p.returncode == 0, err
    assert "JAZ over the span" in out and "Traceback" not in err


def test_cli_scenarios_show_the_alerts_a_subscriber_would_get(tmp_path):
    p = _cli(tmp_path, "--days", "2", "--scenario", "fault@-30h/4h",
             "--scenario", "meter-outage@-12h/3h")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    alerts = out.split("Alerts the bot would have sent", 1)[1]
    assert "⚠️ Heat pump fault F.1100" in alerts and "✅ Resolved: heat pump fault" in alerts
    assert "No data from the electricity meter" in alerts
    assert "Meter data is arriving again" in alerts
    # the replay ends at the simulated now: no phantom outage after the data ends
    assert "is the collector still running" not in alerts
    assert not (tmp_path / "data" / "heatpump.sqlite3").exists()  # never the real store


def test_a_meter_outage_is_an_outage_not_a_rejected_reading(tmp_path, caplog):
    """The simulated meter goes silent at an outage; it must not hand the reading it already
    gave once more (which the accounting rejects as 'collector clock went back?')."""
    s = settings(tmp_path)
    with caplog.at_level("WARNING"):
        backfill(s, 0.25, 3, ["meter-outage@-3h/30m"], now=NOW, out=io.StringIO())
    assert "meter shellypro3em-aabbccddee01 down (unreachable)" in caplog.text
    assert "rejected" not in caplog.text


def test_the_summary_truth_over_a_long_span_is_the_truth_asked_at_once():
    """The demo's summary asks the simulator's truth 30 days at a time (memory: a year's
    minute arrays at once would break issue 16's 150 MB); the sums are the same."""
    from zoneinfo import ZoneInfo

    from simhouse.demo_cmd import TRUTH_CHUNK, span_truth_wh
    from simhouse.house import Simulator

    start = datetime(2025, 12, 1, 0, tzinfo=UTC)
    end = start + TRUTH_CHUNK * 2 + timedelta(days=5, hours=7)  # two chunks and a part
    sim = Simulator(3, start - timedelta(days=1), ZoneInfo("Europe/Berlin"))
    whole = sim.truth(start, end)
    electricity_wh, heat_wh = span_truth_wh(sim, start, end)
    assert whole.electricity_wh > 0 and whole.heat_wh > 0
    assert electricity_wh == pytest.approx(whole.electricity_wh, rel=1e-12)
    assert heat_wh == pytest.approx(whole.heat_wh, rel=1e-12)
