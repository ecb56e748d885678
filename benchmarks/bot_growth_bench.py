"""Do the bot's answers and its alert check cost the same on three years of data as on one?

    python benchmarks/bot_growth_bench.py [--backend sqlite|influx|both] [--data DIR]
                                          [--years 1 3] [--rounds 9] [--meter-step 300]

Issue 16's measure: /status, /jaz 12m, /chart 12m and one alert check on a 3-year store cost
at most 1.2x what they cost on a 1-year store, on SQLite and on InfluxDB (a real influxd, as
the tests start it). Each store holds the bot's synthetic house (tests/synthetic.py: meter
samples and their electricity every `--meter-step` seconds, 5-minute heat pump polls, heat
and the device's electricity per circuit, API calls; every 90 days a meter outage and a day
of exhausted Viessmann quota, with the collector's health points), written through the
store's own write path and ending at today's local midnight (benchmarks/growth_stores.py
builds and keeps them).

Timed through the bot's real code path at the data's last minute: `bot.commands.answer`
(what Telegram and `heatpump chat` call; the chart is drawn to PNG) and
`AlertService.check` (what the bot's alert job runs): the first check of an hour (a new
service, so the daily figures are read), a check with the daily figures cached (most checks),
and a first check an hour after both sources fell silent (the last sample is then looked for
beyond the last 15 minutes). Each run meets the store as the bot does minutes after its last
read: InfluxDB's field keys, which the client caches for a minute, have expired. The two
stores take turns in every round (median of `--rounds`), so load on a shared machine
stretches both; the ratio is 3-year / 1-year cost, of the medians (held to the target) and of
the fastest runs (which the load stretches least).

`--data DIR` keeps the stores for a later run the same day (building both took about 3
minutes on SQLite and 11 on InfluxDB on a busy 2-core machine). Exit status 0 when every
ratio meets the target. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import growth_stores
from store_bench import TZ, samples

from bot.alerts.service import AlertService
from bot.commands import Context, answer
from heatpump.schema import HEALTH_SOURCE
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from tests import synthetic

TARGET = 1.2
COMMANDS = ("/status", "/jaz 12m", "/chart 12m")
SILENT_FOR = timedelta(hours=1)


# (days back from the end of the data to the newest, length, source, reason) of outages
# that come back every OUTAGE_EVERY
OUTAGES = ((timedelta(days=40), timedelta(hours=4), "meter", "unreachable"),
           (timedelta(days=100), timedelta(days=1), "heatpump", "quota_exhausted"))
OUTAGE_EVERY = timedelta(days=90)


def outages(start: datetime, end: datetime) -> list[synthetic.Gap]:
    """What a real house's history holds every few months (OUTAGES), counted back from
    `end`, so every store has the same recent ones and a bigger one older ones too: a 4-hour
    meter outage every 90 days from 40 days back, a day of exhausted Viessmann quota every
    90 days from 100 days back."""
    gaps = []
    for back, length, source, reason in OUTAGES:
        while end - back >= start:
            gaps.append(synthetic.Gap(source, end - back, end - back + length, reason))
            back += OUTAGE_EVERY
    return sorted(gaps, key=lambda g: g.start)


def synthetic_fill(meter_step_s: int) -> growth_stores.Fill:
    """A `Fill` writing the synthetic house with meter samples every `meter_step_s` and the
    `outages` (the collector's health points, a quota wait with its `until`)."""

    def fill(store: Store, days: int, start: datetime) -> str:
        end = start + timedelta(days=days)
        gaps = outages(start, end)
        n = synthetic.fill(store, start, end, gaps=gaps, meter_step_s=meter_step_s)
        store.write(Point("health", g.start, {"until": g.end.astimezone(UTC).isoformat()},
                          {"source": HEALTH_SOURCE["heatpump"], "device": synthetic.PUMP})
                    for g in gaps if g.reason == "quota_exhausted")
        store.flush()
        return f"wrote {days} days of the synthetic house: {n:,} points, {len(gaps)} outages"

    return fill


@dataclass(frozen=True)
class Timing:
    """Median and fastest run of one operation on the smaller and the bigger store (s)."""

    label: str
    small_s: float
    big_s: float
    small_best_s: float
    big_best_s: float

    @property
    def ratio(self) -> float:
        return self.big_s / self.small_s

    @property
    def best_ratio(self) -> float:
        return self.big_best_s / self.small_best_s

    @property
    def ok(self) -> bool:
        return self.ratio <= TARGET


def operations(store: Store, state_dir: Path, end: datetime
               ) -> list[tuple[str, Callable[[], object]]]:
    """(label, one run) of each timed operation on `store`, the data ending at `end`; the
    bot's state (live request, alert state) goes to `state_dir`. A run raises when the bot
    answers with an error instead of doing the work."""
    settings = Settings.from_mapping({"HEATPUMP_TZ": TZ.key,
                                      "HEATPUMP_DATA_DIR": str(state_dir)})
    now = end - timedelta(minutes=1)
    silent = end + SILENT_FOR
    ctx = Context(store, settings, lambda: now)

    def command(text: str) -> Callable[[], object]:
        def run() -> object:
            reply = answer(text, ctx)
            if reply.failed or reply.text.startswith(("Sorry", "I did not understand")):
                raise RuntimeError(f"{text} answered: {reply.text[:200]}")
            return reply
        return run

    def first_check(at: datetime) -> Callable[[], object]:
        return lambda: AlertService(settings, store, now=lambda: at, apprise=False).check(at)

    cached = AlertService(settings, store, now=lambda: now, apprise=False)
    ops = [*((text, command(text)) for text in COMMANDS),
           ("alert check, first of the hour", first_check(now)),
           ("alert check, daily figures cached", lambda: cached.check(now)),
           (f"alert check, sources silent {SILENT_FOR.seconds // 3600} h", first_check(silent))]
    expire = getattr(store, "expire_field_keys", None)  # InfluxDB's client-side cache
    if expire is None:
        return ops

    def minutes_apart(run: Callable[[], object]) -> Callable[[], object]:
        def after_a_pause() -> object:
            expire()
            return run()
        return after_a_pause

    return [(label, minutes_apart(run)) for label, run in ops]


def compare(small: Store, big: Store, state_dir: Path, end: datetime,
            rounds: int) -> list[Timing]:
    """Time each operation on both stores (taking turns, median of `rounds`; the fastest
    run too, which a busy machine stretches least) and print."""
    print(f"{'median of the runs':36s} {'small':>8s} {'big':>8s}    {'ratio':>6s} target"
          "    (fastest run: small, big, ratio)")
    out = []
    for (label, run_small), (_l, run_big) in zip(
            operations(small, state_dir / "small", end),
            operations(big, state_dir / "big", end), strict=True):
        runs = samples([run_small, run_big], repeat=rounds)
        t = Timing(label, *(statistics.median(r) for r in runs), *(min(r) for r in runs))
        out.append(t)
        print(f"{label:36s} {t.small_s * 1000:8.1f} {t.big_s * 1000:8.1f} ms "
              f"{t.ratio:5.2f}x {'ok' if t.ok else f'OVER {TARGET}x':9s} "
              f"(fastest {t.small_best_s * 1000:7.1f} {t.big_best_s * 1000:7.1f} ms "
              f"{t.best_ratio:5.2f}x)", flush=True)
    return out


def run_sqlite(base: Path, days: list[int], fill: growth_stores.Fill, end: datetime,
               rounds: int) -> list[Timing]:
    stores = [growth_stores.sqlite_store(base, "bot_growth", d, end, fill) for d in days]
    try:
        info = stores[0].info()
        print(f"\n== {info.backend} {info.version}: {days[0]} days vs {days[1]} days", flush=True)
        return compare(stores[0], stores[1], base / "bot_growth_state_sqlite", end, rounds)
    finally:
        for s in stores:
            s.close()


def run_influx(base: Path, days: list[int], fill: growth_stores.Fill, end: datetime,
               rounds: int) -> list[Timing]:
    with growth_stores.influx_server(base) as server:
        stores = [growth_stores.influx_store(server, base, "bot_growth", d, end, fill)
                  for d in days]
        try:
            growth_stores.settled(server, [f"bot_growth_{d}" for d in days])
            info = stores[0].info()
            print(f"\n== {info.backend} {info.version}: {days[0]} days vs {days[1]} days",
                  flush=True)
            return compare(stores[0], stores[1], base / "bot_growth_state_influx", end, rounds)
        finally:
            for s in stores:
                s.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "influx", "both"), default="both")
    ap.add_argument("--data", type=Path, metavar="DIR", help="keep and reuse the stores")
    ap.add_argument("--years", type=int, nargs=2, default=[1, 3])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--meter-step", type=int, default=300, choices=(10, 30, 60, 300),
                    help="seconds between meter samples in the synthetic house")
    args = ap.parse_args(argv)
    days = [365 * y for y in args.years]
    end = growth_stores.data_end(TZ)
    fill = synthetic_fill(args.meter_step)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} at start; data ends "
          f"{end.astimezone(UTC):%Y-%m-%d %H:%M} UTC; target: {days[1]} days <= {TARGET}x "
          f"{days[0]} days")
    timings: list[Timing] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.data or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        if args.data is not None and args.meter_step != 300:
            base = base / f"meter_step_{args.meter_step}"
            base.mkdir(exist_ok=True)
        if args.backend in ("sqlite", "both"):
            timings += run_sqlite(base, days, fill, end, args.rounds)
        if args.backend in ("influx", "both"):
            timings += run_influx(base, days, fill, end, args.rounds)
    missed = [t.label for t in timings if not t.ok]
    print("targets met" if not missed else f"targets MISSED: {', '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
