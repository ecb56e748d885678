"""Small test doubles for the collector's service tests: a store that can be switched off,
and scripted sources. The integration tests use the real stores and real sources."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from collector.service import Batch
from heatpump.store.base import (
    BucketSum,
    Latest,
    Point,
    Series,
    Store,
    StoreError,
    StoreInfo,
)


class MemoryStore(Store):
    """Overwrites same (measurement, tags, time) like the real stores; `down` makes it fail."""

    def __init__(self) -> None:
        self.rows: dict[tuple, Point] = {}
        self.buffer: list[Point] = []
        self.down = False
        self.flushes = 0

    def write(self, points: Iterable[Point]) -> None:
        self.buffer.extend(points)

    def flush(self) -> None:
        if self.down:
            raise StoreError("memory store is down")
        for p in self.buffer:
            key = (p.measurement, tuple(sorted(p.tags.items())), p.time)
            old = self.rows.get(key)
            self.rows[key] = Point(p.measurement, p.time,
                                   {**(old.fields if old else {}), **p.fields}, p.tags)
        self.buffer.clear()
        self.flushes += 1

    def close(self) -> None:
        pass

    def info(self) -> StoreInfo:
        return StoreInfo("memory", "0", "memory")

    def all(self, measurement: str) -> list[Point]:
        return sorted((p for p in self.rows.values() if p.measurement == measurement),
                      key=lambda p: p.time)

    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]:
        if self.down:
            raise StoreError("memory store is down")
        out: dict[str, Latest] = {}
        for p in self.all(measurement):
            if tags and any(p.tags.get(k) != v for k, v in tags.items()):
                continue
            if since is not None and p.time < since:
                continue
            for k, v in p.fields.items():
                if fields is None or k in fields:
                    out[k] = Latest(p.time, v, p.tags)
        return out

    def series(self, *a, **k) -> Series:  # pragma: no cover - not used by the collector
        raise NotImplementedError

    def sums(self, *a, **k) -> list[BucketSum]:  # pragma: no cover
        raise NotImplementedError

    def points(self, measurement: str, start: datetime, end: datetime,
               tags: Mapping[str, str] | None = None, limit: int | None = None) -> list[Point]:
        return [p for p in self.all(measurement) if start <= p.time < end]

    def tag_values(self, measurement: str, tag: str) -> list[str]:
        return sorted({p.tags.get(tag, "") for p in self.all(measurement)})

    def apply_retention(self, keep: timedelta, now: datetime) -> None:
        pass


class CountingSource:
    """Emits one `meter` point per poll stamped with the clock; scripted failures."""

    def __init__(self, name: str, interval_s: float, now: Callable[[], datetime],
                 fail: Callable[[int], BaseException | None] = lambda n: None,
                 duration: Callable[[int], float] = lambda n: 0.0,
                 advance: Callable[[float], None] | None = None):
        self.name, self.interval_s, self.device = name, interval_s, "dev1"
        self._now, self._fail, self._duration, self._advance = now, fail, duration, advance
        self.n = 0
        self.resumed_from: dict[str, Latest] | None = None
        self.closed = False

    def resume(self, lookup) -> None:
        self.resumed_from = lookup.latest("meter", ["energy_import_wh"], {"device": "dev1"})

    def poll(self) -> Batch:
        self.n += 1
        if self._advance:
            self._advance(self._duration(self.n))
        err = self._fail(self.n)
        if err is not None:
            raise err
        return Batch([Point("meter", self._now(), {"power_w": 1.0,
                                                   "energy_import_wh": float(self.n)},
                            {"device": "dev1"})], device="dev1")

    def close(self) -> list[Point]:
        self.closed = True
        return [Point("electricity", self._now(), {"energy_wh": 1.0},
                      {"device": "dev1", "source": "meter", "circuit": "total"})]


UTC = ZoneInfo("UTC")
