"""Stores holding one year and three years of data, for the benchmarks that ask whether a
read costs more when the store keeps more history (store_growth_bench.py: the store's reads;
bot_growth_bench.py: the bot's answers and the alert check).

Every store ends at the same instant (`data_end()`: today's local midnight, so "now" is where
the data ends, as in a running installation); a bigger store only adds older history. The
data comes from a `Fill`, a function writing `days` days from `start` through the store's own
`write`/`flush`. A store is kept in a given directory with a marker naming its days and end,
so a later run the same day reuses it instead of ingesting again (three years take minutes).

The InfluxDB stores are databases of one `influxd` (tests/influxd.py) that writes its cache
to TSM files 5 s after the last write; `settled()` waits for that before anything is timed,
since data still in influxd's write cache reads at another speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from store_bench import TZ, holds

from heatpump.store.base import Store

if TYPE_CHECKING:
    from heatpump.store.influx import InfluxStore
    from heatpump.store.sqlite import SQLiteStore
    from tests.influxd import Influxd

# influxd writes a shard's cache to a TSM file this long after its last write (default 10 min)
QUICK_SNAPSHOT = {"INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION": "5s"}

Fill = Callable[[Store, int, datetime], str]  # (store, days, start) -> a summary line


def data_end(tz: ZoneInfo = TZ) -> datetime:
    """Today's local midnight in `tz`: where every store of a run ends."""
    return datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def ensure(store: Store, days: int, end: datetime, fill: Fill, marker: Path) -> None:
    """Fill `store` with `days` days up to `end` unless `marker` says it holds them."""
    if holds(marker, days):
        print(f"  reusing {days} days in {store.info().location}")
        return
    print(f"  {fill(store, days, end - timedelta(days=days))}", flush=True)
    marker.write_text(f"{days}\n")


def sqlite_store(base: Path, name: str, days: int, end: datetime, fill: Fill,
                 tz: ZoneInfo = TZ) -> SQLiteStore:
    """`<base>/<name>_<days>.sqlite3` holding `days` days up to `end` (kept, or built anew
    when its marker says otherwise: other days, another end, or half an ingest)."""
    from heatpump.store.sqlite import SQLiteStore

    db = base / f"{name}_{days}.sqlite3"
    marker = base / f"{name}_{days}_to_{end:%Y%m%d}.sqlite.days"
    if not (holds(marker, days) and db.is_file()):
        marker.unlink(missing_ok=True)
        for f in base.glob(f"{name}_{days}.sqlite3*"):
            f.unlink()
    store = SQLiteStore(db, tz)
    ensure(store, days, end, fill, marker)
    return store


def influx_server(base: Path) -> Influxd:
    """An influxd (not started: use it as a context manager) with its data in
    `<base>/influxd`, writing caches to TSM files quickly (see settled())."""
    from tests.influxd import Influxd, find_influxd

    return Influxd(find_influxd(), base / "influxd", settings=QUICK_SNAPSHOT)


def influx_store(server: Influxd, base: Path, name: str, days: int, end: datetime, fill: Fill,
                 tz: ZoneInfo = TZ) -> InfluxStore:
    """Database `<name>_<days>` of `server` holding `days` days up to `end` (kept, or
    dropped and built anew when the marker in `base` says otherwise)."""
    from heatpump.store.influx import InfluxStore

    database = f"{name}_{days}"
    marker = base / f"{name}_{days}_to_{end:%Y%m%d}.influx.days"
    if not holds(marker, days):
        marker.unlink(missing_ok=True)
        server.query(f'DROP DATABASE "{database}"')
    store = InfluxStore(server.url, database, tz)
    ensure(store, days, end, fill, marker)
    return store


def settled(server: Influxd, databases: list[str], timeout_s: float = 300.0) -> bool:
    """Wait until influxd has written every shard's data to TSM files: data still in its
    write cache (just ingested, or replayed from the WAL at start) reads at another speed,
    which would compare the server's state instead of the stores' size. False (said) when
    that did not happen within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    data = server.dir / "data"
    while time.monotonic() < deadline:
        shards = [sh for db in databases for sh in (data / db / "autogen").iterdir()]
        if shards and all(any(sh.glob("*.tsm")) for sh in shards):
            return True
        time.sleep(2)
    print(f"  (not every shard was written to TSM files within {timeout_s:.0f} s)")
    return False
