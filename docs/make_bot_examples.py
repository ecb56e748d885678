"""Regenerate the example replies of docs/bot.md from the synthetic house.

    python docs/make_bot_examples.py

Fills a fresh embedded store with 60 days of tests/synthetic.py (with a meter outage and a
Viessmann quota outage) and prints what the bot answers. The chart gallery of docs/bot.md
comes from a demo store: docs/make_chart_images.py.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import Context, answer  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store.base import Point  # noqa: E402
from heatpump.store.sqlite import SQLiteStore  # noqa: E402
from tests import synthetic  # noqa: E402

NOW = datetime(2026, 11, 27, 10, 3, 20, tzinfo=UTC)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin", "HEATPUMP_DATA_DIR": tmp})
        store = SQLiteStore(Path(tmp) / "heatpump.sqlite3", s.tz)
        synthetic.fill(store, NOW - timedelta(days=60), NOW - timedelta(minutes=8), gaps=[
            synthetic.Gap("meter", NOW - timedelta(days=3, hours=4),
                          NOW - timedelta(days=3, hours=1)),
            synthetic.Gap("heatpump", NOW - timedelta(minutes=47), NOW + timedelta(hours=1),
                          "quota_exhausted")])
        last_poll = max(v.time for v in store.latest("heatpump").values())
        synthetic.message(store, last_poll, code="F.1100", kind="warning",
                          text="Fan blocked", priority="warning")
        store.write([
            Point("meter", NOW - timedelta(seconds=6), {"power_w": 1480.0},
                  {"device": synthetic.METER}),
            Point("health", last_poll + timedelta(minutes=4),
                  {"status": "down", "reason": "quota_exhausted",
                   "detail": "Viessmann API daily limit reached (HTTP 429)",
                   "until": "2026-11-27T23:00:00+00:00", "failures": 1},
                  {"source": "vicare", "device": synthetic.PUMP})])
        store.flush()
        ctx = Context(store, s, lambda: NOW)
        for text in ("/status", "/jaz", "/jaz 7d", "/jaz 2026-11", "/jaz 2031", "/live"):
            reply = answer(text, ctx)
            print(f"$ heatpump chat {text}\n{reply.text}\n")
        store.close()


if __name__ == "__main__":
    main()
