"""UTC inside, local time only at the edges: calendar buckets in a configured zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Bucket = Literal["hour", "day", "month"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """An aware datetime in UTC; naive input is refused rather than guessed."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: times must carry a zone")
    return dt.astimezone(UTC)


def bucket_floor(dt: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    """Start (as UTC) of the local calendar bucket that contains `dt`."""
    local = as_utc(dt).astimezone(tz)
    if bucket == "hour":
        # Hours are fixed-length in UTC; floor in UTC keeps DST's repeated hour distinct,
        # then shift by the zone's sub-hour offset (e.g. +05:30) to land on a local hour.
        off = local.utcoffset() or timedelta(0)
        sub = timedelta(seconds=off.total_seconds() % 3600)
        u = as_utc(dt)
        floored = (u + sub).replace(minute=0, second=0, microsecond=0) - sub
        return floored
    if bucket == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    elif bucket == "month":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0, fold=0)
    else:
        raise ValueError(f"unknown bucket {bucket!r}")
    return _local_to_utc(start, tz)


def bucket_next(start: datetime, bucket: Bucket, tz: ZoneInfo) -> datetime:
    """Start (UTC) of the bucket after the one starting at `start`."""
    if bucket == "hour":
        return as_utc(start) + timedelta(hours=1)
    local = as_utc(start).astimezone(tz)
    if bucket == "day":
        nxt = (local.replace(tzinfo=None) + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0)
    else:
        y, m = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        nxt = datetime(y, m, 1)
    return _local_to_utc(nxt.replace(tzinfo=tz), tz)


def _local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Local wall time -> UTC; a wall time skipped by DST moves to the first valid instant."""
    # fold=0 reads a wall time with the offset in force before a transition. For a skipped
    # wall time (spring forward) that lands after the gap: exactly on the transition when
    # the gap starts at this wall time, as day and hour boundaries do (America/Santiago and
    # America/Havana skip midnight, Pacific/Apia skipped 30 Dec 2011). fold=1 would land
    # before the gap, on the previous day, and bucket_next would never advance.
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def calendar_start(period: str, day: date, back: int = 0) -> date:
    """First day of the calendar `period` ("day", "month", "year") `back` periods before
    the one holding `day` (negative: after it). Raises ValueError for another period."""
    if period == "day":
        return day - timedelta(days=back)
    if period == "month":
        index = day.year * 12 + day.month - 1 - back
        return date(index // 12, index % 12 + 1, 1)
    if period == "year":
        return date(day.year - back, 1, 1)
    raise ValueError(f"unknown period {period!r}")


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz` (the first valid instant when DST
    skips midnight)."""
    return _local_to_utc(datetime(day.year, day.month, day.day), tz)
