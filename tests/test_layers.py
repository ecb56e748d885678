"""The layers hold: `lint-imports` checks the contracts in pyproject.toml (data flows one
way, the simulated house knows nothing of the product, accounting is pure, no cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(binary), "--no-cache", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_import_contracts_are_kept():
    r = lint_imports()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 kept, 0 broken" in r.stdout


def test_a_broken_layer_is_caught(tmp_path):
    """The check can fail: the same contracts over a copy in which the collector imports
    the bot."""
    import shutil

    for package in ("heatpump", "collector", "bot", "simhouse"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bad = tmp_path / "collector" / "summary.py"
    bad.write_text(bad.read_text() + "\nfrom bot import analytics  # noqa: E402,F401\n")
    binary = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(binary), "--no-cache"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env={"PYTHONPATH": str(tmp_path),
                                                    "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "collector.summary -> bot.analytics" in r.stdout
