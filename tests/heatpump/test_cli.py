"""The `heatpump` command: help works, bad settings give one clear message and exit 2."""

import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "heatpump.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "heatpump" in r.stdout
