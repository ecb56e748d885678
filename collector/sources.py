"""Source adapters: a device reader plus its accounting, as the service sees them.

The same two adapters serve the real Shelly, the real (or replayed) Viessmann API and the
simulator, so the demo runs exactly the code path of a real installation: a `read`
function yields readings (collector.readings), accounting turns them into energy
intervals, and the adapter hands both, as points, to the service.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from collector.meter import MeterAccountant, MeterConfig
from collector.readings import HeatPumpMessage, HeatPumpSample, MeterReading
from collector.service import Batch, Lookup, Source
from heatpump.store.base import Point

log = logging.getLogger(__name__)


# --- readings as points (pure) ----------------------------------------------------------


def meter_point(r: MeterReading) -> Point | None:
    fields: dict[str, Any] = {k: v for k, v in (("power_w", r.power_w),
                                                ("energy_import_wh", r.energy_import_wh),
                                                ("uptime_s", r.uptime_s)) if v is not None}
    return Point("meter", r.time, fields, {"device": r.device}) if fields else None


def heatpump_points(s: HeatPumpSample) -> list[Point]:
    """The `heatpump` point of a poll and one `message` point per active message."""
    points = [Point("heatpump", s.time, dict(s.values), {"device": s.device})] if s.values \
        else []
    for m in s.messages:
        fields: dict[str, Any] = {"priority": m.priority, "text": m.text}
        if m.since:
            fields["since"] = m.since.isoformat()
        points.append(Point("message", s.time, fields,
                            {"device": s.device, "kind": m.kind, "code": m.code}))
    return points


# --- accounting seen from an adapter ----------------------------------------------------


class HeatAccounting(Protocol):
    """Heat (and the heat pump's own electricity) between two samples of one device."""

    def points(self, prev: HeatPumpSample, cur: HeatPumpSample) -> list[Point]: ...


def last_point(lookup: Lookup, measurement: str, tags: dict[str, str] | None = None
               ) -> Point | None:
    """The newest stored point of a measurement, rebuilt from its per-field latest values
    (fields written at that same time belong to it)."""
    latest = lookup.latest(measurement, None, tags)
    if not latest:
        return None
    newest = max(v.time for v in latest.values())
    fields = {k: v.value for k, v in latest.items() if v.time == newest}
    tags_of = next(v.tags for v in latest.values() if v.time == newest)
    return Point(measurement, newest, fields, dict(tags_of))


# --- adapters ---------------------------------------------------------------------------


class MeterSource:
    """A meter reader with the meter accounting of collector.meter.

    The device id is known only after the first answer, so accounting is resumed then,
    from the last stored `electricity`/`meter` points read at start (restart: no energy
    lost, none doubled)."""

    def __init__(self, name: str, interval_s: float, read: Callable[[], MeterReading],
                 config: Callable[[str], MeterConfig] | None, device: str = "",
                 running: Callable[[float], None] | None = None):
        self.name, self.interval_s, self.device = name, interval_s, device
        self._read, self._config, self._running = read, config, running
        self._resume: tuple[Point | None, Point | None] = (None, None)
        self.accountant: MeterAccountant | None = None

    def resume(self, lookup: Lookup) -> None:
        self._resume = (last_point(lookup, "electricity", {"source": "meter",
                                                           "circuit": "total"}),
                        last_point(lookup, "meter"))

    def poll(self) -> Batch:
        r = self._read()
        self.device = r.device
        p = meter_point(r)
        points = [p] if p else []
        if self._config is not None:
            if self.accountant is None or self.accountant.cfg.device != r.device:
                el, me = (q if q is not None and q.tags.get("device") == r.device else None
                          for q in self._resume)
                self.accountant = MeterAccountant.resume(self._config(r.device), el, me)
            update = self.accountant.add(r)
            points.extend(update.points)
            if self._running is not None:
                self._running(sum(float(q.fields.get("running_s", 0.0))
                                  for q in update.points))
            points.extend(h for h in (e.health_point() for e in update.events) if h)
        return Batch(points, r.device)

    def close(self) -> list[Point]:
        return self.accountant.flush() if self.accountant is not None else []


class HeatPumpSource:
    """Samples of one or more heat pumps; the previous sample of each device is kept in a
    small state file so heat accounting resumes exactly after a restart."""

    def __init__(self, name: str, interval_s: float,
                 read: Callable[[], Sequence[HeatPumpSample]], accounting: HeatAccounting,
                 state_file: Path | None, device: str = "", save_each_poll: bool = True):
        self.name, self.interval_s, self.device = name, interval_s, device
        self._read, self._acc, self._state_file = read, accounting, state_file
        # Saved with every poll so a crash never doubles an interval. A bulk load (the
        # demo's backfill, recreated when interrupted) saves once, when it stops.
        self._save_each_poll = save_each_poll
        self.prev: dict[str, HeatPumpSample] = {}

    def resume(self, lookup: Lookup) -> None:
        if self._state_file is None or not self._state_file.exists():
            return
        try:
            body = json.loads(self._state_file.read_text())
            self.prev = {d: sample_from_json(s) for d, s in body.items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: ignoring unreadable %s (%s); heat accounting starts at the "
                        "next poll", self.name, self._state_file, exc)

    def poll(self) -> Batch:
        samples = list(self._read())
        points: list[Point] = []
        for s in samples:
            points.extend(heatpump_points(s))
            prev = self.prev.get(s.device)
            if prev is not None and s.time > prev.time:
                points.extend(self._acc.points(prev, s))
            self.prev[s.device] = s
        if samples:
            self.device = ",".join(sorted({s.device for s in samples}))
            if self._save_each_poll:
                self._save()
        return Batch(points, self.device)

    def _save(self) -> None:
        if self._state_file is None:
            return
        tmp = self._state_file.with_name(self._state_file.name + ".tmp")
        tmp.write_text(json.dumps({d: sample_to_json(s) for d, s in self.prev.items()}))
        os.replace(tmp, self._state_file)

    def close(self) -> list[Point]:
        if not self._save_each_poll and self.prev:
            self._save()
        return []


def sample_to_json(s: HeatPumpSample) -> dict[str, Any]:
    return {"time": s.time.isoformat(), "device": s.device, "values": dict(s.values),
            "counters": dict(s.counters)}


def sample_from_json(d: dict[str, Any]) -> HeatPumpSample:
    return HeatPumpSample(datetime.fromisoformat(d["time"]), d["device"], d["values"],
                          d["counters"])


@dataclass(frozen=True)
class SourceSpec:
    """One row of the source table: when it is on and how it is built."""

    name: str
    enabled: Callable[[Any], bool]
    build: Callable[..., Source]


def build_sources(settings: Any, clock: Any = None) -> list[Source]:
    from collector.wiring import build_sources as build

    return build(settings, clock)


__all__ = ["HeatPumpMessage", "HeatPumpSource", "MeterSource", "SourceSpec", "build_sources"]
