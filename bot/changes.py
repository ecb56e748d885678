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
from heatpump.i18n import _, ngettext

WINDOW_DAYS = 14
BIN_K = 3.0
MIN_DAYS = 5
DAY_COVER = 0.9
MAX_ENTRIES = 5  # entries /changes analyses (newest first)
LOOKBACK_DAYS = 400

# setting tag -> unit; the order is the order of an entry's changes
UNITS: dict[str, str] = {
    "heating_curve_slope": "",
    "heating_curve_shift_k": " K",
    "heating_target_temp_c": " °C",
    "dhw_target_temp_c": " °C",
    "heating_mode": "",
    "dhw_mode": "",
}


def setting_label(setting: str) -> str:
    """What a person calls a setting (the `setting` tag), in the current language."""
    return {"heating_curve_slope": _("heating curve slope"),
            "heating_curve_shift_k": _("heating curve shift"),
            "heating_target_temp_c": _("room target"),
            "dhw_target_temp_c": _("hot-water target"),
            "heating_mode": _("heating mode"),
            "dhw_mode": _("hot-water mode")}.get(setting, setting)


def mode_text(mode: str) -> str:
    """An operating mode as the Viessmann API names it (heating.circuits.N.operating.modes
    .active, heating.dhw.operating.modes.active) in the current language; a mode not listed
    here as the device names it."""
    return {"heating": _("heating"), "dhw": _("hot water only"),
            "dhwAndHeating": _("hot water and heating"), "standby": _("standby"),
            "off": _("off"), "on": _("on"), "cooling": _("cooling"),
            "heatingCooling": _("heating and cooling"),
            "dhwAndHeatingCooling": _("hot water, heating and cooling"),
            "forcedNormal": _("forced normal"), "forcedReduced": _("forced reduced"),
            "normal": _("normal"), "reduced": _("reduced"), "comfort": _("comfort"),
            "eco": _("eco"), "balanced": _("balanced"), "efficient": _("efficient"),
            "efficientWithMinComfort": _("efficient with minimum comfort")}.get(mode, mode)


def _value(text: str) -> str:
    """A stored setting value as shown: a number in the locale ('0,6' in German, as many
    decimals as stored), a mode in the current language (`mode_text`)."""
    try:
        x = float(text)
    except ValueError:
        return mode_text(text)
    decimals = len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else 0
    return fmt.num(x, decimals, grouping=False) if math.isfinite(x) else text


@dataclass(frozen=True)
class Change:
    setting: str
    old: str
    new: str

    def text(self) -> str:
        unit = UNITS.get(self.setting, "")
        return (f"{setting_label(self.setting)} {_value(self.old)}{unit} → "
                f"{_value(self.new)}{unit}")


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
    order = list(UNITS)
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
    return ngettext("{n} day", "{n} days", n).format(n=n)


def _span(a: date, b: date) -> str:
    return f"{a:%d.%m.}–{b:%d.%m.%Y}" if b >= a else _("none")


def _side(n: int, a: date, b: date) -> str:
    """One side of a change: '7 days complete of 16.11.–26.11.2026', or that it has no day
    yet (a change made today: the day after it has not begun)."""
    if b < a:
        return _("no day yet")
    return _("{days} complete of {span}").format(days=_days(n), span=_span(a, b))


def effect_lines(e: Effect) -> list[str]:
    w = e.window
    lines = ["  " + _("before: {before}; after: {after}").format(
        before=_side(e.before_days, w.before_first, w.before_last),
        after=_side(e.after_days, w.after_first, w.after_last))]
    if not e.rows:
        lines.append("  " + _("no outdoor temperature range with complete days on both sides "
                              "yet: too early to tell"))
        return lines
    for r in e.rows:
        lines.append("  " + _("{low} to {high} °C: COP {before} before ({before_days}), {after} "
                              "after ({after_days})").format(
            low=f"{r.low_c:g}", high=f"{r.low_c + BIN_K:g}", before=fmt.ratio(r.before_cop),
            before_days=_days(r.before_days), after=fmt.ratio(r.after_cop),
            after_days=_days(r.after_days)))
    if e.before_cop is not None and e.after_cop is not None:
        change = (e.after_cop / e.before_cop - 1) * 100 if e.before_cop else 0.0
        lines.append("  " + _("at the same outdoor temperatures: COP {before} → {after} "
                              "({change} %)").format(
            before=fmt.ratio(e.before_cop), after=fmt.ratio(e.after_cop),
            change=f"{change:+.0f}".replace("-", "−")))
    if not e.enough:
        lines.append("  " + _("too few days to tell: {before} before and {after} after at "
                              "shared temperatures; at least {min_days} a side are needed")
                     .format(before=e.shared_before, after=e.shared_after, min_days=MIN_DAYS))
    return lines


def changes_text(found: Sequence[Entry], effects: Sequence[Effect | None], tz: ZoneInfo,
                 devices: int = 1) -> str:
    """Reply to /changes: the entries newest first, each with its effect (None: not
    analysed, beyond MAX_ENTRIES)."""
    if not found:
        return _("No settings changes found in the last {days} days. The collector notes a "
                 "change of the heating curve, the room or hot-water target or an operating "
                 "mode when a poll shows it.").format(days=LOOKBACK_DAYS)
    lines = [_("Settings changes (newest first; COP of complete days in {bin} K outdoor "
               "temperature bins before and after)").format(bin=f"{BIN_K:g}")]
    for entry, eff in zip(reversed(found), reversed(effects), strict=True):
        who = _(" (heat pump {device})").format(device=entry.device) if devices > 1 else ""
        when = fmt.local(entry.time, tz)
        if entry.previous_poll is not None and (entry.time - entry.previous_poll
                                                > timedelta(minutes=30)):
            when = _("between {first} and {last}").format(
                first=fmt.local(entry.previous_poll, tz), last=when)
        lines.append(f"{when}{who}: " + "; ".join(c.text() for c in entry.changes))
        if eff is not None:
            lines += effect_lines(eff)
    return "\n".join(lines)
