"""Latency of the bot's heaviest answers on a year of data in the embedded store.

Builds (once, cached in benchmarks/out/) a year of the synthetic house through the store's
real write path: meter samples and per-minute electricity, 5-minute heat pump polls, heat
and the device's own electricity per circuit, API calls. Then times /status, /jaz 12m and
/chart 12m against /chart 24h (median of several runs, each answered exactly as in a chat).

Targets: each under 1 s; /chart 12m within 2x of /chart 24h.

Then the flood (issue 16): the whole bot (python-telegram-bot's real client) against the
fake Bot API on 127.0.0.1 (tests/fakes/telegram.py), one chat sends 200 /chart 12m at once
and another chat asks /status every 0.5 s meanwhile; each /status is timed from the moment
its update is offered to the moment its answer reaches the API. Target: every /status of
the other chat under 2 s during the flood.

    python benchmarks/bot_bench.py [--days 365] [--runs 5] [--rebuild] [--flood 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import Context, answer  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store.sqlite import SQLiteStore  # noqa: E402
from tests import synthetic  # noqa: E402

# a fixed "now" so the cached year stays valid between runs
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def build(path: Path, days: int, settings: Settings) -> SQLiteStore:
    marker = path.with_suffix(f".{days}d.done")
    if marker.exists():
        return SQLiteStore(path, settings.tz)
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(path, settings.tz)
    t0 = time.perf_counter()
    start = NOW - timedelta(days=days)
    gaps = [synthetic.Gap("meter", NOW - timedelta(days=40), NOW - timedelta(days=39, hours=20)),
            synthetic.Gap("heatpump", NOW - timedelta(days=100), NOW - timedelta(days=99),
                          "quota_exhausted")]
    n = synthetic.fill(store, start, NOW - timedelta(minutes=5), gaps=gaps, meter_step_s=60)
    print(f"built {days} days: {n:,} points in {time.perf_counter() - t0:.0f} s -> {path}")
    marker.touch()
    return store


def timed(ctx: Context, text: str, runs: int) -> tuple[float, str]:
    answer(text, ctx)  # warm (first matplotlib draw, SQLite page cache)
    samples = []
    reply = None
    for _ in range(runs):
        t0 = time.perf_counter()
        reply = answer(text, ctx)
        samples.append(time.perf_counter() - t0)
    assert reply is not None and not reply.text.startswith("Sorry"), reply
    return statistics.median(samples), reply.text.splitlines()[0]


def flood(store: SQLiteStore, out: Path, charts: int, probes: int = 10) -> bool:
    """/status latencies of one chat while another floods /chart 12m; True when all < 2 s."""
    from bot.telegram_app import BotApp
    from tests.fakes.telegram import TOKEN, FakeBotApi, PollingThread

    flooder, other = 4242, -100777
    api = FakeBotApi().start()
    settings = Settings.from_mapping({
        "HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": str(out / "flood"),
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_ALLOWED_CHAT_IDS": f"{flooder},{other}",
        "TELEGRAM_API_BASE_URL": api.url})
    bot = BotApp(settings, store, now=lambda: NOW, first_check_s=3600)
    polling = PollingThread(bot.build(), api)
    polling.start()
    try:
        api.wait_for(lambda c: c.method == "setMyCommands", timeout=60)
        for _ in range(charts):
            api.push_text(flooder, "/chart 12m")
        latencies = []
        for _ in range(probes):
            n = len(api.calls)
            t0 = time.perf_counter()
            api.push_text(other, "/status")
            api.wait_for(lambda c: c.method == "sendMessage"
                         and int(c.params["chat_id"]) == other, after=n, timeout=120)
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.5)
        drawn_meanwhile = bot.renders.drawn
        deadline = time.monotonic() + 120
        while bot.renders.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        photos = len([c for c in api.sent_to(flooder) if c.method == "sendPhoto"])
    finally:
        polling.stop()
        api.stop()
    worst = max(latencies)
    ok = worst < 2.0
    print(f"flood of {charts} /chart 12m from one chat: /status in another chat "
          f"median {statistics.median(latencies) * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
          f"over {probes} probes ({'ok' if ok else 'SLOW'}, target < 2 s; "
          f"{worst / 2.0:.2f} of the target)")
    print(f"  charts drawn while probing: {drawn_meanwhile}; in all: {photos} sent, "
          f"{charts - photos} refused (at most {bot.renders.per_chat} per chat at a time)")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--flood", type=int, default=200, metavar="N",
                    help="charts in the flood (0: skip the flood)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = ap.parse_args()
    settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": args.out})
    path = Path(args.out) / "bot_bench.sqlite3"
    if args.rebuild:
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        for p in path.parent.glob("bot_bench.*.done"):
            p.unlink()
    store = build(path, args.days, settings)
    ctx = Context(store, settings, lambda: NOW)
    results = {}
    for text in ("/status", "/jaz 12m", "/chart 24h", "/chart 12m", "/chart cop 12m",
                 "/chart energy 12m", "/chart starts 12m", "/chart temps 12m"):
        secs, first = timed(ctx, text, args.runs)
        results[text] = secs
        flag = "ok" if secs < 1.0 else "SLOW (target < 1 s)"
        print(f"{text:20s} {secs * 1000:7.0f} ms  {flag:20s} {first[:60]}")
    ratio = results["/chart 12m"] / results["/chart 24h"]
    print(f"/chart 12m vs /chart 24h: {ratio:.2f}x "
          f"({'ok' if ratio <= 2 else 'OVER'} target <= 2x)")
    worst = max(results[k] for k in ("/status", "/jaz 12m", "/chart 12m"))
    ok = worst < 1.0 and ratio <= 2
    if args.flood:
        ok = flood(store, Path(args.out), args.flood) and ok
    print("targets met" if ok else "targets MISSED")
    store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
