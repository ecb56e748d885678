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
from bot.alerts.texts import health_because
from bot.analytics import (
    COVER_MIN,
    SPLIT_CIRCUITS,
    HourPair,
    Performance,
    circuit_label,
    daily_stats,
    method_label,
    performance,
)
from bot.periods import Period, period_help
from bot.store_reads import Latests, LiveData, PeriodData, SourceHealth, StatusData
from heatpump.boundary import DEFAULT_ROLE, is_heat_pump_role, meter_figures
from heatpump.estimates import ERROR_BANDS, USE, RatedOutput, band_text, rated_output
from heatpump.i18n import _, ngettext
from heatpump.schema import (
    ESTIMATED_HEAT_METHODS,
    HEALTH_ANY_DEVICE,
    HEALTH_SOURCE,
    HEALTH_STORE_SOURCE,
    METER_ROLE_TAG,
)
from heatpump.settings import Settings
from heatpump.store.base import Latest, Point
from heatpump.timeutil import bucket_floor

STALE_METER_S = 120  # older than this, live power is shown as stale
STALE_HEATPUMP_S = 1800  # six missed 5-minute polls
TEMPS = ("outside_temp_c", "supply_temp_c", "return_temp_c", "dhw_temp_c")


def temp_label(field_name: str) -> str:
    """What /status and /live call a stored temperature field, in the current language."""
    return {"outside_temp_c": _("outdoor"), "supply_temp_c": _("flow"),
            "return_temp_c": _("return"), "dhw_temp_c": _("hot water")}[field_name]


# --- /jaz ----------------------------------------------------------------------------------


def performance_lines(perf: Performance, name: str = "JAZ") -> list[str]:
    """The figure, its basis, coverage and heat method: never a bare number."""
    lines: list[str] = []
    if perf.hours_elapsed <= 0:
        return [_("no complete hour in this period yet")]
    if perf.ratio is None:
        if perf.elec_wh_all <= 0 and perf.heat_wh_all <= 0:
            lines.append(_("{name}: no data in this period").format(name=name))
        else:
            lines.append(_("{name}: – (no hour with both meter and heat data; meter {elec}, "
                           "heat {heat})").format(name=name, elec=fmt.kwh(perf.elec_wh_all),
                                                  heat=fmt.kwh(perf.heat_wh_all)))
        return lines
    est = _(" (ESTIMATED heat)") if perf.estimated_share > 0.5 else ""
    if perf.estimated_elec_share > 0.5:
        est += _(" (ESTIMATED electricity)")
    lines.append(_("{name} {ratio}{est} = {heat} heat / {elec} electricity (meter)").format(
        name=name, ratio=fmt.ratio(perf.ratio), est=est, heat=fmt.kwh(perf.heat_wh),
        elec=fmt.kwh(perf.elec_wh)))
    lines.append(_("covers {pct} of the period ({counted} of {elapsed} h with both meter and "
                   "heat data)").format(pct=fmt.pct(perf.coverage),
                                        counted=fmt.num(perf.hours_counted, 0),
                                        elapsed=fmt.num(perf.hours_elapsed, 0)))
    if perf.estimated_elec_share > 0:
        lines.append(_("electricity ESTIMATED from the meter's power for {pct} of it (the "
                       "meter reports no energy counter)").format(
            pct=fmt.pct(perf.estimated_elec_share)))
    if perf.elec_bridged_wh > 0:
        lines.append(_("left out: {energy} the meter counted across outages, whose hours are "
                       "not known").format(energy=fmt.kwh(perf.elec_bridged_wh)))
    methods = sorted(perf.heat_by_method.items(), key=lambda kv: -kv[1])
    if len(methods) == 1:
        lines.append(_("heat {method}").format(method=method_label(methods[0][0])))
    else:
        parts = [f"{m} {fmt.pct(wh / perf.heat_wh)}" for m, wh in methods if perf.heat_wh > 0]
        lines.append(_("heat methods: {parts}").format(parts=", ".join(parts))
                     + (_("; {pct} estimated").format(pct=fmt.pct(perf.estimated_share))
                        if perf.estimated_share > 0 else ""))
    return lines


def method_lines(methods: Iterable[str], rated: RatedOutput | None) -> list[str]:
    """For each computed heat method among `methods` (flow and the estimates): its error
    band as the truth benchmark measured it and what it is good for; for an estimate, the
    rated output it used and where that comes from."""
    lines = []
    for method in sorted(set(methods) & set(ERROR_BANDS), key=list(ERROR_BANDS).index):
        line = _("{method} method: ").format(method=method)
        if method in ESTIMATED_HEAT_METHODS:
            line = _("{method} estimate: {rated}; ").format(
                method=method,
                rated=rated.describe() if rated is not None else _(
                    "rated output not known here (HEATPUMP_RATED_HEAT_KW unset, no figure "
                    "from the heat pump stored)"))
        lines.append(line + _("measured {band} of the real heat: {use}").format(
            band=band_text(method), use=USE[method]))
    return lines


def split_lines(perf: Performance) -> list[str]:
    split = {c: wh for c, wh in perf.heat_by_circuit.items() if wh > 0}
    if not split or perf.heat_wh <= 0:
        return []
    parts = []
    for c in SPLIT_CIRCUITS:
        if c in split:
            r = perf.circuit_ratio(c)
            parts.append(f"{circuit_label(c)} {fmt.kwh(split[c])} "
                         f"({fmt.pct(split[c] / perf.heat_wh)})"
                         + (_(", COP {ratio} by the device's electricity").format(
                             ratio=fmt.ratio(r)) if r else ""))
    return [_("heat split: {parts}").format(parts="; ".join(parts))]


def device_lines(perf: Performance, spf: Mapping[str, Latest]) -> list[str]:
    lines = []
    if perf.device_elec_wh is not None and perf.meter_wh_same_hours:
        diff = perf.device_elec_wh / perf.meter_wh_same_hours - 1
        lines.append(_("the heat pump's own electricity figure: {device} (meter {meter} over "
                       "the same hours, device {diff})").format(
            device=fmt.kwh(perf.device_elec_wh), meter=fmt.kwh(perf.meter_wh_same_hours),
            diff=fmt.signed_pct(diff)))
    for kind, name in DEVICE_FIGURES:
        parts = []
        for circuit in ("total", "heating", "dhw", "cooling"):
            lt = spf.get(f"device_{kind}_{circuit}")
            if lt is None or isinstance(lt.value, bool):
                continue
            try:
                parts.append(f"{circuit_label(circuit)} {fmt.ratio(float(lt.value))}")
            except (TypeError, ValueError):
                continue
        if parts:
            lines.append(_("the heat pump's own {name} (as it reports it): {parts}").format(
                name=name, parts=", ".join(parts)))
    return lines


def boundary_lines(perf: Performance, name: str) -> list[str]:
    """Which SEPEMO boundary the heat pump's figure stands for (the loads its meters see,
    by their roles) and the whole system's figure where more is known: the heating rod
    (a meter of its own, or as the heat pump reports it: never both) and other meters
    (circulation pumps), with the rod's share of electricity and heat
    (heatpump/boundary.py: the levels, their source, the rules)."""
    if perf.ratio is None:  # no figure to bound; the rod's own figure still tells
        if perf.rod_wh_all is not None:
            return [_("heating rod: {energy} electricity in this period (as the heat pump "
                      "reports it)").format(energy=fmt.kwh(perf.rod_wh_all))]
        if perf.rod_unknown_s > 0:
            return [_("heating rod: ran {time}, its electricity is not known (set "
                      "HEATPUMP_HEATING_ROD_KW)").format(time=fmt.duration(perf.rod_unknown_s))]
        return []
    figs = meter_figures(perf.meter_roles, rod_reported=perf.rod_source == "device")
    hp_roles = sorted(r for r in perf.meter_roles if is_heat_pump_role(r))
    counts = (_("the electricity the meter counts") if len(hp_roles) <= 1
              else _("the electricity the meters count"))
    if hp_roles not in ([], [DEFAULT_ROLE]):  # role names as SHELLY_METERS spells them
        counts += " (" + ", ".join(r.replace("_", " ") for r in hp_roles) + ")"
    lines = [_("boundary {boundary}: {counts}").format(boundary=figs.heat_pump.describe(),
                                                         counts=counts)
             + (_(" (with the heating rod; its heat is not in this figure)")
                if figs.rod_in_meter else "")]
    if figs.system is None or perf.rod_hours <= 0:
        if perf.rod_unknown_s > 0:
            lines.append(_("heating rod: ran {time}, its electricity is not known (set "
                           "HEATPUMP_HEATING_ROD_KW, its power per level, to estimate it)")
                         .format(time=fmt.duration(perf.rod_unknown_s)))
        return lines
    rod = perf.rod_wh
    heat = perf.sys_heat_wh + rod
    # a rod a meter already counts is never added twice
    elec = perf.sys_meter_wh + perf.sys_extra_wh + (
        0.0 if figs.rod_in_meter or figs.rod_metered else rod)
    hours = (_(" over {hours} h").format(hours=fmt.num(perf.rod_hours, 0))
             if perf.rod_hours < perf.hours_counted else "")
    lines.append(_("whole system {name} {ratio} = {heat} heat / {elec} electricity{hours}; "
                   "boundary {boundary}").format(
        name=name, ratio=fmt.ratio(heat / elec) if elec > 0 else "–", heat=fmt.kwh(heat),
        elec=fmt.kwh(elec), hours=hours, boundary=figs.system.describe()))
    if not perf.rod_source:
        return lines
    split = [f"{circuit_label(c)} {fmt.kwh(wh)}" for c in SPLIT_CIRCUITS
             if (wh := perf.rod_by_circuit.get(c)) is not None]
    est = (_(" (ESTIMATED from its running time × HEATPUMP_HEATING_ROD_KW)")
           if perf.rod_estimated_wh > 0.5 * rod > 0 else "")
    text = (_("heating rod (its own meter): {energy} electricity{est} = {elec_share} of the "
              "system's electricity and {heat_share} of its heat")
            if perf.rod_source == "meter" else
            _("heating rod: {energy} electricity{est} = {elec_share} of the system's "
              "electricity and {heat_share} of its heat"))
    lines.append(text.format(
        energy=fmt.kwh(rod), est=est, elec_share=fmt.pct(rod / elec) if elec > 0 else "–",
        heat_share=fmt.pct(rod / heat) if heat > 0 else "–")
                 + (" (" + ", ".join(split) + ")" if split else ""))
    return lines


def jaz_text(period: Period, data: PeriodData, now: datetime, tz: ZoneInfo,
             rated_heat_kw: float | None = None) -> str:
    """Reply to /jaz [period]: `data` read over [period.start, period.elapsed_end(now));
    `rated_heat_kw` is HEATPUMP_RATED_HEAT_KW (an estimate names its rated output); the
    boundary follows from the roles of the meters in the data (heatpump/boundary.py)."""
    end = period.elapsed_end(now)
    pairs = data.pairs
    perf = performance(pairs, period.start, end)
    name = "JAZ" if period.key == "12m" or period.key.isdigit() else "COP"
    head = f"{name} {period.label}"
    lines = [head, *performance_lines(perf, name), *boundary_lines(perf, name)]
    if perf.ratio is not None:
        own = data.device_figures.get("device_rated_heat_kw")
        device_kw = (float(own.value) if own is not None and isinstance(own.value, int | float)
                     and not isinstance(own.value, bool) else None)
        lines += method_lines(perf.heat_by_method, rated_output(rated_heat_kw, device_kw))
    lines += [*split_lines(perf), *split_note(perf)]
    if perf.running_cop is not None:
        lines.append(_("running COP {ratio} (heat over the electricity while the compressor "
                       "ran, {hours} h)").format(ratio=fmt.ratio(perf.running_cop),
                                                 hours=fmt.num(perf.running_hours, 0)))
    days = [d for d in daily_stats(pairs, tz) if d.starts > 0 or d.running_s > 0]
    if days:
        starts = sum(d.starts for d in days)
        run = sum(d.running_s for d in days)
        if starts:
            lines.append(_("compressor: {per_day} starts per day, mean run {run}").format(
                per_day=fmt.num(starts / len(days), 1), run=fmt.duration(run / starts)))
        else:
            lines.append(ngettext(
                "compressor: no start in {n} day with metered running time (it ran without "
                "stopping, {run})",
                "compressor: no start in {n} days with metered running time (it ran without "
                "stopping, {run})", len(days)).format(n=len(days), run=fmt.duration(run)))
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
    lines = [_("Heat pump status · {time}").format(time=fmt.local(now, tz))]
    lines += _power_lines(data.meters, now)
    lines += _heatpump_lines(data.pumps, data.messages, tz, now)
    lines += _today_lines(data.today, tz, now)
    lines += _source_lines(data.meters, data.pumps, data.health, tz, now)
    if settings.vicare_enabled or data.api_calls_24h:  # a meter-only set-up: no quota
        lines.append(_("Viessmann API calls: {today} today, {last_24h} in the last 24 h "
                       "(budget {budget})").format(today=data.api_calls_today,
                                                   last_24h=data.api_calls_24h,
                                                   budget=settings.vicare_daily_budget))
    return "\n".join(lines)


def _meter_name(device: str, power: Latest, n_meters: int) -> str:
    """" (outdoor unit, shellypro3em-…)" for one of several meters: its role (the `role`
    tag, SHELLY_METERS) and device; nothing for the one meter."""
    if n_meters <= 1:
        return ""
    role = power.tags.get(METER_ROLE_TAG, "")
    return f" ({role.replace('_', ' ')}, {device})" if role else f" ({device})"


def _power_lines(meters: Latests, now: datetime) -> list[str]:
    if not meters:
        return [_("⚡ power: no meter data")]
    out = []
    for dev, latest in sorted(meters.items()):
        p = latest.get("power_w")
        if p is None:
            continue
        stale = (now - p.time).total_seconds() > STALE_METER_S
        name = _meter_name(dev, p, len(meters))
        out.append(_("⚡ power{name} {power}, {age}").format(
            name=name, power=fmt.watts(float(p.value)), age=fmt.age(p.time, now))
                   + (_(" — STALE") if stale else ""))
    return out or [_("⚡ power: no meter data")]


def _heatpump_lines(pumps: Latests, messages: Mapping[str, list[Point]], tz: ZoneInfo,
                    now: datetime) -> list[str]:
    if not pumps:
        return [_("heat pump: no data")]
    out = []
    for dev, latest in sorted(pumps.items()):
        name = f" {dev}" if len(pumps) > 1 else ""
        poll = max(v.time for v in latest.values())
        fresh = {k: v for k, v in latest.items() if v.time == poll}
        active = latest.get("compressor_active")
        if active is None:
            state = _("compressor state unknown")
        else:
            state = _("compressor RUNNING") if active.value else _("compressor off")
            mod = latest.get("compressor_modulation_pct")
            if active.value and mod is not None:
                state += _(", modulation {pct}").format(
                    pct=fmt.percent_of(f"{float(mod.value):.0f}"))
            phase = latest.get("compressor_phase")
            if phase is not None and str(phase.value) not in ("", "off"):
                state += f" ({phase_text(str(phase.value))})"
        stale = (now - poll).total_seconds() > STALE_HEATPUMP_S
        out.append(_("heat pump{name}: {state} — polled {age}").format(
            name=name, state=state, age=fmt.age(poll, now))
                   + (_(" — STALE, may have changed since") if stale else ""))
        temps = []
        for field_name in TEMPS:
            v = latest.get(field_name)
            if v is None:
                continue
            t = f"{temp_label(field_name)} {fmt.temp(float(v.value))}"
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
        state = _("ON") if rod.value else _("off")
        if rod.value and levels:
            state += _(" (level {levels})").format(levels=", ".join(levels))
        out.append(_("🔥 heating rod {state}").format(state=state)
                   + (f" ({fmt.age(rod.time, now)})" if rod.time != poll else ""))
    gen = latest.get("secondary_heat_generator_active")
    if gen is not None and gen.value:
        out.append(_("🔥 secondary heat generator ON"))
    return out


def _when(iso: str, tz: ZoneInfo) -> str:
    """An ISO time from the device in local time; shown as given when it is not ISO."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return fmt.local(t, tz) if t.tzinfo else t.strftime("%d.%m.%Y %H:%M")


def phase_text(phase: str) -> str:
    """The compressor's phase as the Viessmann API reports it (heating.compressors.N
    `phase`: ready, preparing, heating, cooling, pause, defrost, ...) in the current
    language; a phase not listed here as the device names it."""
    return {"ready": _("ready"), "preparing": _("preparing"), "heating": _("heating"),
            "cooling": _("cooling"), "pause": _("pause"), "defrost": _("defrosting"),
            "preparing-defrost": _("preparing to defrost"),
            "passive-defrost": _("passive defrost")}.get(phase, phase)


def message_kind(kind: str) -> str:
    """A device message's kind (the `kind` tag: error, warning, service, status, info) in
    the current language; another kind as the device names it."""
    return {"error": _("error"), "warning": _("warning"), "service": _("service"),
            "status": _("status"), "info": _("info")}.get(kind, kind)


def _fault_lines(msgs: list[Point], fresh: Mapping[str, Latest], tz: ZoneInfo) -> list[str]:
    errors = fresh.get("error_count")
    if not msgs:
        if errors is not None and int(errors.value) == 0:
            return [_("✅ no active faults")]
        if errors is not None:
            n = int(errors.value)
            return [ngettext("⚠️ {n} active fault (no details reported)",
                             "⚠️ {n} active faults (no details reported)", n).format(n=n)]
        return []
    out = []
    for m in msgs:
        kind = m.tags.get("kind", "")
        icon = "❗" if kind == "error" else "ℹ️"
        text = str(m.fields.get("text", "")).strip()
        prio = str(m.fields.get("priority", ""))
        since = str(m.fields.get("since", ""))
        out.append(f"{icon} {message_kind(kind)} {m.tags.get('code', '?')}"
                   + (f" [{prio}]" if prio else "") + (f": {text}" if text else "")
                   + (_(" (since {time})").format(time=_when(since, tz)) if since else ""))
    return out


def _today_lines(pairs: list[HourPair], tz: ZoneInfo, now: datetime) -> list[str]:
    day0 = bucket_floor(now, "day", tz)
    # today's energy: every interval so far (also the hour in progress); a side without
    # any data today is a gap ("–"), not 0 kWh
    elec = _total(p.elec_total_wh for p in pairs)
    heat = _total(p.heat_wh for p in pairs)
    methods = {p.method for p in pairs if p.method}
    est = (_(" (estimated: {methods})").format(
        methods=", ".join(f"{m} {band_text(m)}" for m in sorted(methods)))
           if methods and methods <= ESTIMATED_HEAT_METHODS else "")
    elec_est = _(" (estimated)") if any(p.elec_estimated_wh > 0 for p in pairs) else ""
    perf = performance(pairs, day0, bucket_floor(now, "hour", tz))
    cop = (_("COP {ratio} over {counted} of {elapsed} complete hours").format(
        ratio=fmt.ratio(perf.ratio), counted=f"{perf.hours_counted:.0f}",
        elapsed=f"{perf.hours_elapsed:.0f}") if perf.ratio is not None
           else _("COP – (no complete hour with both sides yet)"))
    if not pairs:
        return [_("today: no energy data yet")]
    lines = [_("today: electricity {elec}{elec_est}, heat {heat}{est}; {cop}").format(
        elec=fmt.kwh(elec), elec_est=elec_est, heat=fmt.kwh(heat), est=est, cop=cop)]
    rod = [p.rod_wh for p in pairs if p.rod_wh is not None]
    rod_s = sum(p.rod_running_s for p in pairs)
    if rod:
        rod_est = (_(" (estimated from its running time)")
                   if any(p.rod_estimated_wh > 0 for p in pairs) else "")
        lines.append(_("today: heating rod {energy}{est} (as the heat pump reports it)").format(
            energy=fmt.kwh(sum(rod)), est=rod_est))
    elif rod_s > 0:
        lines.append(_("today: heating rod ran {time} (its electricity is not known: set "
                       "HEATPUMP_HEATING_ROD_KW)").format(time=fmt.duration(rod_s)))
    return lines


def _total(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) if found else None


def health_labels() -> dict[str, str]:
    """The `source` tag of the collector's health points -> what /status calls it."""
    return {HEALTH_SOURCE["meter"]: _("meter"), HEALTH_SOURCE["heatpump"]: _("heat pump"),
            HEALTH_STORE_SOURCE: _("store")}


def health_label(source: str, device: str) -> str:
    """"heat pump 7571381681420106-0", "heat pump (Viessmann account)", "store": the same
    names as the "last data" lines, so a device's two lines read together."""
    label = health_labels().get(source, source)
    if device == "account":
        return _("{label} (Viessmann account)").format(label=label)
    if device in HEALTH_ANY_DEVICE or not device:
        return label
    return f"{label} {device}"


def _source_lines(meters: Latests, pumps: Latests, health: list[SourceHealth],
                  tz: ZoneInfo, now: datetime) -> list[str]:
    out = [_("sources:")]
    for found, label in ((meters, _("meter")), (pumps, _("heat pump"))):
        for dev, latest in sorted(found.items()):
            if latest:
                t = max(v.time for v in latest.values())
                out.append("  " + _("{label} {device}: last data {time} ({age})").format(
                    label=label, device=dev, time=fmt.local(t, tz), age=fmt.age(t, now)))
    for h in sorted(health, key=lambda h: (h.source, h.device)):
        who = health_label(h.source, h.device)
        if h.status == "up":
            out.append("  " + _("{who}: up since {time}").format(
                who=who, time=fmt.local(h.time, tz)))
        else:
            because = health_because(h.reason or "", h.detail or "")
            until = ""
            if h.until:
                until = _(", waits until {time}").format(time=_when(h.until, tz))
            status = {"down": _("DOWN"), "degraded": _("DEGRADED")}.get(h.status,
                                                                       h.status.upper())
            out.append("  " + _("{who}: {status} since {time} because {because}{until}").format(
                who=who, status=status, time=fmt.local(h.time, tz), because=because,
                until=until))
    return out if len(out) > 1 else [_("sources: no data yet")]


# --- /live ---------------------------------------------------------------------------------


def live_text(data: LiveData, now: datetime, tz: ZoneInfo) -> str:
    """The compact snapshot /live keeps editing: power and state with the time of each
    reading (not an age), so the text only changes when a reading does."""
    lines = [_("live view (updates every 15 s for 10 min)")]
    meters = data.meters
    for dev, latest in sorted(meters.items()):
        p = latest.get("power_w")
        if p is None:
            continue
        name = _meter_name(dev, p, len(meters))
        stale = (now - p.time).total_seconds() > STALE_METER_S
        lines.append(_("⚡ power{name} {power} at {time}").format(
            name=name, power=fmt.watts(float(p.value)),
            time=f"{p.time.astimezone(tz):%H:%M:%S}") + (_(" — STALE") if stale else ""))
    if len(lines) == 1:
        lines.append(_("⚡ power: no meter data"))
    pumps = data.pumps
    for dev, latest in sorted(pumps.items()):
        active = latest.get("compressor_active")
        if active is None:
            continue
        state = _("RUNNING") if active.value else _("off")
        mod = latest.get("compressor_modulation_pct")
        if active.value and mod is not None:
            state += " " + fmt.percent_of(f"{float(mod.value):.0f}")
        extra = []
        for f in ("supply_temp_c", "outside_temp_c"):
            if f in latest:
                extra.append(f"{temp_label(f)} {fmt.temp(float(latest[f].value))}")
        name = f" {dev}" if len(pumps) > 1 else ""
        lines.append(_("compressor{name} {state}").format(name=name, state=state)
                     + (" · " + " · ".join(extra) if extra else "")
                     + _(" (polled {time})").format(time=f"{active.time.astimezone(tz):%H:%M}"))
    return "\n".join(lines)


# --- /start, /help -------------------------------------------------------------------------

def help_text(commands: Iterable[tuple[str, str]]) -> str:
    """The help: one line per (command name, description), in the order given (the command
    table of bot/commands.py), then how periods and coverage work."""
    lines = [_("Heat pump monitor. Commands:")]
    lines += [f"/{name} – {text}" for name, text in commands]
    lines.append(_("Periods: {forms}.").format(forms=period_help()))
    lines.append(_("JAZ/COP count only hours in which the meter and the heat data both cover "
                   "at least {pct} of the hour; every figure says how much of the period "
                   "that was.").format(pct=fmt.pct(COVER_MIN)))
    return "\n".join(lines)


def start_text(commands: Iterable[tuple[str, str]]) -> str:
    return _("Hello! I report how well your heat pump really works.") + "\n\n" + help_text(
        commands)
