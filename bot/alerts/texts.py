"""Alert message texts, built by pure functions: plain text (no markup to escape), local
time of the configured zone, units spelt out, and what to do next."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SOURCE_LABELS = {
    "meter": "the electricity meter (Shelly)",
    "heatpump": "the heat pump (Viessmann cloud)",
}
SOURCE_SHORT = {"meter": "Meter", "heatpump": "Heat pump"}

# health.reason -> what it means for the owner
REASONS = {
    "quota_exhausted": "Viessmann API quota exhausted",
    "rate_limited": "rate-limited by the Viessmann API",
    "login_failed": "login to Viessmann failed (check VICARE_USERNAME, VICARE_PASSWORD, "
                    "VICARE_CLIENT_ID)",
    "auth_failed": "the meter refused the login (check SHELLY_USERNAME, SHELLY_PASSWORD)",
    "device_offline": "the heat pump is offline in the Viessmann cloud",
    "gateway_offline": "the heat pump's internet gateway is offline",
    "server_error": "the Viessmann server answered with an error",
    "unreachable": "not reachable on the network",
    "bad_response": "answered with something unreadable",
    "counter_reset": "the meter's energy counter was reset",
    "reversed_clamp": "the meter's current clamp looks reversed (negative power)",
    "login_spacing": "Viessmann logins are spaced out after failed ones",
    "no_device": "no heat pump found in the Viessmann account (check VICARE_DEVICE)",
    "replay_finished": "every dump of VICARE_DUMP was replayed",
    "error": "an unexpected error in the collector (see its log)",
}


def when(dt: datetime, tz: ZoneInfo, now: datetime) -> str:
    """Local time, with the day only when it is not today."""
    local, today = dt.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if abs((local.date() - today.date()).days) < 7:
        return local.strftime("%a %H:%M")
    return local.strftime("%a %d %b %H:%M")


def duration(td: timedelta) -> str:
    minutes = max(0, round(td.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def day_name(day: str | date) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return d.strftime("%a %d %b")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _num(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


# --- heat pump messages -----------------------------------------------------------------


def _message_since(f: Mapping[str, Any], now: datetime) -> datetime:
    """The device's own time of the message when plausible (device clocks can be years
    off), else when the collector first saw it."""
    seen = _dt(f.get("first_seen")) or now
    since = _dt(f.get("since"))
    if since is not None and seen - timedelta(days=30) <= since <= now:
        return since
    return seen


def message_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                 tz: ZoneInfo, now: datetime) -> str:
    device = f.get("device", "?")
    if kind == "fault":
        what = "fault"
        icon = "⚠️"
    else:
        what = f"{f.get('kind', 'service')} message" if f.get("kind") != "error" else "warning"
        icon = "🔔"
    if f.get("code"):
        title = f"heat pump {what} {f['code']} ({f.get('priority', '?')})"
        if f.get("text"):
            title += f": {f['text']}"
    else:
        title = (f"heat pump reports {f.get('count', '?')} active error(s) "
                 "without details")
    first = _message_since(f, now)
    if event == "resolved":
        gone = _dt(rec.get("clear_since")) or _dt(f.get("gone")) or now
        return (f"✅ Resolved: {title} on device {device} is gone "
                f"(active {when(first, tz, now)} to {when(gone, tz, now)}, "
                f"{duration(gone - first)}).")
    lead = f"{icon} Still active: " if event == "repeat" else f"{icon} "
    text = f"{lead}{title[0].upper()}{title[1:]} on device {device}, since {when(first, tz, now)}."
    if kind == "fault":
        text += " Check the heat pump's display; if it stays, call your installer."
    return text


# --- stale sources ----------------------------------------------------------------------


def health_text(h: Mapping[str, Any] | None, tz: ZoneInfo, now: datetime) -> str:
    if not h or h.get("status") == "up":
        return "The collector recorded no error for it: is the collector still running?"
    reason = REASONS.get(h.get("reason") or "", h.get("reason") or "unknown error")
    text = f"Last collector error ({when(_dt(h['time']) or now, tz, now)}): {reason}"
    until = _dt(h.get("until"))
    if until is not None:
        text += f", waiting until {when(until, tz, now)}"
    detail = (h.get("detail") or "").strip()
    if detail and detail.rstrip(".").lower() != reason.lower():
        detail = detail.rstrip(".")
        text += f". {detail[0].upper()}{detail[1:]}"  # a sentence of its own
    return text + "."


def stale_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
               tz: ZoneInfo, now: datetime) -> str:
    source = f.get("source", "")
    label = SOURCE_LABELS.get(source, source)
    since = _dt(f.get("since")) or now
    if event == "resolved":
        back = _dt(f.get("back")) or _dt(rec.get("clear_since")) or now  # bot/alerts/resumed.py
        return (f"✅ {SOURCE_SHORT.get(source, source)} data is arriving again "
                f"(device {f.get('device')}; gap from {when(since, tz, now)} to "
                f"{when(back, tz, now)}, {duration(back - since)}).")
    lead = "⚠️ Still no data" if event == "repeat" else "⚠️ No data"
    return (f"{lead} from {label}, device {f.get('device')}, since {when(since, tz, now)} "
            f"({duration(now - since)}). {health_text(f.get('health'), tz, now)}")


# --- COP drop ---------------------------------------------------------------------------


def cop_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
             tz: ZoneInfo, now: datetime) -> str:
    rows = f.get("days", [])

    def line(r: Mapping[str, Any]) -> str:
        temp = f" at {_num(r['temp_c'])} °C" if r.get("temp_c") is not None else ""
        pct = (r["cop"] / r["expected"] - 1) * 100
        sign = "+" if round(pct) > 0 else ""
        return (f"{day_name(r['day'])}: COP {r['cop']:.2f}, normal {r['expected']:.2f}{temp} "
                f"({sign}{_num(pct, 0)} %)")

    if f.get("basis") == "floor":
        basis = "Normal: your floor ALERT_COP_FLOOR (not enough own history yet)."
    else:
        basis = (f"Normal: learned from {f.get('ref_days')} days between "
                 f"{_num(f.get('ref_t_min', 0))} and {_num(f.get('ref_t_max', 0))} °C.")
    if event == "resolved":
        last = rows[-1] if rows else None
        tail = f" {line(last)}." if last else ""
        return f"✅ COP back to normal.{tail}"
    lead = "📉 Still low COP" if event == "repeat" else "📉 COP drop"
    body = "\n".join(line(r) for r in rows)
    return (f"{lead}: {len(rows)} days in a row more than {f.get('pct', 0):g} % below what this "
            f"heat pump normally reaches at the same outdoor temperature.\n{body}\n{basis}\n"
            "Check for a fault, icing or a blocked air inlet, dirty filters, and whether the "
            "heating curve or the hot-water setting was raised.")


# --- short cycling ----------------------------------------------------------------------


def short_cycle_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                     tz: ZoneInfo, now: datetime) -> str:
    day = day_name(f.get("day", now.date()))
    starts, runtime_h, rate = f.get("starts", 0), f.get("runtime_h", 0), f.get("rate", 0)
    if event == "resolved":
        return (f"✅ Short cycling is over: {day} {starts:.0f} starts in {runtime_h:.1f} h of "
                f"runtime ({rate:.1f} per hour).")
    run_min = runtime_h * 60 / starts if starts else 0
    lead = "🔁 Still short cycling" if event == "repeat" else "🔁 Short cycling"
    return (f"{lead} on {day}: {starts:.0f} compressor starts in {runtime_h:.1f} h of runtime = "
            f"{rate:.1f} starts per hour (limit {f.get('limit', 0):g}), runs of "
            f"{run_min:.0f} min on average. Frequent starts wear the compressor and cost "
            "efficiency; ask your installer about the hysteresis, minimum run time and flow.")


# --- heating rod ------------------------------------------------------------------------


def _kwh(wh: float | None) -> str:
    return "–" if wh is None else f"{wh / 1000:.1f} kWh"


def heating_rod_text(kind: str, event: str, f: Mapping[str, Any], rec: Mapping[str, Any],
                     tz: ZoneInfo, now: datetime) -> str:
    day = day_name(f.get("day", now.date()))
    rod_wh, running_s = f.get("rod_wh"), f.get("running_s")
    est = " (estimated from its running time)" if f.get("estimated") else ""
    ran = f", ran {running_s / 3600:.1f} h" if running_s else ""
    if event == "resolved":
        return f"✅ The heating rod is back within limits: {day} {_kwh(rod_wh)}{est}{ran}."
    reasons = set(f.get("reasons", ()))
    why = []
    if "energy" in reasons:
        why.append(f"more than {f.get('kwh_limit', 0):g} kWh a day (ALERT_ROD_KWH_PER_DAY)")
    if "runtime" in reasons:
        why.append(f"longer than {f.get('hours_limit', 0):g} h a day (ALERT_ROD_HOURS_PER_DAY)")
    if "mild" in reasons:
        why.append(f"{_kwh(f.get('heating_wh'))} of it heated the house at a mean "
                   f"{_num(f.get('temp_c', 0))} °C outdoor, where the heat pump alone "
                   f"should suffice (ALERT_ROD_MILD_C {f.get('mild_c', 0):g} °C)")
    lead = "🔥 Heating rod still running" if event == "repeat" else "🔥 Heating rod"
    return (f"{lead} on {day}: {_kwh(rod_wh)} of electricity{est}{ran}; "
            + "; ".join(why) + ". Every kWh of rod heat costs about three times what the heat "
            "pump needs for it. Check whether the rod was switched on by hand or by a "
            "screed-drying or hygiene program, the bivalence temperature, and whether the "
            "heat pump itself reports a fault.")


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
        code = facts.get("code") or f"({facts.get('count', '?')} errors without details)"
        what = f"{kind} {code} on {facts.get('device')}"
    elif kind == "stale":
        what = f"no data from {SOURCE_LABELS.get(facts.get('source', ''), '?')}"
    elif kind == "cop_drop":
        what = "COP below normal"
    elif kind == "heating_rod":
        day = day_name(facts.get("day", now.date()))
        what = f"heating rod {_kwh(facts.get('rod_wh'))} on {day}"
    else:
        what = f"short cycling ({facts.get('rate', 0):.1f} starts/h)"
    return f"{what}, since {when(fired, tz, now)}"
