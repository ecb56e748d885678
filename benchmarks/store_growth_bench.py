"""Do reads stay as cheap when the store holds three years instead of one?

    python benchmarks/store_growth_bench.py [--backend sqlite|influx|both] [--data DIR]
                                            [--years 1 3] [--rounds 15]

Builds two stores per backend, one holding `--years[0]` and one `--years[1]` years of the
data of benchmarks/store_bench.py, both ending at today's local midnight (so "now" is where
the data ends, as in a running installation), then times the reads the bot makes on each:
latest values (present fields, every field, fields the device never reports, and the same
bounded with `since`), energy sums and chart series over fixed ranges at the end of the
data. The two stores take turns in every round (median of `--rounds`), so load on a shared
machine stretches both. Target: every latest/sums/series read on the bigger store costs at
most 1.2x what it costs on the smaller one (reads are bounded by the range asked, not by the
history kept).

`--data DIR` keeps the stores (ingesting three years takes ~4 minutes on SQLite and ~10 on
InfluxDB); a later run with the same DIR on the same day reuses them. The InfluxDB run
starts its own influxd through tests/influxd.py, both stores as two databases of it, and
times them once influxd has written all their data to TSM files (benchmarks/growth_stores.py
builds and keeps the stores, for benchmarks/bot_growth_bench.py too).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import growth_stores
from store_bench import TZ, ingest_days, timed

from heatpump.schema import MEASUREMENTS
from heatpump.store.base import Store

TARGET = 1.2
END = growth_stores.data_end(TZ)
NEVER_REPORTED = tuple(f.name for f in MEASUREMENTS["heatpump"].fields
                       if f.name.startswith(("device_spf_", "device_scop_")))


def queries(store: Store) -> list[tuple[str, Callable[[], object], bool]]:
    """(label, read, held to the target) at the end of the data."""
    day = (END - timedelta(days=1), END)
    month = (END - timedelta(days=30), END)
    year = (END - timedelta(days=365), END)
    both = ("electricity", "heat")
    out: list[tuple[str, Callable[[], object], bool]] = [
        ("latest meter, every field", lambda: store.latest("meter"), True),
        ("latest heatpump, every field (/status)", lambda: store.latest("heatpump"), True),
        ("latest heatpump, never-reported fields (/jaz)",
         lambda: store.latest("heatpump", NEVER_REPORTED), True),
    ]
    if "since" in inspect.signature(store.latest).parameters:
        out.append(("  the same with since=1 day",
                    lambda: store.latest("heatpump", NEVER_REPORTED, since=day[0]), True))
    out += [
        ("sums by month over 365 days, elec + heat",
         lambda: [store.sums(m, ["energy_wh"], *year, "month", TZ) for m in both], True),
        ("sums by day over 30 days, elec + heat",
         lambda: [store.sums(m, ["energy_wh"], *month, "day", TZ) for m in both], True),
        ("sums by hour over 1 day, elec + heat",
         lambda: [store.sums(m, ["energy_wh"], *day, "hour", TZ) for m in both], True),
        ("series meter.power_w over 1 day", lambda: store.series(
            "meter", "power_w", *day, max_points=500), True),
        ("series outside_temp_c over 365 days", lambda: store.series(
            "heatpump", "outside_temp_c", *year, max_points=500), True),
        ("points heatpump, last 15 min", lambda: store.points(
            "heatpump", END - timedelta(minutes=15), END), True),
        ("tag_values meter device", lambda: store.tag_values("meter", "device"), False),
    ]
    return out


def compare(small: Store, big: Store, rounds: int) -> None:
    for (label, q_small, target), (_l, q_big, _t) in zip(queries(small), queries(big),
                                                          strict=True):
        t_small, t_big = timed([q_small, q_big], repeat=rounds)
        ratio = t_big / t_small
        verdict = (("ok" if ratio <= TARGET else f"OVER {TARGET}x") if target
                   else "(no target)")
        print(f"{label:46s} small {t_small * 1000:7.2f} ms  big {t_big * 1000:7.2f} ms  "
              f"ratio {ratio:5.2f}x {verdict}")


def run_sqlite(base: Path, days: list[int], rounds: int) -> None:
    stores = [growth_stores.sqlite_store(base, "growth", d, END, ingest_days) for d in days]
    info = stores[0].info()
    print(f"\n== {info.backend} {info.version}: {days[0]} days vs {days[1]} days")
    compare(stores[0], stores[1], rounds)
    for s in stores:
        s.close()


def run_influx(base: Path, days: list[int], rounds: int) -> None:
    with growth_stores.influx_server(base) as server:
        stores = [growth_stores.influx_store(server, base, "growth", d, END, ingest_days)
                  for d in days]
        growth_stores.settled(server, [f"growth_{d}" for d in days])
        info = stores[0].info()
        print(f"\n== {info.backend} {info.version}: {days[0]} days vs {days[1]} days")
        compare(stores[0], stores[1], rounds)
        for s in stores:
            s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "influx", "both"), default="both")
    ap.add_argument("--data", type=Path, metavar="DIR", help="keep and reuse the stores")
    ap.add_argument("--years", type=int, nargs=2, default=[1, 3])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    days = [365 * y for y in args.years]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start; data ends "
          f"{END.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.data or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        if args.backend in ("sqlite", "both"):
            run_sqlite(base, days, args.rounds)
        if args.backend in ("influx", "both"):
            run_influx(base, days, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
