"""The Viessmann source as `heatpump collect` runs it, one poll at a time, for the tests.

Built by the collector's own wiring (reader, connection, guard, pipeline, accounting state)
and handled by the collector's own service (one health book, the sink), over a memory
store; `poll()` returns what that poll produced: the samples the reader mapped, the points
handed to the sink and the health changes among them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.accounting.heat import MethodChoice, choose_heat_method
from collector.readings import HeatPumpSample
from collector.service import Collector
from collector.sink import DurableSink
from collector.spool import Spool
from collector.wiring import Devices, build_sources
from heatpump.settings import Settings
from heatpump.store.base import Point
from tests.collector_helpers import MemoryStore


class ClockOf:
    """The service's Clock over a settable `now()` function."""

    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return self._now()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.is_set()


@dataclass(frozen=True)
class Health:
    point: Point
    time: datetime
    device: str
    status: str
    reason: str
    detail: str
    until: datetime | None
    failures: int


@dataclass
class PollResult:
    samples: list[HeatPumpSample] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    @property
    def health(self) -> list[Health]:
        return [Health(p, p.time, p.tags["device"], str(p.fields["status"]),
                       str(p.fields["reason"]), str(p.fields["detail"]),
                       _time(p.fields.get("until")),
                       int(p.fields.get("failures", 0)))
                for p in self.points if p.measurement == "health"]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class ViCareHarness:
    def __init__(self, settings: Settings, clock: Callable[[], datetime],
                 devices: Devices | None = None, store: MemoryStore | None = None):
        self.settings = settings
        self.clock = ClockOf(clock)
        (self.pipeline,), state = build_sources(settings, self.clock, devices=devices)
        self.reader = self.pipeline.reader
        self.store = store or MemoryStore()
        data_dir = Path(settings.data_dir)
        sink = DurableSink(self.store, Spool(data_dir / "spool", 10_000_000), time.monotonic)
        self.collector = Collector([self.pipeline], sink, data_dir, clock=self.clock,
                                   threaded=False, state=state)
        self.collector.start()
        self._written: list[Point] = []
        self._samples: list[HeatPumpSample] = []
        write, read = sink.write, self.reader.read

        def capture_write(points: Any, urgent: bool = False, polls: int = 1) -> bool:
            self._written.extend(points)
            return write(points, urgent, polls)

        def capture_read(*args: Any) -> Any:
            result = read(*args)
            self._samples.extend(result.samples)
            return result

        sink.write = capture_write  # type: ignore[method-assign]
        self.reader.read = capture_read  # type: ignore[method-assign]

    @property
    def guard(self) -> Any:
        return self.reader.guard

    @property
    def devices(self) -> Any:
        return self.reader.devices

    def poll(self) -> PollResult:
        self._written, self._samples = [], []
        self.collector.poll_now(self.pipeline)
        return PollResult(list(self._samples), list(self._written))

    def heat_methods(self) -> dict[str, MethodChoice]:
        return {tag: choose_heat_method(s, self.settings.rated_heat_kw)
                for tag, s in self.pipeline.accountant.last.items()}

    def save_dump(self, path: Path) -> int:
        return self.reader.save_dump(path)
