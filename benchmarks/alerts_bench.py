"""Alert check benchmark: how long one scheduled check takes on a store with a year of data.

    python benchmarks/alerts_bench.py [--days 365]

Data: the bot's synthetic house (tests/synthetic.py: meter samples, per-minute electricity,
5-minute heat pump polls and heat) in the embedded store. Times a cold check (daily figures
read from the store) and warm checks (daily figures cached for an hour, as in the bot).

Target: a warm check costs under 1 % of ALERT_CHECK_MINUTES=1 (the shortest allowed), a
cold one under 10 % — alerts never make the bot sluggish.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.alerts.service import AlertService
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests import synthetic


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                          "HEATPUMP_DATA_DIR": tmp})
        store = SQLiteStore(Path(tmp) / "heatpump.sqlite3", settings.tz)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        end = start + timedelta(days=args.days)
        t = time.perf_counter()
        synthetic.fill(store, start, end)
        print(f"filled {args.days} days in {time.perf_counter() - t:.1f} s")
        now = end - timedelta(minutes=1)
        svc = AlertService(settings, store, now=lambda: now)
        t = time.perf_counter()
        svc.check(now)
        cold = time.perf_counter() - t
        warm = []
        for i in range(20):
            t = time.perf_counter()
            svc.check(now + timedelta(seconds=i))
            warm.append(time.perf_counter() - t)
        w = statistics.median(warm)
        interval = 60.0
        print(f"cold check {cold * 1000:.0f} ms = {cold / interval:.2%} of 1 min "
              f"(target < 10 %)")
        print(f"warm check {w * 1000:.1f} ms = {w / interval:.3%} of 1 min (target < 1 %)")
        store.close()
        ok = cold / interval < 0.10 and w / interval < 0.01
        print("OK" if ok else "TOO SLOW")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
