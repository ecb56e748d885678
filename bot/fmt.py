"""Numbers, ages and times as people read them in a chat message."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def kwh(wh: float | None) -> str:
    if wh is None:
        return "–"
    k = wh / 1000
    if abs(k) >= 100:
        return f"{k:,.0f} kWh"
    return f"{k:.1f} kWh"


def ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def pct(x: float) -> str:
    p = 100 * x
    if 0 < p < 1:
        return "<1%"
    if 99 < p < 100:
        return ">99%"
    return f"{p:.0f}%"


def temp(c: float | None) -> str:
    return "–" if c is None else f"{c:.1f} °C"


def watts(w: float | None) -> str:
    if w is None:
        return "–"
    return f"{w / 1000:.2f} kW" if abs(w) >= 10000 else f"{w:.0f} W"


def age(then: datetime, now: datetime) -> str:
    """'12 s ago', '4 min ago', '2 h 5 min ago', '3 days ago' (future times say 'in the future')."""
    s = (now - then).total_seconds()
    if s < -5:
        return "in the future (clock skew?)"
    s = max(0.0, s)
    if s < 90:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s / 60:.0f} min ago"
    if s < 48 * 3600:
        h, rest = divmod(int(s), 3600)
        return f"{h} h {rest // 60} min ago"
    return f"{s / 86400:.0f} days ago"


def local(t: datetime, tz: ZoneInfo, with_date: bool = True) -> str:
    lt = t.astimezone(tz)
    return lt.strftime("%d.%m.%Y %H:%M") if with_date else lt.strftime("%H:%M")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def store_error_line(exc: BaseException) -> str:
    """The one line a command stops with when the store cannot be opened or read: a
    StoreError says what failed itself (and names no secret); an OSError (a data dir that
    cannot be made, no permission) gets the context."""
    from heatpump.logs import error_line
    from heatpump.store.base import StoreError

    line = error_line(exc)
    return line if isinstance(exc, StoreError) else f"cannot open the store: {line}"
