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
import dataclasses
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from collector.service import Clock, Collector
from collector.wiring import Devices
from heatpump.i18n import _, ngettext, number
from heatpump.settings import Settings
from heatpump.store.base import Store
from heatpump.timeutil import utcnow
from simhouse.house import Simulator
from simhouse.meters import ShareMeter
from simhouse.scenarios import KINDS, Setup, build_setup
from simhouse.shelly import MODELS, ShellyQuirks, SimulatedShelly
from simhouse.vitocal import SimulatedVitocal

#: --days accepts (0, MAX_DAYS]; the span simulated is whole hours up to now.
MAX_DAYS = 3660
BULK_FLUSH_EVERY = 2000  # polls per store flush while backfilling (recreated if interrupted)
ANSWER_DELAY = timedelta(seconds=2)  # the Viessmann poll runs a little after the meter's


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=_positive_days, default=30,
                   help=_("how many days to simulate up to now, more than 0 and at most "
                          "{max_days}, e.g. 7 or 0.5 (default: 30)").format(max_days=MAX_DAYS))
    p.add_argument("--seed", type=int, default=1, help=_("weather and house seed (default: 1)"))
    p.add_argument("--scenario", action="append", default=[], metavar="SPEC",
                   help=_("inject a problem of the house or a quirk of a device, optionally "
                          "@START (e.g. @-2d) /DURATION (e.g. /3h) and ,key=value; "
                          "repeatable. Kinds: {kinds} (docs/demo.md)").format(
                              kinds=", ".join(KINDS)))
    p.add_argument("--meter", choices=sorted(MODELS), default="pro3em",
                   help=_("which Shelly the simulated house has (default: pro3em)"))
    p.add_argument("--record", metavar="DIR",
                   help=_("also keep every simulated device answer in DIR, for "
                          "`heatpump replay DIR` (docs/recording.md)"))
    p.add_argument("--live", action="store_true",
                   help=_("after the backfill, keep collecting simulated data in real time "
                          "until Ctrl-C"))


def _positive_days(text: str) -> float:
    """--days: a number of days more than 0 and at most MAX_DAYS (fractions allowed: the
    tests simulate hours); the message states both limits and an example."""
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not 0 < days <= MAX_DAYS:  # NaN fails too
        raise argparse.ArgumentTypeError(
            _("{text!r}: give a number of days more than 0 and at most {max_days}, e.g. "
              "--days 7 or --days 0.5").format(text=text, max_days=MAX_DAYS))
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


def heatpump_command(argv0: str | None = None, env: dict[str, str] | None = None) -> str:
    """How to type `heatpump` again in the shell the demo was started from, so the "Try
    next" lines run as printed (a new user's venv is usually not activated): `heatpump`
    when that name on PATH is this very script, else the script's path as it was typed
    (`.venv/bin/heatpump`), else (`python -m heatpump.cli`) this interpreter with -m. A
    HEATPUMP_DATA_DIR given in the environment goes in front (absolute): without it the
    next command would look for the demo store in ./data."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    env = dict(os.environ) if env is None else env
    if Path(argv0).name == "heatpump":
        found = shutil.which("heatpump", path=env.get("PATH"))
        same = found is not None and Path(found).resolve() == Path(argv0).resolve()
        command = "heatpump" if same else shlex.quote(argv0)
    else:
        command = f"{shlex.quote(sys.executable)} -m heatpump.cli"
    if env.get("HEATPUMP_DATA_DIR"):
        data_dir = Path(env["HEATPUMP_DATA_DIR"]).expanduser().resolve()
        command = f"HEATPUMP_DATA_DIR={shlex.quote(str(data_dir))} {command}"
    return command


def try_next(heatpump: str = "heatpump", curve_change: bool = True) -> list[tuple[str, str]]:
    """(command line as it must be typed, what it shows): the demo's "Try next"."""
    rows = [(f"{heatpump} chat --demo", _("the bot's commands in your terminal")),
            (f"{heatpump} chat --demo /jaz 30d",
             _("one command, e.g. /status, /chart temps 7d"))]
    if curve_change:  # only a run of 2 days or more has one (with_curve_change)
        rows.append((f"{heatpump} chat --demo /changes",
                     _("the heating curve lowered half-way, its effect")))
    rows += [(f"{heatpump} demo --live", _("keep the simulated collector running")),
             (f"{heatpump} demo --scenario fault",
              _("see how a fault, an outage or a COP drop looks"))]
    return rows


def span_text(start: datetime, end: datetime) -> str:
    """The span really simulated (whole hours up to now): '30 days' or '2.5 hours'."""
    hours = (end - start).total_seconds() / 3600
    if hours >= 48:
        days = hours / 24
        whole = abs(days - round(days)) < 0.05
        return ngettext("{n} day", "{n} days", 2).format(n=number(days, 0 if whole else 1))
    return ngettext("{n} hour", "{n} hours", 1 if round(hours, 1) == 1 else 2).format(
        n=number(hours, 1 if hours % 1 else 0))


def format_summary(s: Summary, days: float, heatpump: str = "heatpump",
                   curve_change: bool = True) -> str:
    """The few lines a new user reads first (pure, so tests can check them); `heatpump` is
    how the "Try next" commands start (heatpump_command())."""
    del days  # the span is the one really simulated (s.start to s.end, whole hours)
    jaz = number(s.jaz, 2) if s.jaz is not None else _("n/a (no electricity measured)")
    true_cop = (number(s.true_heat_kwh / s.true_electricity_kwh, 2)
                if s.true_electricity_kwh > 0 else _("n/a"))
    method = " " + _("and") + " "
    method = method.join(s.heat_methods) or _("none")
    label = _("heat out (heat method: {method}):").format(method=method)
    rows = [(_("electricity in (meter):"), number(s.electricity_kwh, 1), " kWh"),
            (label, number(s.heat_kwh, 1), " kWh"),
            (_("JAZ over the span:"), jaz, "")]
    width = max(34, *(len(k) + 1 for k, _v, _u in rows))
    lines = [_("Simulated {span} of a 7 kW air-to-water heat pump in a German house.").format(
        span=span_text(s.start, s.end))]
    lines += [f"  {k:<{width}}{v:>9}{unit}" for k, v, unit in rows]
    lines += [
        "  " + _("the heat pump's own electricity figure: {kwh} kWh (the meter also counts "
                 "standby and pumps)").format(kwh=number(s.device_electricity_kwh, 1)),
        "  " + _("simulator's truth: {kwh_in} kWh in, {kwh_out} kWh out, COP {cop}").format(
            kwh_in=number(s.true_electricity_kwh, 1), kwh_out=number(s.true_heat_kwh, 1),
            cop=true_cop),
        "",
        _("Try next:"),
    ]
    commands = try_next(heatpump, curve_change)
    width = max(len(c) for c, _t in commands) + 3
    for command, text in commands:  # a long path: the command on a line of its own
        lines += ([f"  {command:<{width}}{text}"] if width <= 45
                  else [f"  {command}", f"      {text}"])
    lines.append(_("Then connect your own meter and heat pump: see README, 'Set up your "
                   "system'."))
    return "\n".join(lines)


def measured_summary(store: Store, sim: Simulator, start: datetime, end: datetime
                     ) -> Summary:
    """Sum what accounting stored over [start, end) and fetch the simulator's truth."""

    def total(measurement: str, tags: dict[str, str]) -> float:
        rows = store.sums(measurement, ["energy_wh"], start, end, "hour", sim.tz, tags=tags)
        return sum(r.values.get("energy_wh", 0.0) for r in rows) / 1000.0

    # hourly: a month bucket starting before `start` is left out, and with it the
    # method of a span inside one month (the summary said 'heat method: none')
    methods = store.sums("heat", ["energy_wh"], start, end, "hour", sim.tz,
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
    # several meters with roles (`--scenario two-meters`): they answer instead of `shelly`
    role_shellies: tuple[tuple[str, SimulatedShelly], ...] = ()


def simulated_house(settings: Settings, start: datetime, setup: Setup, seed: int,
                    clock_now: Callable[[], datetime], meter_model: str = "pro3em") -> House:
    """A simulator from a day before `start` (so its state has settled) and its devices."""
    sim = Simulator(seed, start - timedelta(days=1), settings.tz, scenarios=setup.scenarios)
    return House(sim, SimulatedShelly(sim, clock_now, model=meter_model, quirks=setup.shelly),
                 SimulatedVitocal(sim, clock_now, quirks=setup.vitocal),
                 role_shellies(sim, setup.meter_roles, clock_now, meter_model, setup.shelly))


def role_shellies(sim: Simulator, roles: tuple[str, ...], clock_now: Callable[[], datetime],
                  meter_model: str, quirks: ShellyQuirks
                  ) -> tuple[tuple[str, SimulatedShelly], ...]:
    """One simulated Shelly per role, each seeing its share of the loads
    (simhouse.meters), with a MAC of its own (so a device id of its own)."""
    out = []
    for n, role in enumerate(roles, start=1):
        shelly = SimulatedShelly(ShareMeter(sim, role), clock_now,  # type: ignore[arg-type]
                                 model=meter_model, quirks=quirks)
        info = dict(shelly.model.shelly)
        mac = info["mac"][:-2] + f"{n:02X}"
        info["mac"] = mac
        if "id" in info:
            info["id"] = info["id"].rsplit("-", 1)[0] + "-" + mac.lower()
        shelly.model = dataclasses.replace(shelly.model, shelly=info)
        out.append((role, shelly))
    return tuple(out)


def devices_of(house: House) -> Devices:
    """The house's devices as the collector's stand-ins for real ones."""
    if house.role_shellies:
        return Devices(vicare=house.vitocal.answer, role_meters=tuple(
            (role, shelly.answer) for role, shelly in house.role_shellies))
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
    *meters, pump = sources
    with span_progress(start, now, out, verb=_("simulating")) as progress:
        run_polls(collector, merged(*(every(meter, start, now) for meter in meters),
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
    print("heatpump demo: " + _("simulating {days} days into {path} (your real data is not "
                                "touched)").format(days=f"{args.days:g}",
                                                   path=settings.data_dir / "demo"),
          file=sys.stderr)
    scenarios = with_curve_change(args.scenario, args.days)
    try:
        summary, house = backfill(settings, args.days, args.seed, scenarios,
                                  meter_model=args.meter,
                                  record=Path(args.record) if args.record else None)
    except ValueError as exc:  # a malformed --scenario
        print(f"heatpump demo: {exc}", file=sys.stderr)
        return 2
    curve_change = any(sc.strip().startswith("curve-change") for sc in scenarios)
    print(format_summary(summary, args.days, heatpump_command(), curve_change))
    if args.scenario:  # show the injected problem the way the owner would hear of it
        from bot.alerts.replay import print_replay
        from heatpump.store import open_store

        print("\n" + _("Alerts the bot would have sent to subscribed chats (again: {command}):"
                       ).format(command=f"{heatpump_command()} alerts --demo --replay all")
              + "\n")
        with open_store(settings, demo=True) as store:  # up to the simulated now, no later
            print_replay(store, settings, sys.stdout, end=summary.end)
    if args.live:
        live(settings, house)
    return 0


def live(settings: Settings, house: House) -> None:
    """Go on collecting the simulated devices in real time, under the real scheduler."""
    from collector.service import RealClock
    from heatpump.store import open_store

    print("\n" + _("Collecting simulated data live; stop with Ctrl-C."), file=sys.stderr)
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
    for _role, shelly in house.role_shellies:
        shelly.clock = clock.now
    sources, state = build_sources(settings, clock, data_dir=data_dir,
                                   devices=devices_of(house))
    collector = build_collector(settings, sources, store, clock=clock, threaded=threaded,
                                data_dir=data_dir, state=state)
    if install_signals:
        install_signal_handlers(collector)
    collector.run(until=until)
    return collector
