"""How long the demo simulator takes for a year of data, against the 20 s budget.

Run: python benchmarks/bench_simulator.py [days]
Prints wall and CPU seconds (CPU is what matters on a shared machine) and the ratio to the
budget for: the array fast path (3.15 M meter readings for 365 days), the MeterReading objects
the ingest path consumes, and the heat pump samples. A ratio below 1.0 is within budget.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.simulator import Simulator

BUDGET_S = 20.0


def measure(label: str, fn) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    count = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<34} {count:>9} items  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
          f"ratio(cpu/budget) {cpu / BUDGET_S:.2f}")


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 365
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=days)

    def arrays() -> int:
        return len(Simulator(1, start, "Europe/Berlin").meter_arrays(start, end))

    def readings() -> int:
        return sum(1 for _ in Simulator(1, start, "Europe/Berlin").meter_readings(start, end))

    def samples() -> int:
        return sum(1 for _ in Simulator(1, start, "Europe/Berlin").heatpump_samples(start, end))

    print(f"simulating {days} days (budget {BUDGET_S:.0f} s for 365 days)")
    measure("meter arrays (fast path)", arrays)
    measure("MeterReading objects", readings)
    measure("HeatPumpSample objects", samples)


if __name__ == "__main__":
    main()
