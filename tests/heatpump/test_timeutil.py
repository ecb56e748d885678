"""Calendar buckets in a zone, including the DST days of Europe/Berlin."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from heatpump.timeutil import as_utc, bucket_floor, bucket_next
from tests.buckets import bucket_starts

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("day", "hours"), [("2025-03-30", 23), ("2025-10-26", 25),
                                            ("2025-06-01", 24)])
def test_local_day_lengths(day, hours):
    noon = datetime.fromisoformat(day + "T12:00:00+00:00")
    start = bucket_floor(noon, "day", BERLIN)
    assert start.astimezone(BERLIN).hour == 0
    assert bucket_next(start, "day", BERLIN) - start == timedelta(hours=hours)
    assert len(bucket_starts(start, bucket_next(start, "day", BERLIN), "hour", BERLIN)) == hours


def test_month_and_year_boundaries():
    start = bucket_floor(datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "month", BERLIN)
    assert start == datetime(2025, 12, 31, 23, tzinfo=UTC)  # Jan 1st local
    assert bucket_next(start, "month", BERLIN) == datetime(2026, 1, 31, 23, tzinfo=UTC)
    months = bucket_starts(datetime(2024, 12, 31, 23, tzinfo=UTC),
                           datetime(2025, 12, 31, 23, tzinfo=UTC), "month", BERLIN)
    assert len(months) == 12
    assert [m.astimezone(BERLIN).month for m in months] == list(range(1, 13))


def test_sub_hour_zone_hours():
    kolkata = ZoneInfo("Asia/Kolkata")
    assert bucket_floor(datetime(2025, 1, 1, 10, 10, tzinfo=UTC), "hour", kolkata) == \
        datetime(2025, 1, 1, 9, 30, tzinfo=UTC)


def test_naive_refused():
    with pytest.raises(ValueError):
        as_utc(datetime(2025, 1, 1))
