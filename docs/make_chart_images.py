"""Regenerate the chart gallery of docs/bot.md (docs/img/chart-<kind>-<range>-<lang>.png)
from a demo store, in English and German.

    HEATPUMP_TZ=Europe/Berlin HEATPUMP_DATA_DIR=/tmp/demo heatpump demo --days 30
    HEATPUMP_TZ=Europe/Berlin python docs/make_chart_images.py /tmp/demo [out-dir] [at]

The charts are drawn at `at` (an ISO time; default the demo's last meter sample), in the
zone the demo was written in
(HEATPUMP_TZ; its daily rollups are that zone's days). 30 days of demo data also show a
partial month (the demo's first days) in the 12-month view.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import charts  # noqa: E402
from bot.commands import Context, chart_of  # noqa: E402
from heatpump.i18n import using  # noqa: E402
from heatpump.settings import Settings  # noqa: E402
from heatpump.store.sqlite import SQLiteStore  # noqa: E402

VIEWS = (("power", "24h"), ("temps", "24h"), ("cop", "30d"), ("energy", "30d"),
         ("starts", "30d"), ("heat", "30d"), ("cop-outdoor", "30d"), ("flow", "7d"),
         ("cop", "12m"))


def main() -> None:
    data = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    s = Settings.from_env()
    with SQLiteStore(data / "demo" / "heatpump.sqlite3", s.tz) as store:
        now = (datetime.fromisoformat(sys.argv[3]) if len(sys.argv) > 3
               else max(v.time for v in store.latest("meter").values()))
        ctx = Context(store, s, lambda: now)
        for kind, rng in VIEWS:
            for lang in ("en", "de"):
                with using(lang):
                    png, caption = charts.chart_png(chart_of(ctx, kind, rng))
                (out / f"chart-{kind}-{rng}-{lang}.png").write_bytes(png)
                print(f"chart-{kind}-{rng}-{lang}.png: {caption}")


if __name__ == "__main__":
    main()
