"""The bot's answers as plain text: pure functions over what bot.store_reads returned.

The command handlers (bot/commands.py) read, then call these; Telegram and the `heatpump
chat` console go through the same handlers, so what a test or a terminal sees is exactly
what the chat gets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import fmt
from bot.analytics import (
    CIRCUIT_LABELS,
    COVER_MIN,
    METHOD_LABELS,
    SPLIT_CIRCUITS,
    HourPair,
    Performance,
    daily_stats,
    performance,
)
from bot.periods import PERIOD_HELP, Period
from bot.store_reads import Latests, LiveData, PeriodData, SourceHealth, StatusData
from heatpump.boundary import DEFAULT_ROLE, ROLE_LOADS, boundaries, boundary_of
from heatpump.estimates import ERROR_BANDS, USE, RatedOutput, band_text, rated_output
from heatpump.i18n import _
from heatpump.schema import (
    ESTIMATED_HEAT_METHODS,
    HEALTH_ANY_DEVICE,
    HEALTH_SOURCE,
    HEALTH_STORE_SOURCE,
)
from heatpump.settings import Settings
from heatpump.store.base import Latest, Point
from heatpump.timeutil import bucket_floor

STALE_METER_S = 120  # older than this, live power is shown as stale
STALE_HEATPUMP_S = 1800  # six missed 5-minute polls
TEMPS = (("outside_temp_c", "outdoor"), ("supply_temp_c", "flow"),
         ("return_temp_c", "return"), ("dhw_temp_c", "hot water"))


# --- /jaz ----------------------------------------------------------------------------------


def performance_lines(perf: Performance, name: str = "JAZ") -> list[str]:
    """The figure, its basis, coverage and heat method: never a bare number."""
    lines: list[str] = []
    if perf.hours_elapsed <= 0:
        return ["no complete hour in this period yet"]
    if perf.ratio is None:
        if perf.elec_wh_all <= 0 and perf.heat_wh_all <= 0:
            lines.append(f"{name}: no data in this period")
        else:
            lines.append(f"{name}: – (no hour with both meter and heat data; "
                         f"meter {fmt.kwh(perf.elec_wh_all)}, heat {fmt.kwh(perf.heat_wh_all)})")
        return lines
    est = " (ESTIMATED heat)" if perf.estimated_share > 0.5 else ""
    if perf.estimated_elec_share > 0.5:
        est += " (ESTIMATED electricity)"
    lines.append(f"{name} {fmt.ratio(perf.ratio)}{est} = {fmt.kwh(perf.heat_wh)} heat / "
                 f"{fmt.kwh(perf.elec_wh)} electricity (meter)")
    lines.append(f"covers {fmt.pct(perf.coverage)} of the period ({perf.hours_counted:,.0f} of "
                 f"{perf.hours_elapsed:,.0f} h with both meter and heat data)")
    if perf.estimated_elec_share > 0:
        lines.append(f"electricity ESTIMATED from the meter's power for "
                     f"{fmt.pct(perf.estimated_elec_share)} of it (the meter reports no "
                     "energy counter)")
    if perf.elec_bridged_wh > 0:
        lines.append(f"left out: {fmt.kwh(perf.elec_bridged_wh)} the meter counted across "
                     "outages, whose hours are not known")
    methods = sorted(perf.heat_by_method.items(), key=lambda kv: -kv[1])
    if len(methods) == 1:
        lines.append(f"heat {METHOD_LABELS.get(methods[0][0], methods[0][0])}")
    else:
        parts = [f"{m} {fmt.pct(wh / perf.heat_wh)}" for m, wh in methods if perf.heat_wh > 0]
        lines.append("heat methods: " + ", ".join(parts)
                     + (f"; {fmt.pct(perf.estimated_share)} estimated"
                        if perf.estimated_share > 0 else ""))
    return lines


def method_lines(methods: Iterable[str], rated: RatedOutput | None) -> list[str]:
    """For each computed heat method among `methods` (flow and the estimates): its error
    band as the truth benchmark measured it and what it is good for; for an estimate, the
    rated output it used and where that comes from."""
    lines = []
    for method in sorted(set(methods) & set(ERROR_BANDS), key=list(ERROR_BANDS).index):
        line = f"{method} method: "
        if method in ESTIMATED_HEAT_METHODS:
            line = f"{method} estimate: " + (
                rated.describe() if rated is not None else "rated output not known here "
                "(HEATPUMP_RATED_HEAT_KW unset, no figure from the heat pump stored)") + "; "
        lines.append(f"{line}measured {band_text(method)} of the real heat: {USE[method]}")
    return lines


def split_lines(perf: Performance) -> list[str]:
    split = {c: wh for c, wh in perf.heat_by_circuit.items() if wh > 0}
    if not split or perf.heat_wh <= 0:
        return []
    parts = []
    for c in SPLIT_CIRCUITS:
        if c in split:
            r = perf.circuit_ratio(c)
            parts.append(f"{CIRCUIT_LABELS[c]} {fmt.kwh(split[c])} "
                         f"({fmt.pct(split[c] / perf.heat_wh)})"
                         + (f", COP {fmt.ratio(r)} by the device's electricity" if r else ""))
    return ["heat split: " + "; ".join(parts)]


def device_lines(perf: Performance, spf: Mapping[str, Latest]) -> list[str]:
    lines = []
    if perf.device_elec_wh is not None and perf.meter_wh_same_hours:
        diff = perf.device_elec_wh / perf.meter_wh_same_hours - 1
        lines.append(f"the heat pump's own electricity figure: {fmt.kwh(perf.device_elec_wh)} "
                     f"(meter {fmt.kwh(perf.meter_wh_same_hours)} over the same hours, "
                     f"device {diff:+.0%})")
    for kind, name in DEVICE_FIGURES:
        parts = []
        for circuit in ("total", "heating", "dhw", "cooling"):
            lt = spf.get(f"device_{kind}_{circuit}")
            if lt is None or isinstance(lt.value, bool):
                continue
            try:
                parts.append(f"{CIRCUIT_LABELS[circuit]} {float(lt.value):.2f}")
            except (TypeError, ValueError):
                continue
        if parts:
            lines.append(f"the heat pump's own {name} (as it reports it): " + ", ".join(parts))
    return lines


def boundary_lines(perf: Performance, name: str,
                   meter_loads: Iterable[str] = ROLE_LOADS[DEFAULT_ROLE]) -> list[str]:
    """Which SEPEMO boundary the meter's figure stands for, and, where the heat pump
    reports its heating rod's electricity, the whole system's figure with the rod's share
    of electricity and heat (heatpump/boundary.py: the levels, their source, the rules).
    `meter_loads` are the loads the meter sees (one meter at SHELLY_URL: the heat pump)."""
    if perf.ratio is None:  # no figure to bound; the rod's own figure still tells
        if perf.rod_wh_all is not None:
            return [f"heating rod: {fmt.kwh(perf.rod_wh_all)} electricity in this period "
                    "(as the heat pump reports it)"]
        if perf.rod_unknown_s > 0:
            return [f"heating rod: ran {fmt.duration(perf.rod_unknown_s)}, its electricity "
                    "is not known (set HEATPUMP_HEATING_ROD_KW)"]
        return []
    bounds = boundaries(meter_loads, rod_reported=perf.rod_hours > 0)
    metered = boundary_of(meter_loads)
    lines = [f"boundary {metered.describe()}: the electricity the meter counts"
             + (" (with the heating rod; its heat is not in this figure)"
                if bounds.rod_in_meter else "")]
    if bounds.system is None:
        if perf.rod_unknown_s > 0:
            lines.append(f"heating rod: ran {fmt.duration(perf.rod_unknown_s)}, its "
                         "electricity is not known (set HEATPUMP_HEATING_ROD_KW, its power "
                         "per level, to estimate it)")
        return lines
    rod = perf.rod_wh
    heat = perf.sys_heat_wh + rod
    # a rod the meter already counts is never added twice
    elec = perf.sys_meter_wh + (0.0 if bounds.rod_in_meter else rod)
    sys_name = f"whole system {name}"
    hours = (f" over {perf.rod_hours:,.0f} h" if perf.rod_hours < perf.hours_counted else "")
    lines.append(f"{sys_name} {fmt.ratio(heat / elec) if elec > 0 else '–'} = "
                 f"{fmt.kwh(heat)} heat / {fmt.kwh(elec)} electricity{hours}; boundary "
                 f"{bounds.system.describe()}")
    split = [f"{CIRCUIT_LABELS[c]} {fmt.kwh(wh)}" for c in SPLIT_CIRCUITS
             if (wh := perf.rod_by_circuit.get(c)) is not None]
    est = (" (ESTIMATED from its running time × HEATPUMP_HEATING_ROD_KW)"
           if perf.rod_estimated_wh > 0.5 * rod > 0 else "")
    lines.append(f"heating rod: {fmt.kwh(rod)} electricity{est} = "
                 f"{fmt.pct(rod / elec) if elec > 0 else '–'} of the system's electricity "
                 f"and {fmt.pct(rod / heat) if heat > 0 else '–'} of its heat"
                 + (" (" + ", ".join(split) + ")" if split else ""))
    return lines


def jaz_text(period: Period, data: PeriodData, now: datetime, tz: ZoneInfo,
             rated_heat_kw: float | None = None,
             meter_loads: Iterable[str] = ROLE_LOADS[DEFAULT_ROLE]) -> str:
    """Reply to /jaz [period]: `data` read over [period.start, period.elapsed_end(now));
    `rated_heat_kw` is HEATPUMP_RATED_HEAT_KW (an estimate names its rated output);
    `meter_loads` what the meter sees (heatpump/boundary.py)."""
    end = period.elapsed_end(now)
    pairs = data.pairs
    perf = performance(pairs, period.start, end)
    name = "JAZ" if period.key == "12m" or period.key.isdigit() else "COP"
    head = f"{name} {period.label}"
    lines = [head, *performance_lines(perf, name), *boundary_lines(perf, name, meter_loads)]
    if perf.ratio is not None:
        own = data.device_figures.get("device_rated_heat_kw")
        device_kw = (float(own.value) if own is not None and isinstance(own.value, int | float)
                     and not isinstance(own.value, bool) else None)
        lines += method_lines(perf.heat_by_method, rated_output(rated_heat_kw, device_kw))
    lines += [*split_lines(perf), *split_note(perf)]
    if perf.running_cop is not None:
        lines.append(f"running COP {fmt.ratio(perf.running_cop)} (heat over the electricity "
                     f"while the compressor ran, {perf.running_hours:,.0f} h)")
    days = [d for d in daily_stats(pairs, tz) if d.starts > 0 or d.running_s > 0]
    if days:
        starts = sum(d.starts for d in days)
        run = sum(d.running_s for d in days)
        if starts:
            lines.append(f"compressor: {starts / len(days):.1f} starts per day, mean run "
                         f"{fmt.duration(run / starts)}")
        else:
            lines.append(f"compressor: no start in {len(days)} day{'s' if len(days) != 1 else ''} "
                         "with metered running "
                         f"time (it ran without stopping, {fmt.duration(run)})")
    lines += device_lines(perf, data.device_figures)
    return "\n".join(lines)


# The device's own seasonal figures (store_reads.SEASONAL_FIELDS) and their names.
DEVICE_FIGURES = (("spf", "SPF"), ("scop", "SCOP"))


def split_note(perf: Performance) -> list[str]:
    """One line under the heat split when it shows COPs per use (issue 19: they read as
    contradicting the total): they divide by the device's own electricity per use, which
    the metered total does not."""
    if perf.heat_wh <= 0 or not any(perf.circuit_ratio(c) for c in SPLIT_CIRCUITS
                                    if perf.heat_by_circuit.get(c, 0) > 0):
        return []
    return [_("(the COPs per use divide by the heat pump's own electricity for that use, "
              "without the standby and pumps the meter also counts, so they do not average "
              "to the metered figure above)")]


# --- /status -------------------------------------------------------------------------------


def status_text(data: StatusData, settings: Settings, now: datetime) -> str:
    """Reply to /status from `data` read at `now`."""
    tz = settings.tz
    lines = [f"Heat pump status · {fmt.local(now, tz)}"]
    lines += _power_lines(data.meters, now)
    lines += _heatpump_lines(data.pumps, data.messages, tz, now)
    lines += _today_lines(data.today, tz, now)
    lines += _source_lines(data.meters, data.pumps, data.health, tz, now)
    if settings.vicare_enabled or data.api_calls_24h:  # a meter-only set-up: no quota
        lines.append(f"Viessmann API calls: {data.api_calls_today} today, "
                     f"{data.api_calls_24h} in the last 24 h "
                     f"(budget {settings.vicare_daily_budget})")
    return "\n".join(lines)


def _power_lines(meters: Latests, now: datetime) -> list[str]:
    if not meters:
        return ["⚡ power: no meter data"]
    out = []
    for dev, latest in sorted(meters.items()):
        p = latest.get("power_w")
        if p is None:
            continue
        stale = (now - p.time).total_seconds() > STALE_METER_S
        name = f" ({dev})" if len(meters) > 1 else ""
        out.append(f"⚡ power{name} {fmt.watts(float(p.value))}, {fmt.age(p.time, now)}"
                   + (" — STALE" if stale else ""))
    return out or ["⚡ power: no meter data"]


def _heatpump_lines(pumps: Latests, messages: Mapping[str, list[Point]], tz: ZoneInfo,
                    now: datetime) -> list[str]:
    if not pumps:
        return ["heat pump: no data"]
    out = []
    for dev, latest in sorted(pumps.items()):
        name = f" {dev}" if len(pumps) > 1 else ""
        poll = max(v.time for v in latest.values())
        fresh = {k: v for k, v in latest.items() if v.time == poll}
        active = latest.get("compressor_active")
        if active is None:
            state = "compressor state unknown"
        else:
            state = "compressor RUNNING" if active.value else "compressor off"
            mod = latest.get("compressor_modulation_pct")
            if active.value and mod is not None:
                state += f", modulation {float(mod.value):.0f}%"
            phase = latest.get("compressor_phase")
            if phase is not None and str(phase.value) not in ("", "off"):
                state += f" ({phase.value})"
        stale = (now - poll).total_seconds() > STALE_HEATPUMP_S
        out.append(f"heat pump{name}: {state} — polled {fmt.age(poll, now)}"
                   + (" — STALE, may have changed since" if stale else ""))
        temps = []
        for field_name, label in TEMPS:
            v = latest.get(field_name)
            if v is None:
                continue
            t = f"{label} {fmt.temp(float(v.value))}"
            if v.time != poll:
                t += f" ({fmt.age(v.time, now)})"
            temps.append(t)
        if temps:
            out.append("🌡 " + " · ".join(temps))
        out += _rod_state_lines(latest, poll, now)
        out += _fault_lines(messages.get(dev, []), fresh, tz)
    return out


def _rod_state_lines(latest: Mapping[str, Latest], poll: datetime, now: datetime
                     ) -> list[str]:
    """The heating rod's and a secondary heat generator's state at the latest poll (only
    for devices that report them)."""
    out = []
    rod = latest.get("heating_rod_active")
    if rod is not None:
        levels = [str(n) for n in (1, 2, 3)
                  if (lv := latest.get(f"heating_rod_level{n}_active")) is not None
                  and lv.value is True]
        state = "ON" if rod.value else "off"
        if rod.value and levels:
            state += " (level " + ", ".join(levels) + ")"
        out.append(f"🔥 heating rod {state}" + (f" ({fmt.age(rod.time, now)})"
                                                 if rod.time != poll else ""))
    gen = latest.get("secondary_heat_generator_active")
    if gen is not None and gen.value:
        out.append("🔥 secondary heat generator ON")
    return out


def _when(iso: str, tz: ZoneInfo) -> str:
    """An ISO time from the device in local time; shown as given when it is not ISO."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return fmt.local(t, tz) if t.tzinfo else t.strftime("%d.%m.%Y %H:%M")


def _fault_lines(msgs: list[Point], fresh: Mapping[str, Latest], tz: ZoneInfo) -> list[str]:
    errors = fresh.get("error_count")
    if not msgs:
        if errors is not None and int(errors.value) == 0:
            return ["✅ no active faults"]
        if errors is not None:
            return [f"⚠️ {int(errors.value)} active fault(s) (no details reported)"]
        return []
    out = []
    for m in msgs:
        kind = m.tags.get("kind", "")
        icon = "❗" if kind == "error" else "ℹ️"
        text = str(m.fields.get("text", "")).strip()
        prio = str(m.fields.get("priority", ""))
        since = str(m.fields.get("since", ""))
        out.append(f"{icon} {kind} {m.tags.get('code', '?')}"
                   + (f" [{prio}]" if prio else "") + (f": {text}" if text else "")
                   + (f" (since {_when(since, tz)})" if since else ""))
    return out


def _today_lines(pairs: list[HourPair], tz: ZoneInfo, now: datetime) -> list[str]:
    day0 = bucket_floor(now, "day", tz)
    # today's energy: every interval so far (also the hour in progress); a side without
    # any data today is a gap ("–"), not 0 kWh
    elec = _total(p.elec_total_wh for p in pairs)
    heat = _total(p.heat_wh for p in pairs)
    methods = {p.method for p in pairs if p.method}
    est = (" (estimated: " + ", ".join(f"{m} {band_text(m)}" for m in sorted(methods)) + ")"
           if methods and methods <= ESTIMATED_HEAT_METHODS else "")
    elec_est = " (estimated)" if any(p.elec_estimated_wh > 0 for p in pairs) else ""
    perf = performance(pairs, day0, bucket_floor(now, "hour", tz))
    cop = (f"COP {fmt.ratio(perf.ratio)} over {perf.hours_counted:.0f} of "
           f"{perf.hours_elapsed:.0f} complete hours" if perf.ratio is not None
           else "COP – (no complete hour with both sides yet)")
    if not pairs:
        return ["today: no energy data yet"]
    lines = [f"today: electricity {fmt.kwh(elec)}{elec_est}, heat {fmt.kwh(heat)}{est}; {cop}"]
    rod = [p.rod_wh for p in pairs if p.rod_wh is not None]
    rod_s = sum(p.rod_running_s for p in pairs)
    if rod:
        rod_est = (" (estimated from its running time)"
                   if any(p.rod_estimated_wh > 0 for p in pairs) else "")
        lines.append(f"today: heating rod {fmt.kwh(sum(rod))}{rod_est} (as the heat pump "
                     "reports it)")
    elif rod_s > 0:
        lines.append(f"today: heating rod ran {fmt.duration(rod_s)} (its electricity is not "
                     "known: set HEATPUMP_HEATING_ROD_KW)")
    return lines


def _total(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) if found else None


# the `source` tag of the collector's health points -> what /status calls it
HEALTH_LABELS = {HEALTH_SOURCE["meter"]: "meter", HEALTH_SOURCE["heatpump"]: "heat pump",
                 HEALTH_STORE_SOURCE: "store"}


def health_label(source: str, device: str) -> str:
    """"heat pump 7571381681420106-0", "heat pump (Viessmann account)", "store": the same
    names as the "last data" lines, so a device's two lines read together."""
    label = HEALTH_LABELS.get(source, source)
    if device == "account":
        return f"{label} (Viessmann account)"
    if device in HEALTH_ANY_DEVICE or not device:
        return label
    return f"{label} {device}"


def _source_lines(meters: Latests, pumps: Latests, health: list[SourceHealth],
                  tz: ZoneInfo, now: datetime) -> list[str]:
    out = ["sources:"]
    for found, label in ((meters, "meter"), (pumps, "heat pump")):
        for dev, latest in sorted(found.items()):
            if latest:
                t = max(v.time for v in latest.values())
                out.append(f"  {label} {dev}: last data {fmt.local(t, tz)} "
                           f"({fmt.age(t, now)})")
    for h in sorted(health, key=lambda h: (h.source, h.device)):
        who = health_label(h.source, h.device)
        if h.status == "up":
            out.append(f"  {who}: up since {fmt.local(h.time, tz)}")
        else:
            because = h.detail or h.reason or "unknown reason"
            if h.reason and h.detail:
                because = f"{h.reason}: {h.detail}"
            until = ""
            if h.until:
                until = f", waits until {_when(h.until, tz)}"
            out.append(f"  {who}: {h.status.upper()} since {fmt.local(h.time, tz)} "
                       f"because {because}{until}")
    return out if len(out) > 1 else ["sources: no data yet"]


# --- /live ---------------------------------------------------------------------------------


def live_text(data: LiveData, now: datetime, tz: ZoneInfo) -> str:
    """The compact snapshot /live keeps editing: power and state with the time of each
    reading (not an age), so the text only changes when a reading does."""
    lines = ["live view (updates every 15 s for 10 min)"]
    meters = data.meters
    for dev, latest in sorted(meters.items()):
        p = latest.get("power_w")
        if p is None:
            continue
        name = f" ({dev})" if len(meters) > 1 else ""
        stale = (now - p.time).total_seconds() > STALE_METER_S
        lines.append(f"⚡ power{name} {fmt.watts(float(p.value))} at "
                     f"{p.time.astimezone(tz):%H:%M:%S}" + (" — STALE" if stale else ""))
    if len(lines) == 1:
        lines.append("⚡ power: no meter data")
    pumps = data.pumps
    for dev, latest in sorted(pumps.items()):
        active = latest.get("compressor_active")
        if active is None:
            continue
        state = "RUNNING" if active.value else "off"
        mod = latest.get("compressor_modulation_pct")
        if active.value and mod is not None:
            state += f" {float(mod.value):.0f}%"
        extra = []
        for f, label in (("supply_temp_c", "flow"), ("outside_temp_c", "outdoor")):
            if f in latest:
                extra.append(f"{label} {fmt.temp(float(latest[f].value))}")
        name = f" {dev}" if len(pumps) > 1 else ""
        lines.append(f"compressor{name} {state}" + (" · " + " · ".join(extra) if extra else "")
                     + f" (polled {active.time.astimezone(tz):%H:%M})")
    return "\n".join(lines)


# --- /start, /help -------------------------------------------------------------------------

def help_text(commands: Iterable[tuple[str, str]]) -> str:
    """The help: one line per (command name, description), in the order given (the command
    table of bot/commands.py), then how periods and coverage work."""
    lines = ["Heat pump monitor. Commands:"]
    lines += [f"/{name} – {text}" for name, text in commands]
    lines.append(f"Periods: {PERIOD_HELP}.")
    lines.append(f"JAZ/COP count only hours in which the meter and the heat data both cover "
                 f"at least {COVER_MIN:.0%} of the hour; every figure says how much of the "
                 f"period that was.")
    return "\n".join(lines)


def start_text(commands: Iterable[tuple[str, str]]) -> str:
    return "Hello! I report how well your heat pump really works.\n\n" + help_text(commands)
