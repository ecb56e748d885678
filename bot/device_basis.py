"""The heat pump's own JAZ: its remembered heat over its remembered electricity (pure).

The records are the `device_energy` points (heatpump.schema.DEVICE_ENERGY), which the
collector imports from the device's memory (collector/vicare/history.py). They are the
DEVICE's figures: its electricity leaves out what the meter counts besides (standby,
pumps, controller), so this JAZ is not the metered one and is never mixed into it; /jaz
shows it below the metered figure, labelled, from the first day on (the device remembers
up to 13 months and 2 years).

Pairing, per device and calendar period: heat and electricity of the same circuits on both
sides, heating + hot water (dhw) where the device reports both, else its totals;
only periods that had ended when the device read them (`complete`) and with electricity
above 0 (a month before the device was installed reads 0 on both sides: no figure, not a
JAZ of 0). A period shown uses the coarsest records that lie wholly inside it: whole
years, then the months outside those years, then the days outside both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot import fmt
from heatpump.i18n import _, period_count
from heatpump.timeutil import calendar_start

PERIOD_ORDER = ("year", "month", "day")
# circuits summed on both sides, best first
CIRCUIT_SETS = (("heating", "dhw"), ("total",))


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """One `device_energy` point as the bot reads it."""

    device: str
    kind: str  # heat, electricity
    circuit: str
    period: str  # day, month, year
    start: date  # first local day of the period
    energy_wh: float
    complete: bool


@dataclass(frozen=True, slots=True)
class DeviceJaz:
    """The device's own heat over its own electricity for one calendar period."""

    device: str
    period: str
    start: date
    heat_wh: float
    electricity_wh: float
    circuits: tuple[str, ...]

    @property
    def end(self) -> date:
        return calendar_start(self.period, self.start, -1)

    @property
    def ratio(self) -> float:
        return self.heat_wh / self.electricity_wh


def pair_periods(records: Iterable[DeviceRecord]) -> list[DeviceJaz]:
    """Every period of every device whose heat and electricity pair (module docstring),
    ordered by device, period (year, month, day) and start."""
    grouped: dict[tuple[str, str, date], dict[tuple[str, str], DeviceRecord]] = defaultdict(dict)
    for r in records:
        grouped[(r.device, r.period, r.start)][(r.kind, r.circuit)] = r
    out = []
    for (device, period, start), by in grouped.items():
        for circuits in CIRCUIT_SETS:
            wanted = [by.get((kind, c)) for kind in ("heat", "electricity") for c in circuits]
            if any(r is None for r in wanted):
                continue
            if not all(r.complete for r in wanted if r is not None):
                break
            heat = sum(by[("heat", c)].energy_wh for c in circuits)
            electricity = sum(by[("electricity", c)].energy_wh for c in circuits)
            if electricity > 0:
                out.append(DeviceJaz(device, period, start, heat, electricity, circuits))
            break
    return sorted(out, key=lambda j: (j.device, PERIOD_ORDER.index(j.period), j.start))


def within(jazs: Iterable[DeviceJaz], first: date, end: date) -> list[DeviceJaz]:
    """The coarsest periods wholly inside [first, end): whole years, then months outside
    those years, then days outside both; in time order."""
    chosen: list[DeviceJaz] = []
    for period in PERIOD_ORDER:
        for j in jazs:
            if j.period != period or j.start < first or j.end > end:
                continue
            if any(c.device == j.device and c.start <= j.start and j.end <= c.end
                   for c in chosen):
                continue
            chosen.append(j)
    return sorted(chosen, key=lambda j: (j.device, j.start))


def device_jaz_lines(records: Iterable[DeviceRecord], first: date, end: date,
                     name: str = "JAZ") -> list[str]:
    """The lines /jaz adds for the local days [first, end): the device's own figure over
    the periods it remembers wholly inside them, and its monthly figures; [] when it
    remembers none. `name` is "JAZ" or "COP" as the metered line calls it."""
    jazs = pair_periods(records)
    chosen = within(jazs, first, end)
    if not chosen:
        return []
    devices = sorted({j.device for j in chosen})
    lines = [_("the heat pump's own figures (from its memory, not metered; its electricity "
               "leaves out what the meter counts besides):")]
    for device in devices:
        mine = [j for j in chosen if j.device == device]
        prefix = f"{device}: " if len(devices) > 1 else ""
        heat = sum(j.heat_wh for j in mine)
        electricity = sum(j.electricity_wh for j in mine)
        lines.append(f"  {prefix}" + _("{name} {ratio} = {heat} heat / {elec} electricity "
                                       "(device), {span}").format(
            name=name, ratio=fmt.ratio(heat / electricity), heat=fmt.kwh(heat),
            elec=fmt.kwh(electricity), span=_span(mine)))
        months = [j for j in jazs if j.device == device and j.period == "month"
                  and first <= j.start and j.end <= end]
        if len(months) > 1 or (months and mine != months):
            lines.append("  " + prefix + _("per month: ") + " · ".join(
                f"{j.start:%m.%Y} {fmt.ratio(j.ratio)}" for j in months))
    return lines


def _span(jazs: list[DeviceJaz]) -> str:
    """'year 2025', 'month 09.2025', '1 year and 3 months with both figures, 01.01.2024–
    31.03.2025' (in the current language)."""
    counts = {p: sum(1 for j in jazs if j.period == p) for p in PERIOD_ORDER}
    parts = [period_count(p, n) for p, n in counts.items() if n]
    if len(jazs) == 1:
        j = jazs[0]
        return {"year": _("year {year}").format(year=f"{j.start:%Y}"),
                "month": _("month {month}").format(month=f"{j.start:%m.%Y}"),
                "day": _("day {day}").format(day=f"{j.start:%d.%m.%Y}")}[j.period]
    first, last = jazs[0], jazs[-1]
    return _("{counts} with both figures, {first}–{last}").format(
        counts=_(" and ").join(parts), first=f"{first.start:%d.%m.%Y}",
        last=f"{calendar_start('day', last.end, 1):%d.%m.%Y}")
