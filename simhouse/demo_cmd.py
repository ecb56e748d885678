"""Try everything without a heat pump: simulate a house, a heat pump and its meter.

`heatpump demo` simulates the last 30 days (or --days) of a house whose Shelly meter and
Viessmann heat pump answer in their own wire formats (simhouse.shelly, simhouse.vitocal).
Those answers go through the very readers, mapping, accounting and store a real
installation uses (collector.wiring, collector.drive), into a separate embedded store
(<data dir>/demo/, never your real data). It then prints electricity in, heat out and the
JAZ, next to the simulator's exact truth. `--record DIR` keeps the devices' answers for
`heatpump replay DIR`; `--live` keeps the simulated collector running in real time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from collector.service import Clock, Collector
from collector.wiring import Devices
from heatpump.settings import Settings
from heatpump.store.base import Store
from heatpump.timeutil import utcnow
from simhouse.house import Simulator
from simhouse.scenarios import KINDS, Setup, build_setup
from simhouse.shelly import MODELS, SimulatedShelly
from simhouse.vitocal import SimulatedVitocal

BULK_FLUSH_EVERY = 2000  # polls per store flush while backfilling (recreated if interrupted)
ANSWER_DELAY = timedelta(seconds=2)  # the Viessmann poll runs a little after the meter's


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=_positive_days, default=30,
                   help="how many days to simulate up to now (default: 30)")
    p.add_argument("--seed", type=int, default=1, help="weather and house seed (default: 1)")
    p.add_argument("--scenario", action="append", default=[], metavar="SPEC",
                   help="inject a problem of the house or a quirk of a device, optionally "
                        "@START (e.g. @-2d) /DURATION (e.g. /3h) and ,key=value; "
                        "repeatable. Kinds: " + ", ".join(KINDS) + " (docs/demo.md)")
    p.add_argument("--meter", choices=sorted(MODELS), default="pro3em",
                   help="which Shelly the simulated house has (default: pro3em)")
    p.add_argument("--record", metavar="DIR",
                   help="also keep every simulated device answer in DIR, for "
                        "`heatpump replay DIR` (docs/recording.md)")
    p.add_argument("--live", action="store_true",
                   help="after the backfill, keep collecting simulated data in real time "
                        "until Ctrl-C")


def _positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 < days <= 3660:
        raise argparse.ArgumentTypeError("--days must be more than 0 and at most 3660")
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
    heat_methods: tuple[str, ...] = ()

    @property
    def jaz(self) -> float | None:
        return self.heat_kwh / self.electricity_kwh if self.electricity_kwh > 0 else None


def format_summary(s: Summary, days: float) -> str:
    """The few lines a new user reads first (pure, so tests can check them)."""
    jaz = f"{s.jaz:.2f}" if s.jaz is not None else "n/a (no electricity measured)"
    true_cop = (s.true_heat_kwh / s.true_electricity_kwh
                if s.true_electricity_kwh > 0 else float("nan"))
    method = " and ".join(s.heat_methods) or "none"
    lines = [
        f"Simulated {days:g} days of a 7 kW air-to-water heat pump in a German house.",
        f"  electricity in (meter):          {s.electricity_kwh:9.1f} kWh",
        f"  heat out (heat method: {method + '):':<9} {s.heat_kwh:9.1f} kWh",
        f"  JAZ over the span:               {jaz:>9}",
        f"  the heat pump's own electricity figure: {s.device_electricity_kwh:.1f} kWh "
        f"(the meter also counts standby and pumps)",
        f"  simulator's truth: {s.true_electricity_kwh:.1f} kWh in, "
        f"{s.true_heat_kwh:.1f} kWh out, COP {true_cop:.2f}",
        "",
        "Try next:",
        "  heatpump chat --demo               the bot's commands in your terminal",
        "  heatpump chat --demo /jaz 30d      one command, e.g. /status, /chart temps 7d",
        "  heatpump chat --demo /changes      the heating curve lowered half-way, its effect",
        "  heatpump demo --live               keep the simulated collector running",
        "  heatpump demo --scenario fault     see how a fault, an outage or a COP drop looks",
        "Then connect your own meter and heat pump: see README, 'Set up your system'.",
    ]
    return "\n".join(lines)


def measured_summary(store: Store, sim: Simulator, start: datetime, end: datetime
                     ) -> Summary:
    """Sum what accounting stored over [start, end) and fetch the simulator's truth."""

    def total(measurement: str, tags: dict[str, str]) -> float:
        rows = store.sums(measurement, ["energy_wh"], start, end, "hour", sim.tz, tags=tags)
        return sum(r.values.get("energy_wh", 0.0) for r in rows) / 1000.0

    methods = store.sums("heat", ["energy_wh"], start, end, "month", sim.tz,
                         tags={"circuit": "total"}, group_by=("method",))
    true_electricity_wh, true_heat_wh = span_truth_wh(sim, start, end)
    return Summary(
        start, end,
        electricity_kwh=total("electricity", {"source": "meter", "circuit": "total"}),
        heat_kwh=total("heat", {"circuit": "total"}),
        true_electricity_kwh=true_electricity_wh / 1000.0,
        true_heat_kwh=true_heat_wh / 1000.0,
        device_electricity_kwh=total("electricity", {"source": "heatpump", "circuit": "total"}),
        heat_methods=tuple(sorted({r.tags["method"] for r in methods})),
    )


TRUTH_CHUNK = timedelta(days=30)


def span_truth_wh(sim: Simulator, start: datetime, end: datetime) -> tuple[float, float]:
    """(electricity Wh, heat Wh) the simulator knows are true over [start, end), asked
    TRUTH_CHUNK at a time and summed: the truth is a sum over minutes, and the minute
    arrays of a whole year at once would add ~190 MB to the 365-day demo's peak (issue
    16's target is 150 MB in all); 30 days at a time add ~20 MB."""
    electricity_wh = heat_wh = 0.0
    a = start
    while a < end:
        b = min(a + TRUTH_CHUNK, end)
        truth = sim.truth(a, b)
        electricity_wh += truth.electricity_wh
        heat_wh += truth.heat_wh
        a = b
    return electricity_wh, heat_wh


@dataclass
class House:
    """The simulated house with its two devices, answering at `clock`'s time."""

    sim: Simulator
    shelly: SimulatedShelly
    vitocal: SimulatedVitocal


def simulated_house(settings: Settings, start: datetime, setup: Setup, seed: int,
                    clock_now: Callable[[], datetime], meter_model: str = "pro3em") -> House:
    """A simulator from a day before `start` (so its state has settled) and its devices."""
    sim = Simulator(seed, start - timedelta(days=1), settings.tz, scenarios=setup.scenarios)
    return House(sim, SimulatedShelly(sim, clock_now, model=meter_model, quirks=setup.shelly),
                 SimulatedVitocal(sim, clock_now, quirks=setup.vitocal))


def devices_of(house: House) -> Devices:
    """The house's devices as the collector's stand-ins for real ones."""
    return Devices(meter=house.shelly.answer, vicare=house.vitocal.answer,
                   meter_url="sim://demo-meter")


def backfill(settings: Settings, days: float, seed: int, scenarios: list[str],
             now: datetime | None = None, out: TextIO = sys.stderr, meter_model: str = "pro3em",
             record: Path | None = None) -> tuple[Summary, House]:
    """Recreate the demo store with `days` of simulated data through the real collector."""
    from collector.collect_cmd import build_collector
    from collector.drive import every, merged, run_polls
    from collector.progress import span_progress
    from collector.recording import Recorder
    from collector.service import VirtualClock
    from collector.wiring import build_sources
    from heatpump.store import open_store

    now = (now or utcnow()).replace(microsecond=0)
    # whole hours, so the summary's hourly sums cover exactly the simulated span
    start = (now - timedelta(days=days)).replace(minute=0, second=0)
    setup = build_setup(scenarios, now, meter_model)  # a typo must not wipe the store
    demo_dir = settings.data_dir / "demo"
    if demo_dir.exists():  # simulated data is recreated on every run
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    clock = VirtualClock(start)
    house = simulated_house(settings, start, setup, seed, clock.now, meter_model)
    recorder = Recorder(record, clock.now, settings) if record else None
    sources, state = build_sources(settings, clock, data_dir=demo_dir,
                                   devices=devices_of(house), recorder=recorder)
    collector = build_collector(settings, sources, open_store(settings, demo=True), clock=clock,
                                threaded=False, data_dir=demo_dir, flush_every=BULK_FLUSH_EVERY,
                                state=state)
    meter, pump = sources
    with span_progress(start, now, out, verb="simulating") as progress:
        run_polls(collector, merged(every(meter, start, now),
                                    every(pump, start, now, ANSWER_DELAY)),
                  clock, progress.update)
        progress.update(now)
    if recorder is not None:
        recorder.close()
    with open_store(settings, demo=True) as store:
        summary = measured_summary(store, house.sim, start, now)
    return summary, house


def with_curve_change(scenarios: list[str], days: float) -> list[str]:
    """The demo's scenarios plus, unless one is given, the owner lowering the heating curve
    half-way through (so /changes has something to show); none for runs under 2 days."""
    if days < 2 or any(s.strip().startswith("curve-change") for s in scenarios):
        return list(scenarios)
    return [*scenarios, f"curve-change@-{int(days // 2)}d"]


def run(args: argparse.Namespace, settings: Settings) -> int:
    print(f"heatpump demo: simulating {args.days:g} days into {settings.data_dir / 'demo'} "
          "(your real data is not touched)", file=sys.stderr)
    try:
        summary, house = backfill(settings, args.days, args.seed,
                                  with_curve_change(args.scenario, args.days),
                                  meter_model=args.meter,
                                  record=Path(args.record) if args.record else None)
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
        live(settings, house)
    return 0


def live(settings: Settings, house: House) -> None:
    """Go on collecting the simulated devices in real time, under the real scheduler."""
    from collector.service import RealClock
    from heatpump.store import open_store

    print("\nCollecting simulated data live; stop with Ctrl-C.", file=sys.stderr)
    run_service(settings, house, open_store(settings, demo=True), clock=RealClock(),
                data_dir=settings.data_dir / "demo")


def run_service(settings: Settings, house: House, store: Store, *, clock: Clock,
                data_dir: Path, threaded: bool = True, until: Callable[[], bool] | None = None,
                install_signals: bool = True) -> Collector:
    """The collector service (the real scheduler, the real sources' wiring) over the house's
    devices, answering at `clock`'s time, until stopped or `until()`: `demo --live`, and
    the tests of the service under a virtual clock. Returns the stopped collector."""
    from collector.collect_cmd import build_collector, install_signal_handlers
    from collector.wiring import build_sources

    house.shelly.clock = house.vitocal.clock = clock.now
    sources, state = build_sources(settings, clock, data_dir=data_dir,
                                   devices=devices_of(house))
    collector = build_collector(settings, sources, store, clock=clock, threaded=threaded,
                                data_dir=data_dir, state=state)
    if install_signals:
        install_signal_handlers(collector)
    collector.run(until=until)
    return collector
