"""`/compare [month|season|year]`: this span against the same span a year before, with
the weather taken out by heating degree days. Pure functions over bot.store_reads data.

Method (docs/bot.md, "/compare"): heating degree days after VDI 3807 (G 20/15, the
"Gradtagzahl" of VDI 3807 part 1 and VDI 4710): each local day whose mean outdoor
temperature is below the heating limit of 15 °C adds (20 °C − the day's mean) kelvin-days;
warmer days add nothing. The daily mean comes from the heat pump's own outdoor sensor
(the mean of its polls). Only *complete days* count: days where meter and heat data both
cover at least `DAY_COVER` of the hours (the pairing of bot.analytics) and the outdoor
sensor reported; so both sides compare the same kind of days, and a gap never reads as a
warm day. Heat demand per degree day is the space-heating heat (the heating circuit when
the heat pump splits its heat; otherwise all heat, hot water included, and the reply says
so) over the degree days of those days; the COP is heat over electricity of those days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import fmt
from bot.analytics import HourPair
from heatpump.i18n import _
from heatpump.timeutil import _local_to_utc, as_utc

BASE_C = 20.0  # VDI 3807: indoor reference temperature
LIMIT_C = 15.0  # VDI 3807: heating limit; warmer days have no degree days
DAY_COVER = 0.9  # a day counts when both sides cover at least this share of its hours
KINDS = ("month", "season", "year")
SEASON_START_MONTH = 9  # the heating season is counted from 1 September


def method_text() -> str:
    """The method line /compare ends with, in the current language."""
    return _("method: heating degree days after VDI 3807 (G 20/15) from the heat pump's "
             "outdoor sensor: each day with a mean below 15 °C adds 20 °C minus its mean; only "
             "days with meter and heat data for at least {pct} of their hours count, on both "
             "sides.").format(pct=fmt.pct(DAY_COVER))


class CompareError(ValueError):
    """An argument /compare does not know (the message says what works)."""


def degree_days(mean_c: float) -> float:
    """VDI 3807 G 20/15 of one day with this mean outdoor temperature (K·d)."""
    return BASE_C - mean_c if mean_c < LIMIT_C else 0.0


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


@dataclass(frozen=True)
class Span:
    first: date  # local days, `last` included
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def utc(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        after = self.last + timedelta(days=1)
        return (_local_to_utc(datetime(self.first.year, self.first.month, self.first.day), tz),
                _local_to_utc(datetime(after.year, after.month, after.day), tz))

    def text(self) -> str:
        return f"{self.first:%d.%m.%Y}–{self.last:%d.%m.%Y}"


def spans(kind: str, now: datetime, tz: ZoneInfo) -> tuple[str, Span, Span] | None:
    """(label, this span, the same span a year before) of complete local days up to
    yesterday; None when the span has no complete day yet (the 1st of a month)."""
    if kind not in KINDS:
        raise CompareError(_("{kind} is not a span; use month, season or year").format(
            kind=repr(kind)))
    today = as_utc(now).astimezone(tz).date()
    last = today - timedelta(days=1)
    if kind == "month":
        first, label = today.replace(day=1), _("this month")
    elif kind == "year":
        first, label = today.replace(month=1, day=1), _("this year")
    else:
        year = today.year if today.month >= SEASON_START_MONTH else today.year - 1
        first, label = date(year, SEASON_START_MONTH, 1), _("this heating season")
    if last < first:
        return None
    return label, Span(first, last), Span(_year_before(first), _year_before(last))


@dataclass(frozen=True)
class Side:
    """One span's complete days, summed."""

    span: Span
    days: int  # complete days with an outdoor mean
    degree_days: float
    heat_wh: float  # space heating (or all heat when `split` is False)
    all_heat_wh: float
    elec_wh: float
    mean_outdoor_c: float | None
    split: bool  # the heat pump splits heating and hot water

    @property
    def heat_per_degree_day(self) -> float | None:
        """kWh of heat per K·d."""
        return self.heat_wh / 1000 / self.degree_days if self.degree_days > 0 else None

    @property
    def cop(self) -> float | None:
        return self.all_heat_wh / self.elec_wh if self.elec_wh > 0 else None


def side(span: Span, pairs: Sequence[HourPair], outdoor_c: Mapping[date, float],
         tz: ZoneInfo) -> Side:
    """Sum the complete days of `span` (see the module docstring)."""
    by_day: dict[date, list[HourPair]] = defaultdict(list)
    for p in pairs:
        by_day[p.start.astimezone(tz).date()].append(p)
    split = any("heating" in p.heat_by_circuit for p in pairs if p.counted)
    n = 0
    dd = heat = all_heat = elec = temp_sum = 0.0
    for d in sorted(by_day):
        if not span.first <= d <= span.last or d not in outdoor_c:
            continue
        ps = by_day[d]
        start, end = Span(d, d).utc(tz)
        hours = (end - start).total_seconds() / 3600
        counted = [p for p in ps if p.counted]
        if sum(p.hours for p in counted) < DAY_COVER * hours:
            continue
        n += 1
        dd += degree_days(outdoor_c[d])
        temp_sum += outdoor_c[d]
        day_heat = sum(p.heat_wh or 0.0 for p in counted)
        all_heat += day_heat
        heat += (sum(p.heat_by_circuit.get("heating", 0.0) for p in counted) if split
                 else day_heat)
        elec += sum(p.elec_wh or 0.0 for p in counted)
    return Side(span, n, dd, heat, all_heat, elec, temp_sum / n if n else None, split)


def _pct(new: float | None, old: float | None) -> str | None:
    if new is None or old is None or old == 0:
        return None
    return f"{(new / old - 1) * 100:+.0f} %".replace("-", "−")


def _side_line(s: Side) -> str:
    year = s.span.first.year if s.span.first.year == s.span.last.year else (
        f"{s.span.first.year}/{s.span.last:%y}")
    if not s.days:
        return _("{year} ({span}): no complete day with energy and outdoor data").format(
            year=year, span=s.span.text())
    what = _("heating") if s.split else _("heat (hot water included)")
    per = s.heat_per_degree_day
    per_text = (_("{per} kWh per degree day ({heat} / {degree_days} K·d").format(
        per=fmt.ratio(per), heat=fmt.kwh(s.heat_wh), degree_days=fmt.num(s.degree_days, 0))
                if per is not None else
                _("no degree day ({heat}").format(heat=fmt.kwh(s.heat_wh)))
    return _("{year} ({span}): {what} {per_text}, mean outdoor {temp}), COP {ratio}; {days} of "
             "{span_days} days complete").format(
        year=year, span=s.span.text(), what=what, per_text=per_text,
        temp=fmt.temp(s.mean_outdoor_c), ratio=fmt.ratio(s.cop), days=s.days,
        span_days=s.span.days)


def compare_text(label: str, now_side: Side, before: Side) -> str:
    """Reply to /compare."""
    lines = [_("Weather-normalised: {span} against the same days a year before").format(
                 span=label),
             _side_line(now_side), _side_line(before)]
    demand = _pct(now_side.heat_per_degree_day, before.heat_per_degree_day)
    cop = _pct(now_side.cop, before.cop)
    if demand is not None or cop is not None:
        parts = []
        if demand is not None:
            parts.append(_("heat per degree day {change}").format(change=demand))
        if cop is not None:
            parts.append(f"COP {cop}")
        lines.append(_("{changes} against a year before").format(changes=", ".join(parts)))
    if now_side.split != before.split and now_side.days and before.days:
        lines.append(_("note: one year splits heating from hot water and the other does not, "
                       "so the heat per degree day is not like for like"))
    few = [s for s in (now_side, before) if 0 < s.days < 7]
    if few:
        lines.append(_("note: fewer than 7 complete days on a side: the weather of a few days "
                       "dominates, read the figures with care"))
    lines.append(method_text())
    return "\n".join(lines)
