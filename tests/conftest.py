"""Shared fixtures: a store of each backend, and a real influxd for the session."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heatpump.store.base import Store

BERLIN = ZoneInfo("Europe/Berlin")
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real influxd for the whole session (skips with a reason when none can be had,
    fails instead when HEATPUMP_REQUIRE_INFLUX=1)."""
    from tests.influxd import Influxd, InfluxdUnavailable, find_influxd

    try:
        binary = find_influxd()
    except InfluxdUnavailable as exc:
        if os.environ.get("HEATPUMP_REQUIRE_INFLUX") == "1":
            pytest.fail(f"influxd required (HEATPUMP_REQUIRE_INFLUX=1) but unavailable: {exc}")
        pytest.skip(f"no influxd: {exc}")
    server = Influxd(binary, tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


StoreFactory = Callable[..., Store]


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Builds stores of one backend; every store made in a test shares one database, so a
    second store is a second client (another process's view) of the same data."""
    opened: list[Store] = []
    if request.param == "sqlite":
        from heatpump.store.sqlite import SQLiteStore

        def factory(tz: ZoneInfo = BERLIN) -> Store:
            s = SQLiteStore(tmp_path / "heatpump.sqlite3", tz)
            opened.append(s)
            return s
    else:
        server = request.getfixturevalue("influxd")
        from heatpump.store.influx import InfluxStore

        db = f"test_{os.getpid()}_{next(_db_counter)}"

        def factory(tz: ZoneInfo = BERLIN) -> Store:
            s = InfluxStore(server.url, db, tz)
            opened.append(s)
            return s
    yield factory
    for s in opened:
        with contextlib.suppress(Exception):  # a test may have closed it already
            s.close()


@pytest.fixture
def store(make_store: StoreFactory) -> Store:
    return make_store()
