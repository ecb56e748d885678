"""Store benchmark: ingest N simulated days, then time 1-day and 365-day queries.

    python benchmarks/store_bench.py [--days 365] [--backend sqlite|influx|both] [--data DIR]

With --data DIR the stores live in DIR and are kept: a later run with the same DIR and
--days skips the ingest and only times the queries (a marker file per backend records the
days ingested; delete DIR to start over).

Data per day (what the collector writes): 8640 meter samples (10 s), 1440 per-minute
electricity intervals, 288 heat pump polls and 288 heat intervals (5 min). Written one
simulated day per write()+flush(), like a collector catching up after an outage.

Targets: a simulated year into the embedded store in under 60 s; each 365-day query within
3x of its 1-day query (rollups: long ranges never read raw rows). The InfluxDB run starts
its own influxd through tests/influxd.py (fetched from Debian when missing).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from heatpump.store.base import Point, Store

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2025, 1, 1, tzinfo=TZ).astimezone(UTC)
DEVICE_METER, DEVICE_HP = "shellypro3em-bench", "7571381681420106"


def outside_temp_c(t: datetime) -> float:
    """Seasonal swing (coldest mid-January) plus a daily one (warmest mid-afternoon)."""
    doy = t.timetuple().tm_yday
    hour = t.hour + t.minute / 60
    return (9.0 - 11.0 * math.cos(2 * math.pi * (doy - 15) / 365)
            + 4.0 * math.sin(2 * math.pi * (hour - 9) / 24))


def simulate_day(day: int, rng: random.Random, start: datetime = START) -> Iterator[Point]:
    """One day (`start` + `day` days on) of what the collector writes, from a crude but
    plausible heat pump: heat demand grows as it gets colder, the compressor cycles in 40-min
    periods with a duty cycle matching demand, COP falls with outside temperature; plus hot
    water at 6:00."""
    t0 = start + timedelta(days=day)
    counter_wh = 1_000_000.0 + day * 15_000.0
    starts = day * 12
    uptime = day * 86400
    running = False
    minute_wh = minute_run = 0.0
    minute_starts = 0
    heat_wh = 0.0
    hp_tags = {"device": DEVICE_HP}
    m_tags = {"device": DEVICE_METER}
    e_tags = {"device": DEVICE_HP, "source": "meter", "circuit": "total"}
    h_tags = {"device": DEVICE_HP, "method": "flow", "circuit": "heating"}
    for i in range(8640):
        t = t0 + timedelta(seconds=10 * i)
        tout = outside_temp_c(t)
        demand_kw = max(0.0, (16.0 - tout) * 0.35)
        duty = min(1.0, demand_kw / 6.0)
        dhw = 6 * 360 <= i < 6 * 360 + 180
        was = running
        running = dhw or ((i % 240) / 240.0) < duty
        cop = max(1.8, 4.6 + 0.09 * tout - (0.8 if dhw else 0.0))
        power = (1800.0 if dhw else 400 + 1400 * duty) + rng.gauss(0, 25) if running else \
            12.0 + rng.random()
        wh = power * 10 / 3600
        counter_wh += wh
        minute_wh += wh
        minute_run += 10.0 if power > 250 else 0.0
        if running and not was:
            starts += 1
            minute_starts += 1
        heat_wh += wh * cop if running else 0.0
        uptime += 10
        yield Point("meter", t, {"power_w": round(power, 1),
                                 "energy_import_wh": round(counter_wh, 3), "uptime_s": uptime},
                    m_tags)
        if i % 6 == 5:
            yield Point("electricity", t - timedelta(seconds=50),
                        {"energy_wh": round(minute_wh, 4), "duration_s": 60.0,
                         "counter_wh": round(counter_wh, 3), "running_s": minute_run,
                         "starts": minute_starts}, e_tags)
            minute_wh = minute_run = 0.0
            minute_starts = 0
        if i % 30 == 29:
            supply = 28.0 + max(0.0, 16.0 - tout) * 0.6 + (20.0 if dhw else 0.0)
            yield Point("heatpump", t, {
                "outside_temp_c": round(tout, 1), "supply_temp_c": round(supply, 1),
                "return_temp_c": round(supply - (5.0 if running else 0.5), 1),
                "dhw_temp_c": 48.0 + rng.random(),
                "primary_supply_temp_c": round(tout, 1),
                "primary_return_temp_c": round(tout - (3.0 if running else 0.0), 1),
                "compressor_active": running,
                "compressor_phase": "heating" if running else "off",
                "compressor_modulation_pct": round(100 * duty if running else 0.0, 1),
                "compressor_speed_rps": round(20 + 60 * duty if running else 0.0, 1),
                "compressor_hours_h": float(day * 8 + i // 360), "compressor_starts": starts,
                "flow_l_h": 1100.0 if running else 0.0, "heating_mode": "heating",
                "dhw_mode": "comfort", "heating_target_temp_c": 21.0,
                "dhw_target_temp_c": 50.0, "error_count": 0}, hp_tags)
            yield Point("heat", t - timedelta(seconds=290),
                        {"energy_wh": round(heat_wh, 2), "duration_s": 300.0,
                         "estimate": False}, h_tags)
            heat_wh = 0.0


def timed(fns: Sequence[Callable[[], object]], repeat: int = 15) -> list[float]:
    """Median wall time (s) of each function over `repeat` rounds after one warm-up (see
    `samples`)."""
    return [statistics.median(r) for r in samples(fns, repeat)]


def samples(fns: Sequence[Callable[[], object]], repeat: int = 15) -> list[list[float]]:
    """Wall times (s) of each function over `repeat` rounds after one warm-up; the
    functions take turns within a round, so a burst of load on a shared machine stretches
    all of them instead of only the one that happened to run then (and skewing the ratio)."""
    runs: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(repeat):
        for fn, r in zip(fns, runs, strict=True):
            t = time.perf_counter()
            fn()
            r.append(time.perf_counter() - t)
    return runs


def holds(marker: Path | None, days: int) -> bool:
    """Whether a kept store's marker says it holds exactly `days` ingested days."""
    return marker is not None and marker.is_file() and marker.read_text().strip() == str(days)


def bench(name: str, store: Store, days: int, marker: Path | None = None) -> None:
    """Ingest (unless `marker` says this store already holds `days` days), then time."""
    reuse = holds(marker, days)
    if reuse:
        summary = f"ingest skipped: reusing the {days} days already in {marker.parent}"
    else:
        summary = ingest_days(store, days)
        if marker is not None:
            marker.write_text(f"{days}\n")
    info = store.info()
    print(f"\n== {name}: {info.backend} {info.version} ({info.location})")
    print(summary)
    time_queries(store, days)
    store.close()


def ingest_days(store: Store, days: int, start: datetime = START) -> str:
    rng = random.Random(42)
    n = 0
    gen = ingest = cpu = 0.0
    for day in range(days):
        t = time.perf_counter()
        pts = list(simulate_day(day, rng, start))
        gen += time.perf_counter() - t
        n += len(pts)
        t, c = time.perf_counter(), time.process_time()
        store.write(pts)
        store.flush()
        ingest += time.perf_counter() - t
        cpu += time.process_time() - c
    return (f"ingest {days} days: {n:,} points in {ingest:.1f} s wall, {cpu:.1f} s CPU of "
            f"this process ({n / ingest:,.0f} points/s; generating them took {gen:.1f} s, not "
            "counted)")


def time_queries(store: Store, days: int) -> None:
    end = START + timedelta(days=days)
    last_day = datetime.combine((end - timedelta(hours=12)).astimezone(TZ).date(),
                                datetime.min.time(), TZ)
    year_start = max(START, end - timedelta(days=365))
    one = (last_day, last_day + timedelta(days=1))
    year = (year_start, end)
    both = ("electricity", "heat")
    # (label, query(range, bucket), bucket for 1 day, bucket for 365 days, held to the target)
    queries = [
        ("energy by month, electricity + heat",
         lambda r, b: [store.sums(m, ["energy_wh"], *r, b, TZ) for m in both],
         "month", "month", True),
        ("chart series meter.power_w (<= 500 points)",
         lambda r, b: store.series("meter", "power_w", *r, max_points=500), None, None, True),
        ("chart series heatpump.outside_temp_c",
         lambda r, b: store.series("heatpump", "outside_temp_c", *r, max_points=500),
         None, None, True),
        ("energy bars: 24 hours vs 365 days (15x rows)",
         lambda r, b: [store.sums(m, ["energy_wh"], *r, b, TZ) for m in both],
         "hour", "day", False),
        ("energy by day: 1 vs 365 rows",
         lambda r, b: [store.sums(m, ["energy_wh"], *r, b, TZ) for m in both],
         "day", "day", False),
    ]
    for label, q, b1, b365, target in queries:
        t1, t365 = timed([lambda q=q, b1=b1: q(one, b1), lambda q=q, b365=b365: q(year, b365)])
        verdict = ("ok" if t365 <= 3 * t1 else "OVER 3x") if target else "(no target)"
        print(f"{label:46s} 1 day {t1 * 1000:7.1f} ms  {min(days, 365)} days "
              f"{t365 * 1000:7.1f} ms  ratio {t365 / t1:5.2f}x {verdict}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--backend", choices=("sqlite", "influx", "both"), default="both")
    ap.add_argument("--data", type=Path, metavar="DIR",
                    help="keep the stores in DIR and reuse them when they hold --days days")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start (wall times stretch when "
          "the machine is busy)")
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.data
        base = keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        if args.backend in ("sqlite", "both"):
            from heatpump.store.sqlite import SQLiteStore

            db = base / "bench.sqlite3"
            marker = base / "sqlite.days" if keep else None
            if marker is not None and not (holds(marker, args.days) and db.is_file()):
                marker.unlink(missing_ok=True)  # other days or half an ingest: start over
                for f in base.glob("bench.sqlite3*"):
                    f.unlink()
            bench("embedded", SQLiteStore(db, TZ), args.days, marker)
        if args.backend in ("influx", "both"):
            from heatpump.store.influx import InfluxStore
            from tests.influxd import Influxd, find_influxd

            marker = base / "influx.days" if keep else None
            with Influxd(find_influxd(), base / "influxd") as server:
                if marker is not None and not holds(marker, args.days):
                    marker.unlink(missing_ok=True)
                    server.query('DROP DATABASE "bench"')  # other days or half an ingest
                bench("influxdb", InfluxStore(server.url, "bench", TZ), args.days, marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
