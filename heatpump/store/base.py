"""The store contract: the only thing the collector and the bot share at run time.

Both backends (embedded SQLite, InfluxDB over its v1 HTTP API) implement `Store` with the
same behaviour, checked by one set of contract tests. All times are timezone-aware UTC;
calendar buckets use the zone passed in. Missing data is never invented: an empty bucket is
`None` in a series and absent from sums.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

FieldValue = float | int | bool | str
Bucket = Literal["hour", "day", "month"]


class StoreError(RuntimeError):
    """The store cannot be reached or refused the request (the message holds no secret)."""


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    time: datetime  # timezone-aware, UTC
    fields: Mapping[str, FieldValue]
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Latest:
    time: datetime
    value: FieldValue
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Series:
    """Mean per bucket from `start` on; `values[i]` is None where there was no data."""

    start: datetime
    step: timedelta
    values: list[float | None]

    def times(self) -> list[datetime]:
        return [self.start + i * self.step for i in range(len(self.values))]


@dataclass(frozen=True, slots=True)
class BucketSum:
    start: datetime  # UTC instant of the local calendar boundary
    end: datetime
    tags: Mapping[str, str]  # the group_by tags of this row
    values: Mapping[str, float]  # field -> sum over the bucket


@dataclass(frozen=True, slots=True)
class StoreInfo:
    backend: str  # "sqlite" or "influxdb"
    version: str
    location: str  # file path or URL (never with credentials)


class Store(ABC):
    """Time-series store. Writes are buffered; `flush()` makes them durable and visible."""

    @abstractmethod
    def write(self, points: Iterable[Point]) -> None:
        """Buffer points; same measurement, tags and time overwrite (never double)."""

    @abstractmethod
    def flush(self) -> None:
        """Write buffered points; raises StoreError and keeps them when the store is down."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def info(self) -> StoreInfo: ...

    @abstractmethod
    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        """Latest value of each field (all fields when None), each with its own time; with
        `since`, only values at or after it (a field without one is absent).

        Bounded without `since` too: the embedded store reads at most 6 hours of one series
        per field (heatpump/store/sqlite.py, last_seen), InfluxDB looks back in growing
        windows and skips fields the measurement never had. Pass `since` when an older value
        would not be used anyway (e.g. the last hour for a live reading): it is cheaper on
        InfluxDB, whose windows otherwise reach back to the first data for a field that has
        stopped."""

    @abstractmethod
    def series(self, measurement: str, field: str, start: datetime, end: datetime,
               max_points: int = 500, tags: Mapping[str, str] | None = None) -> Series:
        """Mean of a numeric field per bucket, at most max_points buckets covering [start, end).

        The step is the smallest of 1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min ... 12 h, 1 d, 2 d,
        7 d, 14 d, 28 d, 91 d, 364 d that fits; buckets are aligned (UTC below an hour, on the
        store zone's offset at `start` from an hour on, so a 1-day step starts at local
        midnight) and `Series.start` is the first bucket's start (<= start). A bucket holds
        the mean of every point in it over all tag sets matching `tags`; None when empty.
        Steps of an hour or more are answered from `<m>_1h`, steps of whole days from
        `<m>_1d` (buckets are then runs of local calendar days, 23 or 25 h long across DST),
        so long ranges never read raw rows."""

    @abstractmethod
    def sums(self, measurement: str, fields: Sequence[str], start: datetime, end: datetime,
             bucket: Bucket, tz: ZoneInfo, tags: Mapping[str, str] | None = None,
             group_by: Sequence[str] = ()) -> list[BucketSum]:
        """Sums per local calendar bucket (hour, day, month in `tz`) over [start, end).

        `start` and `end` should be calendar boundaries in `tz`; rows are ordered by start
        then tags. Buckets without any point are absent."""

    @abstractmethod
    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        """Raw points over [start, end) in time order (events, messages, health)."""

    @abstractmethod
    def tag_values(self, measurement: str, tag: str) -> list[str]:
        """Distinct values of a tag, e.g. the devices that wrote a measurement."""

    @abstractmethod
    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        """Delete raw `meter` and `heatpump` points older than `now - keep` (rollups stay)."""

    def check(self) -> None:
        """Whether the store is sound, for `heatpump doctor`: StoreError saying what is wrong
        (unreachable, refused, damaged). The backends check deeper (the embedded store reads
        its whole file); this default only proves that a read works."""
        self.tag_values("health", "source")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
