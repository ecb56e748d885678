"""What only the embedded store has: its file, and two processes using it at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.conftest import BERLIN

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def test_open_store_picks_the_embedded_file_and_demo_is_separate(tmp_path: Path):
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC"})
    with open_store(settings) as real:
        assert real.info().backend == "sqlite"
        assert real.info().location == str(tmp_path / "heatpump.sqlite3")
        real.write([Point("meter", T0, {"power_w": 1.0}, {"device": "d"})])
        real.flush()
    with open_store(settings, demo=True) as demo:
        assert demo.info().location == str(tmp_path / "demo" / "heatpump.sqlite3")
        assert demo.latest("meter") == {}
    assert (tmp_path / "heatpump.sqlite3").is_file()


def test_open_store_demo_ignores_influx(tmp_path: Path):
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path),
                                      "INFLUX_URL": "http://127.0.0.1:9"})
    with open_store(settings, demo=True) as demo:
        assert demo.info().backend == "sqlite"


WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo
    from heatpump.store.base import Point
    from heatpump.store.sqlite import SQLiteStore
    s = SQLiteStore(sys.argv[1], ZoneInfo("Europe/Berlin"))
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    for batch in range(40):
        s.write([Point("meter", t0 + timedelta(seconds=10 * (batch * 250 + i)),
                       {"power_w": 2.0}, {"device": "d"}) for i in range(250)])
        s.flush()
    s.close()
""")


def test_a_writer_process_and_a_reader_work_at_once(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    reader = SQLiteStore(db, BERLIN)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=Path(__file__).parents[3])
    day = datetime(2026, 1, 5, tzinfo=BERLIN)
    seen = []
    while proc.poll() is None:  # reads while the other process writes: never "locked"
        rows = reader.sums("meter", ["power_w"], day, day + timedelta(days=3), "day", BERLIN)
        seen.append(sum(r.values["power_w"] for r in rows))
        reader.write([Point("health", datetime.now(UTC), {"status": "up"},
                            {"source": "bot", "device": "x"})])
        reader.flush()  # and this process writes too
    assert proc.wait() == 0
    assert seen == sorted(seen)  # totals only grow: each flush is atomic
    rows = reader.sums("meter", ["power_w"], day, day + timedelta(days=3), "day", BERLIN)
    assert sum(r.values["power_w"] for r in rows) == 2.0 * 40 * 250
    assert len(reader.points("meter", T0 - timedelta(days=1), T0 + timedelta(days=3))) == 10000
    reader.close()


def test_a_file_of_another_layout_is_refused_clearly(tmp_path: Path):
    import sqlite3

    import pytest

    from heatpump.store.base import StoreError

    db = tmp_path / "old.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="layout 1"):
        SQLiteStore(db, BERLIN)
