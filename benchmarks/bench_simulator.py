"""How long the simulated house takes per simulated year, against the 20 s budget.

Run: python benchmarks/bench_simulator.py [--days 30] [--meter pro3em]
Simulates `--days` days (a fresh simulator per line, so each line includes the physics) and
prints wall and CPU seconds (CPU is what matters on a shared machine), the CPU seconds
scaled to a year (the cost is linear in days: the physics runs in day-long chunks) and the
ratio of that to the budget, for:
- the meter's 10-s trace as arrays (the fast path, 3.15 M steps a year);
- the heat pump's state every 5 minutes (`pump_states`);
- the Vitocal's "all features" answer per 5-minute poll (what PyViCare fetches);
- the Shelly's answers per 10-s poll (the requests the real client makes for that model:
  collector.shelly.client.poll_paths).
A ratio below 1.0 is within budget.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.shelly.client import ShellyClient, poll_paths
from collector.shelly.transport import AnswerTransport
from simhouse.house import Simulator
from simhouse.shelly import MODELS, SimulatedShelly
from simhouse.vitocal import INSTALLATION_ID, SimulatedVitocal

BUDGET_S = 20.0  # CPU seconds per simulated year
TZ = "Europe/Berlin"
START = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def measure(label: str, days: float, fn: Callable[[], int]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    count = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_year = cpu * 365 / days
    print(f"{label:<34} {count:>9} items  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
          f"cpu/year {per_year:7.1f} s  ratio(cpu/year / budget) {per_year / BUDGET_S:.2f}")


def polls(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += every
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--meter", choices=sorted(MODELS), default="pro3em")
    args = p.parse_args()
    end = START + timedelta(days=args.days)

    def arrays() -> int:
        return len(Simulator(1, START, TZ).meter_arrays(START, end))

    def states() -> int:
        return sum(1 for _ in Simulator(1, START, TZ).pump_states(START, end))

    def vitocal() -> int:
        clock = Clock(START)
        device = SimulatedVitocal(Simulator(1, START, TZ), clock)
        path = (f"/features/installations/{INSTALLATION_ID}/gateways/{device.gateway}"
                f"/devices/{device.device_id}/features/")
        count = 0
        for t in polls(START, end, timedelta(minutes=5)):
            clock.now = t
            status, _ = device.answer(path)
            count += status == 200
        return count

    def shelly() -> int:
        clock = Clock(START)
        meter = SimulatedShelly(Simulator(1, START, TZ), clock, model=args.meter)
        client = ShellyClient("http://127.0.0.1", transport=AnswerTransport(meter.answer),
                              clock=clock)
        device = client.identify()
        paths = poll_paths(device.family, device.channel)
        count = 0
        for t in polls(START, end, timedelta(seconds=10)):
            clock.now = t
            for path in paths:
                meter.answer(path)
            count += 1
        return count

    print(f"simulating {args.days:g} days (budget {BUDGET_S:.0f} s CPU per simulated year)")
    measure("meter arrays (fast path)", args.days, arrays)
    measure("pump states every 5 min", args.days, states)
    measure("Vitocal answers every 5 min", args.days, vitocal)
    measure(f"Shelly {args.meter} answers every 10 s", args.days, shelly)


if __name__ == "__main__":
    main()
