"""The embedded store's open hour: the newest hour's rollups are not rewritten at every flush,
yet every read answers as if everything were rolled up (heatpump/store/sqlite.py)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.conftest import BERLIN

DAY0 = datetime(2026, 3, 28, tzinfo=BERLIN)  # spring DST on the 29th: a 23-hour day
START = DAY0.astimezone(UTC)
DAYS = 3


def elec(minute: int, wh: float, device: str) -> Point:
    return Point("electricity", START + timedelta(minutes=minute), {"energy_wh": wh},
                 {"device": device, "source": "meter", "circuit": "total"})


def stored_rows(db: Path, measurement: str) -> list[tuple[int, float]]:
    """(t_ms, energy_wh_sum) of the rows stored in a rollup table, read behind the store."""
    con = sqlite3.connect(db)
    try:
        tbl = con.execute("SELECT tbl FROM measurements WHERE name = ?",
                          (measurement,)).fetchone()[0]
        col = con.execute("SELECT col FROM fields WHERE measurement = ? AND name = ?",
                          (measurement, "energy_wh_sum")).fetchone()[0]
        return sorted(con.execute(f"SELECT t_ms, {col} FROM {tbl}").fetchall())
    finally:
        con.close()


def expected(truth: dict[tuple[str, int], float]) -> dict[str, dict]:
    hours: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    days: dict[datetime, float] = defaultdict(float)
    for (device, minute), wh in truth.items():
        t = START + timedelta(minutes=minute)
        hours[(device, t.replace(minute=0))].append(wh)
        local = t.astimezone(BERLIN)
        days[datetime(local.year, local.month, local.day, tzinfo=BERLIN)] += wh
    return {"hours": hours, "days": days}


def check(store: SQLiteStore, truth: dict[tuple[str, int], float]) -> None:
    want = expected(truth)
    end = DAY0 + timedelta(days=DAYS + 1)
    by_hour = store.sums("electricity", ["energy_wh"], DAY0, end, "hour", BERLIN,
                         group_by=["device"])
    assert {(r.tags["device"], r.start): r.values["energy_wh"] for r in by_hour} == \
        {k: sum(v) for k, v in want["hours"].items()}
    by_day = store.sums("electricity", ["energy_wh"], DAY0, end, "day", BERLIN)
    assert {r.start: r.values["energy_wh"] for r in by_day} == dict(want["days"])
    [month] = store.sums("electricity", ["energy_wh"], DAY0.replace(day=1),
                         datetime(2026, 4, 1, tzinfo=BERLIN), "month", BERLIN) or [None]
    march = sum(v for d, v in want["days"].items() if d.month == 3)
    assert (month.values["energy_wh"] if month else 0.0) == march
    hourly = store.series("electricity", "energy_wh", DAY0, end, max_points=100)
    assert hourly.step == timedelta(hours=1)
    means: dict[datetime, list[float]] = defaultdict(list)
    for (_dev, h), v in want["hours"].items():
        means[h] += v
    assert {t: v for t, v in zip(hourly.times(), hourly.values, strict=True)
            if v is not None} == {t: sum(v) / len(v) for t, v in means.items()}
    points = store.points("electricity_1h", DAY0, end)
    assert {(p.tags["device"], p.time): (p.fields["energy_wh_sum"], p.fields["energy_wh_count"])
            for p in points} == {k: (sum(v), len(v)) for k, v in want["hours"].items()}
    assert store.tag_values("electricity_1h", "device") == sorted({d for d, _m in truth})


batches = st.lists(st.lists(st.tuples(st.integers(0, DAYS * 24 * 60 - 1),
                                      st.integers(1, 9), st.sampled_from(["a", "b"])),
                            min_size=1, max_size=12), min_size=1, max_size=8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, in_order=st.booleans(), rebuild_after=st.integers(0, 8))
def test_every_read_answers_as_if_everything_were_rolled_up(tmp_path_factory, batches,
                                                             in_order, rebuild_after):
    """Flushes of any size, late and repeated points, a second process reading, a rebuild
    (which closes the open hour) between flushes: sums, series and the rollup rows always
    equal what the points say."""
    db = tmp_path_factory.mktemp("open") / "heatpump.sqlite3"
    writer, reader = SQLiteStore(db, BERLIN), SQLiteStore(db, BERLIN)
    truth: dict[tuple[str, int], float] = {}
    for i, batch in enumerate(sorted(batches, key=lambda b: max(m for m, _v, _d in b))
                              if in_order else batches):
        writer.write([elec(minute, float(wh), device) for minute, wh, device in batch])
        writer.flush()
        for minute, wh, device in batch:
            truth[(device, minute)] = float(wh)
        check(writer, truth)
        check(reader, truth)
        if i == rebuild_after:  # nothing open afterwards: the next flush opens an hour
            writer.rebuild_rollups(DAY0, DAY0 + timedelta(days=DAYS))
            check(reader, truth)
    writer.rebuild_rollups(DAY0 - timedelta(days=1), DAY0 + timedelta(days=DAYS + 1))
    check(writer, truth)
    check(reader, truth)
    writer.close()
    reader.close()


def test_the_newest_hour_is_rolled_up_when_a_later_hour_arrives(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    s = SQLiteStore(db, BERLIN)
    for i in range(360):  # an hour of 10-s flushes
        s.write([elec(0, 1.0, "a"), Point("electricity", START + timedelta(seconds=10 * i),
                                          {"energy_wh": 1.0}, {"device": "b", "source": "meter",
                                                               "circuit": "total"})])
        s.flush()
    assert stored_rows(db, "electricity_1h") == []  # nothing rewritten 360 times
    assert stored_rows(db, "electricity_1d") == []
    [day] = s.sums("electricity", ["energy_wh"], DAY0, DAY0 + timedelta(days=1), "day", BERLIN)
    assert day.values == {"energy_wh": 361.0}  # yet every read has it
    s.write([elec(60, 2.0, "a")])  # the next hour: the first one closes
    s.flush()
    hour0 = int(START.timestamp() * 1000)
    assert stored_rows(db, "electricity_1h") == [(hour0, 1.0), (hour0, 360.0)]
    assert stored_rows(db, "electricity_1d") == [(hour0, 1.0), (hour0, 360.0)]
    [day] = s.sums("electricity", ["energy_wh"], DAY0, DAY0 + timedelta(days=1), "day", BERLIN)
    assert day.values == {"energy_wh": 363.0}
    s.write([elec(5, 4.0, "a")])  # late, into a closed hour: rolled up at once
    s.flush()
    assert (hour0, 5.0) in stored_rows(db, "electricity_1h")
    s.close()


def test_late_data_first_after_everything_was_rolled_up(tmp_path: Path):
    """With nothing open (a fresh upgrade, after retention or a rebuild), a flush of late
    data must not open an hour behind newer data (whose rollups are stored)."""
    db = tmp_path / "heatpump.sqlite3"
    truth = {("a", m): 1.0 for m in range(0, 48 * 60, 10)}
    with SQLiteStore(db, BERLIN) as s:
        s.write([elec(m, v, d) for (d, m), v in truth.items()])
        s.flush()
        with s._batch():
            s._close_open()
        s.write([elec(60, 5.0, "b")])  # late: a day and more behind the newest data
        s.flush()
        truth[("b", 60)] = 5.0
        check(s, truth)
        s.write([elec(48 * 60 + 5, 2.0, "a")])  # then the present again
        s.flush()
        truth[("a", 48 * 60 + 5)] = 2.0
        check(s, truth)


def test_a_layout_2_store_whose_newest_hour_was_rolled_up_counts_it_once(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    with SQLiteStore(db, BERLIN) as s:
        s.write([elec(m, 1.0, "a") for m in range(30)])
        s.flush()
        with s._batch():
            s._close_open()  # as layout 2 left it: every hour rolled up, the newest too
    con = sqlite3.connect(db)
    con.execute("DROP TABLE last_seen")
    con.execute("DROP TABLE rollup_open")
    con.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    con.commit()
    con.close()
    with SQLiteStore(db, BERLIN) as s:
        s.write([elec(m, 1.0, "a") for m in range(30, 45)])  # same hour
        s.flush()
        check(s, {("a", m): 1.0 for m in range(45)})


def hour_rows(db: Path, measurement: str) -> list[tuple]:
    """Every stored row of a rollup table (all its columns), read behind the store."""
    con = sqlite3.connect(db)
    try:
        tbl = con.execute("SELECT tbl FROM measurements WHERE name = ?",
                          (measurement,)).fetchone()[0]
        return con.execute(f"SELECT * FROM {tbl} ORDER BY sid, t_ms").fetchall()
    finally:
        con.close()


def test_hours_rolled_up_one_by_one_equal_a_long_range_to_the_bit(tmp_path: Path):
    """A flush rolls up the hours it touched one statement per hour (no GROUP BY sorter),
    a long range (here a rebuild over 3 days) in one grouped statement: the same rows, each
    sum the exact float of its values added in time order, an hour without data no row."""
    values = [0.1 * (i % 7) + 1e-9 * i for i in range(6 * 60)]  # sums depend on the order
    points = [Point("meter", START + timedelta(seconds=37 * i), {"power_w": v},
                    {"device": "d"}) for i, v in enumerate(values)]
    points += [Point("meter", START + timedelta(hours=30), {"power_w": 5.0}, {"device": "d"}),
               Point("meter", START + timedelta(hours=31), {"power_w": 6.0}, {"device": "d"})]
    one_by_one = SQLiteStore(tmp_path / "a.sqlite3", BERLIN)
    for i in range(0, len(points), 50):  # a flush every 50 points: a few hours each
        one_by_one.write(points[i:i + 50])
        one_by_one.flush()
    one_by_one.close()
    grouped = SQLiteStore(tmp_path / "b.sqlite3", BERLIN)
    grouped.write(points)
    grouped.flush()
    grouped.rebuild_rollups(START - timedelta(days=1), START + timedelta(days=2))
    grouped.close()
    rows = hour_rows(tmp_path / "a.sqlite3", "meter_1h")
    assert rows == hour_rows(tmp_path / "b.sqlite3", "meter_1h")[:-1]  # all but the open hour
    want: dict[int, list[float]] = defaultdict(list)
    for p in points[:-1]:  # the newest hour stays open in the store flushed in pieces
        want[int(p.time.timestamp() * 1000) // 3_600_000 * 3_600_000].append(
            p.fields["power_w"])
    sums = [(t, [c for c in cols if c is not None]) for _sid, t, *cols in rows]
    total = {t: 0.0 for t in want}
    for t, vals in want.items():
        for v in vals:
            total[t] += v
    assert [(t, cols[:2]) for t, cols in sums] == [(t, [total[t], len(want[t])])
                                                   for t in sorted(want)]
