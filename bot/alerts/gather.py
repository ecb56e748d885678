"""Read what the alert rules need from the store at a given `now` (the only I/O of a check).

`now` may lie in the past, so the demo can replay a backfilled store hour by hour: nothing
here reads "the latest" without bounding it by `now`. Daily COP comes from the bot's own
hour pairing (bot.analytics), so an alert and /jaz never disagree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.model import (
    DayStats,
    DeviceMessage,
    Health,
    MessagePoll,
    Snapshot,
    SourceSeen,
)
from bot.analytics import daily_means, daily_stats
from bot.queries import hour_pairs
from heatpump.schema import HEALTH_ANY_DEVICE, HEALTH_SOURCE
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from heatpump.timeutil import bucket_floor

# Widening windows to find the last sample before `now` when latest() is after it (replay).
SEARCH_WINDOWS = (timedelta(minutes=15), timedelta(hours=3), timedelta(days=1),
                  timedelta(days=7))
HEALTH_LOOKBACK = timedelta(days=30)
SLACK_DAYS = 3  # complete days fetched beyond history + test days


def _dt(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def last_point(store: Store, measurement: str, device: str, now: datetime) -> Point | None:
    """The device's last point at or before `now`, or None when it never wrote one."""
    tags = {"device": device}
    end = now + timedelta(milliseconds=1)
    first = store.points(measurement, now - SEARCH_WINDOWS[0], end, tags)
    if first:
        return first[-1]
    latest = store.latest(measurement, None, tags)
    if not latest:
        return None
    newest = max(v.time for v in latest.values())
    if newest <= now:
        pts = store.points(measurement, newest, newest + timedelta(seconds=1), tags)
        return pts[-1] if pts else Point(measurement, newest, {}, tags)
    for window in SEARCH_WINDOWS[1:]:  # replaying the past: search backwards
        pts = store.points(measurement, now - window, end, tags)
        if pts:
            return pts[-1]
    return None


def latest_health(store: Store, measurement: str, device: str,
                  now: datetime) -> Health | None:
    """The collector's last recorded state of the source behind `measurement` for `device`.

    A problem of the whole source (Viessmann login or quota: device `account`) explains the
    device's silence unless the device reported after it; an older account `up` never hides
    the device's own failure."""
    pts = store.points("health", now - HEALTH_LOOKBACK, now + timedelta(milliseconds=1),
                       {"source": HEALTH_SOURCE[measurement]})
    own = [p for p in pts if p.tags.get("device") == device]
    shared = [p for p in pts if p.tags.get("device") in (*HEALTH_ANY_DEVICE, None, "")]
    best: Point | None = own[-1] if own else None
    if shared and (best is None or (shared[-1].fields.get("status") != "up"
                                    and shared[-1].time >= best.time)):
        best = shared[-1]
    if best is None:
        return None
    f = best.fields
    failures = f.get("failures")
    return Health(best.time, str(f.get("status", "")), str(f.get("reason", "") or ""),
                  str(f.get("detail", "") or ""), _dt(f.get("until")),
                  int(failures) if isinstance(failures, int | float) else None)


def _messages(store: Store, device: str, at: datetime) -> tuple[DeviceMessage, ...]:
    pts = store.points("message", at, at + timedelta(seconds=1), {"device": device})
    return tuple(DeviceMessage(p.tags.get("kind", ""), p.tags.get("code", ""),
                               str(p.fields.get("priority", "")),
                               str(p.fields.get("text", "") or ""),
                               _dt(p.fields.get("since"))) for p in pts)


def sources_and_polls(store: Store, now: datetime
                      ) -> tuple[tuple[SourceSeen, ...], tuple[MessagePoll, ...]]:
    sources: list[SourceSeen] = []
    polls: list[MessagePoll] = []
    for measurement in ("meter", "heatpump"):
        for device in store.tag_values(measurement, "device"):
            p = last_point(store, measurement, device, now)
            if p is None:
                continue  # never delivered (before `now`): nothing to miss
            sources.append(SourceSeen(measurement, device, p.time,  # type: ignore[arg-type]
                                      latest_health(store, measurement, device, now)))
            if measurement == "heatpump":
                count = p.fields.get("error_count")
                polls.append(MessagePoll(device, p.time, _messages(store, device, p.time),
                                         int(count) if isinstance(count, int | float)
                                         else None))
    return tuple(sources), tuple(polls)


def complete_days(store: Store, now: datetime, tz: ZoneInfo, n_days: int) -> tuple[DayStats, ...]:
    """The last `n_days` complete local days (today excluded), oldest first."""
    end = bucket_floor(now, "day", tz)
    first_day: date = end.astimezone(tz).date() - timedelta(days=n_days)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
    if end <= start:
        return ()
    pairs = hour_pairs(store, start, end, tz)
    hours = max(1, round((end - start) / timedelta(hours=1)))
    temps = store.series("heatpump", "outside_temp_c", start, end, max_points=hours)
    outdoor = daily_means(temps.times(), temps.values, tz)
    out = []
    for d in daily_stats(pairs, tz, outdoor):
        out.append(DayStats(
            day=d.day, heat_wh=d.heat_wh if d.hours_counted else None,
            electricity_wh=d.elec_wh if d.hours_counted else None,
            running_s=d.running_s, starts=d.starts, outside_temp_c=d.outdoor_c,
            coverage=d.coverage))
    return tuple(out)


def days_needed(cfg: Settings) -> int:
    return cfg.alert_cop_history_days + cfg.alert_cop_days + SLACK_DAYS


def snapshot(store: Store, cfg: Settings, tz: ZoneInfo, now: datetime,
             days: tuple[DayStats, ...] | None = None) -> Snapshot:
    """Everything the rules need at `now`; pass `days` to reuse daily figures already read
    (they change once a day)."""
    sources, polls = sources_and_polls(store, now)
    if days is None:
        days = complete_days(store, now, tz, days_needed(cfg))
    return Snapshot(now, polls=polls, sources=sources, days=days,
                    today=now.astimezone(tz).date())
