"""Alert message texts, built by pure functions: plain text (no markup to escape), local
time of the configured zone, units spelt out, and what to do next; in the language of the
process (heatpump.i18n), numbers and day names formatted for it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from bot import fmt
from heatpump import i18n
from heatpump.health_texts import reason_text, stored_detail
from heatpump.i18n import _, ngettext


def source_label(source: str) -> str:
    """'the electricity meter (Shelly)', 'the heat pump (Viessmann cloud)'."""
    return {"meter": _("the electricity meter (Shelly)"),
            "heatpump": _("the heat pump (Viessmann cloud)")}.get(source, source)


def source_short(source: str) -> str:
    """'Meter', 'Heat pump': a source at the start of a sentence."""
    return {"meter": _("Meter"), "heatpump": _("Heat pump")}.get(source, source)


def health_because(reason: str, detail: str) -> str:
    """Why a source is not up, for /status: in English the stored 'reason: detail'; in
    another language the reason's own text (see `stored_detail`)."""
    shown = stored_detail(reason, detail)
    if i18n.language() == "en" or reason_text(reason) is None:
        return (f"{reason}: {shown}" if reason and shown
                else shown or reason or _("unknown reason"))
    return reason_text(reason) or reason


def when(dt: datetime, tz: ZoneInfo, now: datetime) -> str:
    """Local time, with the day only when it is not today ('08:15', 'Mon 08:15',
    'Mon 05 Jan 08:15'; German 'Mo. 08:15', 'Mo. 5. Jan. 08:15')."""
    local, today = dt.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if abs((local.date() - today.date()).days) < 7:
        return fmt.pattern(local, "%a %H:%M", "EEE HH:mm")
    return fmt.pattern(local, "%a %d %b %H:%M", "EEE d. MMM HH:mm")


def duration(td: timedelta) -> str:
    """'45 min', '2 h 5 min', '3 days 4 h' (German '3 Tage 4 h')."""
    minutes = max(0, round(td.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    text = ngettext("{n} day", "{n} days", days).format(n=days)
    return f"{text} {hours} h" if hours else text


def day_name(day: str | date) -> str:
    """'Mon 05 Jan' / 'Mo. 5. Jan.'."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    if i18n.language() == "en":
        return d.strftime("%a %d %b")
    return format_date(d, "EEE d. MMM", locale=i18n.locale())


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _num(x: float, digits: int = 1) -> str:
    """A figure in the locale with a real minus sign ('−2.5' / '−2,5')."""
    return fmt.num(x, digits, grouping=False).replace("-", "−")


# --- heat pump messages -----------------------------------------------------------------


def _message_since(f: Mapping[str, Any], now: datetime) -> datetime:
    """The device's own time of the message when plausible (device clocks can be years
    off), else when the collector first saw it."""
    seen = _dt(f.get("first_seen")) or now
    since = _dt(f.get("since"))
    if since is not None and seen - timedelta(days=30) <= since <= now:
        return since
    return seen


def _message_kind(kind: str) -> str:
    """'service message', 'status message' (the device's message kinds), in the current
    language; a kind this table does not know is named as the device names it."""
    known = {"service": _("service message"), "status": _("status message"),
             "info": _("info message")}
    return known.get(kind.lower(), _("{kind} message").format(kind=kind))


def message_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                 tz: ZoneInfo, now: datetime) -> str:
    device = f.get("device", "?")
    if kind == "fault":
        what = _("fault")
        icon = "⚠️"
    elif f.get("kind") == "error":
        what = _("warning")
        icon = "🔔"
    else:
        what = _message_kind(str(f.get("kind", "service")))
        icon = "🔔"
    if f.get("code"):
        title = _("heat pump {what} {code} ({priority})").format(
            what=what, code=f["code"], priority=f.get("priority", "?"))
        if f.get("text"):
            title += f": {f['text']}"
    else:
        count = f.get("count", "?")
        title = ngettext("heat pump reports {n} active error without details",
                         "heat pump reports {n} active errors without details",
                         count if isinstance(count, int) else 2).format(n=count)
    first = _message_since(f, now)
    if event == "resolved":
        gone = _dt(rec.get("clear_since")) or _dt(f.get("gone")) or now
        return _("✅ Resolved: {title} on device {device} is gone (active {first} to {gone}, "
                 "{duration}).").format(title=title, device=device, first=when(first, tz, now),
                                        gone=when(gone, tz, now),
                                        duration=duration(gone - first))
    lead = f"{icon} " + (_("Still active: ") if event == "repeat" else "")
    text = lead + _("{title} on device {device}, since {first}.").format(
        title=f"{title[0].upper()}{title[1:]}", device=device, first=when(first, tz, now))
    if kind == "fault":
        text += " " + _("Check the heat pump's display; if it stays, call your installer.")
    return text


# --- stale sources ----------------------------------------------------------------------


def health_text(h: Mapping[str, Any] | None, tz: ZoneInfo, now: datetime) -> str:
    if not h or h.get("status") == "up":
        return _("The collector recorded no error for it: is the collector still running?")
    reason = reason_text(h.get("reason") or "") or h.get("reason") or _("unknown error")
    text = _("Last collector error ({time}): {reason}").format(
        time=when(_dt(h["time"]) or now, tz, now), reason=reason)
    until = _dt(h.get("until"))
    if until is not None:
        text += _(", waiting until {time}").format(time=when(until, tz, now))
    detail = stored_detail(h.get("reason") or "", h.get("detail") or "")
    if detail and detail.rstrip(".").lower() != reason.lower():
        detail = detail.rstrip(".")
        text += f". {detail[0].upper()}{detail[1:]}"  # a sentence of its own
    return text + "."


def stale_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
               tz: ZoneInfo, now: datetime) -> str:
    source = f.get("source", "")
    label = source_label(source)
    since = _dt(f.get("since")) or now
    if event == "resolved":
        back = _dt(f.get("back")) or _dt(rec.get("clear_since")) or now  # bot/alerts/resumed.py
        return _("✅ {source} data is arriving again (device {device}; gap from {since} to "
                 "{back}, {duration}).").format(
            source=source_short(source), device=f.get("device"), since=when(since, tz, now),
            back=when(back, tz, now), duration=duration(back - since))
    text = (_("⚠️ Still no data from {source}, device {device}, since {since} ({duration}).")
            if event == "repeat" else
            _("⚠️ No data from {source}, device {device}, since {since} ({duration})."))
    return text.format(source=label, device=f.get("device"), since=when(since, tz, now),
                       duration=duration(now - since)) + " " + health_text(
        f.get("health"), tz, now)


# --- COP drop ---------------------------------------------------------------------------


def cop_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
             tz: ZoneInfo, now: datetime) -> str:
    rows = f.get("days", [])

    def line(r: Mapping[str, Any]) -> str:
        temp = (_(" at {temp} °C").format(temp=_num(r["temp_c"]))
                if r.get("temp_c") is not None else "")
        pct = (r["cop"] / r["expected"] - 1) * 100
        sign = "+" if round(pct) > 0 else ""
        return _("{day}: COP {cop}, normal {expected}{temp} ({change} %)").format(
            day=day_name(r["day"]), cop=fmt.ratio(r["cop"]), expected=fmt.ratio(r["expected"]),
            temp=temp, change=f"{sign}{_num(pct, 0)}")

    if f.get("basis") == "floor":
        basis = _("Normal: your floor ALERT_COP_FLOOR (not enough own history yet).")
    else:
        basis = _("Normal: learned from {days} days between {t_min} and {t_max} °C.").format(
            days=f.get("ref_days"), t_min=_num(f.get("ref_t_min", 0)),
            t_max=_num(f.get("ref_t_max", 0)))
    if event == "resolved":
        last = rows[-1] if rows else None
        tail = f" {line(last)}." if last else ""
        return _("✅ COP back to normal.") + tail
    lead = _("📉 Still low COP") if event == "repeat" else _("📉 COP drop")
    body = "\n".join(line(r) for r in rows)
    return (_("{lead}: {days} days in a row more than {pct} % below what this heat pump "
              "normally reaches at the same outdoor temperature.").format(
        lead=lead, days=len(rows), pct=short_num(f.get("pct", 0)))
            + f"\n{body}\n{basis}\n"
            + _("Check for a fault, icing or a blocked air inlet, dirty filters, and whether "
                "the heating curve or the hot-water setting was raised."))


# --- short cycling ----------------------------------------------------------------------


def short_cycle_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                     tz: ZoneInfo, now: datetime) -> str:
    day = day_name(f.get("day", now.date()))
    starts, runtime_h, rate = f.get("starts", 0), f.get("runtime_h", 0), f.get("rate", 0)
    if event == "resolved":
        return _("✅ Short cycling is over: {day} {starts} starts in {runtime} h of runtime "
                 "({rate} per hour).").format(day=day, starts=f"{starts:.0f}",
                                              runtime=_num(runtime_h), rate=_num(rate))
    run_min = runtime_h * 60 / starts if starts else 0
    lead = _("🔁 Still short cycling") if event == "repeat" else _("🔁 Short cycling")
    return _("{lead} on {day}: {starts} compressor starts in {runtime} h of runtime = {rate} "
             "starts per hour (limit {limit}), runs of {run} min on average. Frequent starts "
             "wear the compressor and cost efficiency; ask your installer about the "
             "hysteresis, minimum run time and flow.").format(
        lead=lead, day=day, starts=f"{starts:.0f}", runtime=_num(runtime_h), rate=_num(rate),
        limit=short_num(f.get("limit", 0)), run=f"{run_min:.0f}")


# --- heating rod ------------------------------------------------------------------------


def _kwh(wh: float | None) -> str:
    return "–" if wh is None else f"{_num(wh / 1000)} kWh"


def short_num(x: float) -> str:
    """A setting's value as few digits as it needs ('3', '2.5' / '2,5'), like `:g`."""
    return format_decimal(float(x), format="0.###", locale=i18n.locale())


def heating_rod_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                     tz: ZoneInfo, now: datetime) -> str:
    day = day_name(f.get("day", now.date()))
    rod_wh, running_s = f.get("rod_wh"), f.get("running_s")
    est = _(" (estimated from its running time)") if f.get("estimated") else ""
    ran = _(", ran {hours} h").format(hours=_num(running_s / 3600)) if running_s else ""
    if event == "resolved":
        return _("✅ The heating rod is back within limits: {day} {energy}{est}{ran}.").format(
            day=day, energy=_kwh(rod_wh), est=est, ran=ran)
    reasons = set(f.get("reasons", ()))
    why = []
    if "energy" in reasons:
        why.append(_("more than {limit} kWh a day (ALERT_ROD_KWH_PER_DAY)").format(
            limit=short_num(f.get("kwh_limit", 0))))
    if "runtime" in reasons:
        why.append(_("longer than {limit} h a day (ALERT_ROD_HOURS_PER_DAY)").format(
            limit=short_num(f.get("hours_limit", 0))))
    if "mild" in reasons:
        why.append(_("{energy} of it heated the house at a mean {temp} °C outdoor, where the "
                     "heat pump alone should suffice (ALERT_ROD_MILD_C {mild} °C)").format(
            energy=_kwh(f.get("heating_wh")), temp=_num(f.get("temp_c", 0)),
            mild=short_num(f.get("mild_c", 0))))
    lead = _("🔥 Heating rod still running") if event == "repeat" else _("🔥 Heating rod")
    return (_("{lead} on {day}: {energy} of electricity{est}{ran}; ").format(
        lead=lead, day=day, energy=_kwh(rod_wh), est=est, ran=ran)
            + "; ".join(why) + ". "
            + _("Every kWh of rod heat costs about three times what the heat pump needs for "
                "it. Check whether the rod was switched on by hand or by a screed-drying or "
                "hygiene program, the bivalence temperature, and whether the heat pump itself "
                "reports a fault."))


Renderer = Callable[[str, str, Mapping[str, Any], Mapping[str, Any], ZoneInfo, datetime], str]
RENDERERS: dict[str, Renderer] = {
    "fault": message_text,
    "warning": message_text,
    "stale": stale_text,
    "cop_drop": cop_text,
    "short_cycle": short_cycle_text,
    "heating_rod": heating_rod_text,
}


def render(kind: str, event: str, facts: Mapping[str, Any], rec: Mapping[str, Any],
           tz: ZoneInfo, now: datetime) -> str:
    return RENDERERS[kind](kind, event, facts, rec, tz, now)


def summary_line(kind: str, facts: Mapping[str, Any], rec: Mapping[str, Any], tz: ZoneInfo,
                 now: datetime) -> str:
    """One line per active alert for /alerts."""
    fired = _dt(rec.get("fired_at")) or now
    if kind in ("fault", "warning"):
        code = facts.get("code") or _("({count} errors without details)").format(
            count=facts.get("count", "?"))
        what = (_("fault {code} on {device}") if kind == "fault" else
                _("warning {code} on {device}")).format(code=code, device=facts.get("device"))
    elif kind == "stale":
        source = facts.get("source", "")
        what = _("no data from {source}").format(
            source=source_label(source) if source in ("meter", "heatpump") else "?")
    elif kind == "cop_drop":
        what = _("COP below normal")
    elif kind == "heating_rod":
        day = day_name(facts.get("day", now.date()))
        what = _("heating rod {energy} on {day}").format(energy=_kwh(facts.get("rod_wh")),
                                                         day=day)
    else:
        what = _("short cycling ({rate} starts/h)").format(rate=_num(facts.get("rate", 0)))
    return _("{what}, since {time}").format(what=what, time=when(fired, tz, now))
