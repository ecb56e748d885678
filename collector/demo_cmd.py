"""Try everything without a heat pump: simulate a house, a heat pump and its meter.

`heatpump demo` backfills the last 30 days (or --days) into a separate embedded store
(<data dir>/demo/, never your real data) through the very same collector service, meter
accounting and heat accounting a real installation uses, then prints electricity in, heat
out and the JAZ. `--live` keeps the simulated collector running in real time afterwards.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

from heatpump.settings import Settings
from heatpump.store.base import Store
from heatpump.timeutil import utcnow

BULK_FLUSH_EVERY = 2000  # polls per store flush while backfilling (recreated if interrupted)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=_positive_days, default=30,
                   help="how many days to simulate up to now (default: 30)")
    p.add_argument("--seed", type=int, default=1, help="weather and house seed (default: 1)")
    p.add_argument("--scenario", action="append", default=[], metavar="SPEC",
                   help="inject a problem: fault, meter-outage, heatpump-outage, cop-drop, "
                        "meter-reboot, optionally @START (e.g. @-2d) /DURATION (e.g. /3h) "
                        "and ,key=value; repeatable (see docs/demo.md)")
    p.add_argument("--live", action="store_true",
                   help="after the backfill, keep collecting simulated data in real time "
                        "until Ctrl-C")


def _positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 < days <= 3660:
        raise argparse.ArgumentTypeError("--days must be between 0 and 3660")
    return days


@dataclass(frozen=True)
class Summary:
    """What the demo measured over its span, next to what the simulator knows is true."""

    start: datetime
    end: datetime
    electricity_kwh: float
    heat_kwh: float
    true_electricity_kwh: float
    true_heat_kwh: float
    device_electricity_kwh: float

    @property
    def jaz(self) -> float | None:
        return self.heat_kwh / self.electricity_kwh if self.electricity_kwh > 0 else None


def format_summary(s: Summary, days: float) -> str:
    """The few lines a new user reads first (pure, so tests can check them)."""
    jaz = f"{s.jaz:.2f}" if s.jaz is not None else "n/a (no electricity measured)"
    true_cop = (s.true_heat_kwh / s.true_electricity_kwh
                if s.true_electricity_kwh > 0 else float("nan"))
    lines = [
        f"Simulated {days:g} days of a 7 kW air-to-water heat pump in a German house.",
        f"  electricity in (meter):      {s.electricity_kwh:9.1f} kWh",
        f"  heat out (device counters):  {s.heat_kwh:9.1f} kWh",
        f"  JAZ over the span:           {jaz:>9}",
        f"  the heat pump's own electricity figure: {s.device_electricity_kwh:.1f} kWh "
        f"(the meter also counts standby and pumps)",
        f"  simulator's truth: {s.true_electricity_kwh:.1f} kWh in, "
        f"{s.true_heat_kwh:.1f} kWh out, COP {true_cop:.2f}",
        "",
        "Try next:",
        "  heatpump chat --demo               the bot's commands in your terminal",
        "  heatpump chat --demo /jaz 30d      one command, e.g. /status, /chart temps 7d",
        "  heatpump demo --live               keep the simulated collector running",
        "  heatpump demo --scenario fault     see how a fault, an outage or a COP drop looks",
        "Then connect your own meter and heat pump: see README, 'Set up your system'.",
    ]
    return "\n".join(lines)


def measured_summary(store: Store, sim: object, start: datetime, end: datetime) -> Summary:
    """Sum what accounting stored over [start, end) and fetch the simulator's truth."""

    def total(measurement: str, tags: dict[str, str]) -> float:
        rows = store.sums(measurement, ["energy_wh"], start, end, "hour",
                          sim.tz, tags=tags)  # type: ignore[attr-defined]
        return sum(r.values.get("energy_wh", 0.0) for r in rows) / 1000.0

    truth = sim.truth(start, end)  # type: ignore[attr-defined]
    return Summary(
        start, end,
        electricity_kwh=total("electricity", {"source": "meter", "circuit": "total"}),
        heat_kwh=total("heat", {"circuit": "total"}),
        true_electricity_kwh=truth.electricity_wh / 1000.0,
        true_heat_kwh=truth.heat_wh / 1000.0,
        device_electricity_kwh=total("electricity", {"source": "heatpump", "circuit": "total"}),
    )


class Progress:
    """A one-line progress bar on a terminal, a few plain lines otherwise."""

    def __init__(self, start: datetime, end: datetime, out: TextIO = sys.stderr):
        self.start, self.end, self.out = start, end, out
        self.tty = out.isatty()
        self.shown = -1
        self.t0 = time.monotonic()

    def update(self, now: datetime) -> None:
        span = (self.end - self.start).total_seconds()
        pct = int(100 * min(1.0, max(0.0, (now - self.start).total_seconds() / span)))
        step = 1 if self.tty else 25
        if pct // step == self.shown // step and pct != 100:
            return
        if pct == self.shown:
            return
        self.shown = pct
        if self.tty:
            bar = "#" * (pct // 4)
            self.out.write(f"\r  simulating [{bar:<25}] {pct:3d}%  "
                           f"{now.astimezone().strftime('%Y-%m-%d')}")
            if pct == 100:
                self.out.write(f"  ({time.monotonic() - self.t0:.0f} s)\n")
        else:
            self.out.write(f"  simulating: {pct}%\n")
        self.out.flush()


def backfill(settings: Settings, days: float, seed: int, scenarios: list[str],
             now: datetime | None = None, out: TextIO = sys.stderr) -> tuple[Summary, object]:
    """Recreate the demo store with `days` of simulated data through the real collector."""
    from collector.service import VirtualClock
    from collector.simulator import Simulator, parse_scenario
    from collector.wiring import run_simulated
    from heatpump.store import open_store

    now = (now or utcnow()).replace(microsecond=0)
    # whole hours, so the summary's hourly sums cover exactly the simulated span
    start = (now - timedelta(days=days)).replace(minute=0, second=0)
    injected = [parse_scenario(s, now) for s in scenarios]  # a typo must not wipe the store
    demo_dir = settings.data_dir / "demo"
    if demo_dir.exists():  # simulated data is recreated on every run
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    sim = Simulator(seed, start - timedelta(days=1), settings.tz,
                    scenarios=injected,
                    meter_device="demo-meter", heatpump_device="demo-heatpump")
    clock = VirtualClock(start)
    progress = Progress(start, now, out)
    until: Callable[[], bool]

    def until() -> bool:
        progress.update(clock.now())
        return clock.now() >= now

    # The collector closes its store when it stops; the summary reads a fresh handle.
    run_simulated(sim, settings, open_store(settings, demo=True), clock=clock,
                  threaded=False, until=until, install_signals=False, data_dir=demo_dir,
                  flush_every=BULK_FLUSH_EVERY)
    with open_store(settings, demo=True) as store:
        summary = measured_summary(store, sim, start, now)
    return summary, sim


def run(args: argparse.Namespace, settings: Settings) -> int:
    print(f"heatpump demo: simulating {args.days:g} days into {settings.data_dir / 'demo'} "
          "(your real data is not touched)", file=sys.stderr)
    try:
        summary, sim = backfill(settings, args.days, args.seed, args.scenario)
    except ValueError as exc:  # a malformed --scenario
        print(f"heatpump demo: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, args.days))
    if args.scenario:  # show the injected problem the way the owner would hear of it
        from bot.alerts.replay import print_replay
        from heatpump.store import open_store

        print("\nAlerts the bot would have sent to subscribed chats "
              "(again: heatpump alerts --demo --replay all):\n")
        with open_store(settings, demo=True) as store:  # up to the simulated now, no later
            print_replay(store, settings, sys.stdout, end=summary.end)
    if args.live:
        from collector.wiring import run_simulated
        from heatpump.store import open_store

        print("\nCollecting simulated data live; stop with Ctrl-C.", file=sys.stderr)
        with open_store(settings, demo=True) as store:
            run_simulated(sim, settings, store, data_dir=settings.data_dir / "demo")
    return 0
