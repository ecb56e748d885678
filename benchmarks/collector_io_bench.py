"""Bytes the whole collector writes per hour, against the bytes of data it adds.

    python benchmarks/collector_io_bench.py [--hours 6] [--flush-minutes M] [--cloud]
                                            [--asks-per-day N [--stream]]

Runs the real collector service (scheduler, the Shelly client and meter accounting, the
Viessmann reader and heat accounting, the sink with its commit cadence, the accounting state
file, the heartbeat, the spool) over the simulated house's devices on a virtual clock, into
the embedded store, for `--hours` after a day of warm-up. With `--cloud` the heat pump is
read from the fake Viessmann cloud of the tests over loopback HTTP instead, so the quota
guard's ledger and state files are written as on a real installation.

Measured: `write_bytes` of /proc/self/io (bytes this process caused to be written; a page
dirtied again before the kernel wrote it back counts once). A running collector's dirty pages
are written back about 30 s after they were dirtied (vm.dirty_expire_centisecs); the virtual
clock runs an hour in seconds, so the benchmark calls sync() every 30 simulated seconds to
count what a real one would. The data added is the growth of the store's pages in use after
a full checkpoint. Targets (issue "Fit for a Raspberry Pi"): written / added <= 20x, and a
year of collection under 2 GB written. Linux only.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collector.collect_cmd import build_collector  # noqa: E402
from collector.service import VirtualClock  # noqa: E402
from collector.wiring import Devices, build_sources  # noqa: E402
from heatpump.live import LIVE_WINDOW_S, Requests  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store.sqlite import SQLiteStore  # noqa: E402
from simhouse.demo_cmd import simulated_house  # noqa: E402
from simhouse.scenarios import Setup  # noqa: E402

T0 = datetime(2026, 1, 12, tzinfo=UTC)
WRITEBACK_S = 30.0
YEAR_H = 8760
TARGET_RATIO, TARGET_YEAR = 20.0, 2e9


def write_bytes() -> int:
    for row in Path("/proc/self/io").read_text().splitlines():
        if row.startswith("write_bytes:"):
            return int(row.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes line")


def pages_in_use(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = con.execute("PRAGMA page_size").fetchone()[0]
        count = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        return size * (count - free)
    finally:
        con.close()


def bot_asks(clock: VirtualClock, per_day: float, stream: bool) -> Callable[[], Requests]:
    """The bot's requests on the virtual clock: `per_day` of them, evenly spread (the first
    half a gap after T0); each a one-off commit (/status, /jaz today, /chart), or with
    `stream` every poll for LIVE_WINDOW_S (/live; and what /status asked before 30 Nov)."""
    gap = 86400.0 / per_day if per_day > 0 else None

    def asks() -> Requests:
        if gap is None:
            return Requests(None, None)
        since = (clock.now() - T0).total_seconds() - gap / 2
        if since < 0:
            return Requests(None, None)
        at = since - since % gap  # the latest request, seconds after T0 + gap / 2
        live = at if stream and since - at < LIVE_WINDOW_S else None
        return Requests(live, at)

    return asks


def run(hours: float, flush_minutes: float | None, cloud: bool, asks_per_day: float = 0.0,
        stream: bool = False) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        env = {"HEATPUMP_DATA_DIR": str(data), "HEATPUMP_TZ": "Europe/Berlin"}
        if flush_minutes is not None:
            env["HEATPUMP_FLUSH_MINUTES"] = str(flush_minutes)
        fake = None
        if cloud:
            import PyViCare.PyViCareAbstractOAuthManager as abstract
            import PyViCare.PyViCareOAuthManager as oauth

            from tests.fakes.vicare_cloud import FakeCloud

            fake = FakeCloud().start()
            fake.add_device("Vitocal250A")
            abstract.API_BASE_URL = fake.base + "/iot/v2"
            oauth.AUTHORIZE_URL = fake.base + "/idp/v3/authorize"
            oauth.TOKEN_URL = fake.base + "/idp/v3/token"
            env.update({"VICARE_USERNAME": fake.username, "VICARE_PASSWORD": fake.password,
                        "VICARE_CLIENT_ID": fake.client_id})
        settings = Settings.from_mapping(env)
        clock = VirtualClock(T0)
        house = simulated_house(settings, T0, Setup(), 1, clock.now)
        devices = Devices(meter=house.shelly.answer,
                          vicare=None if cloud else house.vitocal.answer)
        sources, state = build_sources(settings, clock, devices=devices)
        db = data / "heatpump.sqlite3"
        collector = build_collector(settings, sources, SQLiteStore(db, settings.tz),
                                    clock=clock, threaded=False, state=state,
                                    asks=bot_asks(clock, asks_per_day, stream))
        marks = {"sync": T0, "start": None, "bytes0": 0, "pages0": 0}
        warm_up, end = T0 + timedelta(days=1), T0 + timedelta(days=1, hours=hours)

        def until() -> bool:
            now = clock.now()
            if now - marks["sync"] >= timedelta(seconds=WRITEBACK_S):
                os.sync()  # what the kernel's writeback does every 30 s
                marks["sync"] = now
            if marks["start"] is None and now >= warm_up:
                os.sync()
                marks["start"] = now
                marks["bytes0"] = write_bytes()
                marks["pages0"] = pages_in_use(db)
            return now >= end

        collector.run(until=until)
        os.sync()
        written = write_bytes() - marks["bytes0"]
        added = pages_in_use(db) - marks["pages0"]
        if fake is not None:
            fake.stop()
    return written, added


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--flush-minutes", type=float, default=None,
                    help="HEATPUMP_FLUSH_MINUTES (default: the embedded store's default)")
    ap.add_argument("--cloud", action="store_true",
                    help="the heat pump through the fake Viessmann cloud (quota guard files)")
    ap.add_argument("--asks-per-day", type=float, default=0.0,
                    help="the bot asks for fresh data this often a day (/status, /jaz today, "
                         "/chart 24h: one commit each)")
    ap.add_argument("--stream", action="store_true",
                    help="each ask has every poll committed for 10 minutes (/live)")
    args = ap.parse_args()
    written, added = run(args.hours, args.flush_minutes, args.cloud, args.asks_per_day,
                         args.stream)
    per_h, added_h = written / args.hours, max(added, 1) / args.hours
    ratio, year = per_h / added_h, per_h * YEAR_H
    cadence = ("default" if args.flush_minutes is None else f"{args.flush_minutes:g} min")
    asked = (f", {args.asks_per_day:g} asks a day"
             + (" (every poll for 10 min)" if args.stream else " (one commit each)")
             if args.asks_per_day else "")
    print(f"commit cadence {cadence}, {args.hours:g} h"
          + (", heat pump through the fake cloud" if args.cloud else "") + asked + ":")
    print(f"  written {per_h / 1e3:8.1f} kB/h, data added {added_h / 1e3:6.1f} kB/h, "
          f"ratio {ratio:5.1f}x (target <= {TARGET_RATIO:g}x, ratio to target "
          f"{ratio / TARGET_RATIO:.2f})")
    print(f"  a year: {year / 1e9:5.2f} GB written (target < 2 GB, ratio to target "
          f"{year / TARGET_YEAR:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
