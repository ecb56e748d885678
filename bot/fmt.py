"""Numbers, ages and times as people read them in a chat message, in the owner's language.

Numbers go through heatpump.i18n (Babel): English "3.45" and "1,234 kWh", German "3,45" and
"1.234 kWh". Dates keep the day-month-year order in both languages ("29.11.2026 23:05"),
which is how German is written and what the English replies have always shown.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from heatpump import i18n
from heatpump.i18n import _


def kwh(wh: float | None) -> str:
    """Energy in kWh: 0 decimals from 100 kWh on, else 1 ('12.3 kWh', '1,234 kWh')."""
    if wh is None:
        return "–"
    k = wh / 1000
    return f"{num(k, 0 if abs(k) >= 100 else 1)} kWh"


def num(x: float, decimals: int = 1, *, grouping: bool = True) -> str:
    """A plain number in the current locale ('1,234.5' / '1.234,5'). Rounded first as
    Python's format() rounds (the float's exact value, half to even), so English figures
    stay what they were; a non-number is a ValueError."""
    return i18n.number(round(float(x), decimals), decimals, grouping=grouping)


def ratio(x: float | None) -> str:
    """A COP/JAZ with two decimals ('3.45' / '3,45'); '–' for no figure."""
    return "–" if x is None else num(x, 2)


def percent_of(whole: str) -> str:
    """An already rounded percentage ('87', '+5') with the locale's '%' and spacing
    ('87%' / '87 %')."""
    return i18n.percent(1).replace("100", whole)


def pct(x: float) -> str:
    """A fraction as a whole percentage ('87%' / '87 %'); never '0%' or '100%' for a share
    that is not exactly that."""
    p = 100 * x
    if 0 < p < 1:
        return "<" + percent_of("1")
    if 99 < p < 100:
        return ">" + percent_of("99")
    return percent_of(f"{p:.0f}")


def signed_pct(x: float) -> str:
    """A change as a whole percentage with its sign ('+5%', '-3%' / '+5 %', '-3 %')."""
    return percent_of(f"{x * 100:+.0f}")


def temp(c: float | None) -> str:
    """A temperature with one decimal ('21.5 °C' / '21,5 °C')."""
    return "–" if c is None else f"{num(c, 1)} °C"


def watts(w: float | None) -> str:
    """Power: W below 10 kW, else kW with two decimals."""
    if w is None:
        return "–"
    return (f"{num(w / 1000, 2)} kW" if abs(w) >= 10000
            else f"{num(w, 0, grouping=False)} W")


def age(then: datetime, now: datetime) -> str:
    """'12 s ago', '4 min ago', '2 h 5 min ago', '3 days ago' (German 'vor 4 min'); future
    times say 'in the future'."""
    s = (now - then).total_seconds()
    if s < -5:
        return _("in the future (clock skew?)")
    s = max(0.0, s)
    if s < 90:
        return _("{n} s ago").format(n=f"{s:.0f}")
    if s < 3600:
        return _("{n} min ago").format(n=f"{s / 60:.0f}")
    if s < 48 * 3600:
        h, rest = divmod(int(s), 3600)
        return _("{h} h {m} min ago").format(h=h, m=rest // 60)
    return _("{n} days ago").format(n=f"{s / 86400:.0f}")  # 2 days at least


def local(t: datetime, tz: ZoneInfo, with_date: bool = True) -> str:
    """An instant in the owner's zone: '29.11.2026 23:05' (both languages), or '23:05'."""
    lt = t.astimezone(tz)
    return lt.strftime("%d.%m.%Y %H:%M") if with_date else lt.strftime("%H:%M")


def day(d: date | datetime) -> str:
    """A calendar day as '29.11.2026' (both languages)."""
    return d.strftime("%d.%m.%Y")


def month_year(d: date | datetime) -> str:
    """'November 2026' in English, 'November 2026' / 'März 2026' in German."""
    return format_date(d, "MMMM y", locale=i18n.locale())


def weekday_day(d: date | datetime) -> str:
    """'Sunday 29.11.2026' / 'Sonntag 29.11.2026'."""
    return format_date(d, "EEEE dd.MM.y", locale=i18n.locale())


def pattern(t: datetime, english: str, cldr: str) -> str:
    """`t` (already in the owner's zone) in a short form with day or month names: the
    strftime `english` pattern in English (as the replies always were), else the CLDR
    pattern `cldr` in the locale ('Mo. 12. Jan. 06:00')."""
    if i18n.language() == "en":
        return t.strftime(english)
    return format_datetime(t, cldr, tzinfo=t.tzinfo, locale=i18n.locale())


def duration(seconds: float | None) -> str:
    """'42 min' below an hour, else hours with one decimal ('1.5 h' / '1,5 h')."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{num(seconds / 60, 0)} min"
    return f"{num(seconds / 3600, 1)} h"


def store_error_line(exc: BaseException) -> str:
    """The one line a command stops with when the store cannot be opened or read: a
    StoreError says what failed itself (and names no secret); an OSError (a data dir that
    cannot be made, no permission) gets the context."""
    from heatpump.logs import error_line
    from heatpump.store.base import StoreError

    line = error_line(exc)
    return line if isinstance(exc, StoreError) else _("cannot open the store: {error}").format(
        error=line)
