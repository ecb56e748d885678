"""Embedded store: one SQLite file in the data dir, safe for a writer and readers at once.

Layout: one table per measurement (`m1`, `m2`, ... named in `measurements`), one row per
point: `(sid, t_ms, c1, c2, ...)` WITHOUT ROWID with PRIMARY KEY(sid, t_ms). `sid` names a
measurement + tag set in `series`; the columns are the fields, named in `fields` with their
type. A point written twice upserts itself (fields merge like InfluxDB's), and a time range
of one series is one index range scan. One row per point instead of one per value keeps a
year of 10-second samples (3.2 M points, ~10 M values) cheap to write.

WAL lets the bot read while the collector writes; short transactions plus a busy timeout keep
two processes from failing on each other.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from zoneinfo import ZoneInfo

from heatpump.fsutil import private_dir
from heatpump.schema import MEASUREMENTS, rollup_name
from heatpump.store.base import FieldValue, Latest, Point, StoreError, StoreInfo
from heatpump.store.common import (
    FIRST,
    BaseStore,
    Row,
    Rows,
    Shape,
    TagKey,
    field_type,
    locked,
    tags_match,
    tags_sort_key,
    value_type,
)
from heatpump.store.rollup import (
    COUNT,
    DAY_MS,
    HOUR_MS,
    SUM,
    ceil_to,
    coalesce_hours,
    floor_to,
    from_ms,
    hour_shift_ms,
    local_days,
    rollup_fields,
    rollup_measurement,
    to_ms,
)
from heatpump.store.sqlite_files import (
    MOVE_AWAY,
    create_private,
    describe,
    describe_os,
)
from heatpump.timeutil import bucket_floor

log = logging.getLogger(__name__)

SCHEMA_VERSION = "3"
UPGRADES_FROM = ("2",)  # layouts this version upgrades in place when it opens them
BUSY_TIMEOUT_S = 30.0
NEW_FILE_PAGE_SIZE = 1024
# Prepared statements kept per connection (sqlite3's default: 128). A flush writes each
# series with its own two INSERTs (the series id is in the statement, _upsert): a house
# with two meters and a heating rod has ~70 series, and re-preparing them at every flush
# would cost more than it saves.
STATEMENT_CACHE = 1024
# A flush inserts up to this many rows of a series with one statement (_upsert), with at
# most MAX_PARAMETERS values bound: SQLite before 3.32 allows no more than 999.
ROWS_PER_INSERT = 64
MAX_PARAMETERS = 999
RAW_RETENTION_MEASUREMENTS = ("meter", "heatpump")
# last_seen promises: the newest value of a column of a series lies within SEEN_SLACK_MS
# after the time it records. A wider slack means fewer writes of last_seen (each series'
# row moves at most once per slack: 4 small writes a day), a narrower one less to read when a
# field is written only now and then (at most 6 h of one series).
SEEN_SLACK_MS = 6 * HOUR_MS
# Ranges of up to this many hours are rolled up an hour at a time (_rollup_hours): what a
# flush touches; longer ones (a rebuild, late data spanning months) in one grouped statement.
HOURS_ONE_BY_ONE = 48
ROLLUP_TABLES = frozenset(rollup_name(m.name, level) for m in MEASUREMENTS.values()
                          if m.rollup for level in ("1h", "1d"))

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS measurements(name TEXT PRIMARY KEY, tbl TEXT NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS fields(measurement TEXT NOT NULL, name TEXT NOT NULL, "
    "type TEXT NOT NULL, col TEXT NOT NULL, PRIMARY KEY(measurement, name))",
    # tags: canonical JSON object with sorted keys
    "CREATE TABLE IF NOT EXISTS series(sid INTEGER PRIMARY KEY, measurement TEXT NOT NULL, "
    "tags TEXT NOT NULL, UNIQUE(measurement, tags))",
    # Where the newest value of each column of each raw series is (layout 3): the time of a
    # stored non-null value, and no non-null value is later than t_ms + SEEN_SLACK_MS. No
    # row: the column never had a value in that series. So latest() reads at most
    # SEEN_SLACK_MS of one series, even for a field a device never reports.
    "CREATE TABLE IF NOT EXISTS last_seen(sid INTEGER NOT NULL, col TEXT NOT NULL, "
    "t_ms INTEGER NOT NULL, PRIMARY KEY(sid, col)) WITHOUT ROWID",
    # The open hour of each rollup measurement (layout 3): raw rows at or after from_ms have
    # no `_1h` rows yet and are left out of the `_1d` rows of zone tz (the writer's); reads
    # add them from raw. No row: nothing is open. See "the open hour" in SQLiteStore.
    "CREATE TABLE IF NOT EXISTS rollup_open(measurement TEXT PRIMARY KEY, "
    "from_ms INTEGER NOT NULL, tz TEXT NOT NULL) WITHOUT ROWID",
)
# Rollup measurement name -> (raw measurement, level).
_ROLLUP_OF = {rollup_name(m.name, level): (m.name, level) for m in MEASUREMENTS.values()
              if m.rollup for level in ("1h", "1d")}
_FAR = 2**62  # beyond any time in ms


def _decode(v: object, typ: str) -> FieldValue:
    if typ == "bool":
        return bool(v)
    if typ == "float":
        return float(v)  # type: ignore[arg-type]
    return v  # type: ignore[return-value]


def _tags_json(tags: Iterable[tuple[str, str]]) -> str:
    return json.dumps(dict(tags), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Catalog:
    """In-memory copy of measurements/fields/series; reloaded when something is missing,
    because another process may have added it."""

    def __init__(self) -> None:
        self.tables: dict[str, str] = {}
        self.fields: dict[str, dict[str, tuple[str, str]]] = {}  # m -> field -> (col, type)
        self.sids: dict[tuple[str, str], int] = {}  # (m, tags json) -> sid
        self.series: dict[str, list[tuple[int, dict[str, str]]]] = {}
        # raw measurement -> (start of its open hour, zone of the `_1d` rows leaving it out)
        self.open_from: dict[str, tuple[int, str]] = {}

    def load(self, db: sqlite3.Connection) -> None:
        self.tables = dict(db.execute("SELECT name, tbl FROM measurements"))
        self.fields = {}
        for m, name, typ, col in db.execute("SELECT measurement, name, type, col FROM fields"):
            self.fields.setdefault(m, {})[name] = (col, typ)
        self.sids, self.series = {}, {}
        for sid, m, tags in db.execute("SELECT sid, measurement, tags FROM series ORDER BY sid"):
            self.sids[(m, tags)] = sid
            self.series.setdefault(m, []).append((sid, json.loads(tags)))
        self.open_from = {m: (t, tz) for m, t, tz in db.execute(
            "SELECT measurement, from_ms, tz FROM rollup_open")}


class _Guard:
    """One BEGIN IMMEDIATE ... COMMIT around a whole flush; sqlite errors become StoreError."""

    def __init__(self, store: SQLiteStore):
        self.store = store
        self.tx = store._tx()

    def __enter__(self) -> None:
        try:
            self.tx.__enter__()
        except sqlite3.Error as exc:
            raise self.store._fail("write", exc) from None

    def __exit__(self, exc_type: object, exc: object, *rest: object) -> None:
        committed = False
        try:
            self.tx.__exit__(exc_type, exc, *rest)
            committed = exc_type is None
        except sqlite3.Error as failed:
            raise self.store._fail("commit", failed) from None
        finally:
            self.store._settle(committed)
        if isinstance(exc, sqlite3.Error):  # a statement of the flush failed: rolled back
            raise self.store._fail("write", exc) from None


class SQLiteStore(BaseStore):
    backend = "sqlite"

    def __init__(self, path: str | Path, tz: ZoneInfo):
        """Open (or create, 0600 in directories made 0700) the store file at `path`.

        StoreError with one line saying what is wrong and where when the file cannot be
        used: a directory, no permission, not a database, damaged, another layout."""
        super().__init__(tz)
        self.path = Path(path)
        self._cat = _Catalog()
        self._data_version = -1
        self._tagjson: dict[TagKey, str] = {}
        # (sid, col) -> a time at or before last_seen's (so no write is skipped wrongly);
        # what this flush found or wrote waits in _seen_new until its commit.
        self._seen: dict[tuple[int, str], int] = {}
        self._seen_new: dict[tuple[int, str], int] = {}
        # raw measurement -> [(tags, hour start, {rollup field: value})] of its open hour
        self._open_cache: dict[str, list[tuple[dict[str, str], int, dict[str, float]]]] = {}
        try:
            private_dir(self.path.parent)
            if not self.path.is_dir():
                create_private(self.path)
        except OSError as exc:
            raise StoreError(f"cannot open the embedded store {self.path}: "
                             f"{describe_os(exc, self.path)}") from None
        try:
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S,
                                       isolation_level=None, check_same_thread=False,
                                       cached_statements=STATEMENT_CACHE)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None
        try:
            self._set_up()
        except sqlite3.Error as exc:
            self._db.close()
            raise self._open_error(exc) from None
        except StoreError:
            self._db.close()
            raise

    def _open_error(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot open the embedded store {self.path}: "
                          f"{describe(exc, self.path)}")

    def _set_up(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        if self._db.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file gets small pages: a flush rewrites whole pages, so 1 KB pages write
            # ~35% less than SQLite's 4 KB at the same reads (docs/performance.md). An
            # existing file keeps its page size (changing it would rewrite the file).
            self._db.execute(f"PRAGMA page_size={NEW_FILE_PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._tx():
            for stmt in _DDL:
                self._db.execute(stmt)
            version = self._db.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            if version is None:
                self._db.execute("INSERT INTO meta VALUES('schema_version', ?)",
                                 (SCHEMA_VERSION,))
            elif version[0] in UPGRADES_FROM:
                self._cat.load(self._db)
                self._upgrade(version[0])
            elif version[0] != SCHEMA_VERSION:
                raise StoreError(f"cannot open the embedded store {self.path}: it has store "
                                 f"layout {version[0]}, this version reads {SCHEMA_VERSION}")
            self._cat.load(self._db)
            for m in MEASUREMENTS.values():  # the schema's tables exist from the start
                self._ensure_fields(m.name, {f.name: f.type for f in m.fields})
                if m.rollup:
                    for level in ("1h", "1d"):
                        name = rollup_name(m.name, level)
                        self._ensure_fields(name, {
                            c: field_type(name, c) or "float"
                            for f in rollup_fields(m) for c in (f + SUM, f + COUNT)})

    def _upgrade(self, version: str) -> None:
        """Layout 2 -> 3 (inside the opening transaction): fill last_seen from the data, one
        pass over each raw table (a few seconds for years of data, once)."""
        for m, tbl in self._cat.tables.items():
            cols = [c for c, _typ in self._cat.fields.get(m, {}).values()]
            if m in ROLLUP_TABLES or not cols:
                continue
            newest = ", ".join(f"max(CASE WHEN {c} IS NOT NULL THEN t_ms END)" for c in cols)
            for sid, *times in self._db.execute(
                    f"SELECT sid, {newest} FROM {tbl} GROUP BY sid").fetchall():
                self._db.executemany("INSERT OR REPLACE INTO last_seen VALUES (?, ?, ?)",
                                     [(sid, c, t) for c, t in zip(cols, times, strict=True)
                                      if t is not None])
        self._db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                         (SCHEMA_VERSION,))
        log.info("embedded store %s: upgraded from layout %s to %s", self.path, version,
                 SCHEMA_VERSION)

    # --- plumbing ------------------------------------------------------------------------

    class _Tx:
        def __init__(self, db: sqlite3.Connection):
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.outer = not self.db.in_transaction  # nested: part of the outer one
            if self.outer:
                self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *rest: object) -> None:
            if not (self.outer and self.db.in_transaction):
                return
            if exc_type:
                self.db.execute("ROLLBACK")
                return
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:
                # A COMMIT that failed (disk full, I/O error) may leave the transaction
                # open: roll it back so nothing of it stays, then report.
                if self.db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.db.execute("ROLLBACK")
                raise

    def _tx(self) -> SQLiteStore._Tx:
        return SQLiteStore._Tx(self._db)

    def _batch(self) -> contextlib.AbstractContextManager[object]:
        return _Guard(self)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """One read transaction around a query: every statement sees the same commit (a
        query reads stored rollups, the open hour and the catalog; mixed from before and
        after another process's flush they could count an hour twice)."""
        if self._db.in_transaction:
            yield
            return
        try:
            self._db.execute("BEGIN")
            # The first read fixes the snapshot; PRAGMA data_version (in _refresh) then tells
            # whether the catalog is that snapshot's.
            self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise self._read_error(exc) from None
        try:
            yield
        finally:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("COMMIT")

    def _settle(self, committed: bool) -> None:
        """After a flush's transaction: keep what it learnt when it committed, else forget."""
        if committed:
            self._seen.update(self._seen_new)
        else:  # the catalog (series, open hours) may hold what was rolled back
            self._forget()
        self._seen_new = {}
        self._open_cache = {}

    def _forget(self) -> None:
        self._cat = _Catalog()
        self._data_version = -1
        self._open_cache = {}
        with contextlib.suppress(sqlite3.Error):
            self._cat.load(self._db)

    def _fail(self, what: str, exc: sqlite3.Error) -> StoreError:
        self._forget()  # a rolled-back transaction may have changed the catalog
        return StoreError(f"embedded store {what} failed ({self.path}): "
                          f"{describe(exc, self.path)}")

    def _ensure_fields(self, m: str, types: Mapping[str, str]) -> None:
        """Table and columns for these fields (inside a write transaction)."""
        if m not in self._cat.tables:
            self._cat.load(self._db)
        if m not in self._cat.tables:
            n = self._db.execute("SELECT count(*) FROM measurements").fetchone()[0] + 1
            tbl = f"m{n}"
            self._db.execute(f"CREATE TABLE {tbl}(sid INTEGER NOT NULL, t_ms INTEGER NOT NULL, "
                             "PRIMARY KEY(sid, t_ms)) WITHOUT ROWID")
            self._db.execute("INSERT INTO measurements VALUES (?, ?)", (m, tbl))
            self._cat.tables[m] = tbl
        have = self._cat.fields.setdefault(m, {})
        missing = [f for f in types if f not in have]
        if missing:
            self._cat.load(self._db)
            have = self._cat.fields.setdefault(m, {})
        for f in types:
            if f in have:
                continue
            col = f"c{len(have) + 1}"
            self._db.execute(f"ALTER TABLE {self._cat.tables[m]} ADD COLUMN {col}")
            self._db.execute("INSERT INTO fields VALUES (?, ?, ?, ?)", (m, f, types[f], col))
            have[f] = (col, types[f])

    def _sid(self, m: str, tags_json: str) -> int:
        sid = self._cat.sids.get((m, tags_json))
        if sid is None:
            self._db.execute("INSERT OR IGNORE INTO series(measurement, tags) VALUES (?, ?)",
                             (m, tags_json))
            sid = self._db.execute("SELECT sid FROM series WHERE measurement = ? AND tags = ?",
                                   (m, tags_json)).fetchone()[0]
            self._cat.sids[(m, tags_json)] = sid
            self._cat.series.setdefault(m, []).append((sid, json.loads(tags_json)))
        return sid

    def _refresh(self) -> None:
        """Reload the catalog before a read when another connection committed since (it may
        have added series); PRAGMA data_version tells, for the price of one statement."""
        try:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._cat.load(self._db)
                self._data_version = version
                self._open_cache = {}
        except sqlite3.Error as exc:
            raise self._read_error(exc) from None

    def _read_error(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"embedded store read failed ({self.path}): "
                          f"{describe(exc, self.path)}")

    def _matching(self, m: str, tags: Mapping[str, str] | None) -> list[tuple[int, dict]]:
        return [(sid, t) for sid, t in self._cat.series.get(m, []) if tags_match(t, tags)]

    def _read(self, sql: str, args: Sequence[object]) -> list[tuple]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._read_error(exc) from None

    # --- primitives ----------------------------------------------------------------------

    def _write_rows(self, groups: Rows) -> list[str]:
        """The rows of each shape (one series, one set of fields) with _upsert, bound as
        normalize() made them (no tuple per row built here). Shapes of the same measurement
        and field names go in the order of their first row, as their one group did before:
        a point written twice in one flush with other field sets merges as it did."""
        conflicts: list[str] = []
        try:
            with self._tx():
                # New series get their ids in the order of their first row, as always.
                same_names: dict[tuple[str, tuple[str, ...]], list[tuple[Shape, int]]] = {}
                tagjson = self._tagjson
                sid_of = self._cat.sids
                for shape in groups:
                    m = shape.measurement
                    tj = tagjson.get(shape.tags)
                    if tj is None:
                        tj = tagjson[shape.tags] = _tags_json(shape.tags)
                    sid = sid_of.get((m, tj)) or self._sid(m, tj)
                    same_names.setdefault((m, shape.names), []).append((shape, sid))
                for (m, names), shapes in same_names.items():
                    for shape, sid in shapes:
                        cols, values = self._columns_for(m, names, groups[shape], conflicts)
                        if not values:
                            continue
                        self._upsert(self._cat.tables[m], sid, cols, values)
                        if m not in ROLLUP_TABLES:
                            newest = max(map(FIRST, values))
                            for c in cols:
                                self._note_seen(sid, c, newest)
        except sqlite3.Error as exc:
            raise self._fail("write", exc) from None
        return conflicts

    def _upsert(self, tbl: str, sid: int, cols: list[str], values: list[Row]) -> None:
        """Rows (t_ms, *values of cols) of series `sid` into `tbl`, in order; a row whose
        time is stored already (or comes again) updates the columns it has (fields merge).

        Up to ROWS_PER_INSERT rows go in one INSERT of several VALUES rows: SQLite does
        them one after the other as if each were its own statement (a later one updating
        an earlier), without a statement's own start, end and binding call per row (8.2k
        instead of 12.2k instructions a row, measured on a day of the demo's rows). The
        rest goes row by row; the series id is written into the statement."""
        head = f"INSERT INTO {tbl}(sid, t_ms, {', '.join(cols)}) VALUES "
        one = f"({int(sid)}, ?{', ?' * len(cols)})"
        tail = " ON CONFLICT(sid, t_ms) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in cols)
        per = max(1, min(ROWS_PER_INSERT, MAX_PARAMETERS // (len(cols) + 1)))
        whole = len(values) - len(values) % per
        if whole:
            many = head + ", ".join([one] * per) + tail
            params = list(chain.from_iterable(values[:whole] if whole < len(values)
                                              else values))
            step = per * (len(cols) + 1)
            for i in range(0, len(params), step):
                self._db.execute(many, params[i:i + step])
        if whole < len(values):
            self._db.executemany(head + one + tail, values[whole:])

    def _note_seen(self, sid: int, col: str, t: int) -> None:
        """Keep last_seen's promise for a value of `col` at `t` (inside the write
        transaction): a write only when `t` is beyond the recorded time + SEEN_SLACK_MS."""
        key = (sid, col)
        known = self._seen_new.get(key, self._seen.get(key))
        if known is not None and t <= known + SEEN_SLACK_MS:
            return
        row = self._db.execute("SELECT t_ms FROM last_seen WHERE sid = ? AND col = ?",
                               key).fetchone()
        if row is not None and t <= row[0] + SEEN_SLACK_MS:
            self._seen_new[key] = row[0]
            return
        self._db.execute("INSERT OR REPLACE INTO last_seen VALUES (?, ?, ?)", (sid, col, t))
        self._seen_new[key] = t

    def _columns_for(self, m: str, names: tuple[str, ...], values: list[Row],
                     conflicts: list[str]) -> tuple[list[str], list[Row]]:
        """Column names for the fields of rows (t_ms, *values), and the rows to write: for
        measurements outside the schema each value's type settled against the stored one
        (int widens to float; others conflict, and their rows are left out)."""
        have = self._cat.fields.get(m, {})
        if m in MEASUREMENTS and all(n in have for n in names):
            return [have[n][0] for n in names], values
        first = values[0]
        self._ensure_fields(m, {n: value_type(first[1 + i]) for i, n in enumerate(names)})
        have = self._cat.fields[m]
        types = [have[n][1] for n in names]
        keep = []
        for row in values:
            fixed = list(row)
            for i, typ in enumerate(types):
                v = row[1 + i]
                got = value_type(v)
                if got != typ:
                    if typ == "float" and got == "int":
                        fixed[1 + i] = float(v)
                    else:
                        conflicts.append(f"{m}.{names[i]}={v!r} ({got}, stored as {typ})")
                        fixed = []
                        break
            if fixed:
                keep.append(tuple(fixed))
        return [have[n][0] for n in names], keep

    def _rollup_hours(self, measurement: str, fields: Sequence[str],
                      ranges: list[tuple[int, int]]) -> None:
        hourly = rollup_name(measurement, "1h")
        shift = self.hour_shift_ms
        try:
            with self._tx():
                raw_cols = self._cat.fields[measurement]
                roll_cols = self._cat.fields[hourly]
                targets, exprs = [], []
                for f in fields:
                    c = raw_cols[f][0]
                    targets += [roll_cols[f + SUM][0], roll_cols[f + COUNT][0]]
                    exprs += [f"CASE WHEN count({c}) > 0 THEN total({c}) END",
                              f"nullif(count({c}), 0)"]
                src, dst = self._cat.tables[measurement], self._cat.tables[hourly]
                into = f"INSERT OR REPLACE INTO {dst}(sid, t_ms, {', '.join(targets)}) "
                sql = (f"{into}SELECT ?, (t_ms - {shift}) / {HOUR_MS} * {HOUR_MS} + {shift} "
                       f"AS h, {', '.join(exprs)} FROM {src} "
                       "WHERE sid = ? AND t_ms >= ? AND t_ms < ? GROUP BY h")
                # One hour: no GROUP BY h, whose sorter costs more than the sums themselves
                # (SQLite cannot see that h grows with t_ms). `GROUP BY sid` (one value here)
                # follows the index: no sorter, and no row for an hour without raw rows. The
                # rows are summed in the same order (t_ms) either way: the same bits.
                one_hour = (f"{into}SELECT ?, ?, {', '.join(exprs)} FROM {src} "
                            "WHERE sid = ? AND t_ms >= ? AND t_ms < ? GROUP BY sid")
                for sid, tags in list(self._cat.series.get(measurement, [])):
                    target = self._sid(hourly, _tags_json(tags.items()))
                    for a, b in ranges:
                        if b - a > HOURS_ONE_BY_ONE * HOUR_MS:
                            self._db.execute(sql, (target, sid, a, b))
                            continue
                        for h in range(a, b, HOUR_MS):
                            self._db.execute(one_hour, (target, h, sid, h, h + HOUR_MS))
        except sqlite3.Error as exc:
            raise self._fail("rollup", exc) from None

    def _rollup_days(self, measurement: str, fields: Sequence[str],
                     days: list[tuple[int, int]]) -> None:
        if not days:
            return
        hourly, daily = rollup_name(measurement, "1h"), rollup_name(measurement, "1d")
        try:
            with self._tx():
                h_cols, d_cols = self._cat.fields[hourly], self._cat.fields[daily]
                names = [f + SUM for f in fields] + [f + COUNT for f in fields]
                src, dst = self._cat.tables[hourly], self._cat.tables[daily]
                sql = (f"INSERT OR REPLACE INTO {dst}(sid, t_ms, "
                       f"{', '.join(d_cols[n][0] for n in names)}) "
                       f"SELECT ?, d.s, {', '.join(f'sum(h.{h_cols[n][0]})' for n in names)} "
                       f"FROM rollup_days d JOIN {src} h ON h.sid = ? AND h.t_ms >= d.s "
                       "AND h.t_ms < d.e GROUP BY d.s")
                self._db.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_days("
                                 "s INTEGER PRIMARY KEY, e INTEGER NOT NULL)")
                self._db.execute("DELETE FROM rollup_days")
                self._db.executemany("INSERT INTO rollup_days VALUES (?, ?)", days)
                for sid, tags in list(self._cat.series.get(hourly, [])):
                    target = self._sid(daily, _tags_json([*tags.items(), ("tz", self.tz.key)]))
                    # A day none of whose hours is closed keeps no row (its hours are open).
                    self._db.execute(f"DELETE FROM {dst} WHERE sid = ? AND t_ms IN "
                                     "(SELECT s FROM rollup_days)", (target,))
                    self._db.execute(sql, (target, sid))
        except sqlite3.Error as exc:
            raise self._fail("rollup", exc) from None

    # --- the open hour ---------------------------------------------------------------------
    #
    # Rewriting the current hour's and day's rollup rows at every flush wrote two more pages
    # per rollup measurement and flush (docs/performance.md): 8 of the ~16 pages a 5-minute
    # flush wrote. So the newest hour a flush touches stays *open*: its `_1h` rows are not
    # stored and `_1d` rows leave it out; the hours before it are rolled up when a later hour
    # arrives (once an hour), late data in closed hours at once, as before. Reads of `_1h` and
    # `_1d` add the open hour computed from its raw rows (one hour of one series: ~360 rows),
    # so every answer is the same as with everything rolled up. rollup_open records, per raw
    # measurement, where the open hour starts, for every process using the file.

    def _refresh_rollups(self, pending: dict[str, set[int]]) -> None:
        for m, hours in pending.items():
            if not hours:
                continue
            meas = rollup_measurement(m)
            assert meas is not None
            was = self._db.execute("SELECT from_ms FROM rollup_open WHERE measurement = ?",
                                   (m,)).fetchone()
            was_from = None if was is None else was[0]
            newest = max(hours)
            open_from: int | None
            if was_from is None:
                # Nothing open (new file, upgrade, after retention or a rebuild): the newest
                # touched hour opens, unless stored data reaches beyond it (then this is
                # late data: roll it all up, open nothing).
                if newest < self._newest_raw_hour(m):
                    ranges, open_from = coalesce_hours(hours), None
                else:
                    ranges = coalesce_hours(h for h in hours if h < newest)
                    open_from = newest
            else:  # the open hour(s) and late hours close; the newest touched opens
                ranges = coalesce_hours(h for h in hours if h < was_from)
                open_from = max(was_from, newest)
                if open_from > was_from:
                    ranges.append((was_from, open_from))
            fields = rollup_fields(meas)
            days = local_days(ranges, self.tz)
            if open_from is not None and open_from != was_from:
                # The opened hour keeps no stored rollup (one written while nothing was open
                # goes); its day is summed again without it.
                self._drop_hours_from(m, open_from)
                days = sorted({*days, *local_days([(open_from, open_from + 1)], self.tz)})
                self._db.execute("INSERT OR REPLACE INTO rollup_open VALUES (?, ?, ?)",
                                 (m, open_from, self.tz.key))
                self._cat.open_from[m] = (open_from, self.tz.key)
            if ranges:
                self._rollup_hours(m, fields, ranges)
            self._rollup_days(m, fields, days)
        self._open_cache = {}

    def _newest_raw_hour(self, m: str) -> int:
        """Start of the hour bucket of m's newest raw row (one index seek per series)."""
        tbl = self._cat.tables[m]
        newest = max((self._db.execute(f"SELECT max(t_ms) FROM {tbl} WHERE sid = ?",
                                       (sid,)).fetchone()[0] or -_FAR
                      for sid, _tags in self._cat.series.get(m, [])), default=-_FAR)
        return floor_to(newest, HOUR_MS, self.hour_shift_ms)

    def _drop_hours_from(self, m: str, start_ms: int) -> None:
        hourly = rollup_name(m, "1h")
        tbl = self._cat.tables[hourly]
        for sid, _tags in self._cat.series.get(hourly, []):
            self._db.execute(f"DELETE FROM {tbl} WHERE sid = ? AND t_ms >= ?", (sid, start_ms))

    def _close_open(self) -> None:
        """Roll up every open hour (inside a write transaction): nothing stays open, e.g.
        before retention deletes raw rows or a rebuild recomputes a range."""
        for m in list(self._cat.open_from):
            meas = rollup_measurement(m)
            if meas is None:
                continue
            hours = {h for _tags, h, _v in self._open_hours(m)}
            ranges = coalesce_hours(hours)
            fields = rollup_fields(meas)
            self._rollup_hours(m, fields, ranges)
            self._rollup_days(m, fields, local_days(ranges, self.tz))
            self._db.execute("DELETE FROM rollup_open WHERE measurement = ?", (m,))
            del self._cat.open_from[m]
        self._open_cache = {}

    def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        with self._lock:
            self.flush()
            with self._batch():
                self._close_open()
                a = floor_to(to_ms(start), HOUR_MS, self.hour_shift_ms)
                b = ceil_to(to_ms(end), HOUR_MS, self.hour_shift_ms)
                for m in MEASUREMENTS.values():
                    if m.rollup and b > a:
                        self._rollup_hours(m.name, rollup_fields(m), [(a, b)])
                        self._rollup_days(m.name, rollup_fields(m),
                                          local_days([(a, b)], self.tz))

    def _open_hours(self, m: str) -> list[tuple[dict[str, str], int, dict[str, float]]]:
        """(raw tags, hour start, {`<f>_sum`/`<f>_count`: value}) of m's open hour, from raw
        rows, like _rollup_hours would store them; cached until the file changes."""
        opened = self._cat.open_from.get(m)
        meas = rollup_measurement(m)
        if opened is None or meas is None:
            return []
        cached = self._open_cache.get(m)
        if cached is not None:
            return cached
        start, zone = opened
        have = self._cat.fields.get(m, {})
        fields = [f for f in rollup_fields(meas) if f in have]
        shift = hour_shift_ms(ZoneInfo(zone))  # the writer's hours
        aggs = ", ".join(f"total({have[f][0]}), count({have[f][0]})" for f in fields)
        sql = (f"SELECT (t_ms - {shift}) / {HOUR_MS} * {HOUR_MS} + {shift} AS h, {aggs} "
               f"FROM {self._cat.tables[m]} WHERE sid = ? AND t_ms >= ? GROUP BY h")
        out = []
        for sid, tags in self._cat.series.get(m, []):
            for h, *vals in self._read(sql, (sid, start)):
                values: dict[str, float] = {}
                for i, f in enumerate(fields):
                    if vals[2 * i + 1]:
                        values[f + SUM] = vals[2 * i]
                        values[f + COUNT] = vals[2 * i + 1]
                if values:
                    out.append((tags, h, values))
        self._open_cache[m] = out
        return out

    def _open_rows(self, measurement: str, start_ms: int, end_ms: int,
                   tags: Mapping[str, str] | None) -> list[tuple[int, dict[str, str],
                                                                 dict[str, float]]]:
        """Rows of a rollup measurement (`<m>_1h`, `<m>_1d` of this store's zone) that the
        open hour adds in [start, end): (time, tags, values); none for other measurements.
        A `_1d` row here adds to the stored row of the same day and tags."""
        source = _ROLLUP_OF.get(measurement)
        if source is None:
            return []
        m, level = source
        opened = self._cat.open_from.get(m)
        if opened is None:
            return []
        open_from, zone = opened
        tz = ZoneInfo(zone)  # days of the writer's zone: the `_1d` rows that leave it out
        if end_ms <= (open_from if level == "1h" else
                      to_ms(bucket_floor(from_ms(open_from), "day", tz))):
            return []
        rows: dict[tuple[str, int], tuple[int, dict[str, str], dict[str, float]]] = {}
        for raw_tags, h, values in self._open_hours(m):
            t, row_tags = h, raw_tags
            if level == "1d":
                t = to_ms(bucket_floor(from_ms(h), "day", tz))
                row_tags = {**raw_tags, "tz": zone}
            if not (start_ms <= t < end_ms and tags_match(row_tags, tags)):
                continue
            key = (tags_sort_key(row_tags), t)
            if key not in rows:
                rows[key] = (t, row_tags, dict(values))
            else:
                acc = rows[key][2]
                for f, v in values.items():
                    acc[f] = acc.get(f, 0) + v
        return sorted(rows.values(), key=lambda r: (r[0], tags_sort_key(r[1])))

    def _aggregate(self, measurement: str, field: str, start_ms: int, end_ms: int,
                   step_ms: int, offset_ms: int,
                   tags: Mapping[str, str] | None) -> dict[int, tuple[float, int]]:
        self._refresh()
        out = self._aggregate_stored(measurement, field, start_ms, end_ms, step_ms, offset_ms,
                                     tags)
        for t, _tags, values in self._open_rows(measurement, start_ms, end_ms, tags):
            if field in values:
                b = floor_to(t, step_ms, offset_ms)
                total, count = out.get(b, (0.0, 0))
                out[b] = (total + values[field], count + 1)
        return out

    def _aggregate_stored(self, measurement: str, field: str, start_ms: int, end_ms: int,
                          step_ms: int, offset_ms: int,
                          tags: Mapping[str, str] | None) -> dict[int, tuple[float, int]]:
        col = self._cat.fields.get(measurement, {}).get(field)
        sids = [sid for sid, _t in self._matching(measurement, tags)]
        if col is None or not sids:
            return {}
        c = col[0]
        sql = (f"SELECT (t_ms - ?) / ? AS b, total({c}), count({c}) "
               f"FROM {self._cat.tables[measurement]} WHERE sid IN ({','.join('?' * len(sids))})"
               f" AND t_ms >= ? AND t_ms < ? GROUP BY b")
        rows = self._read(sql, (offset_ms, step_ms, *sids, start_ms, end_ms))
        return {b * step_ms + offset_ms: (total, count) for b, total, count in rows if count}

    def _rows(self, measurement: str, fields: Sequence[str], start_ms: int, end_ms: int,
              tags: Mapping[str, str] | None,
              group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        self._refresh()
        have = self._cat.fields.get(measurement, {})
        names = [f for f in fields if f in have]
        if not names:
            return []
        cols = ", ".join(have[f][0] for f in names)
        out = []
        for sid, t in self._matching(measurement, tags):
            group = tuple(t.get(g, "") for g in group_by)
            for ts, *vals in self._read(
                    f"SELECT t_ms, {cols} FROM {self._cat.tables[measurement]} "
                    "WHERE sid = ? AND t_ms >= ? AND t_ms < ?", (sid, start_ms, end_ms)):
                for f, v in zip(names, vals, strict=True):
                    if v is not None:
                        out.append((ts, group, f, v))
        for ts, t, values in self._open_rows(measurement, start_ms, end_ms, tags):
            group = tuple(t.get(g, "") for g in group_by)
            out += [(ts, group, f, values[f]) for f in names if f in values]
        return out

    def _bucket_sums(self, measurement: str, fields: Sequence[str],
                     bounds: Sequence[tuple[int, int, int]], tags: Mapping[str, str] | None,
                     group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        self._refresh()
        have = self._cat.fields.get(measurement, {})
        names = [f for f in fields if f in have]
        if not names or not bounds:
            return []
        aggs = ", ".join(f"total({have[f][0]}), count({have[f][0]})" for f in names)
        sql = (f"SELECT b.i, {aggs} FROM sum_buckets b JOIN {self._cat.tables[measurement]} d "
               "ON d.sid = ? AND d.t_ms >= b.s AND d.t_ms < b.e GROUP BY b.i")
        out = []
        try:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS sum_buckets("
                             "i INTEGER PRIMARY KEY, s INTEGER NOT NULL, e INTEGER NOT NULL)")
            # Autocommit on the connection's private temp database: no lock on the main file.
            self._db.execute("DELETE FROM sum_buckets")
            self._db.executemany("INSERT INTO sum_buckets VALUES (?, ?, ?)", bounds)
            for sid, t in self._matching(measurement, tags):
                group = tuple(t.get(g, "") for g in group_by)
                for i, *vals in self._db.execute(sql, (sid,)):
                    for k, f in enumerate(names):
                        if vals[2 * k + 1]:
                            out.append((i, group, f, vals[2 * k]))
        except sqlite3.Error as exc:
            raise self._read_error(exc) from None
        starts = [a for _i, a, _b in bounds]
        for ts, t, values in self._open_rows(measurement, bounds[0][1],
                                             max(b for _i, _a, b in bounds), tags):
            i, a, b = bounds[max(bisect.bisect_right(starts, ts) - 1, 0)]
            if a <= ts < b:
                group = tuple(t.get(g, "") for g in group_by)
                out += [(i, group, f, values[f]) for f in names if f in values]
        return out

    # --- the rest of the contract --------------------------------------------------------

    @locked
    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        with self._reading():
            return self._latest(measurement, fields, tags, since)

    def _latest(self, measurement: str, fields: Sequence[str] | None,
                tags: Mapping[str, str] | None, since: datetime | None) -> dict[str, Latest]:
        self._refresh()
        have = self._cat.fields.get(measurement, {})
        names = [f for f in (fields if fields is not None else have) if f in have]
        out: dict[str, Latest] = {}
        tbl = self._cat.tables.get(measurement)
        lo = None if since is None else to_ms(since)
        if measurement in ROLLUP_TABLES:
            return self._latest_rollup(measurement, names, tags, lo)
        for sid, t in sorted(self._matching(measurement, tags),
                             key=lambda st: tags_sort_key(st[1])):
            seen = dict(self._read("SELECT col, t_ms FROM last_seen WHERE sid = ?", (sid,)))
            for f in names:
                c, typ = have[f]
                at = seen.get(c)  # the newest value is in [at, at + slack], or there is none
                if at is None or (lo is not None and lo > at + SEEN_SLACK_MS):
                    continue
                row = self._read(
                    f"SELECT t_ms, {c} FROM {tbl} WHERE sid = ? AND t_ms >= ? "
                    f"AND t_ms <= ? AND {c} IS NOT NULL ORDER BY t_ms DESC LIMIT 1",
                    (sid, at if lo is None else max(at, lo), at + SEEN_SLACK_MS))
                if not row:
                    continue
                when = from_ms(row[0][0])
                if f not in out or when > out[f].time:
                    out[f] = Latest(when, _decode(row[0][1], typ), dict(t))
        return out

    def _latest_rollup(self, measurement: str, names: Sequence[str],
                       tags: Mapping[str, str] | None, lo: int | None) -> dict[str, Latest]:
        """latest() of `<m>_1h`/`<m>_1d`: the newest stored row per series (one row an hour
        or a day: read back from the newest) merged with the open hour's rows."""
        have = self._cat.fields.get(measurement, {})
        tbl = self._cat.tables.get(measurement)
        rows: dict[tuple[str, int], tuple[dict[str, str], dict[str, FieldValue]]] = {}
        for sid, t in self._matching(measurement, tags):
            for f in names:
                c, typ = have[f]
                found = self._read(f"SELECT t_ms, {c} FROM {tbl} WHERE sid = ? AND t_ms >= ? "
                                   f"AND {c} IS NOT NULL ORDER BY t_ms DESC LIMIT 1",
                                   (sid, -_FAR if lo is None else lo))
                if found:
                    when, v = found[0]
                    rows.setdefault((tags_sort_key(t), when), (t, {}))[1][f] = _decode(v, typ)
        for when, t, values in self._open_rows(measurement, -_FAR if lo is None else lo, _FAR,
                                              tags):
            acc = rows.setdefault((tags_sort_key(t), when), (t, {}))[1]
            for f in names:
                if f in values:
                    acc[f] = acc.get(f, 0) + values[f]  # type: ignore[operator]
        out: dict[str, Latest] = {}
        for (_key, when), (t, values) in sorted(rows.items()):
            for f, v in values.items():
                if f not in out or from_ms(when) > out[f].time:
                    out[f] = Latest(from_ms(when), v, dict(t))
        return out

    @locked
    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        with self._reading():
            return self._points(measurement, start, end, tags, limit)

    def _points(self, measurement: str, start: datetime, end: datetime,
                tags: Mapping[str, str] | None, limit: int | None) -> list[Point]:
        self._refresh()
        have = self._cat.fields.get(measurement, {})
        if not have:
            return []
        names = list(have)
        cols = ", ".join(have[f][0] for f in names)
        lim = "" if limit is None else f" LIMIT {int(limit)}"
        rows = []
        for sid, t in self._matching(measurement, tags):
            key = tags_sort_key(t)
            for ts, *vals in self._read(
                    f"SELECT t_ms, {cols} FROM {self._cat.tables[measurement]} WHERE sid = ? "
                    f"AND t_ms >= ? AND t_ms < ? ORDER BY t_ms{lim}",
                    (sid, to_ms(start), to_ms(end))):
                fields = {f: _decode(v, have[f][1])
                          for f, v in zip(names, vals, strict=True) if v is not None}
                if fields:
                    rows.append((ts, key, t, fields))
        opened = self._open_rows(measurement, to_ms(start), to_ms(end), tags)
        if opened:  # rollup rows the open hour adds to (or makes)
            at = {(ts, key): fields for ts, key, _t, fields in rows}
            for ts, t, values in opened:
                fields = at.get((ts, tags_sort_key(t)))
                if fields is None:
                    rows.append((ts, tags_sort_key(t), t, dict(values)))
                else:
                    for f, v in values.items():
                        fields[f] = fields.get(f, 0) + v  # type: ignore[operator]
        rows.sort(key=lambda r: (r[0], r[1]))
        if limit is not None:
            rows = rows[:limit]
        return [Point(measurement, from_ms(ts), fields, dict(t)) for ts, _k, t, fields in rows]

    @locked
    def tag_values(self, measurement: str, tag: str) -> list[str]:
        with self._reading():
            self._refresh()
            found = {t[tag] for _sid, t in self._cat.series.get(measurement, []) if tag in t}
            found.update(t[tag] for _ts, t, _v in self._open_rows(measurement, -_FAR, _FAR,
                                                                  None) if tag in t)
            return sorted(found)

    @locked
    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        self._refresh()
        cutoff = to_ms(now - keep)
        chunk = 7 * DAY_MS  # short transactions: the collector keeps writing meanwhile
        if any(self._cat.open_from.get(m, (_FAR, ""))[0] < cutoff
               for m in RAW_RETENTION_MEASUREMENTS):
            with self._batch():  # their raw rows go: roll them up first
                self._close_open()
        try:
            for m in RAW_RETENTION_MEASUREMENTS:
                tbl = self._cat.tables.get(m)
                for sid, _t in self._cat.series.get(m, []):
                    first = self._db.execute(f"SELECT min(t_ms) FROM {tbl} WHERE sid = ?",
                                             (sid,)).fetchone()[0]
                    lo = cutoff if first is None else first
                    while lo < cutoff:
                        hi = min(lo + chunk, cutoff)
                        with self._tx():
                            self._db.execute(f"DELETE FROM {tbl} WHERE sid = ? AND t_ms < ?",
                                             (sid, hi))
                        lo = hi
        except sqlite3.Error as exc:
            raise self._fail("retention", exc) from None

    @locked
    def info(self) -> StoreInfo:
        return StoreInfo("sqlite", sqlite3.sqlite_version, str(self.path))

    @locked
    def check(self) -> None:
        """Read every page of the file and check its structure (PRAGMA quick_check: b-trees,
        records, free list; not the cross-check of indexes, which this layout has none of).
        StoreError naming the first problems when the file is damaged. Reads the whole file:
        2 s for three years of data (550 MB) on the development machine, more from an SD
        card (docs/performance.md)."""
        try:
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:
            raise StoreError(f"the embedded store {self.path} cannot be checked: "
                             f"{describe(exc, self.path)}") from None
        if problems != ["ok"]:
            found = "; ".join(" ".join(p.split()) for p in problems)[:400]
            raise StoreError(f"the embedded store {self.path} is damaged ({found}); "
                             f"{MOVE_AWAY}")

    def close(self) -> None:
        with self._lock:
            try:
                if self._buffer or self._pending_hours:
                    self.flush()
            finally:
                self._db.close()
