"""Pure rollup arithmetic shared by both store backends (no I/O).

Both backends keep, per rollup measurement `<m>`:

- `<m>_1h`: one point per hour bucket and raw tag set, fields `<f>_sum` (float) and
  `<f>_count` (int) for every rollup field. Hours are UTC hours shifted by the sub-hour part
  of the zone's UTC offset (0 for almost every zone; 30 min for e.g. Asia/Kolkata), so every
  local hour, day and month boundary is also an hour-bucket boundary.
- `<m>_1d`: one point per local calendar day of the configured zone (23, 24 or 25 hours),
  the raw tags plus `tz=<zone name>`, same fields, summed from `<m>_1h`.

After each flush the touched hours are recomputed from raw and the touched days from hours,
so writing a point twice, or late, never double counts. Queries of long ranges combine
rollups: a mean is Σsum/Σcount, an energy total is Σsum.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from heatpump.schema import MEASUREMENTS, Measurement
from heatpump.timeutil import Bucket, bucket_floor, bucket_next

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SUM, COUNT = "_sum", "_count"

# Bucket widths a chart may use, smallest first (ms).
NICE_STEPS_MS: tuple[int, ...] = tuple(s * 1000 for s in (
    1, 2, 5, 10, 15, 30,
    60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60,
    3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 364 * 86400,
))


def to_ms(dt: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (sub-ms truncated, exact integer)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: times must carry a zone")
    return (dt - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def rollup_measurement(name: str) -> Measurement | None:
    """The schema measurement when it keeps rollups, else None."""
    m = MEASUREMENTS.get(name)
    return m if m is not None and m.rollup else None


def rollup_fields(m: Measurement) -> tuple[str, ...]:
    return tuple(f.name for f in m.fields if f.rollup and f.type in ("float", "int"))


def hour_shift_ms(tz: ZoneInfo) -> int:
    """Where the store's hour buckets start after each UTC hour, in [0, 1 h): 0 for whole-hour
    zones, 30 min for +05:30, 15 min for +05:45 (like timeutil.bucket_floor 'hour').

    Taken from the zone's offset in January; a zone whose sub-hour part changes with DST
    (only Australia/Lord_Howe) keeps the January alignment."""
    off = datetime(2024, 1, 15, 12, tzinfo=UTC).astimezone(tz).utcoffset() or timedelta(0)
    return -int(off.total_seconds() * 1000) % HOUR_MS


def floor_to(ms: int, step_ms: int, offset_ms: int) -> int:
    """Start of the step-wide bucket (aligned on epoch + offset) that contains `ms`."""
    return (ms - offset_ms) // step_ms * step_ms + offset_ms


def ceil_to(ms: int, step_ms: int, offset_ms: int) -> int:
    f = floor_to(ms, step_ms, offset_ms)
    return f if f == ms else f + step_ms


def coalesce_hours(hours: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted hour-bucket starts -> minimal list of [start, end) ranges covering them."""
    out: list[tuple[int, int]] = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + HOUR_MS)
        else:
            out.append((h, h + HOUR_MS))
    return out


def local_days(ranges: Iterable[tuple[int, int]], tz: ZoneInfo) -> list[tuple[int, int]]:
    """Local calendar days [start_ms, end_ms) touching any of the ms ranges, sorted."""
    days: set[tuple[int, int]] = set()
    for a, b in ranges:
        cur = bucket_floor(from_ms(a), "day", tz)
        end = from_ms(b)
        while cur < end:
            nxt = bucket_next(cur, "day", tz)
            days.add((to_ms(cur), to_ms(nxt)))
            cur = nxt
    return sorted(days)


def series_anchor_ms(start: datetime, step_ms: int, tz: ZoneInfo) -> int:
    """Alignment of series buckets: on the zone's offset at `start` (local midnights for
    day steps, local hours for hour steps); plain UTC below one hour."""
    if step_ms < HOUR_MS:
        return 0
    off = start.astimezone(tz).utcoffset() or timedelta(0)
    return -int(off.total_seconds() * 1000) % step_ms


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MS = timedelta(milliseconds=1)


def local_midnight_ms(ordinal: int, tz: ZoneInfo) -> int:
    """UTC ms of the local midnight starting that (proleptic Gregorian ordinal) date; when
    DST skips midnight, the transition instant, like timeutil (offset before the change)."""
    off = tz.utcoffset(datetime.fromordinal(ordinal)) or timedelta(0)
    return (ordinal - _EPOCH_ORDINAL) * DAY_MS - off // _MS


class CalendarBuckets:
    """Maps UTC ms instants to local calendar buckets over a range, by binary search."""

    def __init__(self, start_ms: int, end_ms: int, bucket: Bucket, tz: ZoneInfo):
        self.starts: list[int] = []
        cur = bucket_floor(from_ms(start_ms), bucket, tz)
        if bucket == "hour":
            first = to_ms(cur)
            self.starts = list(range(first, end_ms + HOUR_MS, HOUR_MS))
            return
        # Days and months: local midnights by calendar arithmetic, one zone look-up each
        # (timeutil's bucket_next gives the same, ~20x slower; a test holds the two equal).
        local = cur.astimezone(tz).date()
        ordinal = local.toordinal()
        y, m = local.year, local.month
        while True:
            ms = local_midnight_ms(ordinal, tz)
            if not self.starts or ms > self.starts[-1]:  # a skipped day has no bucket
                self.starts.append(ms)
            if ms >= end_ms:
                break
            if bucket == "month":
                y, m = (y + 1, 1) if m == 12 else (y, m + 1)
                ordinal = date(y, m, 1).toordinal()
            else:
                ordinal += 1

    def index(self, ms: int) -> int | None:
        i = bisect.bisect_right(self.starts, ms) - 1
        return i if 0 <= i < len(self.starts) - 1 else None

    def bounds(self, i: int) -> tuple[int, int]:
        return self.starts[i], self.starts[i + 1]
