"""`/changes`: the settings the owner changed (found by the collector, stored as
`setting_change` points) and the COP before and after each, at comparable outdoor
temperatures. Pure functions over what bot.store_reads read.

The rule (docs/bot.md, "/changes"): changes at the same poll form one entry. Its *before*
side is the complete days (meter and heat data for at least `DAY_COVER` of the hours, an
outdoor reading) among the `WINDOW_DAYS` local days before the day of the change, its
*after* side those among the `WINDOW_DAYS` days after it, up to yesterday; the day of the
change itself belongs to neither, and a side stops at the day of the previous or next
entry, so each side ran on one setting. The days of each side are put into outdoor
temperature bins of `BIN_K` kelvin (by the day's mean from the heat pump's sensor); only
bins that hold days on both sides are compared, so a colder week after the change does not
read as a worse COP. The COP of a bin is its heat over its electricity; "together" weights
each shared bin's COP by the after side's days in it (so both figures describe the same
weather). With fewer than `MIN_DAYS` days in shared bins on a side the reply says it is
too early to tell.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import fmt
from bot.alert_data import DayStats

WINDOW_DAYS = 14
BIN_K = 3.0
MIN_DAYS = 5
DAY_COVER = 0.9
MAX_ENTRIES = 5  # entries /changes analyses (newest first)
LOOKBACK_DAYS = 400

# setting tag -> (label, unit)
LABELS: dict[str, tuple[str, str]] = {
    "heating_curve_slope": ("heating curve slope", ""),
    "heating_curve_shift_k": ("heating curve shift", " K"),
    "heating_target_temp_c": ("room target", " °C"),
    "dhw_target_temp_c": ("hot-water target", " °C"),
    "heating_mode": ("heating mode", ""),
    "dhw_mode": ("hot-water mode", ""),
}


@dataclass(frozen=True)
class Change:
    setting: str
    old: str
    new: str

    def text(self) -> str:
        label, unit = LABELS.get(self.setting, (self.setting, ""))
        return f"{label} {self.old}{unit} → {self.new}{unit}"


@dataclass(frozen=True)
class Entry:
    """The changes one poll showed on one device."""

    time: datetime  # the poll that showed the new values (UTC)
    device: str
    changes: tuple[Change, ...]
    previous_poll: datetime | None  # the last poll with the old values


def entries(points: Sequence[tuple[datetime, str, str, str, str, datetime | None]]
            ) -> list[Entry]:
    """Group (time, device, setting, old, new, previous_poll) rows by poll, oldest first."""
    groups: dict[tuple[datetime, str], list[tuple[str, str, str, datetime | None]]] = \
        defaultdict(list)
    for t, device, setting, old, new, prev in points:
        groups[(t, device)].append((setting, old, new, prev))
    order = list(LABELS)
    out = []
    for (t, device), rows in sorted(groups.items()):
        rows.sort(key=lambda r: order.index(r[0]) if r[0] in order else len(order))
        out.append(Entry(t, device, tuple(Change(s, o, n) for s, o, n, _p in rows),
                         rows[0][3]))
    return out


@dataclass(frozen=True)
class Window:
    """The local days of each side of an entry (both ends included; empty when last <
    first)."""

    before_first: date
    before_last: date
    after_first: date
    after_last: date

    @property
    def first(self) -> date:
        return self.before_first

    @property
    def last(self) -> date:
        return max(self.after_last, self.before_last)


def windows(found: Sequence[Entry], today: date, tz: ZoneInfo) -> list[Window]:
    """The window of each entry (in the order given, oldest first)."""
    days = [e.time.astimezone(tz).date() for e in found]
    out = []
    for i, d in enumerate(days):
        b0 = d - timedelta(days=WINDOW_DAYS)
        if i > 0:
            b0 = max(b0, days[i - 1] + timedelta(days=1))
        a1 = min(d + timedelta(days=WINDOW_DAYS), today - timedelta(days=1))
        if i + 1 < len(days):
            a1 = min(a1, days[i + 1] - timedelta(days=1))
        out.append(Window(b0, d - timedelta(days=1), d + timedelta(days=1), a1))
    return out


def bin_of(temp_c: float) -> float:
    """Lower edge of the outdoor temperature bin of a day's mean."""
    return math.floor(temp_c / BIN_K) * BIN_K


@dataclass(frozen=True)
class BinRow:
    low_c: float
    before_days: int
    before_cop: float | None
    after_days: int
    after_cop: float | None


@dataclass(frozen=True)
class Effect:
    rows: tuple[BinRow, ...]  # the shared bins, coldest first
    before_days: int  # complete days on each side (all bins)
    after_days: int
    before_cop: float | None  # over the shared bins, weighted by the after side's days
    after_cop: float | None
    window: Window

    @property
    def shared_before(self) -> int:
        return sum(r.before_days for r in self.rows)

    @property
    def shared_after(self) -> int:
        return sum(r.after_days for r in self.rows)

    @property
    def enough(self) -> bool:
        return self.shared_before >= MIN_DAYS and self.shared_after >= MIN_DAYS


def _complete(d: DayStats) -> bool:
    return (d.outside_temp_c is not None and d.heat_wh is not None
            and d.electricity_wh is not None and d.electricity_wh > 0
            and d.coverage >= DAY_COVER)


def effect(days: Sequence[DayStats], w: Window) -> Effect:
    """Compare the complete days of each side of `w` bin by bin."""
    sides: dict[str, dict[float, list[DayStats]]] = {"before": defaultdict(list),
                                                     "after": defaultdict(list)}
    n = {"before": 0, "after": 0}
    for d in days:
        if not _complete(d):
            continue
        side = ("before" if w.before_first <= d.day <= w.before_last else
                "after" if w.after_first <= d.day <= w.after_last else None)
        if side is None:
            continue
        sides[side][bin_of(d.outside_temp_c or 0.0)].append(d)
        n[side] += 1

    def cop(ds: list[DayStats]) -> float | None:
        e = sum(d.electricity_wh or 0.0 for d in ds)
        return sum(d.heat_wh or 0.0 for d in ds) / e if e > 0 else None

    rows = []
    for low in sorted(set(sides["before"]) & set(sides["after"])):
        b, a = sides["before"][low], sides["after"][low]
        rows.append(BinRow(low, len(b), cop(b), len(a), cop(a)))
    weight = sum(r.after_days for r in rows)
    before = (sum((r.before_cop or 0.0) * r.after_days for r in rows) / weight
              if weight else None)
    after = (sum((r.after_cop or 0.0) * r.after_days for r in rows) / weight
             if weight else None)
    return Effect(tuple(rows), n["before"], n["after"], before, after, w)


def _days(n: int) -> str:
    return f"{n} day" + ("" if n == 1 else "s")


def _span(a: date, b: date) -> str:
    return f"{a:%d.%m.}–{b:%d.%m.%Y}" if b >= a else "none"


def effect_lines(e: Effect) -> list[str]:
    w = e.window
    lines = [f"  before: {_days(e.before_days)} complete of {_span(w.before_first, w.before_last)}"
             f"; after: {_days(e.after_days)} complete of {_span(w.after_first, w.after_last)}"]
    if not e.rows:
        lines.append("  no outdoor temperature range with complete days on both sides yet: "
                     "too early to tell")
        return lines
    for r in e.rows:
        lines.append(f"  {r.low_c:g} to {r.low_c + BIN_K:g} °C: COP {fmt.ratio(r.before_cop)} "
                     f"before ({_days(r.before_days)}), {fmt.ratio(r.after_cop)} after "
                     f"({_days(r.after_days)})")
    if e.before_cop is not None and e.after_cop is not None:
        change = (e.after_cop / e.before_cop - 1) * 100 if e.before_cop else 0.0
        lines.append(f"  at the same outdoor temperatures: COP {fmt.ratio(e.before_cop)} → "
                     f"{fmt.ratio(e.after_cop)} ({change:+.0f} %)".replace("(-", "(−"))
    if not e.enough:
        lines.append(f"  too few days to tell: {e.shared_before} before and {e.shared_after} "
                     f"after at shared temperatures; at least {MIN_DAYS} a side are needed")
    return lines


def changes_text(found: Sequence[Entry], effects: Sequence[Effect | None], tz: ZoneInfo,
                 devices: int = 1) -> str:
    """Reply to /changes: the entries newest first, each with its effect (None: not
    analysed, beyond MAX_ENTRIES)."""
    if not found:
        return ("No settings changes found in the last "
                f"{LOOKBACK_DAYS} days. The collector notes a change of the heating curve, "
                "the room or hot-water target or an operating mode when a poll shows it.")
    lines = [f"Settings changes (newest first; COP of complete days in {BIN_K:g} K outdoor "
             "temperature bins before and after)"]
    for entry, eff in zip(reversed(found), reversed(effects), strict=True):
        who = f" (heat pump {entry.device})" if devices > 1 else ""
        when = fmt.local(entry.time, tz)
        if entry.previous_poll is not None and (entry.time - entry.previous_poll
                                                > timedelta(minutes=30)):
            when = f"between {fmt.local(entry.previous_poll, tz)} and {when}"
        lines.append(f"{when}{who}: " + "; ".join(c.text() for c in entry.changes))
        if eff is not None:
            lines += effect_lines(eff)
    return "\n".join(lines)
