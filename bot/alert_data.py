"""Plain data the alert rules work on: a snapshot of what the store holds, and findings.

Everything here is immutable and free of I/O, so rules are tested on scripted histories.
Times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

Verdict = Literal["raise", "clear", "hold"]
Event = Literal["raised", "repeat", "resolved"]


@dataclass(frozen=True, slots=True)
class DeviceMessage:
    """One active message of the heat pump, as stored in the `message` measurement."""

    kind: str  # error, status, service, info
    code: str
    priority: str
    text: str = ""
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessagePoll:
    """The messages active at a device's latest heat pump poll (empty when none)."""

    device: str
    time: datetime
    messages: tuple[DeviceMessage, ...] = ()
    error_count: int | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """The collector's latest recorded state of a source (the `health` measurement)."""

    time: datetime
    status: str  # up, down, degraded
    reason: str = ""
    detail: str = ""
    until: datetime | None = None
    failures: int | None = None


@dataclass(frozen=True, slots=True)
class SourceSeen:
    """When a source that has delivered data before delivered its latest sample."""

    source: Literal["meter", "heatpump"]
    device: str
    last_time: datetime
    health: Health | None = None


@dataclass(frozen=True, slots=True)
class DayStats:
    """One complete local day, house level; None where the store had nothing."""

    day: date
    heat_wh: float | None = None
    electricity_wh: float | None = None
    running_s: float | None = None
    starts: float | None = None
    outside_temp_c: float | None = None
    coverage: float | None = None  # share of the day covered by both heat and electricity
    # the heating rod as the heat pump reports it (electricity source=heating_rod)
    rod_wh: float | None = None
    rod_heating_wh: float | None = None  # of it, for the heating circuit (where split)
    rod_running_s: float | None = None  # by its runtime counters (where reported)
    rod_estimated: bool = False  # rod_wh from running time × HEATPUMP_HEATING_ROD_KW

    @property
    def cop(self) -> float | None:
        if self.heat_wh is None or not self.electricity_wh or self.electricity_wh <= 0:
            return None
        return self.heat_wh / self.electricity_wh


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the rules see at `now`: read by bot.store_reads.alert_snapshot, or scripted in
    tests."""

    now: datetime
    polls: tuple[MessagePoll, ...] = ()
    sources: tuple[SourceSeen, ...] = ()
    days: tuple[DayStats, ...] = ()  # complete days, oldest first
    today: date | None = None  # local date of `now`; default: the day after the last day
    # How much of the time before `now` the store may still lack because the collector has
    # not committed it yet; None: HEATPUMP_FLUSH_MINUTES, as at a live check (a replay of
    # the past knows how much has been committed since: bot/alerts/replay.py).
    uncommitted: timedelta | None = None

    @property
    def current_day(self) -> date | None:
        if self.today is not None:
            return self.today
        return self.days[-1].day + timedelta(days=1) if self.days else None


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's verdict on one alert key: clearly bad, clearly fine, or in between."""

    key: str
    kind: str
    verdict: Verdict
    facts: Mapping[str, Any] = field(default_factory=dict)  # JSON-safe, for the texts
    clear_after: timedelta | None = None  # overrides the rule's clear hold for this key


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send: the same text goes to every channel."""

    key: str
    kind: str
    event: Event
    text: str
