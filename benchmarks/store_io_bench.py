"""Bytes the embedded store writes per hour of collection, against the bytes it stores.

    python benchmarks/store_io_bench.py [--hours 24] [--every 10 300] [--prefill-days 30]

For each flush cadence (seconds of simulated time between two `flush()` calls; the collector
flushes after every poll today, i.e. every 10 s) a fresh SQLite store is filled with
`--prefill-days` of data (one flush per day, not counted), then `--hours` of collection are
written the way the collector writes them: the meter sample every 10 s, an electricity
interval every minute, a heat pump poll and a heat interval every 5 minutes (the data of
benchmarks/store_bench.py), one `flush()` every `--every` seconds. A final
`PRAGMA wal_checkpoint(TRUNCATE)` is counted too, so the figure holds everything needed to
get the data into the main file.

Measured: `write_bytes` of /proc/self/io (bytes this process caused to be written to the
storage layer, counted when a page of the page cache becomes dirty: the WAL, the database,
the -shm index), against the bytes the store grew by (pages in use after the final
checkpoint). A page dirtied again before the kernel wrote it back is not counted again; in
a real collector the kernel writes dirty pages back about 30 s after they were dirtied
(vm.dirty_expire_centisecs = 3000), so the simulation, which runs an hour in milliseconds,
fsyncs the store's files every `--writeback-s` simulated seconds (30; 0: never) to count
what a running collector would.
Targets: written / stored <= 20x at the recommended cadence, and a year of collection under
2 GB written (this hour figure * 8760). Linux only (/proc/self/io).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_bench import TZ, simulate_day

from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore

YEAR_H = 8760
TARGET_RATIO = 20.0
TARGET_YEAR_BYTES = 2e9


def write_bytes() -> int:
    """Bytes this process caused to be written so far (Linux /proc/self/io)."""
    for row in Path("/proc/self/io").read_text().splitlines():
        if row.startswith("write_bytes:"):
            return int(row.split()[1])
    raise RuntimeError("/proc/self/io has no write_bytes line")


def stored_bytes(db: Path) -> int:
    """Pages in use in the main file after a full checkpoint (free pages not counted)."""
    con = sqlite3.connect(db)
    try:
        page = con.execute("PRAGMA page_size").fetchone()[0]
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * page
    finally:
        con.close()


def ticks(first_day: int, hours: int, rng: random.Random) -> Iterator[list[Point]]:
    """The simulated points, one list per 10-s meter sample (with what came along)."""
    day = first_day
    left = hours * 360
    while left > 0:
        batch: list[Point] = []
        for p in simulate_day(day, rng):
            batch.append(p)
            if p.measurement == "meter":
                yield batch
                batch = []
                left -= 1
                if left == 0:
                    return
        day += 1


def write_back(db: Path) -> None:
    """What the kernel's flusher does to the store's dirty pages (fsync of each file)."""
    for suffix in ("", "-wal", "-shm"):
        try:
            fd = os.open(f"{db}{suffix}", os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def run(every_s: int, hours: int, prefill_days: int, tmp: Path,
        writeback_s: int) -> dict[str, float]:
    db = tmp / f"io_{every_s}.sqlite3"
    store = SQLiteStore(db, TZ)
    rng = random.Random(7)
    for day in range(prefill_days):
        store.write(simulate_day(day, rng))
        store.flush()
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    write_back(db)
    before_stored = stored_bytes(db)
    before = write_bytes()
    wall = time.perf_counter()
    per_flush = max(1, every_s // 10)
    per_writeback = writeback_s // 10
    flushes = 0
    for i, batch in enumerate(ticks(prefill_days, hours, rng), start=1):
        store.write(batch)
        if i % per_flush == 0:
            store.flush()
            flushes += 1
        if per_writeback and i % per_writeback == 0:
            write_back(db)
    store.flush()
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    written = write_bytes() - before
    wall = time.perf_counter() - wall
    store.close()
    stored = stored_bytes(db) - before_stored
    return {"written": written, "stored": stored, "flushes": flushes, "wall": wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--every", type=int, nargs="+", default=[10, 60, 300],
                    help="seconds between flushes (several: one run each)")
    ap.add_argument("--prefill-days", type=int, default=30)
    ap.add_argument("--writeback-s", type=int, default=30,
                    help="simulated seconds between write-backs of dirty pages (0: none)")
    ap.add_argument("--dir", type=Path, help="where the stores go (default: a temp dir)")
    args = ap.parse_args(argv)
    print(f"sqlite {sqlite3.sqlite_version}; {args.prefill_days} days prefilled, then "
          f"{args.hours} h of collection per cadence; dirty pages written back every "
          f"{args.writeback_s} s")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for every in args.every:
            r = run(every, args.hours, args.prefill_days, Path(tmp), args.writeback_s)
            per_h = r["written"] / args.hours
            stored_h = r["stored"] / args.hours
            ratio = r["written"] / max(r["stored"], 1)
            year = per_h * YEAR_H
            verdict = "ok" if ratio <= TARGET_RATIO and year < TARGET_YEAR_BYTES else "OVER"
            print(f"flush every {every:4d} s: {int(r['flushes']):6d} flushes, written "
                  f"{per_h / 1e3:8.1f} kB/h, stored {stored_h / 1e3:6.1f} kB/h, "
                  f"ratio {ratio:6.1f}x (target <= {TARGET_RATIO:.0f}x), a year "
                  f"{year / 1e9:5.2f} GB (target < 2 GB) {verdict}; "
                  f"{r['wall'] / args.hours * 1000:.0f} ms wall per hour")
    return 0


if __name__ == "__main__":
    sys.exit(main())
