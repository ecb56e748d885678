"""Periods a person asks for (`/jaz 2025-11`, `/chart 7d`) as UTC instants of local boundaries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import fmt
from heatpump.i18n import _, ngettext
from heatpump.timeutil import _local_to_utc, as_utc, bucket_floor

MAX_DAYS = 3660
MAX_MONTHS = 120


def period_help() -> str:
    """The period words a person can type, in the current language (the keywords
    themselves, 'today', '7d', '12m', stay as typed)."""
    return _("today, yesterday, 7d (any 1-{max_days} days), month (this month), 12m (last 12 "
             "months, the default; any 1-{max_months} months), 2025 (a year), 2025-11 "
             "(a month)").format(max_days=MAX_DAYS, max_months=MAX_MONTHS)


class PeriodError(ValueError):
    """A period the user typed that cannot be understood (the message says what works)."""


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # canonical text, e.g. "12m", "2025-11"
    label: str  # for people, in the language at parsing, e.g. "last 12 months"
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
    """Parse a period word (the keywords are the same in every language; the label is in
    the current one); raises PeriodError with the accepted forms."""
    now = as_utc(now)
    key = (text or default).strip().lower()
    today = now.astimezone(tz).date()
    if key == "today":
        return Period("today", _("today"), _local_midnight(today, tz),
                      _local_midnight(today + timedelta(days=1), tz))
    if key == "yesterday":
        y = today - timedelta(days=1)
        return Period("yesterday", _("yesterday ({day})").format(day=fmt.day(y)),
                      _local_midnight(y, tz),
                      _local_midnight(today, tz))
    if key in ("month", "thismonth"):
        first = today.replace(day=1)
        return Period("month", _("this month ({month})").format(month=fmt.month_year(first)),
                      _local_midnight(first, tz),
                      _local_midnight(_months_back(first, -1), tz))
    if key == "year":
        key = "12m"
    m = re.fullmatch(r"(\d{1,4})([dm])", key)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if unit == "d" and 1 <= n <= MAX_DAYS:
            first = today - timedelta(days=n - 1)
            label = (_("today") if n == 1 else
                     _("last {n} days (since {day})").format(n=n, day=fmt.day(first)))
            return Period(key, label,
                          _local_midnight(first, tz),
                          _local_midnight(today + timedelta(days=1), tz))
        if unit == "m" and 1 <= n <= MAX_MONTHS:
            first = _months_back(today, n) + timedelta(days=1)
            label = ngettext("last {n} month ({day} – today)", "last {n} months ({day} – today)",
                             n).format(n=n, day=fmt.day(first))
            return Period(key, label, _local_midnight(first, tz),
                          _local_midnight(today + timedelta(days=1), tz))
        raise PeriodError(_("{text} is out of range; use 1-{max_days}d or 1-{max_months}m")
                          .format(text=repr(text), max_days=MAX_DAYS, max_months=MAX_MONTHS))
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", key)
    if m:
        year = int(m.group(1))
        if not 2000 <= year <= 2100:
            raise PeriodError(_("year {year} is out of range").format(year=year))
        if m.group(2) is None:
            start_d, end_d = date(year, 1, 1), date(year + 1, 1, 1)
            key, label = f"{year}", _("year {year}").format(year=year)
        else:
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(_("month {month} does not exist").format(month=month))
            start_d = date(year, month, 1)
            end_d = _months_back(start_d, -1)
            key, label = f"{year}-{month:02d}", fmt.month_year(start_d)
        start = _local_midnight(start_d, tz)
        if start > now:
            raise PeriodError(_("{period} has not begun yet").format(period=label))
        return Period(key, label, start, _local_midnight(end_d, tz))
    raise PeriodError(_("{text} is not a period; try {forms}").format(text=repr(text),
                                                                       forms=period_help()))
