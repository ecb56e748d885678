"""Embedded store: one SQLite file in the data dir, safe for a writer and readers at once.

Layout (narrow, like a TSDB): `series(key, measurement, tags, field, type)` names every
stored series once; `samples(key, t_ms, v)` is a WITHOUT ROWID table keyed by
(key, t_ms), so the same point written twice replaces itself and a time range of one series
is one index range scan. WAL lets the bot read while the collector writes; short
transactions plus a busy timeout keep the two processes from failing on each other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from heatpump.schema import rollup_name
from heatpump.store.base import FieldValue, Latest, Point, StoreError, StoreInfo
from heatpump.store.common import (
    BaseStore,
    PartialWriteError,
    Row,
    field_type,
    tags_match,
    tags_sort_key,
    value_type,
)
from heatpump.store.rollup import COUNT, DAY_MS, HOUR_MS, SUM, from_ms, to_ms

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 30.0
RAW_RETENTION_MEASUREMENTS = ("meter", "heatpump")

_DDL = """
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
    key INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,          -- canonical JSON object, keys sorted
    field TEXT NOT NULL,
    type TEXT NOT NULL,          -- float, int, bool or str
    UNIQUE(measurement, tags, field)
);
CREATE TABLE IF NOT EXISTS samples(
    key INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,       -- UTC milliseconds since the epoch
    v,
    PRIMARY KEY(key, t_ms)
) WITHOUT ROWID;
"""


def _decode(v: object, typ: str) -> FieldValue:
    if typ == "bool":
        return bool(v)
    if typ == "float":
        return float(v)  # type: ignore[arg-type]
    return v  # type: ignore[return-value]


class SQLiteStore(BaseStore):
    backend = "sqlite"

    def __init__(self, path: str | Path, tz: ZoneInfo):
        super().__init__(tz)
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S,
                                       isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._tx():
                for stmt in _DDL.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES('schema_version', ?)",
                                 (SCHEMA_VERSION,))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the embedded store {self.path}: {exc}") from None
        self._keys: dict[tuple[str, str, str], tuple[int, str]] = {}
        self._tagjson: dict[tuple, str] = {}

    # --- plumbing ------------------------------------------------------------------------

    class _Tx:
        def __init__(self, db: sqlite3.Connection, immediate: bool):
            self.db, self.immediate = db, immediate

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _tx(self, immediate: bool = True) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(self._db, immediate)

    def _series_rows(self, measurement: str,
                     fields: Sequence[str] | None = None) -> list[tuple[int, dict, str, str]]:
        """(key, tags, field, type) of a measurement's series, read fresh: another process
        may have created some since."""
        try:
            rows = self._db.execute(
                "SELECT key, tags, field, type FROM series WHERE measurement = ?",
                (measurement,)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store read failed: {exc}") from None
        out = [(k, json.loads(t), f, typ) for k, t, f, typ in rows
               if fields is None or f in fields]
        out.sort(key=lambda r: (r[2], sorted(r[1].items())))
        return out

    def _key(self, measurement: str, tags_json: str, field: str, typ: str) -> tuple[int, str]:
        ck = (measurement, tags_json, field)
        hit = self._keys.get(ck)
        if hit is not None:
            return hit
        db = self._db
        db.execute("INSERT OR IGNORE INTO series(measurement, tags, field, type) "
                   "VALUES (?, ?, ?, ?)", (measurement, tags_json, field, typ))
        key, stored = db.execute("SELECT key, type FROM series WHERE measurement = ? AND "
                                 "tags = ? AND field = ?", ck).fetchone()
        self._keys[ck] = (key, stored)
        return key, stored

    def _tags_json(self, tags: tuple) -> str:
        j = self._tagjson.get(tags)
        if j is None:
            j = self._tagjson[tags] = json.dumps(dict(tags), sort_keys=True,
                                                 separators=(",", ":"), ensure_ascii=False)
        return j

    # --- primitives ----------------------------------------------------------------------

    def _write_rows(self, rows: list[Row]) -> None:
        conflicts: list[str] = []
        try:
            with self._tx():
                out: list[tuple[int, int, FieldValue]] = []
                for m, tags, t, fields in rows:
                    tj = self._tags_json(tags)
                    for f, v in fields.items():
                        typ = value_type(v)
                        key, stored = self._key(m, tj, f, typ)
                        if stored != typ:
                            if stored == "float" and typ == "int":
                                v = float(v)
                            else:
                                conflicts.append(f"{m}.{f}={v!r} ({typ}, stored as {stored})")
                                continue
                        out.append((key, t, v))
                self._db.executemany("INSERT OR REPLACE INTO samples(key, t_ms, v) "
                                     "VALUES (?, ?, ?)", out)
        except sqlite3.Error as exc:
            self._keys.clear()  # the rolled-back transaction may have created keys
            raise StoreError(f"embedded store write failed ({self.path}): {exc}") from None
        if conflicts:
            raise PartialWriteError(f"field type conflict, {len(conflicts)} value(s) refused: "
                             + "; ".join(conflicts[:5]))

    def _target_key(self, measurement: str, tags: Mapping[str, str], field: str) -> int:
        typ = field_type(measurement, field) or "float"
        tj = json.dumps(dict(tags), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self._key(measurement, tj, field, typ)[0]

    def _rollup_hours(self, measurement: str, fields: Sequence[str],
                      ranges: list[tuple[int, int]]) -> None:
        hourly = rollup_name(measurement, "1h")
        shift = self.hour_shift_ms
        try:
            with self._tx():
                for key, tags, f, _typ in self._series_rows(measurement, fields):
                    sk = self._target_key(hourly, tags, f + SUM)
                    ck = self._target_key(hourly, tags, f + COUNT)
                    for a, b in ranges:
                        for target, agg in ((sk, "total(v)"), (ck, "count(v)")):
                            self._db.execute(
                                "INSERT OR REPLACE INTO samples(key, t_ms, v) "
                                f"SELECT ?, (t_ms - ?) / {HOUR_MS} * {HOUR_MS} + ? AS h, {agg} "
                                "FROM samples WHERE key = ? AND t_ms >= ? AND t_ms < ? "
                                "GROUP BY h", (target, shift, shift, key, a, b))
        except sqlite3.Error as exc:
            self._keys.clear()
            raise StoreError(f"embedded store rollup failed: {exc}") from None

    def _rollup_days(self, measurement: str, fields: Sequence[str],
                     days: list[tuple[int, int]]) -> None:
        if not days:
            return
        hourly, daily = rollup_name(measurement, "1h"), rollup_name(measurement, "1d")
        wanted = [f + SUM for f in fields] + [f + COUNT for f in fields]
        try:
            with self._tx():
                self._db.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_days("
                                 "s INTEGER PRIMARY KEY, e INTEGER NOT NULL)")
                self._db.execute("DELETE FROM rollup_days")
                self._db.executemany("INSERT INTO rollup_days VALUES (?, ?)", days)
                lo, hi = days[0][0], days[-1][1]
                for key, tags, f, _typ in self._series_rows(hourly, wanted):
                    target = self._target_key(daily, {**tags, "tz": self.tz.key}, f)
                    agg = "total(h.v)" if f.endswith(SUM) else "sum(h.v)"
                    self._db.execute(
                        "INSERT OR REPLACE INTO samples(key, t_ms, v) "
                        f"SELECT ?, d.s, {agg} FROM rollup_days d JOIN samples h "
                        "ON h.key = ? AND h.t_ms >= d.s AND h.t_ms < d.e "
                        "WHERE h.t_ms >= ? AND h.t_ms < ? GROUP BY d.s",
                        (target, key, lo, hi))
        except sqlite3.Error as exc:
            self._keys.clear()
            raise StoreError(f"embedded store rollup failed: {exc}") from None

    def _aggregate(self, measurement: str, field: str, start_ms: int, end_ms: int,
                   step_ms: int, offset_ms: int,
                   tags: Mapping[str, str] | None) -> dict[int, tuple[float, int]]:
        keys = [k for k, t, _f, _ty in self._series_rows(measurement, [field])
                if tags_match(t, tags)]
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        sql = (f"SELECT (t_ms - ?) / ? AS b, total(v), count(v) FROM samples "
               f"WHERE key IN ({marks}) AND t_ms >= ? AND t_ms < ? GROUP BY b")
        try:
            rows = self._db.execute(sql, (offset_ms, step_ms, *keys, start_ms, end_ms))
            return {b * step_ms + offset_ms: (total, count) for b, total, count in rows}
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store read failed: {exc}") from None

    def _rows(self, measurement: str, fields: Sequence[str], start_ms: int, end_ms: int,
              tags: Mapping[str, str] | None,
              group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        out = []
        try:
            for key, t, f, _typ in self._series_rows(measurement, fields):
                if not tags_match(t, tags):
                    continue
                group = tuple(t.get(g, "") for g in group_by)
                for ts, v in self._db.execute(
                        "SELECT t_ms, v FROM samples WHERE key = ? AND t_ms >= ? AND t_ms < ?",
                        (key, start_ms, end_ms)):
                    out.append((ts, group, f, v))
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store read failed: {exc}") from None
        return out

    # --- the rest of the contract --------------------------------------------------------

    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None) -> dict[str, Latest]:
        out: dict[str, Latest] = {}
        try:
            for key, t, f, typ in self._series_rows(measurement, fields):
                if not tags_match(t, tags):
                    continue
                row = self._db.execute("SELECT t_ms, v FROM samples WHERE key = ? "
                                       "ORDER BY t_ms DESC LIMIT 1", (key,)).fetchone()
                if row is None:
                    continue
                when = from_ms(row[0])
                if f not in out or when > out[f].time:
                    out[f] = Latest(when, _decode(row[1], typ), t)
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store read failed: {exc}") from None
        return out

    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        s, e = to_ms(start), to_ms(end)
        merged: dict[tuple[int, str], dict[str, FieldValue]] = {}
        tag_of: dict[str, dict[str, str]] = {}
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        try:
            for key, t, f, typ in self._series_rows(measurement):
                if not tags_match(t, tags):
                    continue
                tj = tags_sort_key(t)
                tag_of[tj] = t
                for ts, v in self._db.execute(
                        "SELECT t_ms, v FROM samples WHERE key = ? AND t_ms >= ? AND t_ms < ? "
                        "ORDER BY t_ms" + lim, (key, s, e)):
                    merged.setdefault((ts, tj), {})[f] = _decode(v, typ)
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store read failed: {exc}") from None
        out = [Point(measurement, from_ms(ts), fields, tag_of[tj])
               for (ts, tj), fields in sorted(merged.items())]
        return out if limit is None else out[:limit]

    def tag_values(self, measurement: str, tag: str) -> list[str]:
        return sorted({t[tag] for _k, t, _f, _ty in self._series_rows(measurement) if tag in t})

    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        cutoff = to_ms(now - keep)
        chunk = 7 * DAY_MS  # short transactions: the collector keeps writing meanwhile
        try:
            for m in RAW_RETENTION_MEASUREMENTS:
                for key, *_ in self._series_rows(m):
                    first = self._db.execute("SELECT min(t_ms) FROM samples WHERE key = ?",
                                             (key,)).fetchone()[0]
                    if first is None:
                        continue
                    lo = first
                    while lo < cutoff:
                        hi = min(lo + chunk, cutoff)
                        with self._tx():
                            self._db.execute("DELETE FROM samples WHERE key = ? AND t_ms < ?",
                                             (key, hi))
                        lo = hi
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store retention failed: {exc}") from None

    def info(self) -> StoreInfo:
        return StoreInfo("sqlite", sqlite3.sqlite_version, str(self.path))

    def close(self) -> None:
        with self._lock:
            try:
                if self._buffer or self._pending_hours:
                    self.flush()
            finally:
                self._db.close()

