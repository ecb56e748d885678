"""What the bot reads from the store: thin calls returning plain data for the pure parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analytics import HourPair, pair_hours
from heatpump.store.base import Latest, Point, Store

ELEC_FIELDS = ("energy_wh", "duration_s", "running_s", "starts")
HEAT_FIELDS = ("energy_wh", "duration_s")


def hour_pairs(store: Store, start: datetime, end: datetime, tz: ZoneInfo) -> list[HourPair]:
    """Hourly electricity and heat over [start, end), paired (see bot.analytics)."""
    if end <= start:
        return []
    elec = store.sums("electricity", ELEC_FIELDS, start, end, "hour", tz,
                      group_by=("source", "device", "circuit"))
    heat = store.sums("heat", HEAT_FIELDS, start, end, "hour", tz,
                      group_by=("device", "method", "circuit"))
    return pair_hours(elec, heat)


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
