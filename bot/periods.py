"""Periods a person asks for (`/jaz 2025-11`, `/chart 7d`) as UTC instants of local boundaries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from heatpump.timeutil import _local_to_utc, as_utc, bucket_floor

MAX_DAYS = 3660
MAX_MONTHS = 120
PERIOD_HELP = ("today, yesterday, 7d (any 1-3660 days), month (this month), 12m (last 12 "
               "months, the default), 2025 (a year), 2025-11 (a month)")


class PeriodError(ValueError):
    """A period the user typed that cannot be understood (the message says what works)."""


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # canonical text, e.g. "12m", "2025-11"
    label: str  # for people, e.g. "last 12 months"
    start: datetime  # UTC
    end: datetime  # UTC, may lie in the future

    def elapsed_end(self, now: datetime) -> datetime:
        """End of the last complete hour inside the period (the hour in progress is not
        counted yet)."""
        return min(self.end, bucket_floor(now, "hour", ZoneInfo("UTC")))


def _local_midnight(d: date, tz: ZoneInfo) -> datetime:
    return _local_to_utc(datetime(d.year, d.month, d.day), tz)


def _months_back(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + (d.month - 1) - months, 12)
    m += 1
    # clamp the day (31 March - 1 month -> 28/29 February)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def parse_period(text: str, now: datetime, tz: ZoneInfo, default: str = "12m") -> Period:
    """Parse a period word; raises PeriodError with the accepted forms."""
    now = as_utc(now)
    key = (text or default).strip().lower()
    today = now.astimezone(tz).date()
    if key == "today":
        return Period("today", "today", _local_midnight(today, tz),
                      _local_midnight(today + timedelta(days=1), tz))
    if key == "yesterday":
        y = today - timedelta(days=1)
        return Period("yesterday", f"yesterday ({y:%d.%m.%Y})", _local_midnight(y, tz),
                      _local_midnight(today, tz))
    if key in ("month", "thismonth"):
        first = today.replace(day=1)
        return Period("month", f"this month ({first:%B %Y})", _local_midnight(first, tz),
                      _local_midnight(_months_back(first, -1), tz))
    if key == "year":
        key = "12m"
    m = re.fullmatch(r"(\d{1,4})([dm])", key)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit == "d" and 1 <= n <= MAX_DAYS:
            first = today - timedelta(days=n - 1)
            label = "last 24 hours" if n == 1 else f"last {n} days"
            return Period(key, f"{label} (since {first:%d.%m.%Y})" if n > 1 else "today",
                          _local_midnight(first, tz),
                          _local_midnight(today + timedelta(days=1), tz))
        if unit == "m" and 1 <= n <= MAX_MONTHS:
            first = _months_back(today, n) + timedelta(days=1)
            name = "last 12 months" if n == 12 else f"last {n} months"
            return Period(key, f"{name} ({first:%d.%m.%Y} – today)", _local_midnight(first, tz),
                          _local_midnight(today + timedelta(days=1), tz))
        raise PeriodError(f"{text!r} is out of range; use 1-{MAX_DAYS}d or 1-{MAX_MONTHS}m")
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", key)
    if m:
        year = int(m.group(1))
        if not 2000 <= year <= 2100:
            raise PeriodError(f"year {year} is out of range")
        if m.group(2) is None:
            start_d, end_d = date(year, 1, 1), date(year + 1, 1, 1)
            key, label = f"{year}", f"year {year}"
        else:
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"month {month} does not exist")
            start_d = date(year, month, 1)
            end_d = _months_back(start_d, -1)
            key, label = f"{year}-{month:02d}", f"{start_d:%B %Y}"
        start = _local_midnight(start_d, tz)
        if start > now:
            raise PeriodError(f"{label} has not begun yet")
        return Period(key, label, start, _local_midnight(end_d, tz))
    raise PeriodError(f"{text!r} is not a period; try {PERIOD_HELP}")
