"""Replay the alert rules over a stored period, e.g. the demo store after
`heatpump demo --scenario fault|outage|cop-drop`: what would have been sent, and when.

It uses a scratch state (never the bot's state file), so it can run beside a live bot.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import TextIO

from bot import store_reads
from bot.alert_data import DayStats, Notification
from bot.alerts.engine import empty_state, evaluate
from bot.alerts.resumed import note_resumed
from heatpump.i18n import _
from heatpump.settings import Settings
from heatpump.store.base import Store


def replay(store: Store, settings: Settings, start: datetime, end: datetime,
           step: timedelta = timedelta(minutes=15), present: datetime | None = None
           ) -> list[tuple[datetime, Notification]]:
    """Evaluate at start, start+step, ... up to end; every notification with its time.

    The checks see the store as it is now, where everything older than one commit interval
    before `present` (the real time; None: long ago) has been committed: only checks within
    that interval allow for samples the collector may still hold (bot/alerts/rules.py
    `commit_lag`)."""
    tz = settings.tz
    flush = timedelta(seconds=settings.flush_s)
    state = empty_state()
    out: list[tuple[datetime, Notification]] = []
    days_by_date: dict[date, tuple[DayStats, ...]] = {}
    now = start
    while now <= end:
        today = now.astimezone(tz).date()
        if today not in days_by_date:
            days_by_date[today] = store_reads.complete_days(store, now, tz,
                                                            store_reads.days_needed(settings))
        snap = store_reads.alert_snapshot(store, settings, tz, now, days_by_date[today])
        pending = (timedelta(0) if present is None
                   else min(flush, max(timedelta(0), now - (present - flush))))
        snap = dataclasses.replace(snap, uncommitted=pending)
        state, notes = evaluate(snap, note_resumed(store, state, now, snap.sources), settings, tz)
        out += [(now, n) for n in notes]
        now += step
    return out


def print_replay(store: Store, settings: Settings, out: TextIO, start: datetime | None = None,
                 end: datetime | None = None, step: timedelta = timedelta(minutes=15),
                 now: datetime | None = None) -> int:
    """Print what the bot would have sent over [start, end] (default: the stored data,
    ending two hours after the last sample, so an outage at the end shows too, but never
    after `now`: a check cannot run in the future, and one there would call data that is
    still arriving missing). `now` is also the present of `replay`: checks within one
    commit interval of it allow for samples not yet committed."""
    span = store_reads.data_span(store)
    if span is None:
        print(_("No meter or heat pump data stored yet; nothing to check."), file=out)
        return 0
    start = start or span[0]
    if end is None:
        end = span[1] + timedelta(hours=2)
        if now is not None:
            end = max(start, min(end, now))
    sent = replay(store, settings, start, end, step, present=now)
    tz = settings.tz
    if not sent and start == end:  # one check, now
        print(_("No alerts now ({time}).").format(time=f"{start.astimezone(tz):%Y-%m-%d %H:%M}"),
              file=out)
    elif not sent:
        print(_("No alerts between {start} and {end}.").format(
            start=f"{start.astimezone(tz):%Y-%m-%d %H:%M}",
            end=f"{end.astimezone(tz):%Y-%m-%d %H:%M}"), file=out)
    for t, n in sent:
        print(f"[{t.astimezone(tz):%Y-%m-%d %H:%M}] {n.text}\n", file=out)
    return len(sent)
