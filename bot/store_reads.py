"""Every store read of the bot: thin functions over the `Store` contract returning plain data.

Nothing else in bot/ calls the store (tests/bot/test_layout.py checks it): the replies, the
charts, the JAZ/COP analytics and the alert rules are pure functions over what these return,
so a test, the `heatpump chat` console and Telegram see the same answers from the same data.
Each command's handler (bot/commands.py) and the alert check (bot/alerts/service.py) call one
of these, then the pure part. All times are timezone-aware UTC; `tz` is the zone of the
calendar buckets (local hours, days, months). A `StoreError` from the store passes through.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.alert_data import (
    DayStats,
    DeviceMessage,
    Health,
    MessagePoll,
    Snapshot,
    SourceSeen,
)
from bot.analytics import (
    COVER_MAX,
    COVER_MIN,
    DAY_COVER_MAX,
    DAY_COVER_MIN,
    HourPair,
    daily_means,
    daily_stats,
    merge_days_and_hours,
    pair_hours,
)
from bot.device_basis import DeviceRecord
from heatpump.schema import (
    DEVICE_BASIS,
    DEVICE_ENERGY,
    HEALTH_ANY_DEVICE,
    HEALTH_SOURCE,
    HEATPUMP,
    MEASUREMENTS,
    METER_ROLE_TAG,
)
from heatpump.settings import Settings
from heatpump.store.base import Bucket, Latest, Point, Series, Store
from heatpump.store.latest_point import latest_point
from heatpump.timeutil import bucket_floor, bucket_next

# --- energy: electricity and heat paired hour by hour (bot.analytics) -------------------------

ELEC_FIELDS = ("energy_wh", "duration_s", "running_s", "starts", "running_wh", "bridged_wh",
               "bridged_s", "estimated_wh")
HEAT_FIELDS = ("energy_wh", "duration_s")
# Periods longer than this are paired by days first (see bot.analytics); the hourly
# rollup of a year is ~9000 rows per series, the daily one 365.
HOURLY_MAX = timedelta(days=35)


def _pairs(store: Store, start: datetime, end: datetime, tz: ZoneInfo, bucket: Bucket
           ) -> list[HourPair]:
    elec = store.sums("electricity", ELEC_FIELDS, start, end, bucket, tz,
                      group_by=("source", "device", "circuit", METER_ROLE_TAG))
    heat = store.sums("heat", HEAT_FIELDS, start, end, bucket, tz,
                      group_by=("device", "method", "circuit"))
    if bucket == "day":  # the same tight bounds on both sides for whole days
        return pair_hours(elec, heat, DAY_COVER_MIN, DAY_COVER_MAX)
    return pair_hours(elec, heat, COVER_MIN, COVER_MAX)


def hour_pairs(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> list[HourPair]:
    """Electricity and heat over [start, end), paired (see bot.analytics): hour by hour, or
    for long periods by whole local days where both sides cover the day, and hour by hour
    inside the days that have a gap."""
    if end <= start:
        return []
    if end - start <= HOURLY_MAX:
        return _pairs(store, start, end, tz, "hour")
    d0 = bucket_floor(start, "day", tz)
    d1 = bucket_floor(end, "day", tz)
    if d0 < start:
        d0 = bucket_next(d0, "day", tz)
    pairs = [p for p in _pairs(store, d0, d1, tz, "day")
             if p.start >= d0 and p.end <= d1]

    def hours_of(spans: list[tuple[datetime, datetime]]) -> list[HourPair]:
        out: list[HourPair] = []
        for a, b in [(start, d0), *spans, (d1, end)]:
            if b > a:
                out += _pairs(store, a, b, tz, "hour")
        return out

    return merge_days_and_hours(pairs, hours_of)


# --- /status and /live -------------------------------------------------------------------------

# the heat pump fields /status shows (the latest of each is one store query)
STATUS_FIELDS = ("compressor_active", "compressor_modulation_pct", "compressor_phase",
                 "error_count", "outside_temp_c", "supply_temp_c", "return_temp_c",
                 "dhw_temp_c", "heating_rod_active", "heating_rod_level1_active",
                 "heating_rod_level2_active", "heating_rod_level3_active",
                 "secondary_heat_generator_active")
LIVE_FIELDS = ("compressor_active", "compressor_modulation_pct", "supply_temp_c",
               "outside_temp_c")

Latests = dict[str, dict[str, Latest]]  # device -> field -> its latest value


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """The collector's latest health point of one (source, device)."""

    source: str
    device: str
    time: datetime
    status: str
    reason: str
    detail: str
    until: str


@dataclass(frozen=True)
class StatusData:
    """What /status shows, read at one `now`."""

    meters: Latests  # power_w of each meter device
    pumps: Latests  # STATUS_FIELDS of each heat pump device
    messages: dict[str, list[Point]]  # device -> the messages written with its latest poll
    today: list[HourPair]  # local midnight to the end of the hour in progress
    health: list[SourceHealth]
    api_calls_today: int  # since local midnight
    api_calls_24h: int  # over the last 24 local hours


@dataclass(frozen=True)
class LiveData:
    """What /live shows: the latest power and compressor state."""

    meters: Latests  # power_w of each meter device
    pumps: Latests  # LIVE_FIELDS of each heat pump device


def latest_by_device(store: Store, measurement: str,
                     fields: Sequence[str] | None) -> Latests:
    """Latest fields per device tag (a house may have two meters or two heat pumps)."""
    devices = store.tag_values(measurement, "device")
    if not devices:
        return {}
    return {d: store.latest(measurement, fields, {"device": d}) for d in devices}


def messages_at(store: Store, device: str, time: datetime) -> list[Point]:
    """Messages written with the heat pump poll at `time` (the active ones then)."""
    return store.points("message", time, time + timedelta(seconds=1), {"device": device})


def api_calls(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Viessmann API calls the collector counted over [start, end)."""
    rows = store.sums("api_call", ("calls",), start, end, "hour", tz)
    return int(sum(r.values.get("calls", 0) for r in rows))


# /status shows the state each source's collector recorded last within this long (one read
# of the health points, which are written only when a state changes): a state older than a
# year is not shown, the source's "last data" line still says how old its data is. A
# latest() per (source, device) instead looks back to the start of the data for a field
# that series never had (`until` of the meter), so it cost more the more history is kept.
HEALTH_STATUS_LOOKBACK = timedelta(days=366)


def source_health(store: Store, now: datetime) -> list[SourceHealth]:
    """The last health point of every (source, device) that wrote one within
    HEALTH_STATUS_LOOKBACK before `now` (and up to an hour after it, as the other /status
    reads), ordered by source and device."""
    pts = store.points("health", now - HEALTH_STATUS_LOOKBACK, now + timedelta(hours=1))
    last: dict[tuple[str, str], Point] = {}
    for p in pts:  # in time order: the last one of each series wins
        if "status" in p.fields:
            last[(p.tags.get("source", ""), p.tags.get("device", ""))] = p

    def s(p: Point, name: str) -> str:
        v = p.fields.get(name)
        return "" if v is None else str(v)

    return [SourceHealth(source, device, p.time, s(p, "status"), s(p, "reason"),
                         s(p, "detail"), s(p, "until"))
            for (source, device), p in sorted(last.items())]


def status_data(store: Store, now: datetime, tz: ZoneInfo) -> StatusData:
    """Everything /status shows; one latest() per measurement and device."""
    meters = latest_by_device(store, "meter", ("power_w",))
    pumps = latest_by_device(store, "heatpump", STATUS_FIELDS)
    messages = {dev: messages_at(store, dev, max(v.time for v in latest.values()))
                for dev, latest in pumps.items() if latest}
    day0 = bucket_floor(now, "day", tz)
    today = hour_pairs(store, day0, bucket_floor(now, "hour", tz) + timedelta(hours=1), tz)
    health = source_health(store, now)
    calls_today = api_calls(store, day0, now + timedelta(hours=1), tz)
    calls_24h = api_calls(store, bucket_floor(now - timedelta(hours=23), "hour", tz),
                          now + timedelta(hours=1), tz)
    return StatusData(meters, pumps, messages, today, health, calls_today, calls_24h)


# The two measurements a source's samples are stored in (the meter's every 10 s, the heat
# pump's every poll): what the bot reads to tell how far the store reaches.
SAMPLES = ("meter", "heatpump")
# A sample this young is what a commit every poll keeps: the store is as fresh as the
# collector, nothing to wait for (about three meter polls).
FRESH_SAMPLE = timedelta(seconds=30)


def newest_sample_time(store: Store, now: datetime) -> datetime | None:
    """The time of the newest meter or heat pump sample stored within LAST_POINT_LOOKBACK
    before `now`; None when none is. One latest() per measurement (bounded by that
    range)."""
    times = [v.time for m in SAMPLES
             for v in store.latest(m, since=now - LAST_POINT_LOOKBACK).values()]
    return max(times, default=None)


def wait_for_sample_after(store: Store, newest: datetime | None, now: datetime,
                          timeout_s: float, sleep: Callable[[float], None] = time.sleep,
                          monotonic: Callable[[], float] = time.monotonic,
                          done: Callable[[], bool] = lambda: False) -> bool:
    """Wait until the store holds a meter or heat pump sample newer than `newest` (what
    `newest_sample_time` read before the collector was asked for live data; None: any
    sample), polling it twice a second, at most `timeout_s`; True when one came. Whatever
    source delivers counts: a Viessmann-only house has no meter to wait for, and the
    collector commits everything it holds at once, the heat pump's buffered poll with it.
    No wait when `newest` is younger than FRESH_SAMPLE before `now` (the store is fresh).
    `done()` true ends the wait too: the collector answered that it committed all it held
    (heatpump.live.answered; it may have held nothing new). `sleep` and `monotonic` are the
    clock (tests pass their own)."""
    if newest is not None and newest >= now - FRESH_SAMPLE:
        return True
    since = newest + timedelta(milliseconds=1) if newest else now - LAST_POINT_LOOKBACK
    until = now + timedelta(days=1)
    deadline = monotonic() + timeout_s
    while True:
        if any(store.points(m, since, until, limit=1) for m in SAMPLES) or done():
            return True
        if monotonic() >= deadline:
            return False
        sleep(0.5)


def sample_at_or_after(store: Store, start: datetime, end: datetime) -> bool:
    """Whether the store holds a meter or heat pump sample in [start, end) (one point read
    per measurement): the evidence that the collector committed everything it had before
    `start`, since it commits all it holds at once (collector/sink.py)."""
    return any(store.points(m, start, end, limit=1) for m in SAMPLES) if end > start else False


def live_data(store: Store) -> LiveData:
    return LiveData(latest_by_device(store, "meter", ("power_w",)),
                    latest_by_device(store, "heatpump", LIVE_FIELDS))


# --- /jaz --------------------------------------------------------------------------------------

# The device's own seasonal figures (collector/vicare/mapping.py writes
# device_<kind>_<circuit>), which /jaz puts next to the measured JAZ; its momentary COP is
# left out.
SEASONAL_FIELDS = tuple(f for f in HEATPUMP.field_names
                        if f.startswith(("device_spf_", "device_scop_")))
# ... and the rated output the device reports (what an estimate used when
# HEATPUMP_RATED_HEAT_KW is unset)
DEVICE_FIGURE_FIELDS = (*SEASONAL_FIELDS, "device_rated_heat_kw")
DEVICE_FIGURES_LOOKBACK = timedelta(days=35)


@dataclass(frozen=True)
class PeriodData:
    """What /jaz shows for a period."""

    pairs: list[HourPair]
    device_figures: dict[str, Latest] = field(default_factory=dict)  # DEVICE_FIGURE_FIELDS


def period_data(store: Store, start: datetime, end: datetime, tz: ZoneInfo,
                now: datetime) -> PeriodData:
    """Paired energy over [start, end) and the heat pump's latest own SPF/SCOP figures and
    rated output as reported within DEVICE_FIGURES_LOOKBACK before `now`: the device
    reports them with every poll, and a field it never reports costs nothing more than that
    range, however long the history kept."""
    pairs = hour_pairs(store, start, end, tz)
    return PeriodData(pairs, dict(store.latest("heatpump", DEVICE_FIGURE_FIELDS,
                                               since=now - DEVICE_FIGURES_LOOKBACK)))


# --- /cost ------------------------------------------------------------------------------------


def hourly_meter_wh(store: Store, start: datetime, end: datetime, tz: ZoneInfo
                    ) -> list[tuple[datetime, float]]:
    """The meter's electricity per local hour of [start, end), summed over meter devices;
    hours without data are absent (bot.costs prices each hour)."""
    if end <= start:
        return []
    rows = store.sums("electricity", ("energy_wh",), start, end, "hour", tz,
                      tags={"source": "meter"})
    return [(r.start, float(r.values["energy_wh"])) for r in rows if "energy_wh" in r.values]


# --- /compare ---------------------------------------------------------------------------------


def daily_outdoor(store: Store, start: datetime, end: datetime, tz: ZoneInfo
                  ) -> dict[date, float]:
    """Mean outdoor temperature per local day of [start, end) (`start` a local midnight),
    from the daily rollup; days without a poll absent."""
    if end <= start:
        return {}
    days = max(1, round((end - start) / timedelta(days=1)))
    temps = store.series("heatpump", "outside_temp_c", start, end, max_points=days)
    return daily_means(temps.times(), temps.values, tz)


def compare_data(store: Store, start: datetime, end: datetime, tz: ZoneInfo
                 ) -> tuple[list[HourPair], dict[date, float]]:
    """Paired energy and daily outdoor means over [start, end) (local midnights)."""
    return hour_pairs(store, start, end, tz), daily_outdoor(store, start, end, tz)


# --- /changes ---------------------------------------------------------------------------------

ChangeRow = tuple[datetime, str, str, str, str, datetime | None]


def setting_changes(store: Store, start: datetime, end: datetime) -> list[ChangeRow]:
    """The collector's `setting_change` points of [start, end) as (time, device, setting,
    old, new, previous poll), oldest first."""
    out: list[ChangeRow] = []
    for p in store.points("setting_change", start, end):
        out.append((p.time, p.tags.get("device", ""), p.tags.get("setting", ""),
                    str(p.fields.get("old", "")), str(p.fields.get("new", "")),
                    _dt(p.fields.get("previous_poll"))))
    return out


def day_stats(store: Store, first: date, last: date, tz: ZoneInfo) -> tuple[DayStats, ...]:
    """Energy, coverage and mean outdoor temperature of the local days first..last."""
    if last < first:
        return ()
    after = last + timedelta(days=1)
    start = datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC)
    end = datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC)
    pairs = hour_pairs(store, start, end, tz)
    outdoor = daily_outdoor(store, start, end, tz)
    return tuple(DayStats(day=d.day, heat_wh=d.heat_wh if d.hours_counted else None,
                          electricity_wh=d.elec_wh if d.hours_counted else None,
                          running_s=d.running_s, starts=d.starts, outside_temp_c=d.outdoor_c,
                          coverage=d.coverage)
                 for d in daily_stats(pairs, tz, outdoor))


# --- /export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportData:
    """What an export of [start, end) needs: paired energy and hourly temperature means
    (keyed by the hour's UTC start; hours without data absent)."""

    pairs: list[HourPair]
    outdoor_c: dict[datetime, float]
    flow_c: dict[datetime, float]


def hourly_means(store: Store, measurement: str, field_name: str, start: datetime,
                 end: datetime) -> dict[datetime, float]:
    """Mean of a numeric field per UTC hour of [start, end) (from the hourly rollup)."""
    hours = max(1, int((end - start) / timedelta(hours=1)) + 1)
    s = store.series(measurement, field_name, start, end, max_points=hours)
    if s.step != timedelta(hours=1):  # ranges shorter than an hour get a finer step
        return {}
    return {t: v for t, v in zip(s.times(), s.values, strict=True) if v is not None}


def export_data(store: Store, start: datetime, end: datetime, tz: ZoneInfo,
                step: str) -> ExportData:
    """Energy paired hour by hour (`step` "hour") or by whole days where both sides cover
    them ("day"), and the hourly outdoor and flow temperature means."""
    if end <= start:
        return ExportData([], {}, {})
    pairs = _pairs(store, start, end, tz, "hour") if step == "hour" else hour_pairs(
        store, start, end, tz)
    return ExportData(pairs, hourly_means(store, "heatpump", "outside_temp_c", start, end),
                      hourly_means(store, "heatpump", "supply_temp_c", start, end))


# --- /chart ------------------------------------------------------------------------------------

SeriesKey = tuple[str, str]  # (measurement, field)


@dataclass(frozen=True)
class ChartData:
    series: dict[SeriesKey, Series]  # means per bucket, None where there was no data
    pairs: list[HourPair]  # paired energy (empty when not asked for)
    changes: list[ChangeRow] = field(default_factory=list)  # settings changes, marked


def chart_data(store: Store, start: datetime, end: datetime, tz: ZoneInfo,
               series: Sequence[tuple[str, str, int]], pairs: bool) -> ChartData:
    """The series `(measurement, field, max_points)` over [start, end), the paired
    energy when `pairs`, and the settings changes of the range (marked on every chart)."""
    read = {(m, f): store.series(m, f, start, end, n) for m, f, n in series}
    return ChartData(read, hour_pairs(store, start, end, tz) if pairs else [],
                     setting_changes(store, start, end))


# --- the alert check ---------------------------------------------------------------------------
# `now` may lie in the past, so the demo can replay a backfilled store hour by hour: nothing
# here reads "the latest" without bounding it by `now`. Daily COP comes from the same hour
# pairing as /jaz, so an alert and /jaz never disagree.

# Widening windows to find the last sample before `now` when latest() is after it (replay).
SEARCH_WINDOWS = (timedelta(minutes=15), timedelta(hours=3), timedelta(days=1),
                  timedelta(days=7))
HEALTH_LOOKBACK = timedelta(days=30)
# A device silent for longer than this before `now` counts as gone: the check no longer finds
# its last point (its stale alert is held without reminders from RETIRED_AFTER = 14 days on
# anyway, bot/alerts/rules.py), so what a check reads does not grow with the history kept.
LAST_POINT_LOOKBACK = timedelta(days=35)
SLACK_DAYS = 3  # complete days fetched beyond history + test days


def _dt(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def first_point_after(store: Store, measurement: str, device: str, after: datetime,
                      now: datetime) -> Point | None:
    """The device's first point after `after` and at or before `now` (one point read): when
    a source's data came back after a gap (bot/alerts/resumed.py)."""
    pts = store.points(measurement, after + timedelta(milliseconds=1),
                       now + timedelta(milliseconds=1), {"device": device}, limit=1)
    return pts[0] if pts else None


def last_point(store: Store, measurement: str, device: str, now: datetime) -> Point | None:
    """The device's last point at or before `now`, or None when it wrote none within
    LAST_POINT_LOOKBACK before it (or after it: replay). Every read is bounded by that
    range: the newest point is asked for the measurement's fields (its schema), since the
    lookback, so no read asks every shard or every field key of an InfluxDB."""
    tags = {"device": device}
    end = now + timedelta(milliseconds=1)
    first = store.points(measurement, now - SEARCH_WINDOWS[0], end, tags)
    if first:
        return first[-1]
    newest = latest_point(store, measurement, tags, fields=MEASUREMENTS[measurement].field_names,
                          since=now - LAST_POINT_LOOKBACK)
    if newest is None:
        return None
    if newest.time <= now:
        return newest
    for window in SEARCH_WINDOWS[1:]:  # replaying the past: search backwards
        pts = store.points(measurement, now - window, end, tags)
        if pts:
            return pts[-1]
    return None


def _health(p: Point) -> Health:
    f = p.fields
    failures = f.get("failures")
    return Health(p.time, str(f.get("status", "")), str(f.get("reason", "") or ""),
                  str(f.get("detail", "") or ""), _dt(f.get("until")),
                  int(failures) if isinstance(failures, int | float) else None)


def latest_health(store: Store, measurement: str, device: str,
                  now: datetime) -> Health | None:
    """The collector's last recorded state of the source behind `measurement` for `device`
    at `now` (within HEALTH_LOOKBACK).

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
    return None if best is None else _health(best)


def _messages(store: Store, device: str, at: datetime) -> tuple[DeviceMessage, ...]:
    return tuple(DeviceMessage(p.tags.get("kind", ""), p.tags.get("code", ""),
                               str(p.fields.get("priority", "")),
                               str(p.fields.get("text", "") or ""),
                               _dt(p.fields.get("since")))
                 for p in messages_at(store, device, at))


def sources_and_polls(store: Store, now: datetime
                      ) -> tuple[tuple[SourceSeen, ...], tuple[MessagePoll, ...]]:
    """Every meter and heat pump that delivered within LAST_POINT_LOOKBACK before `now`,
    when it last did (with its health), and the messages of each heat pump's last poll."""
    sources: list[SourceSeen] = []
    polls: list[MessagePoll] = []
    for measurement in ("meter", "heatpump"):
        for device in store.tag_values(measurement, "device"):
            p = last_point(store, measurement, device, now)
            if p is None:
                continue  # no delivery within LAST_POINT_LOOKBACK: nothing to miss
            sources.append(SourceSeen(measurement, device, p.time,  # type: ignore[arg-type]
                                      latest_health(store, measurement, device, now)))
            if measurement == "heatpump":
                count = p.fields.get("error_count")
                polls.append(MessagePoll(device, p.time, _messages(store, device, p.time),
                                         int(count) if isinstance(count, int | float)
                                         else None))
    return tuple(sources), tuple(polls)


# A day whose end no stored sample has passed counts as complete anyway this long after its
# end: the collector is gone (or every source is down), and what the store holds of the day
# is all there will be.
DAY_EVIDENCE_WAIT = timedelta(days=1)


def complete_days_end(store: Store, now: datetime, tz: ZoneInfo) -> datetime:
    """The end (a local midnight, UTC) of the last local day the store holds complete at
    `now`: today's midnight once a meter or heat pump sample at or after it is stored (the
    collector commits everything it holds at once, so the day's last hour came with that
    sample; on the embedded store it commits only every HEATPUMP_FLUSH_MINUTES), else the
    midnight before, and so on. Evidence, not the clock: a day whose end lies more than
    DAY_EVIDENCE_WAIT before `now` counts as complete without it. One point read per
    measurement for each day looked at (only the last one or two ever are)."""
    end = bucket_floor(now, "day", tz)
    while now - end < DAY_EVIDENCE_WAIT and not sample_at_or_after(
            store, end, end + DAY_EVIDENCE_WAIT):
        end = bucket_floor(end - timedelta(microseconds=1), "day", tz)
    return end


def complete_days(store: Store, now: datetime, tz: ZoneInfo, n_days: int,
                  end: datetime | None = None) -> tuple[DayStats, ...]:
    """The last `n_days` local days the store holds complete at `now`, oldest first: they
    end at `end`, by default `complete_days_end` (today is never among them, and yesterday
    only once a sample after it proves it committed)."""
    if end is None:
        end = complete_days_end(store, now, tz)
    first_day: date = end.astimezone(tz).date() - timedelta(days=n_days)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
    if end <= start:
        return ()
    pairs = hour_pairs(store, start, end, tz)
    hours = max(1, round((end - start) / timedelta(hours=1)))
    temps = store.series("heatpump", "outside_temp_c", start, end, max_points=hours)
    outdoor = daily_means(temps.times(), temps.values, tz)
    return tuple(DayStats(day=d.day, heat_wh=d.heat_wh if d.hours_counted else None,
                          electricity_wh=d.elec_wh if d.hours_counted else None,
                          running_s=d.running_s, starts=d.starts, outside_temp_c=d.outdoor_c,
                          coverage=d.coverage, rod_wh=d.rod_wh,
                          rod_heating_wh=d.rod_heating_wh,
                          rod_running_s=d.rod_running_s if d.rod_running_s > 0 else None,
                          rod_estimated=d.rod_estimated)
                 for d in daily_stats(pairs, tz, outdoor))


def days_needed(cfg: Settings) -> int:
    """Complete days the COP rule looks at: its history, its test days and some slack."""
    return cfg.alert_cop_history_days + cfg.alert_cop_days + SLACK_DAYS


def alert_snapshot(store: Store, cfg: Settings, tz: ZoneInfo, now: datetime,
                   days: tuple[DayStats, ...] | None = None) -> Snapshot:
    """Everything the alert rules need at `now`; pass `days` to reuse daily figures already
    read (they change once a day)."""
    sources, polls = sources_and_polls(store, now)
    if days is None:
        days = complete_days(store, now, tz, days_needed(cfg))
    return Snapshot(now, polls=polls, sources=sources, days=days,
                    today=now.astimezone(tz).date())


def data_span(store: Store) -> tuple[datetime, datetime] | None:
    """First and last time any meter or heat pump sample was stored (the first within 400
    days of the last)."""
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


def store_location(store: Store) -> str:
    """The store's file path or URL (never with credentials)."""
    return store.info().location


# --- the heat pump's own memory (/jaz) ---------------------------------------------------------


def device_records(store: Store, start: datetime, end: datetime) -> list[DeviceRecord]:
    """The `device_energy` points (basis=device) of periods starting in [start, end), as
    bot.device_basis reads them; a point without a usable energy or date is left out."""
    out = []
    for p in store.points(DEVICE_ENERGY.name, start, end, {"basis": DEVICE_BASIS}):
        energy, first = p.fields.get("energy_wh"), p.fields.get("period_start")
        if isinstance(energy, bool) or not isinstance(energy, int | float):
            continue
        try:
            day = date.fromisoformat(str(first))
        except ValueError:
            continue
        out.append(DeviceRecord(p.tags.get("device", ""), p.tags.get("kind", ""),
                                p.tags.get("circuit", ""), p.tags.get("period", ""), day,
                                float(energy), p.fields.get("complete") is True))
    return out
