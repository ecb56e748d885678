"""/subscribe, /unsubscribe, /alerts and /mute: their reply texts, from plain data.

The command table (bot/commands.py) calls these for Telegram and the console; `heatpump
alerts` uses `parse_duration`. Subscriptions live in `persist.Subscribers` (data dir), alert
state in the state file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts import texts
from bot.alerts.engine import active_alerts
from bot.alerts.persist import Subscribers
from heatpump.i18n import _
from heatpump.settings import Settings

UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_MUTE = timedelta(days=30)


def mute_usage() -> str:
    """The usage line of /mute, in the current language."""
    return _("Usage: /mute 2h (or 30m, 1d, 1w); /mute off ends it.")


def parse_duration(text: str, maximum: timedelta = MAX_MUTE) -> timedelta:
    """'30m', '2h', '1d', '1w', '1h30m' -> timedelta, at most `maximum`; ValueError with a
    hint otherwise (any number of digits: never an OverflowError)."""
    s = text.strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)(min|m|h|d|w)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        raise ValueError(_("{text} is not a duration; for example /mute 2h or /mute 1d")
                         .format(text=repr(text)))
    # Compared as seconds before a timedelta exists: an absurd number ('99999999999w', or
    # 400 digits that make a float infinite) is beyond the maximum, not an OverflowError.
    seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds > maximum.total_seconds():
        raise ValueError(_("at most {duration}; /unsubscribe stops alerts for good").format(
            duration=texts.duration(maximum)))
    total = timedelta(seconds=seconds)
    if total <= timedelta(0):
        raise ValueError(_("the duration must be more than zero"))
    return total


def subscribe(subs: Subscribers, chat_id: int, allowed: frozenset[int]) -> str:
    if chat_id not in allowed:
        return _("This chat ({chat}) is not allowed to receive alerts; add it to "
                 "TELEGRAM_ALLOWED_CHAT_IDS first.").format(chat=chat_id)
    if not subs.subscribe(chat_id):
        return _("This chat already receives alerts. /alerts shows what is active.")
    return _("Subscribed: this chat now gets an alert when the heat pump reports a fault, "
             "when data stops arriving, when its COP drops below normal, or when it short "
             "cycles, and a message when that is resolved. /alerts shows what is active, "
             "/mute 2h silences, /unsubscribe stops.")


def unsubscribe(subs: Subscribers, chat_id: int) -> str:
    if subs.unsubscribe(chat_id):
        return _("Unsubscribed: no more alerts in this chat. /subscribe to start again.")
    return _("This chat was not subscribed. /subscribe to get alerts.")


def mute(subs: Subscribers, chat_id: int, arg: str, now: datetime, tz: ZoneInfo) -> str:
    arg = arg.strip()
    if not subs.is_subscribed(chat_id):
        return _("This chat is not subscribed, so there is nothing to mute. /subscribe first.")
    if not arg:
        return mute_usage()
    if arg.lower() in ("off", "0", "no", "end"):
        subs.mute(chat_id, None)
        return _("Alerts are on again in this chat.")
    try:
        length = parse_duration(arg)
    except ValueError as exc:
        return _("Sorry: {error}.").format(error=exc) + "\n" + mute_usage()
    until = now + length
    subs.mute(chat_id, until)
    return _("Muted until {until} ({duration}). Alerts raised meanwhile are not sent here; "
             "/alerts shows them. /mute off ends it.").format(
        until=texts.when(until, tz, now), duration=texts.duration(length))


def alerts_overview(state: Mapping[str, Any], subs: Subscribers, chat_id: int,
                    cfg: Settings, now: datetime, tz: ZoneInfo) -> str:
    lines = active_lines(state, now, tz)
    if not subs.is_subscribed(chat_id):
        lines.append(_("This chat is not subscribed: /subscribe to get alerts."))
    else:
        until = subs.muted_until(chat_id, now)
        lines.append(_("This chat is muted until {until} (/mute off).").format(
            until=texts.when(until, tz, now)) if until else
            _("This chat is subscribed and not muted."))
    lines.append(watching_line(cfg))
    return "\n".join(lines)


def console_overview(state: Mapping[str, Any], cfg: Settings, now: datetime,
                     tz: ZoneInfo) -> str:
    """/alerts in `heatpump chat`: what is active; subscriptions belong to Telegram chats."""
    return "\n".join([*active_lines(state, now, tz),
                      _("Alerts are sent to subscribed Telegram chats: send /subscribe to the "
                        "bot there (/mute and /unsubscribe too)."), watching_line(cfg)])


def active_lines(state: Mapping[str, Any], now: datetime, tz: ZoneInfo) -> list[str]:
    """/alerts' first lines: 'No active alerts.', or a count and one line per alert."""
    lines = report_alert_lines(state, now, tz)
    return lines or [_("No active alerts.")]


def report_alert_lines(state: Mapping[str, Any], now: datetime, tz: ZoneInfo) -> list[str]:
    """The active alerts as /alerts lists them, [] when there is none (a report says
    nothing then)."""
    active = active_alerts(state)
    if not active:
        return []
    return [_("Active alerts ({n}):").format(n=len(active)),
            *(f"• {_summary(r, tz, now)}" for _key, r in active)]


def _summary(rec: Mapping[str, Any], tz: ZoneInfo, now: datetime) -> str:
    """One line of /alerts; a record whose facts do not fit (a hand-edited file) still gets
    a line naming its kind, never a failed /alerts."""
    try:
        return texts.summary_line(rec["kind"], rec.get("facts", {}), rec, tz, now)
    except (KeyError, TypeError, ValueError, AttributeError):
        return _("{kind} (details unreadable)").format(
            kind=str(rec.get("kind", "alert")).replace("_", " "))


def watching_line(cfg: Settings) -> str:
    g = texts.short_num
    rules = [_("no data for {meter} min (meter) / {heatpump} min (heat pump)").format(
                 meter=g(cfg.alert_stale_shelly_min), heatpump=g(cfg.alert_stale_vicare_min)),
             _("heat pump errors and warnings") if cfg.alert_warnings else
             _("heat pump errors"),
             _("COP {pct} % below normal on {days} days in a row").format(
                 pct=g(cfg.alert_cop_drop_pct), days=cfg.alert_cop_days)]
    if cfg.alert_short_cycle_starts_per_h > 0:
        rules.append(_("more than {limit} starts per runtime hour").format(
            limit=g(cfg.alert_short_cycle_starts_per_h)))
    rod = []
    if cfg.alert_rod_kwh_per_day > 0:
        rod.append(_("over {limit} kWh a day").format(limit=g(cfg.alert_rod_kwh_per_day)))
    if cfg.alert_rod_hours_per_day > 0:
        rod.append(_("over {limit} h a day").format(limit=g(cfg.alert_rod_hours_per_day)))
    if cfg.alert_rod_mild_c is not None:
        rod.append(_("heating at {temp} °C or milder").format(temp=g(cfg.alert_rod_mild_c)))
    if rod:
        rules.append(_("heating rod {limits}").format(limits=_(" or ").join(rod)))
    return _("Watching: {rules}.").format(rules="; ".join(rules))
