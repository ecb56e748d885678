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


def influxd_binary() -> Path:
    """The influxd binary, or skip the test saying why; with HEATPUMP_REQUIRE_INFLUX=1 (CI)
    a missing influxd fails instead."""
    from tests.influxd import InfluxdUnavailable, find_influxd

    try:
        return find_influxd()
    except InfluxdUnavailable as exc:
        if os.environ.get("HEATPUMP_REQUIRE_INFLUX") == "1":
            pytest.fail(f"influxd required (HEATPUMP_REQUIRE_INFLUX=1) but unavailable: {exc}")
        pytest.skip(f"no influxd: {exc}")


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real influxd shared by the session: do not stop it (use make_influxd for that)."""
    from tests.influxd import Influxd

    server = Influxd(influxd_binary(), tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_influxd(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Private influxd servers for one test, which may stop() and start() them at will
    (same port, same data); all are stopped at the end. `make_influxd(auth=True)`."""
    from tests.influxd import Influxd

    servers: list[Influxd] = []

    def factory(auth: bool = False, start: bool = True) -> Influxd:
        server = Influxd(influxd_binary(), tmp_path / f"influxd{len(servers)}", auth=auth)
        servers.append(server)
        if start:
            server.start()
        return server

    yield factory
    for server in servers:
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


@pytest.fixture(scope="session", autouse=True)
def _heartbeat_folders_in_ram() -> Iterator[None]:
    """Every test data dir gets its heartbeat folder in /dev/shm (heatpump/heartbeat.py):
    the ones this session made are removed at its end, so RAM does not fill up run after run."""
    import shutil

    from heatpump.heartbeat import RAM_DIR

    pattern = f"heatpump-{os.geteuid()}-*"
    before = set(RAM_DIR.glob(pattern)) if RAM_DIR.is_dir() else set()
    yield
    if RAM_DIR.is_dir():
        for folder in set(RAM_DIR.glob(pattern)) - before:
            shutil.rmtree(folder, ignore_errors=True)
