"""What a run stored, in a few lines: the summary of `heatpump replay` (and the demo's base).

Pure over store reads: energy per side (the meter's electricity, the heat by method, the
heat pump's own electricity figure), the JAZ over the span, how many hours each side
covers, and the health events (resets, rejected values, outages) the run recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from heatpump import i18n
from heatpump.health_texts import reason_text, status_text, stored_detail
from heatpump.i18n import Worded, _, number, shown
from heatpump.store.base import Point, Store


@dataclass(frozen=True)
class RunSummary:
    start: datetime
    end: datetime
    electricity_kwh: float  # the meter's
    heat_kwh: float  # circuit total, every method
    device_electricity_kwh: float  # what the heat pump reports of itself
    heat_methods: tuple[str, ...]
    hours: int  # whole hours in the span
    meter_hours: int  # hours with meter energy
    heat_hours: int  # hours with heat
    warnings: tuple[str, ...]  # health events other than "up", oldest first
    # the heating rod's electricity as the heat pump reports it (None: it reports none;
    # kWh of `rod_estimated_kwh` from its running time × HEATPUMP_HEATING_ROD_KW)
    rod_electricity_kwh: float | None = None
    rod_estimated_kwh: float = 0.0

    @property
    def jaz(self) -> float | None:
        """Heat over the meter's electricity over the span (no pairing by hour)."""
        return self.heat_kwh / self.electricity_kwh if self.electricity_kwh > 0 else None


def run_summary(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> RunSummary:
    """Sum what the run stored over [start, end) (whole hours)."""

    def hourly(measurement: str, tags: dict[str, str]) -> dict[datetime, float]:
        return {r.start: r.values.get("energy_wh", 0.0)
                for r in store.sums(measurement, ["energy_wh"], start, end, "hour", tz,
                                    tags=tags)}

    meter = hourly("electricity", {"source": "meter", "circuit": "total"})
    heat = hourly("heat", {"circuit": "total"})
    device = hourly("electricity", {"source": "heatpump", "circuit": "total"})
    rod = store.sums("electricity", ["energy_wh", "estimated_wh"], start, end, "hour", tz,
                     tags={"source": "heating_rod", "circuit": "total"})
    # hourly: a month bucket starting before `start` is left out, and with it the
    # method of a span inside one month (the summary said 'heat method: none')
    methods = store.sums("heat", ["energy_wh"], start, end, "hour", tz,
                         tags={"circuit": "total"}, group_by=("method",))
    health = store.points("health", start, end)
    warnings = tuple(health_warning(p, tz) for p in health
                     if p.fields.get("status") != "up"
                     or p.fields.get("reason") not in ("", None, "ok"))
    return RunSummary(
        start, end, sum(meter.values()) / 1000.0, sum(heat.values()) / 1000.0,
        sum(device.values()) / 1000.0, tuple(sorted({r.tags["method"] for r in methods})),
        int((end - start).total_seconds() // 3600), len(meter), len(heat), warnings,
        sum(r.values.get("energy_wh", 0.0) for r in rod) / 1000.0
        if any("energy_wh" in r.values for r in rod) else None,
        sum(r.values.get("estimated_wh", 0.0) for r in rod) / 1000.0)


def health_warning(p: Point, tz: ZoneInfo) -> Worded:
    """One health event of a run: in English as stored ('2026-11-01 13:00 meter m1: degraded
    (counter_stuck) detail'), in another language with the status and the reason in words
    and the English detail only where the reason has no text (heatpump.health_texts)."""
    time = f"{p.time.astimezone(tz):%Y-%m-%d %H:%M}"
    who = f"{p.tags.get('source')} {p.tags.get('device')}"
    status, reason = str(p.fields.get("status") or ""), str(p.fields.get("reason") or "")
    detail = str(p.fields.get("detail") or "")

    def render() -> str:
        if i18n.language() == "en":
            return f"{time} {who}: {status} ({reason}) {detail}".rstrip()
        return f"{time} {who}: {status_text(status)} ({reason_text(reason) or reason}) " \
               f"{stored_detail(reason, detail)}".rstrip()

    return Worded(render)


def format_run_summary(s: RunSummary, tz: ZoneInfo, max_warnings: int = 20) -> str:
    jaz = number(s.jaz, 2) if s.jaz is not None else _("n/a")
    labels = [_("electricity in (meter):"), _("heat out:"), _("heat pump's own figure:"),
              _("heating rod (its own):"), _("JAZ over the span:")]
    width = max(26, *(len(label) + 1 for label in labels))  # the values in one column

    def row(label: str, value: str) -> str:
        return f"  {label:<{width}}{value}"

    lines = [
        _("{start} to {end} ({hours} h)").format(start=f"{s.start.astimezone(tz):%Y-%m-%d %H:%M}",
                                                 end=f"{s.end.astimezone(tz):%Y-%m-%d %H:%M}",
                                                 hours=s.hours),
        row(_("electricity in (meter):"), _("{kwh} kWh in {hours} h").format(
            kwh=f"{number(s.electricity_kwh, 3):>10}", hours=s.meter_hours)),
        row(_("heat out:"), _("{kwh} kWh in {hours} h (method: {methods})").format(
            kwh=f"{number(s.heat_kwh, 3):>10}", hours=s.heat_hours,
            methods=", ".join(s.heat_methods) or _("none"))),
        row(_("heat pump's own figure:"), _("{kwh} kWh electricity").format(
            kwh=f"{number(s.device_electricity_kwh, 3):>10}")),
        row(_("JAZ over the span:"), f"{jaz:>10}"),
    ]
    if s.rod_electricity_kwh is not None:
        est = (" " + _("(estimated from its running time)")) if s.rod_estimated_kwh > 0 else ""
        lines.insert(4, row(_("heating rod (its own):"), _("{kwh} kWh electricity").format(
            kwh=f"{number(s.rod_electricity_kwh, 3):>10}") + est))
    if s.warnings:
        lines.append("  " + _("warnings ({n}):").format(n=len(s.warnings)))
        lines += [f"    {shown(w)}" for w in s.warnings[:max_warnings]]
        if len(s.warnings) > max_warnings:
            lines.append("    " + _("... and {n} more").format(n=len(s.warnings) - max_warnings))
    return "\n".join(lines)
