"""Collector cost: CPU time per hour of polling and resident memory after a simulated day.

Drives the real service loop (scheduler, the Shelly client and meter accounting, PyViCare,
the Viessmann mapping and heat accounting, health, heartbeat file, SQLite store with a
commit per poll) over the simulated house's devices (simhouse), on a virtual clock: a day
of 10-second meter polls and 5-minute heat pump polls runs in seconds, and the process CPU
time it took is what the collector would spend in that day. Counted too, though a real
collector does not spend it: the simulation and building the devices' answers. Not
counted: the HTTP round trips themselves (kernel and the devices' side). Targets: under
1 % of one core, under 80 MB resident.

    python benchmarks/collector_bench.py [--hours 24]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.service import VirtualClock  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store.sqlite import SQLiteStore  # noqa: E402
from simhouse.demo_cmd import run_service, simulated_house  # noqa: E402
from simhouse.scenarios import Setup  # noqa: E402

T0 = datetime(2026, 1, 12, tzinfo=UTC)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings.from_mapping({"HEATPUMP_DATA_DIR": tmp, "HEATPUMP_TZ": "Europe/Berlin"})
        clock = VirtualClock(T0)
        house = simulated_house(s, T0, Setup(), 1, clock.now)
        store = SQLiteStore(Path(tmp) / "heatpump.sqlite3", s.tz)
        end = T0 + timedelta(hours=args.hours)
        rss0 = rss_mb()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        col = run_service(s, house, store, clock=clock, data_dir=Path(tmp), threaded=False,
                          until=lambda: clock.now() >= end, install_signals=False)
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
        rss = rss_mb()
    per_hour = cpu / args.hours
    share = per_hour / 3600
    print(f"simulated {args.hours:g} h: {col.polls} polls, {col.cycles} loop cycles, "
          f"{wall:.1f} s wall")
    print(f"CPU per hour of polling: {per_hour:.2f} s = {share * 100:.3f} % of one core "
          f"(target < 1 %, ratio to target {share / 0.01:.3f})")
    print(f"resident memory after the run: {rss:.1f} MB (at start {rss0:.1f} MB; target "
          f"< 80 MB, ratio to target {rss / 80:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
