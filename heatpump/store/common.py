"""What both backends share: point checks, buffering, rollup upkeep, series and sums.

A backend only supplies a few primitives (write rows, recompute hour/day rollups, aggregate
per fixed-width bucket, list rows); everything that decides *which* data answers a query
lives here, so SQLite and InfluxDB give the same answers by construction.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import operator
import re
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import repeat
from typing import TypeVar
from zoneinfo import ZoneInfo

from heatpump.schema import MEASUREMENTS, rollup_name
from heatpump.store.base import Bucket, BucketSum, FieldValue, Point, Series, Store, StoreError
from heatpump.store.rollup import (
    COUNT,
    DAY_MS,
    EPOCH,
    HOUR_MS,
    NICE_STEPS_MS,
    SUM,
    CalendarBuckets,
    ceil_to,
    coalesce_hours,
    floor_to,
    from_ms,
    hour_shift_ms,
    local_days,
    rollup_fields,
    rollup_measurement,
    series_anchor_ms,
    to_ms,
)

T = TypeVar("T")
_BAD_BACKSLASH = re.compile(r"\\([\\,= ]|$)")
TagKey = tuple[tuple[str, str], ...]  # sorted (tag, value) pairs, empty values dropped
# A point as a backend writes it: (t_ms, *its values in its shape's field order).
Row = tuple[FieldValue, ...]
# Rows per shape (each list in the points' order; the shapes in the order of their first
# point), as normalize() gives them and a flush writes them.
Rows = dict["Shape", list[Row]]


class PartialWriteError(StoreError):
    """Some values were refused (e.g. a field type conflict); all the others were written."""


def value_type(v: FieldValue) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    raise ValueError(f"unsupported field value {v!r} ({type(v).__name__})")


def _check_name(kind: str, name: object) -> str:
    """Names and tag values both backends can store and give back unchanged.

    InfluxDB 1.x line protocol cannot carry a line break in a name or tag, nor a backslash
    right before `\\`, `,`, `=`, a space or the end (it would read as an escape)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{kind} must be a non-empty string, not {name!r}")
    if "\n" in name or "\r" in name:
        raise ValueError(f"{kind} {name!r} contains a line break")
    if "\\" in name and _BAD_BACKSLASH.search(name):
        raise ValueError(f"{kind} {name!r}: a backslash may not precede \\ , = space or "
                         "the end")
    return name


def tags_sort_key(tags: Mapping[str, str] | None) -> str:
    """The order of rows with equal times: by their tags, the same in both backends."""
    return json.dumps(dict(tags or {}), sort_keys=True, ensure_ascii=False)


def _coerce(measurement: str, fname: str, v: object, want: str | None) -> FieldValue:
    """The value as the schema's type; ValueError on a mismatch (never a silent cast)."""
    got = value_type(v)  # type: ignore[arg-type]
    if got == "float" and not math.isfinite(v):  # type: ignore[arg-type]
        raise ValueError(f"{measurement}.{fname}={v!r}: not a finite number")
    if want is None or want == got:
        return v  # type: ignore[return-value]
    if want == "float" and got == "int":
        return float(v)  # type: ignore[arg-type]
    raise ValueError(f"{measurement}.{fname}={v!r}: schema type is {want}, got {got}")


_SCHEMA_TYPES: dict[str, dict[str, str]] = {
    m.name: {f.name: f.type for f in m.fields} for m in MEASUREMENTS.values()
}
for _m in MEASUREMENTS.values():
    if _m.rollup:
        _SCHEMA_TYPES[rollup_name(_m.name, "1h")] = _SCHEMA_TYPES[rollup_name(_m.name, "1d")] = {
            **{f + SUM: "float" for f in rollup_fields(_m)},
            **{f + COUNT: "int" for f in rollup_fields(_m)},
        }


_ROLLUP_NAMES = frozenset(m.name for m in MEASUREMENTS.values() if m.rollup)


def field_type(measurement: str, field: str) -> str | None:
    """The schema's type of a field (rollup measurements included), None when unknown."""
    return _SCHEMA_TYPES.get(measurement, {}).get(field)


_PYTYPE = {"float": float, "int": int, "bool": bool, "str": str}
_SHAPE_CACHE: dict[tuple, Shape] = {}
_CACHE_MAX = 20_000
_MS = timedelta(milliseconds=1)
FIRST = operator.itemgetter(0)  # a row's t_ms


class Shape:
    """What the points of one shape (measurement, tags, field names in order) share: the
    checked names and tags, and what a point's values are checked against.

    Made once per shape (a year of 10-second samples has a handful), so a point's own work
    is a cache look-up, its time and the check of its values. Compared and hashed by
    identity (cheap: rows are grouped by shape, normalize)."""

    __slots__ = ("checks", "float_at", "is_float", "measurement", "names", "rolled", "tags",
                 "types", "value_types")

    def __init__(self, measurement: str, tags: TagKey, names: tuple[str, ...]):
        schema = _SCHEMA_TYPES.get(measurement)
        tag_keys = {k for k, _ in tags}
        checks = []
        for k in names:
            _check_name("field key", k)
            if schema is not None and k not in schema:
                raise ValueError(f"{measurement} has no field {k!r} in heatpump/schema.py")
            if k in tag_keys:
                raise ValueError(f"{measurement}: {k!r} is both a tag and a field")
            checks.append((k, schema.get(k) if schema else None))
        self.measurement, self.tags, self.names = measurement, tags, names
        # (name, schema type or None outside the schema) for the slow path, _coerced
        self.checks: tuple[tuple[str, str | None], ...] = tuple(checks)
        # the types of a row (t_ms, *values) that need no conversion (`object`: unknown)
        self.types: tuple[type, ...] = (int, *(_PYTYPE[w] if w else object
                                              for _k, w in checks))
        # a getter of the row's float values, whose sum is finite exactly when each is
        # (one float is got twice: an itemgetter of one index gives no tuple)
        floats = [i + 1 for i, (_k, w) in enumerate(checks) if w == "float"]
        self.float_at: Callable[[tuple], tuple] | None = (
            operator.itemgetter(*floats) if len(floats) > 1
            else operator.itemgetter(floats[0], floats[0]) if floats else None)
        self.rolled = measurement in _ROLLUP_NAMES  # its hours are rolled up
        # per field, for the fast path's column-wise check: its type and whether a float
        self.value_types = self.types[1:]
        self.is_float = tuple(w == "float" for _k, w in checks)


def _check_tags(m: str, tags: Mapping[str, str]) -> TagKey:
    _check_name("measurement", m)
    return tuple(sorted((_check_name("tag key", k), _check_name(f"tag {k}", v))
                        for k, v in tags.items() if v != ""))


def _shape_of(p: Point, key: tuple) -> Shape:
    """The point's shape, checked (ValueError saying what is wrong), and cached."""
    if not p.fields:
        raise ValueError(f"{p.measurement} point at {p.time.isoformat()} has no fields")
    shape = Shape(p.measurement, _check_tags(p.measurement, p.tags), tuple(p.fields))
    if len(_SHAPE_CACHE) > _CACHE_MAX:
        _SHAPE_CACHE.clear()
    _SHAPE_CACHE[key] = shape
    return shape


def _coerced(shape: Shape, t: int, fields: Mapping[str, object]) -> Row:
    """The row of values that are not all of the schema's type or not all finite: each
    converted or refused by `_coerce` (ValueError)."""
    m = shape.measurement
    return (t, *(_coerce(m, k, v, want)
                 for (k, want), v in zip(shape.checks, fields.values(), strict=True)))


def normalize(points: Iterable[Point], keep_order: bool = False
              ) -> tuple[Rows, list[Shape] | None]:
    """Check points and turn them into rows per shape; ValueError for the first bad point
    (in the order given) says exactly what is wrong, and then nothing is returned. With
    `keep_order`, also each point's shape in turn (for a backend that writes the points in
    their order: InfluxDB, where a later line wins a field of the same time).

    Name, tag and field-set checks are made once per shape (Shape, cached by measurement,
    tags and field names): a year of 10-second samples passes through here. The fast path
    (_rows_fast) costs a point a cache look-up, its time in ms and its row; its values are
    then checked a shape and a field at a time by C-level maps over the column (the set of
    their types must be the field's type alone, the sum of a float column finite, which it
    is when each value is: an overflow only sends the batch the exact way). Anything the
    fast path does not decide (a new shape that is refused, a naive time, an int for a
    float field, a value refused) sends the whole batch through the exact path
    (_rows_exact), point by point, as each point was always checked: the same rows, the
    same error."""
    if not isinstance(points, list | tuple):
        points = list(points)
    order: list[Shape] | None = [] if keep_order else None
    try:
        rows = _rows_fast(points, order)
    except Exception:  # the exact path raises what is wrong, in order
        rows = None
    if rows is not None:
        return rows, order
    order = [] if keep_order else None
    return _rows_exact(points, order), order


def _rows_fast(points: Sequence[Point], order: list[Shape] | None) -> Rows | None:
    """Rows of points that need no conversion; None when some value is not of its shape's
    type or not finite. Raises on anything else (the exact path then says what)."""
    groups: Rows = {}
    group = groups.get
    cached = _SHAPE_CACHE.get
    epoch, ms = EPOCH, _MS
    for p in points:
        pf = p.fields
        key = (p.measurement, *p.tags.items(), *pf)
        shape = cached(key) or _shape_of(p, key)
        row = ((p.time - epoch) // ms, *pf.values())
        same = group(shape)
        if same is None:
            groups[shape] = [row]
        else:
            same.append(row)
        if order is not None:
            order.append(shape)
    for shape, rows in groups.items():  # a shape's values checked column by column
        columns = zip(*rows, strict=True)  # rows of one shape are of one length
        next(columns)  # t_ms: an int by construction
        for values, want, is_float in zip(columns, shape.value_types, shape.is_float,
                                          strict=True):
            if {*map(type, values)} != {want}:
                return None
            if is_float and (total := sum(values)) - total:
                return None
    return groups


def _rows_exact(points: Sequence[Point], order: list[Shape] | None) -> Rows:
    """Rows of points checked one by one in order: ValueError for the first bad one."""
    groups: Rows = {}
    for p in points:
        pf = p.fields
        key = (p.measurement, *p.tags.items(), *pf)
        shape = _SHAPE_CACHE.get(key) or _shape_of(p, key)
        when = p.time
        if when.tzinfo is None:
            raise ValueError("naive datetime: times must carry a zone")
        t = (when - EPOCH) // _MS
        row = (t, *pf.values())
        if tuple(map(type, row)) != shape.types or (
                shape.float_at and (total := sum(shape.float_at(row))) - total != 0.0):
            row = _coerced(shape, t, pf)
        groups.setdefault(shape, []).append(row)
        if order is not None:
            order.append(shape)
    return groups


def _merged(batches: list[Rows]) -> Rows:
    """The rows of several writes as one (per shape in order; shapes by first point); the
    batches stay as they were."""
    if len(batches) == 1:
        return batches[0]
    groups: Rows = {}
    for batch in batches:
        for shape, rows in batch.items():
            same = groups.get(shape)
            if same is None:
                groups[shape] = list(rows)
            else:
                same += rows
    return groups


def tags_match(tags: Mapping[str, str], wanted: Mapping[str, str] | None) -> bool:
    return not wanted or all(tags.get(k) == v for k, v in wanted.items())


def locked(method: Callable[..., T]) -> Callable[..., T]:
    """Run a store method under the store's lock: one connection, several threads."""

    @functools.wraps(method)
    def wrapper(self: BaseStore, *args: object, **kwargs: object) -> T:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class BaseStore(Store):
    """Buffered writes, rollup upkeep after each flush, and the query planning."""

    # Whether the backend writes a flush's points in the order they came (InfluxDB: a later
    # line wins a field of the same time); otherwise it gets them per shape only.
    keeps_order = False

    def __init__(self, tz: ZoneInfo):
        self.tz = tz
        self.hour_shift_ms = hour_shift_ms(tz)
        self._buffer: list[Rows] = []  # one entry per write()
        self._order: list[Shape] = []  # each buffered point's shape, with keeps_order
        self._pending_hours: dict[str, set[int]] = {}
        self._lock = threading.RLock()

    # --- backend primitives -------------------------------------------------------------

    backend = "abstract"

    @abstractmethod
    def _write_rows(self, groups: Rows) -> list[str]:
        """Write the rows (overwriting same measurement/tags/time/field; `in_order` gives
        them in the order written, for a backend that `keeps_order`); the values refused
        for good (type conflicts), described. StoreError when nothing could be written.
        Leaves `groups` as it is (a failed flush is repeated with it)."""

    def in_order(self, groups: Rows) -> list[tuple[Shape, Row]]:
        """The buffered rows as (shape, row) in the order they were written (keeps_order)."""
        rows = {shape: iter(same) for shape, same in groups.items()}
        return [(shape, next(rows[shape])) for shape in self._order]

    @abstractmethod
    def _rollup_hours(self, measurement: str, fields: Sequence[str],
                      ranges: list[tuple[int, int]]) -> None:
        """Recompute `<m>_1h` (Σ and count per hour bucket and tag set) from raw rows for
        the hour-aligned [start, end) ranges."""

    @abstractmethod
    def _rollup_days(self, measurement: str, fields: Sequence[str],
                     days: list[tuple[int, int]]) -> None:
        """Recompute `<m>_1d` (tagged tz) for the given local days from `<m>_1h`."""

    @abstractmethod
    def _aggregate(self, measurement: str, field: str, start_ms: int, end_ms: int,
                   step_ms: int, offset_ms: int,
                   tags: Mapping[str, str] | None) -> dict[int, tuple[float, int]]:
        """(Σ value, number of values) per step bucket aligned on epoch + offset, over
        every tag set matching `tags`; buckets without values absent."""

    @abstractmethod
    def _rows(self, measurement: str, fields: Sequence[str], start_ms: int, end_ms: int,
              tags: Mapping[str, str] | None,
              group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        """(t_ms, values of the group_by tags, field, value) of every stored value."""

    @abstractmethod
    def _bucket_sums(self, measurement: str, fields: Sequence[str],
                     bounds: Sequence[tuple[int, int, int]], tags: Mapping[str, str] | None,
                     group_by: Sequence[str]) -> Iterable[tuple[int, tuple[str, ...], str, float]]:
        """(bucket index, group_by tag values, field, Σ) for each (index, start_ms, end_ms)
        bucket that holds values of the field; summed by the backend."""

    # --- writes --------------------------------------------------------------------------

    def write(self, points: Iterable[Point]) -> None:
        rows, order = normalize(points, self.keeps_order)  # all checked before any is buffered
        if not rows:
            return
        with self._lock:
            self._buffer.append(rows)
            if order:
                self._order += order

    def flush(self) -> None:
        with self._lock:
            groups = _merged(self._buffer)
            pending = {m: set(h) for m, h in self._pending_hours.items()}
            self._note_touched(groups, pending)
            # One transaction where the backend has them (SQLite): raw rows and their rollups
            # commit together. On StoreError the buffer and the pending rollups stay and the
            # next flush repeats the work, which is idempotent.
            with self._batch():
                refused = self._write_rows(groups) if groups else []
                self._refresh_rollups(pending)
            self._buffer = []
            self._order = []
            self._pending_hours = {}
            if refused:
                raise PartialWriteError(
                    f"{self.backend} store refused {len(refused)} value(s) (field type conflict "
                    f"or bad line), the rest was written: {'; '.join(refused[:5])[:1000]}")

    def _batch(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def _reading(self) -> contextlib.AbstractContextManager[object]:
        """Around a query's reads: one snapshot of the data where the backend has them
        (SQLite), so a query never mixes data from before and after another's commit."""
        return contextlib.nullcontext()

    def _note_touched(self, groups: Rows,
                      pending: dict[str, set[int]]) -> None:
        """Hours (bucket starts) of rollup measurements that these rows touch (each group's
        hours found by C-level maps: no Python step per row)."""
        shift = self.hour_shift_ms
        for shape, rows in groups.items():
            if shape.rolled:
                hours = set(map(operator.floordiv, map(operator.sub, map(FIRST, rows),
                                                       repeat(shift)), repeat(HOUR_MS)))
                pending.setdefault(shape.measurement, set()).update(
                    h * HOUR_MS + shift for h in hours)

    def _refresh_rollups(self, pending: dict[str, set[int]]) -> None:
        for m, hours in pending.items():
            meas = rollup_measurement(m)
            assert meas is not None
            fields = rollup_fields(meas)
            ranges = coalesce_hours(hours)
            self._rollup_hours(m, fields, ranges)
            self._rollup_days(m, fields, local_days(ranges, self.tz))

    def rebuild_rollups(self, start: datetime, end: datetime) -> None:
        """Recompute every rollup over [start, end) from raw (e.g. after HEATPUMP_TZ changed
        or data was imported behind the store's back). Raw rows must still exist."""
        a = floor_to(to_ms(start), HOUR_MS, self.hour_shift_ms)
        b = ceil_to(to_ms(end), HOUR_MS, self.hour_shift_ms)
        with self._lock:
            for m in MEASUREMENTS.values():
                if m.rollup:
                    self._pending_hours.setdefault(m.name, set()).update(range(a, b, HOUR_MS))
            self.flush()

    # --- queries -------------------------------------------------------------------------

    @locked
    def series(self, measurement: str, field: str, start: datetime, end: datetime,
               max_points: int = 500, tags: Mapping[str, str] | None = None) -> Series:
        with self._reading():
            return self._series(measurement, field, start, end, max_points, tags)

    def _series(self, measurement: str, field: str, start: datetime, end: datetime,
                max_points: int, tags: Mapping[str, str] | None) -> Series:
        t = field_type(measurement, field)
        if t in ("str", "bool"):
            raise ValueError(f"{measurement}.{field} is {t}; a series needs a numeric field")
        if max_points < 1:
            raise ValueError("max_points must be at least 1")
        s, e = to_ms(start), to_ms(end)
        if e <= s:
            return Series(start, timedelta(milliseconds=NICE_STEPS_MS[0]), [])
        step, anchor, first, n = _plan(s, e, max_points, start, self.tz)
        last = first + n * step
        meas = rollup_measurement(measurement)
        rolled = meas is not None and field in rollup_fields(meas)
        if rolled and step % DAY_MS == 0:
            # Whole local days from `<m>_1d`: each day goes to the bucket holding its middle,
            # so a bucket is a run of local calendar days even across DST.
            values_d: dict[int, list[float]] = {}
            cols = [field + SUM, field + COUNT]
            for t, _g, f, v in self._rows(rollup_name(measurement, "1d"), cols,
                                          first - DAY_MS, last + DAY_MS,
                                          {**(tags or {}), "tz": self.tz.key}, ()):
                i = (t + DAY_MS // 2 - first) // step
                if 0 <= i < n:
                    acc = values_d.setdefault(i, [0.0, 0])
                    acc[0 if f == field + SUM else 1] += v
            return Series(from_ms(first), timedelta(milliseconds=step),
                          [values_d[i][0] / values_d[i][1] if values_d.get(i, (0, 0))[1]
                           else None for i in range(n)])
        if rolled and step % HOUR_MS == 0:
            hourly = rollup_name(measurement, "1h")
            sums = self._aggregate(hourly, field + SUM, first, last, step, anchor, tags)
            counts = self._aggregate(hourly, field + COUNT, first, last, step, anchor, tags)
            agg = {b: (sums[b][0], int(counts[b][0])) for b in sums if b in counts}
        else:
            agg = self._aggregate(measurement, field, first, last, step, anchor, tags)
        values: list[float | None] = [None] * n
        for b, (total, count) in agg.items():
            i = (b - first) // step
            if 0 <= i < n and count:
                values[i] = total / count
        return Series(from_ms(first), timedelta(milliseconds=step), values)

    @locked
    def sums(self, measurement: str, fields: Sequence[str], start: datetime, end: datetime,
             bucket: Bucket, tz: ZoneInfo, tags: Mapping[str, str] | None = None,
             group_by: Sequence[str] = ()) -> list[BucketSum]:
        with self._reading():
            return self._sums(measurement, fields, start, end, bucket, tz, tags, group_by)

    def _sums(self, measurement: str, fields: Sequence[str], start: datetime, end: datetime,
              bucket: Bucket, tz: ZoneInfo, tags: Mapping[str, str] | None,
              group_by: Sequence[str]) -> list[BucketSum]:
        for f in fields:
            if field_type(measurement, f) == "str":
                raise ValueError(f"{measurement}.{f} is text and cannot be summed")
        s, e = to_ms(start), to_ms(end)
        if e <= s or not fields:
            return []
        cal = CalendarBuckets(s, e, bucket, tz)
        meas = rollup_measurement(measurement)
        source, src_fields, src_tags = measurement, list(fields), dict(tags or {})
        if meas is not None and all(f in rollup_fields(meas) for f in fields):
            if bucket != "hour" and tz.key == self.tz.key:
                source = rollup_name(measurement, "1d")
                src_tags["tz"] = self.tz.key
            elif hour_shift_ms(tz) == self.hour_shift_ms:
                source = rollup_name(measurement, "1h")
            if source != measurement:
                src_fields = [f + SUM for f in fields]
        totals: dict[tuple[int, tuple[str, ...]], dict[str, float]] = {}
        one_row_per_bucket = (source == rollup_name(measurement, "1h") and bucket == "hour") or (
            source == rollup_name(measurement, "1d") and bucket == "day")
        if one_row_per_bucket:  # the stored rows are the buckets: read them
            found = self._rows(source, src_fields, s, e, src_tags, group_by)
            pos = {ms: i for i, ms in enumerate(cal.starts[:-1])}  # rows sit on bucket starts
            hits: Iterable[tuple[int | None, tuple[str, ...], str, float]] = (
                (pos[t] if t in pos else cal.index(t), group, f, v) for t, group, f, v in found)
        else:  # many rows per bucket: let the backend sum them per bucket
            bounds = [(i, max(a, s), min(b, e))
                      for i, (a, b) in enumerate(zip(cal.starts, cal.starts[1:], strict=False))]
            hits = self._bucket_sums(source, src_fields, bounds, src_tags, group_by)
        strip = len(SUM) if source != measurement else 0
        for i, group, f, v in hits:
            if i is None:
                continue
            row = totals.get((i, group))
            if row is None:
                row = totals[(i, group)] = {}
            name = f[:-strip] if strip else f
            row[name] = row.get(name, 0.0) + v
        out = []
        when: dict[int, datetime] = {}
        for (i, group), vals in sorted(totals.items()):
            a, b = cal.bounds(i)
            start_dt = when.get(a) or when.setdefault(a, from_ms(a))
            end_dt = when.get(b) or when.setdefault(b, from_ms(b))
            out.append(BucketSum(start_dt, end_dt, dict(zip(group_by, group, strict=True)),
                                 {f: float(vals[f]) for f in fields if f in vals}))
        return out


def _plan(s: int, e: int, max_points: int, start: datetime,
          tz: ZoneInfo) -> tuple[int, int, int, int]:
    """(step, anchor, first bucket start, bucket count) with at most max_points buckets."""
    for step in NICE_STEPS_MS:
        anchor = series_anchor_ms(start, step, tz)
        first = floor_to(s, step, anchor)
        n = (ceil_to(e, step, anchor) - first) // step
        if n <= max_points:
            return step, anchor, first, n
    step = NICE_STEPS_MS[-1]
    while True:
        step *= 2
        first = floor_to(s, step, 0)
        n = (ceil_to(e, step, 0) - first) // step
        if n <= max_points:
            return step, 0, first, n


def store_error(msg: str, secrets: Iterable[str | None] = ()) -> StoreError:
    """A StoreError whose text has every secret masked (belt and braces)."""
    for sec in secrets:
        if sec:
            msg = msg.replace(sec, "***")
    return StoreError(msg)
