"""The demo's summary in both languages and its "Try next" commands, which must run exactly
as printed (issue 19: they assumed an activated venv), and --days' stated limits."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heatpump import i18n
from simhouse.demo_cmd import (
    MAX_DAYS,
    Summary,
    _positive_days,
    format_summary,
    heatpump_command,
    try_next,
)

START = datetime(2026, 10, 30, 23, tzinfo=UTC)
SUMMARY = Summary(START, START + timedelta(days=30, minutes=40), electricity_kwh=502.14,
                  heat_kwh=1959.93, true_electricity_kwh=502.1, true_heat_kwh=1920.4,
                  device_electricity_kwh=452.5, heat_methods=("counter",))


def test_the_summary_in_english_and_german():
    assert format_summary(SUMMARY, 30).splitlines()[:6] == [
        "Simulated 30 days of a 7 kW air-to-water heat pump in a German house.",
        "  electricity in (meter):               502.1 kWh",
        "  heat out (heat method: counter):    1,959.9 kWh",
        "  JAZ over the span:                     3.90",
        "  the heat pump's own electricity figure: 452.5 kWh (the meter also counts standby "
        "and pumps)",
        "  simulator's truth: 502.1 kWh in, 1,920.4 kWh out, COP 3.82",
    ]
    with i18n.using("de"):
        assert format_summary(SUMMARY, 30, ".venv/bin/heatpump").splitlines() == [
            "30 Tage einer 7-kW-Luft-Wasser-Wärmepumpe in einem deutschen Haus simuliert.",
            "  Strom hinein (Stromzähler):               502,1 kWh",
            "  Wärme heraus (Wärmemethode: counter):   1.959,9 kWh",
            "  JAZ über den Zeitraum:                     3,90",
            "  eigener Stromwert der Wärmepumpe: 452,5 kWh (der Stromzähler zählt auch Standby "
            "und Pumpen)",
            "  Wahrheit des Simulators: 502,1 kWh hinein, 1.920,4 kWh heraus, COP 3,82",
            "",
            "Als Nächstes ausprobieren:",
            "  .venv/bin/heatpump chat --demo             die Befehle des Bots in deinem "
            "Terminal",
            "  .venv/bin/heatpump chat --demo /jaz 30d    ein einzelner Befehl, z. B. "
            "/status, /chart temps 7d",
            "  .venv/bin/heatpump chat --demo /changes    die zur Hälfte abgesenkte "
            "Heizkurve und ihre Wirkung",
            "  .venv/bin/heatpump demo --live             den simulierten Collector "
            "weiterlaufen lassen",
            "  .venv/bin/heatpump demo --scenario fault   sehen, wie eine Störung, ein "
            "Ausfall oder ein COP-Einbruch aussieht",
            "Dann den eigenen Stromzähler und die Wärmepumpe anschließen: siehe README, 'Set "
            "up your system'.",
        ]


def test_a_short_demo_says_its_real_span_and_offers_no_curve_change():
    short = Summary(START, START + timedelta(hours=3), 1.0, 3.5, 1.0, 3.4, 0.9, ("counter",))
    text = format_summary(short, 0.1, curve_change=False)
    assert text.startswith("Simulated 3 hours of")
    assert "/changes" not in text
    with i18n.using("de"):
        assert format_summary(short, 0.1, curve_change=False).startswith("3 Stunden einer")


def test_days_limits_are_the_ones_stated():
    assert _positive_days(str(MAX_DAYS)) == MAX_DAYS and _positive_days("0.5") == 0.5
    for bad in ("0", "-1", "3661", "nan", "many"):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            _positive_days(bad)
        assert str(err.value) == (f"{bad!r}: give a number of days more than 0 and at most "
                                  "3660, e.g. --days 7 or --days 0.5")


def test_the_command_prefix_is_how_heatpump_was_typed(tmp_path):
    script = tmp_path / "venv" / "bin" / "heatpump"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    # not on PATH (a venv not activated): the path as typed
    assert heatpump_command(".venv/bin/heatpump", {"PATH": "/usr/bin"}) == ".venv/bin/heatpump"
    # on PATH and the same file: just the name
    assert heatpump_command(str(script), {"PATH": str(script.parent)}) == "heatpump"
    # python -m heatpump.cli: this interpreter
    assert heatpump_command("/x/heatpump/cli.py", {}) == (
        f"{shlex.quote(sys.executable)} -m heatpump.cli")
    # a data dir from the environment goes in front, absolute, quoted
    assert heatpump_command(".venv/bin/heatpump", {"HEATPUMP_DATA_DIR": "/tmp/my data"}) == (
        "HEATPUMP_DATA_DIR='/tmp/my data' .venv/bin/heatpump")


def _printed_commands(out: str) -> list[str]:
    """The commands under "Try next:" (a long one stands on a line of its own, its text on
    the next, indented deeper; a short one is followed by 3+ spaces and its text)."""
    block = out.split("Try next:\n", 1)[1].split("\nThen connect", 1)[0]
    return [re.split(r" {3,}", line.strip())[0] for line in block.splitlines()
            if line.startswith("  ") and not line.startswith("      ")]


def test_try_next_runs_as_printed(tmp_path):
    """The demo run as a new user does (`.venv/bin/heatpump demo` from the clone, no venv
    activated, HEATPUMP_DATA_DIR given for this run only); each printed command then runs
    in a shell from the same folder, without that variable set."""
    script = Path(sys.executable).parent / "heatpump"
    if not script.exists():
        pytest.skip(f"no console script at {script} (package not installed with pip)")
    clone = tmp_path / "clone"
    (clone / ".venv" / "bin").mkdir(parents=True)
    (clone / ".venv" / "bin" / "heatpump").symlink_to(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEATPUMP_")}
    env.update(PATH="/usr/bin:/bin", MPLCONFIGDIR=str(tmp_path / "mpl"),
               HEATPUMP_TZ="Europe/Berlin")
    r = subprocess.run([".venv/bin/heatpump", "--env-file", "none", "demo", "--days", "0.1"],
                       cwd=clone, env={**env, "HEATPUMP_DATA_DIR": str(tmp_path / "data")},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    prefix = f"HEATPUMP_DATA_DIR={tmp_path / 'data'} .venv/bin/heatpump"
    printed = _printed_commands(r.stdout)
    assert printed == [c for c, _t in try_next(prefix, False)]
    for command in printed:
        if command.endswith("chat --demo"):  # interactive: an empty line quits
            done = subprocess.run(command, shell=True, cwd=clone, env=env, input="/status\n\n",
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and "Heat pump status" in done.stdout, done.stderr
        elif "chat --demo /" in command:
            done = subprocess.run(command, shell=True, cwd=clone, env=env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0 and done.stdout.strip(), done.stderr
            assert "no data" not in done.stdout.lower()
        elif command.endswith("demo --live"):  # the live part runs until Ctrl-C
            p = subprocess.Popen(f"{command} --days 0.1", shell=True, cwd=clone, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True, executable="/bin/bash")
            for err_line in p.stderr:
                if "Collecting simulated data live" in err_line:
                    break
            time.sleep(5)  # the service is up and has polled (its signal handlers are set)
            os.killpg(p.pid, signal.SIGINT)  # Ctrl-C
            out, _err = p.communicate(timeout=60)
            assert p.returncode == 0 and "JAZ over the span" in out
        else:
            assert command.endswith("demo --scenario fault"), command
            done = subprocess.run(f"{command} --days 0.1", shell=True, cwd=clone, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            assert "Alerts the bot would have sent" in done.stdout


def test_a_demo_inside_one_month_names_its_heat_method(tmp_path):
    """A span that starts after its month began: the summaries asked month sums from a start
    that is no month boundary and said 'heat method: none' next to 11 kWh of heat."""
    import io

    from collector.summary import run_summary
    from heatpump.settings import Settings
    from heatpump.store import open_store
    from simhouse.demo_cmd import backfill

    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                               "HEATPUMP_TZ": "Europe/Berlin"})
    summary, _house = backfill(s, 0.1, 3, [], now=datetime(2026, 1, 15, 12, tzinfo=UTC),
                               out=io.StringIO())
    assert summary.heat_kwh > 1 and summary.heat_methods == ("counter",)
    assert "(heat method: counter)" in format_summary(summary, 0.1)
    with open_store(s, demo=True) as store:
        replayed = run_summary(store, summary.start, summary.end, s.tz)
    assert replayed.heat_kwh > 1 and replayed.heat_methods == ("counter",)
