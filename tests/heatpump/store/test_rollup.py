"""Pure rollup arithmetic: calendar buckets, steps, alignment (no store needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from heatpump.store.common import _plan
from heatpump.store.rollup import (
    HOUR_MS,
    CalendarBuckets,
    coalesce_hours,
    floor_to,
    hour_shift_ms,
    local_days,
    to_ms,
)
from heatpump.timeutil import bucket_floor, bucket_next
from tests.buckets import bucket_starts

ZONES = ["Europe/Berlin", "America/Santiago", "America/Havana", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "UTC",
         "Pacific/Apia"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("bucket", ["hour", "day", "month"])
def test_calendar_buckets_equal_timeutil(zone: str, bucket: str):
    tz = ZoneInfo(zone)
    start = datetime(2011, 1, 1, tzinfo=UTC) if bucket != "hour" else \
        datetime(2025, 3, 28, tzinfo=UTC)
    end = start + (timedelta(days=5) if bucket == "hour" else timedelta(days=3 * 365))
    want = [to_ms(t) for t in bucket_starts(start, end, bucket, tz)]
    cal = CalendarBuckets(to_ms(start), to_ms(end), bucket, tz)  # type: ignore[arg-type]
    if bucket == "hour" and hour_shift_ms(tz) != 0:
        return  # store hours follow the zone's sub-hour offset; compared below
    assert cal.starts[:-1] == want
    assert cal.starts[-1] == to_ms(bucket_next(bucket_starts(start, end, bucket, tz)[-1],
                                               bucket, tz))


@pytest.mark.parametrize("zone", ZONES)
def test_store_hours_are_timeutil_hours(zone: str):
    tz = ZoneInfo(zone)
    shift = hour_shift_ms(tz)
    t = datetime(2025, 1, 10, 7, 50, 13, tzinfo=UTC)
    assert floor_to(to_ms(t), HOUR_MS, shift) == to_ms(bucket_floor(t, "hour", tz))


def test_index_and_bounds():
    tz = ZoneInfo("Europe/Berlin")
    a, b = datetime(2026, 3, 28, tzinfo=tz), datetime(2026, 3, 31, tzinfo=tz)
    cal = CalendarBuckets(to_ms(a), to_ms(b), "day", tz)
    i = cal.index(to_ms(datetime(2026, 3, 29, 12, tzinfo=tz)))
    assert i == 1
    lo, hi = cal.bounds(1)
    assert hi - lo == 23 * HOUR_MS
    assert cal.index(to_ms(b)) is None and cal.index(to_ms(a) - 1) is None


def test_steps_and_ranges():
    day = 86_400_000
    utc = ZoneInfo("UTC")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # the smallest nice step giving at most max_points buckets (what Store.series uses)
    assert _plan(0, day, 500, t0, utc)[0] == 300_000
    assert _plan(0, 365 * day, 500, t0, utc)[0] == day
    assert _plan(0, 60_000, 500, t0, utc)[0] == 1000
    assert coalesce_hours([3 * HOUR_MS, HOUR_MS, 2 * HOUR_MS, 7 * HOUR_MS]) == [
        (HOUR_MS, 4 * HOUR_MS), (7 * HOUR_MS, 8 * HOUR_MS)]
    berlin = ZoneInfo("Europe/Berlin")
    start = to_ms(datetime(2026, 3, 28, 23, 30, tzinfo=berlin))
    days = local_days([(start, start + HOUR_MS)], berlin)
    assert days == [(to_ms(datetime(2026, 3, 28, tzinfo=berlin)),
                     to_ms(datetime(2026, 3, 29, tzinfo=berlin))),
                    (to_ms(datetime(2026, 3, 29, tzinfo=berlin)),
                     to_ms(datetime(2026, 3, 30, tzinfo=berlin)))]
