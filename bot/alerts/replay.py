"""Replay the alert rules over a stored period, e.g. the demo store after
`heatpump demo --scenario fault|outage|cop-drop`: what would have been sent, and when.

It uses a scratch state (never the bot's state file), so it can run beside a live bot.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TextIO

from bot.alerts import gather
from bot.alerts.engine import empty_state, evaluate
from bot.alerts.model import DayStats, Notification
from heatpump.settings import Settings
from heatpump.store.base import Store


def replay(store: Store, settings: Settings, start: datetime, end: datetime,
           step: timedelta = timedelta(minutes=15)) -> list[tuple[datetime, Notification]]:
    """Evaluate at start, start+step, ... up to end; every notification with its time."""
    tz = settings.tz
    state = empty_state()
    out: list[tuple[datetime, Notification]] = []
    days_by_date: dict[date, tuple[DayStats, ...]] = {}
    now = start
    while now <= end:
        today = now.astimezone(tz).date()
        if today not in days_by_date:
            days_by_date[today] = gather.complete_days(store, now, tz, gather.days_needed(settings))
        snap = gather.snapshot(store, settings, tz, now, days_by_date[today])
        state, notes = evaluate(snap, state, settings, tz)
        out += [(now, n) for n in notes]
        now += step
    return out


def data_span(store: Store) -> tuple[datetime, datetime] | None:
    """First and last time any meter or heat pump sample was stored."""
    times: list[datetime] = []
    for measurement in ("meter", "heatpump"):
        latest = store.latest(measurement)
        times += [v.time for v in latest.values()]
    if not times:
        return None
    newest = max(times)
    first = None
    for measurement in ("meter", "heatpump"):
        pts = store.points(measurement, newest - timedelta(days=400), newest, limit=1)
        if pts and (first is None or pts[0].time < first):
            first = pts[0].time
    return (first or newest), newest


def print_replay(store: Store, settings: Settings, out: TextIO, start: datetime | None = None,
                 end: datetime | None = None, step: timedelta = timedelta(minutes=15)) -> int:
    """Print what the bot would have sent over [start, end] (default: the stored data,
    ending one check after the last sample, so an outage at the end shows too)."""
    span = data_span(store)
    if span is None:
        print("No meter or heat pump data stored yet; nothing to check.", file=out)
        return 0
    start = start or span[0]
    end = end or span[1] + timedelta(hours=2)
    sent = replay(store, settings, start, end, step)
    tz = settings.tz
    if not sent:
        print(f"No alerts between {start.astimezone(tz):%Y-%m-%d %H:%M} and "
              f"{end.astimezone(tz):%Y-%m-%d %H:%M}.", file=out)
    for t, n in sent:
        print(f"[{t.astimezone(tz):%Y-%m-%d %H:%M}] {n.text}\n", file=out)
    return len(sent)
