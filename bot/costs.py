"""What the heat pump's electricity cost, per kWh of heat, and against a boiler: `/cost`,
the cost line of `/jaz` and of `/report`. Pure functions over what bot.store_reads read.

The prices are the user's own (the COST_* settings); unset, nothing here is shown (no
default pretends to be anybody's tariff). The rules, documented in docs/bot.md ("/cost"):

* Energy cost: each local hour's meter electricity (all of it, outage energy bridged
  across hours included) at the price of that hour: its COST_TIME_OF_USE window, else
  COST_PRICE_PER_KWH. An hour without meter data costs nothing known: the reply says how
  many hours had data.
* Base fee: COST_BASE_FEE_PER_MONTH pro rata, each local calendar month by the share of
  it inside the period.
* Cost per kWh of heat: the energy cost of the counted hours (the JAZ pairing of
  bot.analytics: both sides measured) over their heat; a day paired whole takes the mean
  price its hours were charged. The base fee is left out (it is paid whatever the heat).
* Boiler: the same heat (of the counted hours) from a boiler = heat / efficiency × fuel
  price; the saving is that minus the heat pump's energy cost of those hours. Base fees of
  both are left out (a gas connection has one too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import fmt
from bot.analytics import HourPair
from heatpump.i18n import _
from heatpump.settings import Settings, TouWindow, tou_hours
from heatpump.timeutil import bucket_floor, bucket_next

HourlyWh = Sequence[tuple[datetime, float]]  # (UTC start of a local hour, meter Wh)
OTHER = "other"  # the band of the hours outside every COST_TIME_OF_USE window


@dataclass(frozen=True)
class Tariff:
    """The COST_* settings (prices per kWh, fee per month, all in `currency`)."""

    currency: str
    price_per_kwh: float | None
    windows: tuple[TouWindow, ...] = ()
    base_fee_per_month: float | None = None
    boiler_fuel: str | None = None
    boiler_price_per_kwh: float | None = None
    boiler_efficiency: float | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> Tariff | None:
        """The user's tariff; None when no price is set (then no cost line is shown)."""
        if not s.has_tariff:
            return None
        return cls(s.cost_currency or "", s.cost_price_per_kwh, s.cost_time_of_use,
                   s.cost_base_fee_per_month,
                   s.cost_boiler_fuel if s.has_boiler else None,
                   s.cost_boiler_price_per_kwh if s.has_boiler else None,
                   s.cost_boiler_efficiency if s.has_boiler else None)

    def band(self, local_hour: int) -> tuple[str, float]:
        """(label, price per kWh) of a local hour: its window, else the general price.
        Settings guarantee a price for every hour (heatpump.settings._cost_checks)."""
        for h0, h1, price in self.windows:
            if local_hour in tou_hours(h0, h1):
                return f"{h0:02d}:00–{h1:02d}:00", price
        if self.price_per_kwh is None:
            raise ValueError(f"no price for {local_hour:02d}:00")
        return OTHER if self.windows else "", self.price_per_kwh

    def money(self, x: float) -> str:
        """An amount with two decimals in the locale ('1,234.56 EUR' / '1.234,56 EUR')."""
        return f"{fmt.num(x, 2)} {self.currency}"

    def per_kwh(self, x: float) -> str:
        """A price per kWh with three decimals ('0.320 EUR/kWh' / '0,320 EUR/kWh')."""
        return f"{fmt.num(x, 3, grouping=False)} {self.currency}/kWh"


@dataclass(frozen=True)
class Band:
    label: str  # "22:00–06:00", OTHER, or "" for a flat price
    price: float
    energy_wh: float
    cost: float


@dataclass(frozen=True)
class CostReport:
    """Cost of a period [start, end) (end: the last complete hour)."""

    bands: tuple[Band, ...]  # in order of first appearance by price window
    hours_with_data: int
    hours_elapsed: float
    base_fee: float | None
    counted_hours: float
    counted_heat_wh: float
    counted_elec_wh: float
    counted_cost: float
    boiler_cost: float | None

    @property
    def energy_wh(self) -> float:
        return sum(b.energy_wh for b in self.bands)

    @property
    def energy_cost(self) -> float:
        return sum(b.cost for b in self.bands)

    @property
    def total(self) -> float:
        return self.energy_cost + (self.base_fee or 0.0)

    @property
    def heat_price(self) -> float | None:
        """Energy cost per kWh of heat over the counted hours."""
        return (self.counted_cost / (self.counted_heat_wh / 1000)
                if self.counted_heat_wh > 0 else None)

    @property
    def saving(self) -> float | None:
        return None if self.boiler_cost is None else self.boiler_cost - self.counted_cost


def base_fee(fee_per_month: float, start: datetime, end: datetime, tz: ZoneInfo) -> float:
    """The monthly fee pro rata: each local month by the share of its seconds in
    [start, end)."""
    total = 0.0
    m = bucket_floor(start, "month", tz)
    while m < end:
        nxt = bucket_next(m, "month", tz)
        overlap = (min(end, nxt) - max(start, m)).total_seconds()
        if overlap > 0:
            total += fee_per_month * overlap / (nxt - m).total_seconds()
        m = nxt
    return total


def cost_report(tariff: Tariff, hourly: HourlyWh, pairs: Sequence[HourPair], start: datetime,
                end: datetime, tz: ZoneInfo) -> CostReport:
    """The cost of [start, end) from the hourly meter electricity and the paired energy."""
    bands: dict[str, list[float]] = {}  # label -> [price, wh, cost]
    by_hour: dict[datetime, tuple[float, float]] = {}
    hours = 0
    for t, wh in hourly:
        if not start <= t < end:
            continue
        label, price = tariff.band(t.astimezone(tz).hour)
        cost = wh / 1000 * price
        acc = bands.setdefault(label, [price, 0.0, 0.0])
        acc[1] += wh
        acc[2] += cost
        by_hour[t] = (wh, cost)
        hours += 1
    counted = [p for p in pairs if p.counted and start <= p.start and p.end <= end]
    counted_cost = 0.0
    for p in counted:
        inside = [v for t, v in by_hour.items() if p.start <= t < p.end]
        wh = sum(w for w, _c in inside)
        cost = sum(c for _w, c in inside)
        price = cost / (wh / 1000) if wh > 0 else tariff.band(p.start.astimezone(tz).hour)[1]
        counted_cost += (p.elec_wh or 0.0) / 1000 * price
    heat_wh = sum(p.heat_wh or 0.0 for p in counted)
    boiler = None
    if tariff.boiler_price_per_kwh is not None and tariff.boiler_efficiency:
        boiler = heat_wh / 1000 / tariff.boiler_efficiency * tariff.boiler_price_per_kwh
    # the base fee over the span the meter data covers (first to last hour with data), so
    # the total never sets a year's fee against a month of electricity
    fee = None
    if tariff.base_fee_per_month is not None and by_hour:
        fee = base_fee(tariff.base_fee_per_month, min(by_hour),
                       max(by_hour) + timedelta(hours=1), tz)
    order = sorted(bands.items(), key=lambda kv: (kv[0] == OTHER, kv[0]))
    return CostReport(
        bands=tuple(Band(label, p, wh, c) for label, (p, wh, c) in order),
        hours_with_data=hours, hours_elapsed=(end - start).total_seconds() / 3600,
        base_fee=fee, counted_hours=sum(p.hours for p in counted), counted_heat_wh=heat_wh,
        counted_elec_wh=sum(p.elec_wh or 0.0 for p in counted), counted_cost=counted_cost,
        boiler_cost=boiler)


def fuel_name(fuel: str) -> str:
    """'a gas boiler' / 'an oil boiler' (COST_BOILER_FUEL), in the current language."""
    return {"gas": _("a gas boiler"), "oil": _("an oil boiler")}[fuel]


def fuel_word(fuel: str) -> str:
    """The fuel itself ('gas', 'oil'), in the current language."""
    return {"gas": _("gas"), "oil": _("oil")}.get(fuel, fuel)


def band_label(label: str) -> str:
    """A price band as shown: its window, or 'other hours'."""
    return _("other hours") if label == OTHER else label


def cost_lines(r: CostReport, t: Tariff) -> list[str]:
    """The lines of /cost (after its title): energy by price, base fee, total, heat price,
    the boiler comparison."""
    if r.hours_elapsed <= 0:
        return [_("no complete hour in this period yet")]
    if not r.hours_with_data:
        return [_("no meter data in this period: its cost is not known")]
    flat = len(r.bands) == 1 and not r.bands[0].label
    at = _(" at {price}").format(price=t.per_kwh(r.bands[0].price)) if flat else ""
    lines = [_("electricity {energy}{at}: {cost} (meter data in {hours} of {elapsed} h)").format(
        energy=fmt.kwh(r.energy_wh), at=at, cost=t.money(r.energy_cost),
        hours=fmt.num(r.hours_with_data, 0), elapsed=fmt.num(r.hours_elapsed, 0))]
    if not flat:
        lines += ["  " + _("{band} at {price}: {energy}, {cost}").format(
            band=band_label(b.label), price=t.per_kwh(b.price), energy=fmt.kwh(b.energy_wh),
            cost=t.money(b.cost)) for b in r.bands]
    if r.base_fee is not None:
        fee = t.money(t.base_fee_per_month or 0.0)
        lines.append((_("base fee {fee} per month: {cost} for this period")
                      if r.hours_with_data >= r.hours_elapsed else
                      _("base fee {fee} per month: {cost} for the span with meter data"))
                     .format(fee=fee, cost=t.money(r.base_fee)))
        lines.append(_("total {cost}").format(cost=t.money(r.total)))
    if r.heat_price is not None:
        cop = r.counted_heat_wh / r.counted_elec_wh if r.counted_elec_wh > 0 else None
        lines.append(_("heat {heat} in the {hours} hours with both meter and heat data cost "
                       "{price} of heat (COP {ratio}; base fee left out)").format(
            heat=fmt.kwh(r.counted_heat_wh), hours=fmt.num(r.counted_hours, 0),
            price=t.per_kwh(r.heat_price), ratio=fmt.ratio(cop)))
    if r.boiler_cost is not None and r.saving is not None and t.boiler_fuel:
        text = (_("{boiler} ({efficiency} efficient, {price} of {fuel}) would have cost "
                  "{cost} for the same heat: the heat pump saved {saving} (base fees left out)")
                if r.saving >= 0 else
                _("{boiler} ({efficiency} efficient, {price} of {fuel}) would have cost "
                  "{cost} for the same heat: the heat pump cost {saving} (base fees left out)"))
        lines.append(text.format(
            boiler=fuel_name(t.boiler_fuel),
            efficiency=fmt.percent_of(f"{(t.boiler_efficiency or 0.0) * 100:.0f}"),
            price=t.per_kwh(t.boiler_price_per_kwh or 0.0), fuel=fuel_word(t.boiler_fuel),
            cost=t.money(r.boiler_cost), saving=t.money(abs(r.saving))))
    return lines


def cost_text(label: str, r: CostReport, t: Tariff) -> str:
    """Reply to /cost [period]."""
    return "\n".join([_("Cost {period}").format(period=label), *cost_lines(r, t)])


def short_line(r: CostReport, t: Tariff) -> str | None:
    """One line for /jaz and /report: the cost and the price of a kWh of heat."""
    if not r.hours_with_data:
        return None
    line = _("cost {cost}").format(cost=t.money(r.total))
    if r.base_fee is not None:
        line += _(" ({energy} electricity + {fee} base fee)").format(
            energy=t.money(r.energy_cost), fee=t.money(r.base_fee))
    if r.heat_price is not None:
        line += _("; heat at {price}").format(price=t.per_kwh(r.heat_price))
    if r.saving is not None and t.boiler_fuel:
        line += (_("; {amount} less than {fuel}") if r.saving >= 0 else
                 _("; {amount} more than {fuel}")).format(amount=t.money(abs(r.saving)),
                                                          fuel=fuel_word(t.boiler_fuel))
    return line


def no_tariff_text() -> str:
    """The reply to /cost when no COST_* price is set: what to set."""
    return _("No tariff set, so no costs: set COST_PRICE_PER_KWH (or COST_TIME_OF_USE) and "
             "COST_CURRENCY, optionally COST_BASE_FEE_PER_MONTH and a boiler to compare with "
             "(COST_BOILER_FUEL, COST_BOILER_PRICE_PER_KWH, COST_BOILER_EFFICIENCY); see "
             "docs/settings.md.")
