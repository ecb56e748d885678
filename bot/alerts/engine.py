"""Alert life cycle: hold time, hysteresis, one message on raise, rare repeats, one "resolved".

`evaluate` is pure: (snapshot, previous state, config) -> (new state, notifications). The
state is a JSON-safe dict, so `persist` can write it atomically and a restarted bot neither
repeats nor forgets an alert.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alert_data import Finding, Notification, Snapshot
from bot.alerts import texts
from bot.alerts.rules import (
    cop_rule,
    heating_rod_rule,
    message_rule,
    short_cycle_rule,
    stale_rule,
)
from heatpump.settings import Settings

Rule = Callable[[Snapshot, Settings, Collection[str], Mapping[str, Mapping[str, Any]]],
                list[Finding]]
STATE_VERSION = 1


@dataclass(frozen=True)
class RuleSpec:
    """One rule and its timing: how long "raise" must last before the first message, and
    how long "clear" must last (uninterrupted) before "resolved"."""

    kind: str
    rule: Rule
    raise_after: timedelta
    clear_after: timedelta
    enabled: Callable[[Settings], bool] = lambda cfg: True


RULES: tuple[RuleSpec, ...] = (
    RuleSpec("fault", message_rule("fault"), timedelta(0), timedelta(minutes=10)),
    RuleSpec("warning", message_rule("warning"), timedelta(0), timedelta(minutes=10),
             enabled=lambda cfg: cfg.alert_warnings),
    RuleSpec("stale", stale_rule, timedelta(0), timedelta(minutes=15)),
    RuleSpec("cop_drop", cop_rule, timedelta(0), timedelta(0)),
    RuleSpec("short_cycle", short_cycle_rule, timedelta(0), timedelta(0),
             enabled=lambda cfg: cfg.alert_short_cycle_starts_per_h > 0),
    RuleSpec("heating_rod", heating_rod_rule, timedelta(0), timedelta(0)),
)


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "alerts": {}}


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def evaluate(snap: Snapshot, state: Mapping[str, Any], cfg: Settings,
             tz: ZoneInfo) -> tuple[dict[str, Any], list[Notification]]:
    """Run every enabled rule and advance each alert's life cycle to `snap.now`."""
    now = snap.now
    new = copy.deepcopy(dict(state)) if state else empty_state()
    alerts: dict[str, dict[str, Any]] = new.setdefault("alerts", {})
    for k, r in list(alerts.items()):
        resolved_at = _t(r.get("resolved_at")) if r.get("status") == "resolved" else None
        if resolved_at is not None and now - resolved_at > FLAP_WINDOW:
            del alerts[k]
    out: list[Notification] = []
    for spec in RULES:
        mine = {k: r for k, r in alerts.items() if r["kind"] == spec.kind}
        if not spec.enabled(cfg):
            for k in mine:  # switched off: forget quietly, nothing to resolve for the user
                del alerts[k]
            continue
        active = [k for k, r in mine.items() if r["status"] == "active"]
        facts_of = {k: r.get("facts", {}) for k, r in mine.items()}
        for f in spec.rule(snap, cfg, active, facts_of):
            note = _advance(alerts, f, spec, cfg, now, tz)
            if note is not None:
                out.append(note)
    return new, out


FLAP_WINDOW = timedelta(hours=6)  # a resolved alert is remembered this long
MAX_BACKOFF = 4  # the clear hold doubles per re-raise within FLAP_WINDOW, up to 2**4


def _advance(alerts: dict[str, dict[str, Any]], f: Finding, spec: RuleSpec, cfg: Settings,
             now: datetime, tz: ZoneInfo) -> Notification | None:
    rec = alerts.get(f.key)
    stamp = now.isoformat()
    if rec is not None and rec["status"] == "resolved":
        resolved_at = _t(rec.get("resolved_at"))
        if f.verdict != "raise" or resolved_at is None or now - resolved_at > FLAP_WINDOW:
            if resolved_at is None or now - resolved_at > FLAP_WINDOW:
                del alerts[f.key]
            return None
        # Back within the flap window: a fresh alert, but harder to resolve next time.
        flaps = rec.get("flaps", 0) + 1
        rec = alerts[f.key] = {"kind": f.kind, "status": "pending", "first_seen": stamp,
                               "facts": dict(f.facts), "flaps": flaps}
    if f.verdict == "raise":
        if rec is None:
            rec = alerts[f.key] = {"kind": f.kind, "status": "pending", "first_seen": stamp,
                                   "facts": dict(f.facts), "flaps": 0}
        rec["facts"] = dict(f.facts)
        rec["clear_since"] = None
        if rec["status"] == "pending":
            first = _t(rec["first_seen"])
            assert first is not None
            if now - first >= spec.raise_after:
                rec.update(status="active", fired_at=stamp, last_sent=stamp)
                return _note(f, "raised", rec, tz, now)
            return None
        last = _t(rec.get("last_sent"))
        if last is None or now - last >= cfg.alert_repeat:
            rec["last_sent"] = stamp
            return _note(f, "repeat", rec, tz, now)
        return None
    if rec is None:
        return None
    if f.verdict == "hold":
        rec["clear_since"] = None  # "clear" must last uninterrupted
        if f.facts and rec["status"] == "active":
            rec["facts"] = {**rec["facts"], **f.facts}
        return None
    # clear
    if rec["status"] == "pending":
        del alerts[f.key]
        return None
    since = _t(rec.get("clear_since"))
    if since is None:
        since = now
        rec["clear_since"] = stamp
    hold = f.clear_after if f.clear_after is not None else spec.clear_after
    if now - since >= hold * 2 ** min(rec.get("flaps", 0), MAX_BACKOFF):
        rec["facts"] = {**rec["facts"], **f.facts}
        note = _note(f, "resolved", rec, tz, now)
        alerts[f.key] = {"kind": f.kind, "status": "resolved", "resolved_at": stamp,
                         "flaps": rec.get("flaps", 0), "facts": {}}
        return note
    return None


def _note(f: Finding, event: str, rec: Mapping[str, Any], tz: ZoneInfo,
          now: datetime) -> Notification:
    text = texts.render(f.kind, event, rec["facts"], rec, tz, now)
    return Notification(f.key, f.kind, event, text)  # type: ignore[arg-type]


def active_alerts(state: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, record) of every alert that has fired and is not resolved, oldest first."""
    items = [(k, r) for k, r in state.get("alerts", {}).items() if r.get("status") == "active"]
    return sorted(items, key=lambda kr: kr[1].get("fired_at", ""))
