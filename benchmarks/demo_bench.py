"""`heatpump demo` cost: CPU seconds and peak memory of the 30- and 365-day demos.

Each demo runs as the user runs it (`heatpump demo --days N`, a fresh HEATPUMP_DATA_DIR in
a temporary folder) in a child process; its CPU time (user + system) and peak resident
memory come from the kernel's accounting of that finished child (`resource.getrusage(
RUSAGE_CHILDREN)`, `ru_maxrss`), so they include start-up, the simulation, the readers,
the accounting and the store. Targets (issue 16): the 30-day demo under 10 s, the 365-day
demo under 60 s CPU and under 150 MB peak. Printed: each figure, its target and the ratio
(figure / target: at most 1.0 meets it). The machine's other load slows the figures; run
it on a quiet machine, and more than once.

    python benchmarks/demo_bench.py                 # 30 and 365 days
    python benchmarks/demo_bench.py --days 3 30     # other spans (the ratio uses the nearest
                                                    # target: per-day share of the 365-day one)
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# days -> (CPU seconds, peak MB); other spans get the year's per-day CPU and its memory
TARGETS: dict[float, tuple[float, float]] = {30.0: (10.0, 150.0), 365.0: (60.0, 150.0)}


@dataclass(frozen=True)
class Run:
    days: float
    cpu_s: float
    wall_s: float
    peak_mb: float
    summary: str


def target(days: float) -> tuple[float, float]:
    if days in TARGETS:
        return TARGETS[days]
    year_cpu, year_mb = TARGETS[365.0]
    return year_cpu * days / 365.0, year_mb


def run_demo(days: float, extra: list[str]) -> Run:
    """One `heatpump demo --days N` in a child process; its CPU and peak RSS. Runs one
    child at a time, so RUSAGE_CHILDREN's growth and maximum are this child's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as tmp:
        env = dict(os.environ, HEATPUMP_DATA_DIR=tmp, HEATPUMP_TZ="Europe/Berlin")
        wall0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "heatpump.cli", "demo", "--days",
                               f"{days:g}", *extra], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
        wall = time.perf_counter() - wall0
    if done.returncode != 0:
        raise SystemExit(f"heatpump demo --days {days:g} failed ({done.returncode}):\n"
                         f"{done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [ln for ln in done.stdout.splitlines() if "JAZ over the span" in ln]
    return Run(days, cpu, wall, after.ru_maxrss / 1024, lines[0].strip() if lines else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, nargs="+", default=[30.0, 365.0])
    ap.add_argument("demo_args", nargs="*", help="more `heatpump demo` arguments (after --)")
    args = ap.parse_args()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"heatpump demo, each span in its own process (CPU = user + system); "
          f"load average {load} on {os.cpu_count()} CPUs", flush=True)
    print(f"{'days':>6} {'CPU s':>8} {'target':>7} {'ratio':>6} {'peak MB':>8} {'target':>7} "
          f"{'ratio':>6} {'wall s':>7} {'s/day':>6}  summary")
    worst = 0.0
    for days in sorted(args.days):  # ascending: the children's peak is the last one's
        run = run_demo(days, args.demo_args)
        cpu_target, mb_target = target(days)
        cpu_ratio, mb_ratio = run.cpu_s / cpu_target, run.peak_mb / mb_target
        worst = max(worst, cpu_ratio, mb_ratio)
        print(f"{days:6g} {run.cpu_s:8.1f} {cpu_target:7.1f} {cpu_ratio:6.2f} "
              f"{run.peak_mb:8.0f} {mb_target:7.0f} {mb_ratio:6.2f} {run.wall_s:7.1f} "
              f"{run.cpu_s / days:6.2f}  {run.summary}", flush=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"worst ratio {worst:.2f} ({'meets' if worst <= 1.0 else 'misses'} the targets); "
          f"load average now {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
