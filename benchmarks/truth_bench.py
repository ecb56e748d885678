"""Truth benchmark: what the product stores against what really happened and what the
device's own counters say, scenario by scenario and heat method by heat method.

Each row of `ROWS` runs the simulated house (simhouse) for `--days` days (30, or 365 with
`--year`) through the REAL path, `simhouse.demo_cmd.backfill`: the simulated Shelly and
Vitocal answer in their wire formats, read by the real clients (PyViCare), mapping,
accounting, service and store. Then it compares:

- heat stored (circuit=total) with the device's own heat counters over the same span
  (`Simulator.device_totals_kwh`, before their 0.1 kWh truncation) and with the
  simulator's physical truth (`Simulator.truth`);
- the heat pump's own electricity stored (source=heatpump) with its counters;
- the meter's electricity with the truth, and the JAZ with the true COP;
- phantom energy: per UTC day, stored counter energy above what the device's counters
  moved over the same intervals (beyond their truncation), and missing energy below it;
- both system boundaries (heatpump/boundary.py, docs/boundary.md): the heating rod's
  electricity stored (source=heating_rod) with its counters and the truth, and /jaz's two
  figures as the bot computes them (bot.store_reads.hour_pairs, bot.analytics.performance):
  the heat pump's (H2: heat over the meter) and the whole system's (H3: plus the rod's
  electricity and heat), each against the truth over the hours it counted.

Targets (a row that misses one is listed and the exit code is 1):
- counter method: heat within ±0.5 % of the device's counters, and off the truth by no
  more than the device's counters themselves are (+0.5 % of the truth);
- flow, modulation, runtime: heat/truth - 1 inside the band the product states
  (heatpump/estimates.py ERROR_BANDS, shown in doctor, /jaz and docs);
- the device's own electricity within ±0.5 % of its counters ("gap" rows: never above);
- the meter's electricity within ±0.5 % of the truth;
- 0 phantom kWh anywhere; the health reasons a row expects were reported;
- the rod's electricity within ±0.5 % of its counters and of the truth (or their 0.1 kWh
  resolution at both ends, per circuit);
- counter rows: the H2 and H3 JAZ within ±0.5 % of the truth over the hours they count
  (the heat as the device counts it, the meter's and the rod's true electricity: the
  target benchmarks/truth_meter.py uses), and the H3 figure never above the H2 one.

The rows are a table (name -> scenarios, settings, expectations): meter scenarios are added
as rows too. Printed: the targets and, per row, the ratios. Never run as a timed test.

    python benchmarks/truth_bench.py                 # every row, 30 days each
    python benchmarks/truth_bench.py --year          # the rows marked for it, 365 days
    python benchmarks/truth_bench.py --rows clean late-reset --jobs 2 --markdown
    python benchmarks/truth_bench.py --boundaries    # the rows of the boundary table
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.analytics import performance  # noqa: E402
from bot.store_reads import hour_pairs  # noqa: E402
from heatpump.estimates import ERROR_BANDS, band_text  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store import open_store  # noqa: E402
from heatpump.store.base import Point  # noqa: E402
from simhouse.demo_cmd import backfill  # noqa: E402
from simhouse.house import ROD_SERIES  # noqa: E402

COUNTER_TOLERANCE = 0.005  # ±0.5 % of the device's counters (and of the truth)
# ... but never below what the counters can tell: 0.1 kWh at each end of the span, per
# series (heating, hot water)
RESOLUTION_KWH = 2 * 0.1 * 2
METER_TOLERANCE = 0.005
# per day and counter series: the two ends' 0.1 kWh truncation and a bridged rollover's
PHANTOM_SLACK_KWH = 0.15
HEAT_SERIES = ("heat.heating", "heat.dhw")
ELECTRICITY_SERIES = ("electricity.heating", "electricity.dhw")
JAZ_TOLERANCE = 0.005  # the JAZ against the truth of the hours it counted (truth_meter's)

WINTER = datetime(2026, 1, 15, 12, tzinfo=UTC)  # Dec 16 - Jan 15: a month and a year end
SPRING = datetime(2026, 4, 10, 12, tzinfo=UTC)  # the March DST change and a month end
SUMMER = datetime(2025, 8, 10, 12, tzinfo=UTC)  # hot water only, a month end
AUTUMN = datetime(2025, 11, 10, 12, tzinfo=UTC)  # the October DST change, a month end
SEASONS = {"winter": WINTER, "spring": SPRING, "summer": SUMMER, "autumn": AUTUMN}
NO_MEASURED_HEAT = ("no-heat-counters", "no-flow-sensor")


@dataclass(frozen=True)
class Row:
    """One scenario: the simulated `end` (the run covers the days before it), the demo's
    --scenario specs (times relative to `end`, or ISO), environment settings, and what the
    product must do."""

    end: datetime
    scenarios: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    method: str = "counter"  # the heat method the simulated device allows
    device_electricity: str = "exact"  # "exact", or "gap": stale counters book nothing
    health: tuple[str, ...] = ()  # health reasons that must have been reported
    year: bool = False  # also a row of the 365-day run (--year)
    meter: str = "pro3em"
    what: str = ""
    boundaries: bool = False  # a row of the boundary table (docs/truth-bench.md)


ROWS: dict[str, Row] = {
    "clean": Row(WINTER, year=True, boundaries=True,
                 what="a Vitocal 250-A, the year end inside; cold days: the rod helps"),
    "mild": Row(AUTUMN, boundaries=True,
                what="a mild month: the rod only heats the cylinder (weekly hygiene)"),
    "rod-stuck": Row(WINTER, ("rod-stuck@-10d",), boundaries=True,
                     what="the heating rod stuck on (3 kW) for the last 10 days"),
    "rod-stuck-mild": Row(AUTUMN, ("rod-stuck@-10d",), boundaries=True,
                          what="the rod stuck on in a mild month"),
    "rod-runtime": Row(WINTER, ("rod-runtime", "rod-stuck@-3d"),
                       {"HEATPUMP_HEATING_ROD_KW": "3,6"}, boundaries=True,
                       what="the rod as running time per level (333-G), estimated with "
                            "HEATPUMP_HEATING_ROD_KW=3,6; stuck for 3 days"),
    "late-reset": Row(WINTER, ("late-reset",), health=("counter_rollover",), year=True,
                      what="counters reset 2 h after midnight (month and year end too)"),
    "early-reset": Row(WINTER, ("early-reset",), health=("counter_rollover",),
                       what="counters reset 5 min before midnight"),
    "other-zone-utc": Row(WINTER, ("other-zone,tz=UTC",), health=("counter_rollover",),
                          what="the device's clock in UTC, HEATPUMP_TZ Berlin"),
    "other-zone-ny": Row(WINTER, ("other-zone,tz=America/New_York",),
                         health=("counter_rollover",),
                         what="the device's clock 6 h behind"),
    "tz-mismatch": Row(WINTER, settings={"HEATPUMP_TZ": "UTC"}, year=True,
                       health=("counter_rollover",),
                       what="HEATPUMP_TZ=UTC against a device in Berlin (was +52 % JAZ)"),
    "transient-zeros": Row(WINTER, ("zero-counters@-20d/10m", "zero-counters@-9d/30m",
                                    "zero-counters@2025-12-31T22:55:00+00:00/15m"),
                           health=("counter_glitch",),
                           what="answers with every counter 0, one across the year end"),
    "counter-dips": Row(WINTER, ("counter-dip@-12d/30m", "counter-dip@-4d/20m,kwh=5"),
                        health=("counter_glitch",),
                        what="the current counters read 1 and 5 kWh low, then recover"),
    "stale-arrays": Row(WINTER, ("no-power-summary", "stale-arrays@-10d"),
                        device_electricity="gap", health=("counters_stale",),
                        what="electricity only from arrays, stale for the last 10 days"),
    "arrays": Row(WINTER, ("no-power-summary", "late-reset"), health=("counter_rollover",),
                  what="electricity only from the arrays (fresh), late resets"),
    "meter-reboot": Row(WINTER, ("meter-reboot@-5d/1m", "meter-reboot@-17d/5m"),
                        what="the meter restarts twice (its counter kept)"),
    "meter-reboot-plug": Row(WINTER, ("meter-reboot@-5d/1m",), meter="plugs",
                             what="a Gen1 plug restarts (its counter from 0)"),
    "meter-outage": Row(WINTER, ("meter-outage@-6d/3h", "meter-outage@-15d/30m"),
                        what="the meter unreachable for 3 h and 30 min"),
    "heatpump-outage": Row(WINTER, ("heatpump-outage@2025-12-31T21:00:00+00:00/5h",
                                    "heatpump-outage@-3d/20m"),
                           what="the cloud cannot reach the heat pump across the year end"),
    # no year end inside (the year counter carries the month end, nothing to bridge); the
    # restarts away from midnight are reported
    "dst-spring": Row(SPRING, ("late-reset",), health=("counter_rollover",),
                      what="the March DST change and a month end, late resets"),
    "dst-autumn": Row(AUTUMN, ("early-reset",), health=("counter_rollover",),
                      what="the October DST change and a month end, early resets"),
    "summer": Row(SUMMER, ("other-zone,tz=UTC",), what="hot water only, the device in UTC"),
    **{f"flow-{season}": Row(end, ("no-heat-counters",), method="flow",
                             year=season == "winter",
                             what="no heat counter: flow x spread")
       for season, end in SEASONS.items()},
    **{f"modulation-{season}": Row(end, (*NO_MEASURED_HEAT, "modulation-sensor",
                                         "rated-output,kw=7"), method="modulation",
                                   year=season == "winter",
                                   what="modulation x the device's own rated 7 kW")
       for season, end in SEASONS.items()},
    **{f"runtime-{season}": Row(end, NO_MEASURED_HEAT,
                                {"HEATPUMP_RATED_HEAT_KW": "7"}, method="runtime",
                                year=season == "winter",
                                what="running time x HEATPUMP_RATED_HEAT_KW=7")
       for season, end in SEASONS.items()},
}


@dataclass(frozen=True)
class Result:
    """What one row measured (kWh unless named otherwise)."""

    name: str
    days: float
    methods: tuple[str, ...]
    heat: float
    device_heat: float
    true_heat: float
    device_electricity_stored: float
    device_electricity: float
    meter: float
    true_electricity: float
    phantom_kwh: float
    missing_kwh: float
    health: tuple[str, ...]
    wall_s: float
    # both boundaries (kWh; JAZ over the hours /jaz counted, truth over the same hours)
    rod: float = 0.0  # stored, source=heating_rod, circuit total
    rod_estimated: float = 0.0  # of `rod`: running time x HEATPUMP_HEATING_ROD_KW
    rod_counters: float = 0.0  # what the rod's counters moved
    true_rod: float = 0.0
    h2_jaz: float | None = None
    h2_truth: float | None = None  # device heat / true meter electricity
    h3_jaz: float | None = None
    h3_truth: float | None = None  # (device heat + true rod) / (true meter + true rod)
    h3_true_cop: float | None = None  # physical: (heat + rod) / (meter + rod)
    rod_share: float | None = None  # of the system's electricity in the H3 hours

    @property
    def jaz(self) -> float | None:
        return self.heat / self.meter if self.meter > 0 else None

    @property
    def true_cop(self) -> float | None:
        return self.true_heat / self.true_electricity if self.true_electricity > 0 else None


def ratio(a: float, b: float) -> float:
    return a / b - 1.0 if b else float("nan")


def daily_excess(points: Iterable[Point], totals: Callable[[datetime], Mapping[str, float]],
                 series: Sequence[str]) -> tuple[float, float]:
    """(phantom, missing) kWh: per UTC day, what the stored intervals hold beyond (below)
    what the device's counters moved over exactly those intervals, past the truncation."""
    by_day: dict[object, float] = defaultdict(float)
    for p in points:
        end = p.time
        start = end - timedelta(seconds=float(p.fields["duration_s"]))
        a, b = totals(start), totals(end)
        expected = sum(b[s] - a[s] for s in series)
        by_day[end.astimezone(UTC).date()] += float(p.fields["energy_wh"]) / 1000.0 - expected
    slack = PHANTOM_SLACK_KWH * len(series)
    return (sum(max(0.0, x - slack) for x in by_day.values()),
            sum(max(0.0, -x - slack) for x in by_day.values()))


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The collector's log lines are not the result: silenced while a row runs, and the
    level before restored after (a test that runs a row leaves logging as it found it)."""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)


def run_row(name: str, row: Row, days: float, seed: int, workdir: Path) -> Result:
    """Run one row through the real path into its own demo store and measure it."""
    with quiet_logs():
        return _run_row(name, row, days, seed, workdir)


def _run_row(name: str, row: Row, days: float, seed: int, workdir: Path) -> Result:
    env = {"HEATPUMP_DATA_DIR": str(workdir / name), "HEATPUMP_TZ": "Europe/Berlin",
           **row.settings}
    settings = Settings.from_mapping(env)
    wall = time.perf_counter()
    summary, house = backfill(settings, days, seed, list(row.scenarios), now=row.end,
                              out=io.StringIO(), meter_model=row.meter)
    wall = time.perf_counter() - wall
    sim = house.sim
    totals = sim.device_totals_kwh
    with open_store(settings, demo=True) as store:
        start, end = summary.start, summary.end
        heat = store.points("heat", start, end, tags={"circuit": "total"})
        own = store.points("electricity", start, end,
                           tags={"source": "heatpump", "circuit": "total"})
        rod = store.points("electricity", start, end,
                           tags={"source": "heating_rod", "circuit": "total"})
        bounds = boundary_figures(store, sim, start, end, settings)
        polls = store.points("heatpump", start, end)
        health = store.points("health", start, end + timedelta(seconds=1))
    first, last = polls[0].time, polls[-1].time
    a, b = totals(first), totals(last)
    device_heat = sum(b[s] - a[s] for s in HEAT_SERIES)
    device_elec = sum(b[s] - a[s] for s in ELECTRICITY_SERIES)
    truth = sim.truth(first, last)
    counter_heat = [p for p in heat if p.tags["method"] == "counter"]
    phantom_h, missing_h = daily_excess(counter_heat, totals, HEAT_SERIES)
    phantom_e, missing_e = daily_excess(own, totals, ELECTRICITY_SERIES)
    phantom_r, missing_r = daily_excess(rod, totals, ROD_SERIES)
    return Result(
        name, days, tuple(sorted({p.tags["method"] for p in heat})),
        heat=sum(float(p.fields["energy_wh"]) for p in heat) / 1000.0,
        device_heat=device_heat, true_heat=truth.heat_wh / 1000.0,
        device_electricity_stored=sum(float(p.fields["energy_wh"]) for p in own) / 1000.0,
        device_electricity=device_elec,
        meter=summary.electricity_kwh, true_electricity=summary.true_electricity_kwh,
        phantom_kwh=phantom_h + phantom_e + phantom_r,
        missing_kwh=missing_h + missing_e + missing_r,
        health=tuple(sorted({str(p.fields["reason"]) for p in health
                             if p.tags["source"] == "vicare" and p.fields["reason"]})),
        wall_s=wall,
        rod=sum(float(p.fields["energy_wh"]) for p in rod) / 1000.0,
        rod_estimated=sum(float(p.fields.get("estimated_wh", 0.0)) for p in rod) / 1000.0,
        rod_counters=sum(b[s] - a[s] for s in ROD_SERIES),
        true_rod=truth.rod_electricity_wh / 1000.0, **bounds)


def boundary_figures(store, sim, start: datetime, end: datetime,  # type: ignore[no-untyped-def]
                     settings: Settings) -> dict[str, float | None]:
    """/jaz's two figures over [start, end) as the bot computes them, and the truth over
    exactly the hours each counted: H2 over its counted hours, H3 over the hours the rod's
    figure also covers (a pair's truth: the device's heat counters, the meter's and the
    rod's true electricity; `h3_true_cop` with the physical heat)."""
    pairs = hour_pairs(store, start, end, settings.tz)
    perf = performance(pairs, start, end)
    h2 = [0.0, 0.0]
    h3 = [0.0, 0.0, 0.0, 0.0]  # device heat, electricity, physical heat, rod
    for p in pairs:
        if not p.counted:
            continue
        t = sim.truth(p.start, p.end)
        device_heat = t.device_heat_heating_wh + t.device_heat_dhw_wh
        h2[0] += device_heat
        h2[1] += t.electricity_wh
        if p.rod_counted:
            h3[0] += device_heat
            h3[1] += t.electricity_wh
            h3[2] += t.heat_wh
            h3[3] += t.rod_electricity_wh
    sys_elec = perf.sys_meter_wh + perf.rod_wh
    return {
        "h2_jaz": perf.ratio, "h2_truth": h2[0] / h2[1] if h2[1] > 0 else None,
        "h3_jaz": (perf.sys_heat_wh + perf.rod_wh) / sys_elec if perf.rod_hours and sys_elec
        else None,
        "h3_truth": (h3[0] + h3[3]) / (h3[1] + h3[3]) if h3[1] + h3[3] > 0 else None,
        "h3_true_cop": (h3[2] + h3[3]) / (h3[1] + h3[3]) if h3[1] + h3[3] > 0 else None,
        "rod_share": perf.rod_wh / sys_elec if perf.rod_hours and sys_elec else None,
    }


def within(stored: float, counters: float) -> bool:
    """Within ±COUNTER_TOLERANCE of the counters, or of their resolution if that is more."""
    return abs(stored - counters) <= max(COUNTER_TOLERANCE * abs(counters), RESOLUTION_KWH)


def evaluate(row: Row, r: Result) -> list[str]:
    """The targets this row missed (empty: all met)."""
    misses: list[str] = []
    if r.methods != (row.method,):
        misses.append(f"heat method {', '.join(r.methods) or 'none'}, expected {row.method}")
    if row.method == "counter":
        off = ratio(r.heat, r.device_heat)
        if not within(r.heat, r.device_heat):
            misses.append(f"heat {off:+.2%} of the device's counters (target ±0.5 %)")
        own_error = abs(ratio(r.device_heat, r.true_heat))
        if abs(ratio(r.heat, r.true_heat)) > own_error + COUNTER_TOLERANCE:
            misses.append(f"heat {ratio(r.heat, r.true_heat):+.2%} of the truth, the device's "
                          f"own counters {ratio(r.device_heat, r.true_heat):+.2%}")
    else:
        lo, hi = ERROR_BANDS[row.method]
        off = ratio(r.heat, r.true_heat)
        if not lo <= off <= hi:
            misses.append(f"{row.method} heat {off:+.1%} of the truth, outside the stated "
                          f"{band_text(row.method)}")
    own = ratio(r.device_electricity_stored, r.device_electricity)
    if row.device_electricity == "exact" and not within(r.device_electricity_stored,
                                                        r.device_electricity):
        misses.append(f"the device's electricity {own:+.2%} of its counters (target ±0.5 %)")
    if row.device_electricity == "gap" and \
            r.device_electricity_stored > r.device_electricity + RESOLUTION_KWH:
        misses.append(f"the device's electricity {own:+.2%} above its counters")
    meter = ratio(r.meter, r.true_electricity)
    if abs(meter) > METER_TOLERANCE:
        misses.append(f"meter electricity {meter:+.2%} of the truth (target ±0.5 %)")
    if r.phantom_kwh > 0:
        misses.append(f"{r.phantom_kwh:.1f} phantom kWh")
    for reason in row.health:
        if reason not in r.health:
            misses.append(f"health reason {reason} not reported")
    return misses + boundary_misses(row, r)


def boundary_misses(row: Row, r: Result) -> list[str]:
    """The targets of both boundaries this row missed: the rod's electricity against its
    counters and the truth, and (counter rows) the H2 and H3 JAZ against the truth."""
    misses: list[str] = []
    for what, ref in (("counters", r.rod_counters), ("truth", r.true_rod)):
        if abs(r.rod - ref) > max(COUNTER_TOLERANCE * abs(ref), RESOLUTION_KWH):
            misses.append(f"rod electricity {r.rod:.1f} kWh, its {what} {ref:.1f} kWh "
                          "(target ±0.5 %)")
    if row.method != "counter":
        return misses
    for level, jaz, truth in (("H2", r.h2_jaz, r.h2_truth), ("H3", r.h3_jaz, r.h3_truth)):
        if jaz is None or truth is None:
            misses.append(f"no {level} JAZ")
        elif abs(ratio(jaz, truth)) > JAZ_TOLERANCE:
            misses.append(f"{level} JAZ {ratio(jaz, truth):+.2%} of the truth of its hours "
                          "(target ±0.5 %)")
    if r.h2_jaz is not None and r.h3_jaz is not None and r.h3_jaz > r.h2_jaz:
        misses.append(f"H3 JAZ {r.h3_jaz:.2f} above the H2 JAZ {r.h2_jaz:.2f}")
    return misses


HEADER = ("row", "method", "days", "heat kWh", "vs device", "vs truth", "device vs truth",
          "own el. vs counters", "meter vs truth", "JAZ (true COP)", "phantom kWh",
          "missing kWh", "health", "targets")


def cells(row: Row, r: Result) -> tuple[str, ...]:
    misses = evaluate(row, r)
    jaz = f"{r.jaz:.2f}" if r.jaz is not None else "-"
    cop = f"{r.true_cop:.2f}" if r.true_cop is not None else "-"
    return (r.name, ",".join(r.methods) or "-", f"{r.days:g}", f"{r.heat:.1f}",
            f"{ratio(r.heat, r.device_heat):+.2%}", f"{ratio(r.heat, r.true_heat):+.2%}",
            f"{ratio(r.device_heat, r.true_heat):+.2%}",
            f"{ratio(r.device_electricity_stored, r.device_electricity):+.2%}",
            f"{ratio(r.meter, r.true_electricity):+.2%}", f"{jaz} ({cop})",
            f"{r.phantom_kwh:.1f}", f"{r.missing_kwh:.1f}", ",".join(r.health) or "-",
            "met" if not misses else "MISSED")


def table(rows: Sequence[tuple[str, ...]], markdown: bool,
          header: Sequence[str] = HEADER) -> str:
    """The rows under `header`: a Markdown table, or aligned columns for a terminal (both
    truth benchmarks print this way)."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


BOUNDARY_HEADER = ("row", "rod kWh", "of it estimated", "rod vs counters", "rod vs truth",
                   "rod share of H3 el.", "H2 JAZ (truth)", "H2 vs truth", "H3 JAZ (truth)",
                   "H3 vs truth", "H3 true COP", "targets")


def boundary_cells(row: Row, r: Result) -> tuple[str, ...]:
    """The boundary table's row: the rod, and /jaz's H2 and H3 figures against the truth."""

    def jaz(x: float | None, t: float | None) -> str:
        return f"{x:.2f} ({t:.2f})" if x is not None and t is not None else "-"

    def off(x: float | None, t: float | None) -> str:
        return f"{ratio(x, t):+.2%}" if x is not None and t else "-"

    return (r.name, f"{r.rod:.1f}", f"{r.rod_estimated:.1f}",
            f"{r.rod - r.rod_counters:+.2f} kWh", f"{r.rod - r.true_rod:+.2f} kWh",
            f"{r.rod_share:.1%}" if r.rod_share is not None else "-",
            jaz(r.h2_jaz, r.h2_truth), off(r.h2_jaz, r.h2_truth),
            jaz(r.h3_jaz, r.h3_truth), off(r.h3_jaz, r.h3_truth),
            f"{r.h3_true_cop:.2f}" if r.h3_true_cop is not None else "-",
            "met" if not boundary_misses(row, r) else "MISSED")


def targets_text() -> str:
    bands = ", ".join(f"{m} {band_text(m)}" for m in ERROR_BANDS)
    return ("Targets: counter heat within ±0.5 % of the device's counters and no further "
            "from the truth than they are (+0.5 %); estimates inside the stated bands ("
            f"{bands}); the device's own electricity within ±0.5 % of its counters (gap "
            "rows: never above); the meter within ±0.5 % of the truth; 0 phantom kWh; the "
            "expected health reasons reported; the rod's electricity within ±0.5 % of its "
            "counters and the truth; counter rows: the H2 and H3 JAZ within ±0.5 % of the "
            "truth of their hours, H3 never above H2.")


def matrix_table() -> str:
    """The scenario matrix as a Markdown table (`--list`, docs/truth-bench.md)."""
    lines = ["| row | what | end (UTC) | scenarios | settings | heat method | expects |",
             "|---|---|---|---|---|---|---|"]
    for name, r in ROWS.items():
        expects = [*r.health, *(["own electricity: gap"] if r.device_electricity == "gap"
                                else []), *(["365-day run"] if r.year else []),
                   *(["boundary table"] if r.boundaries else [])]
        setting = [f"`{k}={v}`" for k, v in r.settings.items()]
        if r.meter != "pro3em":
            setting.append(f"`--meter {r.meter}`")
        lines.append(f"| {name} | {r.what} | {r.end:%Y-%m-%d %H:%M} | "
                     + (", ".join(f"`{x}`" for x in r.scenarios) or "-") + " | "
                     + (", ".join(setting) or "-")
                     + f" | {r.method} | {', '.join(expects) or '-'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", nargs="*", help=f"rows to run (default: all): {', '.join(ROWS)}")
    ap.add_argument("--days", type=float, default=30.0, help="days per row (default 30)")
    ap.add_argument("--year", action="store_true",
                    help="365 days, only the rows marked for it (slow: minutes per row)")
    ap.add_argument("--boundaries", action="store_true",
                    help="only the rows of the boundary table (H2 and H3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="rows run in parallel processes")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--list", action="store_true", help="print the scenario matrix and exit")
    args = ap.parse_args(argv)
    if args.list:
        print(matrix_table())
        return 0
    unknown = [n for n in args.rows or () if n not in ROWS]
    if unknown:
        ap.error(f"unknown rows: {', '.join(unknown)}")
    names = list(args.rows or [n for n, r in ROWS.items()
                                if (r.year or not args.year)
                                and (r.boundaries or not args.boundaries)])
    days = 365.0 if args.year else args.days
    print(targets_text())
    print(f"{len(names)} rows x {days:g} days, seed {args.seed}, {args.jobs} process(es)\n",
          flush=True)
    with (tempfile.TemporaryDirectory(prefix="truth-bench-") as tmp,
          ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool):
        futures = {n: pool.submit(run_row, n, ROWS[n], days, args.seed, Path(tmp))
                   for n in names}
        results = {n: f.result() for n, f in futures.items()}
    rows = [cells(ROWS[n], results[n]) for n in names]
    print(table(rows, args.markdown))
    print("\nBoth boundaries (heatpump/boundary.py): the heating rod, and /jaz's H2 and H3 "
          "figures against the truth of the hours they count\n")
    print(table([boundary_cells(ROWS[n], results[n]) for n in names], args.markdown,
                BOUNDARY_HEADER))
    failed = {n: evaluate(ROWS[n], results[n]) for n in names}
    failed = {n: m for n, m in failed.items() if m}
    print(f"\nwall time: {sum(r.wall_s for r in results.values()):.0f} s of simulation")
    for n, misses in failed.items():
        print(f"MISSED {n}: " + "; ".join(misses))
    print("all targets met" if not failed else f"{len(failed)} row(s) missed a target")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
