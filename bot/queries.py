"""What the bot reads from the store: thin calls returning plain data for the pure parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics import COVER_MIN, DAY_COVER_MIN, HourPair, merge_days_and_hours, pair_hours
from heatpump.store.base import Bucket, Latest, Point, Store
from heatpump.timeutil import bucket_floor, bucket_next

ELEC_FIELDS = ("energy_wh", "duration_s", "running_s", "starts")
HEAT_FIELDS = ("energy_wh", "duration_s")


# Periods longer than this are paired by days first (see bot.analytics); the hourly
# rollup of a year is ~9000 rows per series, the daily one 365.
HOURLY_MAX = timedelta(days=35)


def _pairs(store: Store, start: datetime, end: datetime, tz: ZoneInfo, bucket: Bucket,
           cover_min: float) -> list[HourPair]:
    elec = store.sums("electricity", ELEC_FIELDS, start, end, bucket, tz,
                      group_by=("source", "device", "circuit"))
    heat = store.sums("heat", HEAT_FIELDS, start, end, bucket, tz,
                      group_by=("device", "method", "circuit"))
    return pair_hours(elec, heat, cover_min)


def hour_pairs(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> list[HourPair]:
    """Electricity and heat over [start, end), paired (see bot.analytics): hour by hour, or
    for long periods by whole local days where both sides cover the day, and hour by hour
    inside the days that have a gap."""
    if end <= start:
        return []
    if end - start <= HOURLY_MAX:
        return _pairs(store, start, end, tz, "hour", COVER_MIN)
    d0 = bucket_floor(start, "day", tz)
    d1 = bucket_floor(end, "day", tz)
    if d0 < start:
        d0 = bucket_next(d0, "day", tz)
    pairs = [p for p in _pairs(store, d0, d1, tz, "day", DAY_COVER_MIN)
             if p.start >= d0 and p.end <= d1]

    def hours_of(spans: list[tuple[datetime, datetime]]) -> list[HourPair]:
        out: list[HourPair] = []
        for a, b in [(start, d0), *spans, (d1, end)]:
            if b > a:
                out += _pairs(store, a, b, tz, "hour", COVER_MIN)
        return out

    return merge_days_and_hours(pairs, hours_of)


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    device: str
    time: datetime
    status: str
    reason: str
    detail: str
    until: str


def health(store: Store) -> list[SourceHealth]:
    """The latest health point of every (source, device) that ever wrote one."""
    out = []
    for source in store.tag_values("health", "source"):
        for device in store.tag_values("health", "device") or [""]:
            tags = {"source": source, "device": device} if device else {"source": source}
            latest = store.latest("health", ("status", "reason", "detail", "until"), tags)
            if "status" not in latest:
                continue
            st = latest["status"]
            same = {k: v for k, v in latest.items() if v.time == st.time}

            def s(name: str, same: dict[str, Latest] = same) -> str:
                return str(same[name].value) if name in same else ""

            out.append(SourceHealth(source, device, st.time, str(st.value), s("reason"),
                                    s("detail"), s("until")))
    return out


def latest_by_device(store: Store, measurement: str,
                     fields: tuple[str, ...] | None) -> dict[str, dict[str, Latest]]:
    """Latest fields per device tag (a house may have two meters or two heat pumps)."""
    devices = store.tag_values(measurement, "device")
    if not devices:
        return {}
    return {d: store.latest(measurement, fields, {"device": d}) for d in devices}


def messages_at(store: Store, device: str, time: datetime) -> list[Point]:
    """Messages written with the heat pump poll at `time` (the active ones then)."""
    return store.points("message", time, time + timedelta(seconds=1), {"device": device})


def api_calls(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> int:
    rows = store.sums("api_call", ("calls",), start, end, "hour", tz)
    return int(sum(r.values.get("calls", 0) for r in rows))
