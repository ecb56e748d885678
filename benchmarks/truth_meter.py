"""Truth benchmark, meter side (issue 13): what the product stores and pairs against what the
simulated meter really saw, scenario by scenario.

Each row of `ROWS` runs the simulated house for `--days` days through the REAL path,
`simhouse.demo_cmd.backfill` (the simulated Shelly and Vitocal answer in their wire formats,
read by the real clients, accounting, service and store), or for the restart row the real
service (`run_service`) stopped and started again. Then it compares:

- the meter's stored electricity with the truth between its first and last reading
  (`Simulator.truth`), and per UTC day the energy stored above the truth (phantom Wh, past
  one poll's energy at each midnight) and below it (missing Wh: minutes the product
  declared invalid, e.g. a stuck counter);
- the JAZ of the period as /jaz computes it (bot.store_reads.hour_pairs: by days, then hours,
  past 35 days) with the truth over exactly the hours it counted: the heat the heat pump's
  counters made over the electricity the meter saw ("JAZ unchanged by an outage except for
  coverage");
- for periods past 35 days, the day-first pairing with the hour-by-hour one (same figure,
  same coverage).

Targets (a row that misses one is listed and the exit code is 1): the meter within ±0.5 %
of the truth (rows that lose minutes on purpose: never above; without counters: ±2 %);
0 phantom Wh; the JAZ within ±0.5 % of the truth of its hours; the expected health
reasons reported; the long rows' two pairings equal.

Same output as benchmarks/truth_bench.py (issue 12, the heat pump's side); docs/truth-bench.md
shows both tables with their commands. Never run as a timed test.

    python benchmarks/truth_meter.py                 # every row, 30 days each
    python benchmarks/truth_meter.py --rows dip spike --days 10 --jobs 2 --markdown
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.truth_bench import quiet_logs  # noqa: E402
from benchmarks.truth_bench import table as text_table  # noqa: E402
from bot.analytics import COVER_MAX, COVER_MIN, pair_hours, performance  # noqa: E402
from bot.store_reads import ELEC_FIELDS, HEAT_FIELDS, hour_pairs  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store import open_store  # noqa: E402
from heatpump.store.base import Store  # noqa: E402

METER_TOLERANCE = 0.005
ESTIMATE_TOLERANCE = 0.02  # a meter without counters: 10-s power samples integrated
JAZ_TOLERANCE = 0.005
PHANTOM_SLACK_WH = 25.0  # per UTC day: the poll ending at midnight belongs to the next day
WINTER = datetime(2026, 1, 15, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """One scenario: the demo's --scenario specs (times relative to `end`, or ISO), what
    the product must do, and the days it needs (None: --days)."""

    scenarios: tuple[str, ...] = ()
    meter: str = "pro3em"
    health: tuple[str, ...] = ()  # health reasons of the meter that must be reported
    loses: bool = False  # minutes are declared invalid on purpose: never above the truth
    estimated: bool = False  # no counter: power integrated
    restart: bool = False  # the collector restarts while the store refuses connections
    days: float | None = None
    what: str = ""


ROWS: dict[str, Row] = {
    "clean": Row(what="no fault: the reference"),
    "outage-hours": Row(("meter-outage@-2d/2h",
                         "meter-outage@2026-01-11T10:15:00+00:00/2h"),
                        what="the meter unreachable for 2 h, once from 10:15"),
    "outage-30h": Row(("meter-outage@-4d/30h",),
                      what="the meter unreachable for 30 h (was /jaz 30d 3.83 for 4.00)"),
    "dip": Row(("meter-dip@-4d/30s,wh=100", "meter-dip@-2d/2m,wh=20"),
               what="the counter reads 100 Wh low for 30 s, 20 Wh for 2 min"),
    "spike": Row(("meter-spike@-3d,wh=50", "meter-spike@-1d,wh=500"),
                 what="one reading of the counter 50 Wh, once 500 Wh high"),
    "zero-counters": Row(("meter-zero-counters@-3d/1h",), health=("counter_stuck",),
                         loses=True, what="the counters read 0 for an hour while power flows"),
    "no-counters": Row(("meter-no-counters",), estimated=True,
                       what="Pro 3EM firmware without energy counters"),
    "plug-reboots": Row(("meter-reboot@-4d/1m", "meter-reboot@-2d/5m"), meter="plugs",
                        health=("counter_reset",),
                        what="a Gen1 plug restarts twice (its counter from 0)"),
    "restart-store-down": Row(restart=True, health=("store:unreachable",), days=6,
                              what="collector restarted (45 s down) while the store refuses "
                                   "connections for 2 h"),
    "outage-30h-40d": Row(("meter-outage@-4d/30h", "meter-outage@-25d/3h"), days=40,
                          what="40 days, paired by days first (/jaz over 35 days)"),
}


@dataclass(frozen=True)
class Result:
    """What one row measured."""

    name: str
    days: float
    meter_kwh: float
    true_kwh: float  # what the meter's counter saw, first to last reading
    bridged_kwh: float
    estimated_kwh: float
    phantom_wh: float
    missing_wh: float
    coverage: float
    jaz: float | None
    truth_jaz: float | None  # device heat counters / meter truth over the counted hours
    pairing_equal: bool | None  # days-first vs hour by hour (periods over 35 days)
    health: tuple[str, ...]
    wall_s: float


def ratio(a: float, b: float) -> float:
    return a / b - 1.0 if b else float("nan")


def run_row(name: str, row: Row, days: float, seed: int, workdir: Path) -> Result:
    """Run one row through the real path into its own store and measure it (log lines
    silenced meanwhile, benchmarks/truth_bench.py quiet_logs)."""
    with quiet_logs():
        return _run_row(name, row, days, seed, workdir)


def _run_row(name: str, row: Row, days: float, seed: int, workdir: Path) -> Result:
    days = row.days or days
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(workdir / name),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    wall = time.perf_counter()
    if row.restart:
        start, end, sim = _restart_run(settings, days, seed)
    else:
        from simhouse.demo_cmd import backfill

        summary, house = backfill(settings, days, seed, list(row.scenarios), now=WINTER,
                                  out=io.StringIO(), meter_model=row.meter)
        start, end, sim = summary.start, summary.end, house.sim
    wall = time.perf_counter() - wall
    with open_store(settings, demo=True) as store:
        return _measure(name, row, store, sim, settings, start, end, days, wall)


def _restart_run(settings: Settings, days: float, seed: int):
    """The real service over the simulated house: the store refuses connections from
    4 days before the end for 2 hours, the collector stops 1 h into that, is down 45 s,
    and starts again while the store still refuses."""
    from collector.service import VirtualClock
    from heatpump.store.base import StoreError
    from heatpump.store.sqlite import SQLiteStore
    from simhouse.demo_cmd import run_service, simulated_house
    from simhouse.scenarios import Setup

    end = WINTER
    start = (end - timedelta(days=days)).replace(minute=0, second=0)
    down = (end - timedelta(days=4), end - timedelta(days=4) + timedelta(hours=2))
    stop = down[0] + timedelta(hours=1)
    demo = settings.data_dir / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    clock = VirtualClock(start)
    house = simulated_house(settings, start, Setup(), seed, clock.now)

    class RefusingStore(SQLiteStore):
        """The embedded store, refusing every call while the clock is inside `down` (as a
        stopped influxd does; tests/collector/test_restart_store_down.py uses one)."""

        def _check(self) -> None:
            if down[0] <= clock.now() < down[1]:
                raise StoreError("connection refused (the store is down)")

        def write(self, points):  # type: ignore[no-untyped-def]
            self._check()
            super().write(points)

        def flush(self) -> None:
            self._check()
            super().flush()

        def latest(self, *a, **k):  # type: ignore[no-untyped-def]
            self._check()
            return super().latest(*a, **k)

    def store() -> Store:
        return RefusingStore(demo / "heatpump.sqlite3", settings.tz)

    run_service(settings, house, store(), clock=clock, data_dir=demo, threaded=False,
                until=lambda: clock.now() >= stop, install_signals=False)
    clock.advance(45)
    run_service(settings, house, store(), clock=clock, data_dir=demo, threaded=False,
                until=lambda: clock.now() >= end, install_signals=False)
    return start, end, house.sim


def _measure(name: str, row: Row, store: Store, sim, settings: Settings, start: datetime,
             end: datetime, days: float, wall: float) -> Result:
    meter = store.points("meter", start, end + timedelta(seconds=1))
    minutes = store.points("electricity", start - timedelta(minutes=5), end + timedelta(
        minutes=5), {"source": "meter"})
    health = store.points("health", start, end + timedelta(seconds=1))
    stored = sum(float(p.fields.get("energy_wh", 0.0)) for p in minutes)
    # the simulated meter counts in 10-s steps: a reading shows its latest step's counter
    steps = [datetime.fromtimestamp(sim.meter_step(t).time_s, UTC)
             for t in (meter[0].time, meter[-1].time)]
    seen = sim.truth(*steps).electricity_wh
    # per UTC day; days joined by a bridged gap across their midnight are one window (how
    # a gap's energy is spread over its hours is not known, only its total)
    windows: list[list[object]] = []  # [first day, last day, Wh]
    for p in sorted(minutes, key=lambda p: p.time):
        day, wh = p.time.date(), float(p.fields.get("energy_wh", 0.0))
        joined = p.time.hour == 0 and p.time.minute == 0 and p.fields.get("bridged_s")
        if windows and (windows[-1][1] == day or joined):
            windows[-1][1] = day
            windows[-1][2] += wh  # type: ignore[operator]
        else:
            windows.append([day, day, wh])
    phantom = missing = 0.0
    for first, last, wh in windows:
        a = max(meter[0].time, datetime(first.year, first.month, first.day,  # type: ignore
                                        tzinfo=UTC))
        b = min(meter[-1].time, datetime(last.year, last.month, last.day,  # type: ignore
                                         tzinfo=UTC) + timedelta(days=1))
        if b <= a:
            continue
        truth = sim.truth(a, b).electricity_wh
        phantom += max(0.0, wh - truth - PHANTOM_SLACK_WH)  # type: ignore[operator]
        missing += max(0.0, truth - wh - PHANTOM_SLACK_WH)  # type: ignore[operator]
    pairs = hour_pairs(store, start, end, settings.tz)
    perf = performance(pairs, start, end)
    counted = [p for p in pairs if p.counted]
    heat = elec = 0.0
    for p in counted:
        t = sim.truth(p.start, p.end)
        heat += t.device_heat_heating_wh + t.device_heat_dhw_wh
        elec += t.electricity_wh
    equal = None
    if end - start > timedelta(days=35):
        hourly = pair_hours(store.sums("electricity", ELEC_FIELDS, start, end, "hour",
                                       settings.tz, group_by=("source", "device", "circuit")),
                            store.sums("heat", HEAT_FIELDS, start, end, "hour", settings.tz,
                                       group_by=("device", "method", "circuit")),
                            COVER_MIN, COVER_MAX)
        by_hour = performance(hourly, start, end)
        equal = (by_hour.hours_counted == perf.hours_counted
                 and abs(ratio(perf.ratio or 0.0, by_hour.ratio or 1.0)) < 1e-9)
    return Result(
        name, days, meter_kwh=stored / 1000, true_kwh=seen / 1000,
        bridged_kwh=sum(float(p.fields.get("bridged_wh", 0.0)) for p in minutes) / 1000,
        estimated_kwh=sum(float(p.fields.get("estimated_wh", 0.0)) for p in minutes) / 1000,
        phantom_wh=phantom, missing_wh=missing, coverage=perf.coverage, jaz=perf.ratio,
        truth_jaz=heat / elec if elec > 0 else None, pairing_equal=equal,
        health=tuple(sorted({("store:" if p.tags["source"] == "store" else "")
                             + str(p.fields["reason"]) for p in health
                             if p.fields["reason"] and p.tags["source"] in ("meter", "store")})),
        wall_s=wall)


def evaluate(row: Row, r: Result) -> list[str]:
    """The targets this row missed (empty: all met)."""
    misses: list[str] = []
    off = ratio(r.meter_kwh, r.true_kwh)
    if row.estimated:
        if abs(off) > ESTIMATE_TOLERANCE:
            misses.append(f"estimated meter {off:+.2%} of the truth (target ±2 %)")
        if abs(r.estimated_kwh - r.meter_kwh) > 1e-6:
            misses.append("energy integrated from power not marked estimated")
    elif row.loses:
        if off > METER_TOLERANCE:
            misses.append(f"meter {off:+.2%} of the truth: above it")
    elif abs(off) > METER_TOLERANCE:
        misses.append(f"meter {off:+.2%} of the truth (target ±0.5 %)")
    if r.phantom_wh > 0:
        misses.append(f"{r.phantom_wh:.0f} phantom Wh")
    if r.jaz is None or r.truth_jaz is None:
        misses.append("no JAZ")
    elif abs(ratio(r.jaz, r.truth_jaz)) > JAZ_TOLERANCE and not row.estimated:
        misses.append(f"JAZ {ratio(r.jaz, r.truth_jaz):+.2%} of the truth of its hours "
                      "(target ±0.5 %)")
    for reason in row.health:
        if reason not in r.health:
            misses.append(f"health reason {reason} not reported")
    if r.pairing_equal is False:
        misses.append("pairing by days differs from pairing by hours")
    return misses


HEADER = ("row", "days", "meter kWh", "meter - truth Wh", "bridged kWh", "estimated kWh",
          "phantom Wh", "missing Wh", "coverage", "JAZ (truth of its hours)", "vs truth",
          "days = hours", "health", "targets")


def cells(row: Row, r: Result) -> tuple[str, ...]:
    misses = evaluate(row, r)
    jaz = f"{r.jaz:.3f}" if r.jaz is not None else "-"
    truth = f"{r.truth_jaz:.3f}" if r.truth_jaz is not None else "-"
    vs = (f"{ratio(r.jaz, r.truth_jaz):+.2%}" if r.jaz is not None and r.truth_jaz
          else "-")
    equal = "-" if r.pairing_equal is None else ("yes" if r.pairing_equal else "NO")
    return (r.name, f"{r.days:g}", f"{r.meter_kwh:.2f}",
            f"{(r.meter_kwh - r.true_kwh) * 1000:+.1f}", f"{r.bridged_kwh:.2f}",
            f"{r.estimated_kwh:.2f}", f"{r.phantom_wh:.0f}", f"{r.missing_wh:.0f}",
            f"{r.coverage:.1%}", f"{jaz} ({truth})", vs, equal, ",".join(r.health) or "-",
            "met" if not misses else "MISSED")


def table(rows: Sequence[tuple[str, ...]], markdown: bool) -> str:
    return text_table(rows, markdown, HEADER)


def targets_text() -> str:
    return ("Targets: the meter within ±0.5 % of what it saw (rows that declare minutes "
            "invalid: never above; without counters: ±2 %, marked estimated); 0 phantom Wh "
            f"(past {PHANTOM_SLACK_WH:g} Wh a day: the poll that ends at midnight); the JAZ "
            "within ±0.5 % of the truth over the hours it counted; the expected health "
            "reasons reported; past 35 days, pairing by days = pairing by hours.")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="*", help=f"rows to run (default: all): {', '.join(ROWS)}")
    ap.add_argument("--days", type=float, default=30.0, help="days per row (default 30)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="rows run in parallel processes")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    unknown = [n for n in args.rows or () if n not in ROWS]
    if unknown:
        ap.error(f"unknown rows: {', '.join(unknown)}")
    names = list(args.rows or ROWS)
    print(targets_text())
    print(f"{len(names)} rows x {args.days:g} days (or their own), seed {args.seed}, "
          f"{args.jobs} process(es)\n", flush=True)
    with (tempfile.TemporaryDirectory(prefix="truth-meter-") as tmp,
          ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool):
        futures = {n: pool.submit(run_row, n, ROWS[n], args.days, args.seed, Path(tmp))
                   for n in names}
        results: Mapping[str, Result] = {n: f.result() for n, f in futures.items()}
    rows = [cells(ROWS[n], results[n]) for n in names]
    print(table(rows, args.markdown))
    failed = {n: evaluate(ROWS[n], results[n]) for n in names}
    failed = {n: m for n, m in failed.items() if m}
    print(f"\nwall time: {sum(r.wall_s for r in results.values()):.0f} s of simulation")
    for n, misses in failed.items():
        print(f"MISSED {n}: " + "; ".join(misses))
    print("all targets met" if not failed else f"{len(failed)} row(s) missed a target")
    return 1 if failed else 0



if __name__ == "__main__":
    sys.exit(main())
