"""Every local bucket of a range, for the tests' expected values (the product walks buckets
in the stores' own queries)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from heatpump.store.base import Bucket
from heatpump.timeutil import as_utc, bucket_floor, bucket_next


def bucket_starts(start: datetime, end: datetime, bucket: Bucket, tz: ZoneInfo) -> list[datetime]:
    """Starts (UTC) of every local bucket that overlaps [start, end)."""
    out: list[datetime] = []
    cur = bucket_floor(start, bucket, tz)
    end = as_utc(end)
    while cur < end:
        out.append(cur)
        cur = bucket_next(cur, bucket, tz)
    return out
