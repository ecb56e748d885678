"""What only the embedded store has: its file, and two processes using it at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

from heatpump.schema import HEATPUMP
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


def _vm_steps(store: SQLiteStore, read) -> int:
    """SQLite virtual-machine instructions a read executes (a count, not a time)."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._db.set_progress_handler(count, 1)
    try:
        read()
    finally:
        store._db.set_progress_handler(None, 1)
    return steps


def test_latest_reads_as_much_after_years_as_after_days(tmp_path: Path):
    """latest() of a field the device never reports (/jaz asks for the device's SPF), of
    every field, and of a field that stopped: bounded by last_seen, not by the history."""
    from heatpump.schema import MEASUREMENTS

    never = [f.name for f in MEASUREMENTS["heatpump"].fields if f.name.startswith("device_")]
    steps = []
    for days in (3, 60):
        s = SQLiteStore(tmp_path / f"{days}.sqlite3", BERLIN)
        end = datetime(2026, 3, 1, tzinfo=UTC)
        s.write([Point("heatpump", end - timedelta(days=days), {"compressor_starts": 1},
                       {"device": "hp"})])  # a counter reported once, long ago
        t = end - timedelta(days=days)
        while t < end:
            s.write([Point("heatpump", t, {"outside_temp_c": 1.0, "flow_l_h": 900.0},
                           {"device": "hp"})])
            t += timedelta(minutes=5)
        s.flush()
        steps.append([_vm_steps(s, lambda s=s: s.latest("heatpump", never)),
                      _vm_steps(s, lambda s=s: s.latest("heatpump")),
                      _vm_steps(s, lambda s=s: s.latest("heatpump", ["compressor_starts"]))])
        assert s.latest("heatpump", ["compressor_starts"])["compressor_starts"].value == 1
        s.close()
    assert steps[0] == steps[1], steps


def test_a_layout_2_store_is_upgraded_in_place(tmp_path: Path):
    import sqlite3

    db = tmp_path / "heatpump.sqlite3"
    with SQLiteStore(db, BERLIN) as s:
        s.write([Point("meter", T0, {"power_w": 1.0, "energy_import_wh": 5.0}, {"device": "d"}),
                 Point("meter", T0 + timedelta(days=9), {"power_w": 2.0}, {"device": "d"})])
        s.flush()
    con = sqlite3.connect(db)  # what layout 2 looked like: no last_seen
    con.execute("DROP TABLE last_seen")
    con.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    con.commit()
    con.close()
    with SQLiteStore(db, BERLIN) as s:
        got = s.latest("meter")
        assert (got["power_w"].value, got["energy_import_wh"].value) == (2.0, 5.0)
        assert got["energy_import_wh"].time == T0
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == \
        ("3",)
    con.close()


def test_a_new_store_gets_small_pages_and_an_old_one_keeps_its_own(tmp_path: Path):
    import sqlite3

    with SQLiteStore(tmp_path / "new.sqlite3", BERLIN) as s:
        s.write([Point("meter", T0, {"power_w": 1.0}, {"device": "d"})])
        s.flush()
        assert s._db.execute("PRAGMA page_size").fetchone() == (1024,)
    old = tmp_path / "old.sqlite3"
    con = sqlite3.connect(old)  # made with SQLite's default page size by an older version
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    with SQLiteStore(old, BERLIN) as s:
        s.write([Point("meter", T0, {"power_w": 1.0}, {"device": "d"})])
        s.flush()
        assert s._db.execute("PRAGMA page_size").fetchone() == (4096,)
        assert s.latest("meter")["power_w"].value == 1.0


def test_many_rows_of_a_series_go_in_as_if_one_by_one(tmp_path: Path):
    """A flush inserts up to ROWS_PER_INSERT rows with one statement (SQLiteStore._upsert):
    every row still merges with what is stored and with the rows before it, in order,
    across statement boundaries and in the rest that goes row by row."""
    from heatpump.store.sqlite import ROWS_PER_INSERT

    store = SQLiteStore(tmp_path / "heatpump.sqlite3", BERLIN)
    store.write([Point("meter", T0 + timedelta(seconds=10 * i), {"uptime_s": i},
                       {"device": "d"}) for i in (0, 5, 70)])
    store.flush()
    n = 3 * ROWS_PER_INSERT + 7  # three whole statements and a rest
    times = [10 * (i % 150) for i in range(n)]  # the last ~60 come again, later
    store.write([Point("meter", T0 + timedelta(seconds=t), {"power_w": float(i)},
                       {"device": "d"}) for i, t in enumerate(times)])
    wide = {f.name: (1.5 if f.type == "float" else 2 if f.type == "int" else
                     True if f.type == "bool" else "x")
            for f in HEATPUMP.fields}
    store.write([Point("heatpump", T0 + timedelta(minutes=i), {**wide, "outside_temp_c": i + 0.5},
                       {"device": "hp"}) for i in range(100)])  # 999 // fields rows at once
    store.flush()
    want: dict[int, dict[str, object]] = {0: {"uptime_s": 0}, 50: {"uptime_s": 5},
                                          700: {"uptime_s": 70}}
    for i, t in enumerate(times):
        want.setdefault(t, {})["power_w"] = float(i)
    got = store.points("meter", T0, T0 + timedelta(hours=1))
    assert {int((p.time - T0).total_seconds()): dict(p.fields) for p in got} == want
    pumps = store.points("heatpump", T0, T0 + timedelta(hours=2))
    assert [p.fields["outside_temp_c"] for p in pumps] == [i + 0.5 for i in range(100)]
    assert all(p.fields == {**wide, "outside_temp_c": p.fields["outside_temp_c"]}
               for p in pumps)
    store.close()
