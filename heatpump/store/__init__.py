"""The time-series store: embedded SQLite by default, InfluxDB when INFLUX_URL is set."""

from __future__ import annotations

from heatpump.settings import Settings
from heatpump.store.base import (
    BucketSum,
    Latest,
    Point,
    Series,
    Store,
    StoreError,
    StoreInfo,
)

SQLITE_FILE = "heatpump.sqlite3"


def open_store(settings: Settings, demo: bool = False) -> Store:
    """The configured store. `demo=True` always uses a separate embedded file under
    `<data dir>/demo/`, so a demo never touches a user's real data."""
    if demo:
        from heatpump.store.sqlite import SQLiteStore

        return SQLiteStore(settings.data_dir / "demo" / SQLITE_FILE, settings.tz)
    if settings.influx_url:
        from heatpump.store.influx import InfluxStore

        return InfluxStore(
            settings.influx_url,
            settings.influx_bucket,
            settings.tz,
            token=settings.influx_token,
            username=settings.influx_username,
            password=settings.influx_password,
        )
    from heatpump.store.sqlite import SQLiteStore

    return SQLiteStore(settings.data_dir / SQLITE_FILE, settings.tz)


__all__ = ["BucketSum", "Latest", "Point", "Series", "Store", "StoreError", "StoreInfo",
           "open_store"]
