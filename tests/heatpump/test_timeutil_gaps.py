"""timeutil where DST skips midnight: buckets must still advance (regression: they looped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from heatpump.timeutil import bucket_floor, bucket_next
from tests.buckets import bucket_starts


def test_santiago_day_without_midnight_starts_at_the_transition():
    tz = ZoneInfo("America/Santiago")
    days = bucket_starts(datetime(2011, 8, 19, tzinfo=UTC), datetime(2011, 8, 24, tzinfo=UTC),
                         "day", tz)
    local = [d.astimezone(tz) for d in days]
    assert [d.day for d in local] == [18, 19, 20, 21, 22, 23]
    assert local[3].hour == 1  # 21 Aug 2011 began at 01:00 (midnight was skipped)
    assert days[4] - days[3] == timedelta(hours=23)
    assert bucket_floor(days[3] + timedelta(minutes=5), "day", tz) == days[3]


def test_apia_skipped_day_has_no_bucket_and_the_next_follows():
    tz = ZoneInfo("Pacific/Apia")
    d29 = datetime(2011, 12, 29, tzinfo=tz)
    nxt = bucket_next(d29.astimezone(UTC), "day", tz)
    assert nxt.astimezone(tz).replace(tzinfo=None) == datetime(2011, 12, 31)
    assert bucket_next(nxt, "day", tz).astimezone(tz).day == 1
