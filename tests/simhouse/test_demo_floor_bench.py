"""benchmarks/demo_floor_bench.py cannot rot: it reads the demo house's simulated meter and
heat pump through the real readers (and the heat pump's accounting) and prints a figure per
stage and per target (the benchmark itself is never timed here)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.paths import ROOT


def test_the_floor_benchmark_reads_through_the_real_readers_and_prints_its_ratios():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "demo_floor_bench.py"), "--meter-polls",
         "50", "--pump-polls", "3", "--rounds", "1"],
        capture_output=True, text=True, check=True, timeout=300)
    out = done.stdout
    assert re.search(r"Shelly client on the simulated Pro 3EM: +\d+\.\d µs per poll", out)
    assert re.search(r"PyViCare \+ mapping on the simulated Vitocal: +\d+\.\d µs per poll", out)
    assert re.search(r"and heat accounting \(the heat pump's poll\): +\d+\.\d µs per poll", out)
    for days, target in (("30", "10.0"), ("365", "60.0")):
        assert re.search(rf" {days} days: readers alone +\d+\.\d s CPU \(ratio \d+\.\d\d\), "
                         r"with the heat pump's accounting +\d+\.\d s \(ratio \d+\.\d\d\); "
                         rf"target {target} s", out), out
    assert re.search(r"worst ratio \d+\.\d\d \((misses a target|leaves room)", out)
