"""Import what the meter remembers from before the collector's first reading.

A Shelly energy meter with records (Pro 3EM, Pro EM: collector/shelly/records.py) keeps
what it measured every minute for weeks. `import_meter_records` stores those minutes as
the meter's electricity (`electricity`, source=meter, every field from the records:
`energy_wh`, `duration_s` 60 and `filled_wh` = `energy_wh`, no counter, no running time),
from the meter's oldest record up to the collector's first own reading of that meter (the
first stored minute with a `counter_wh`: from there on the collector's counter accounting
holds the minutes, and its gaps are filled by the collector itself), or up to the last
complete minute when the collector has not run yet.

It imports in spans of `CHUNK` (each one read, then written, before the next), so:

- idempotent: a minute is stored at its own time with the same tags and fields, so
  importing it again overwrites it with the same values; and a second run starts after
  the newest minute already imported (it finds it in the store), so it reads nothing;
- resumable: an interrupted import (the meter unreachable, the process stopped) has
  stored every span before the interruption; the next run continues after the newest.

`progress(minutes_done, minutes_total)` is called after each span (the command shows it as
a progress bar).

The collector does the same by itself at its first start for a meter (nothing stored for
it, no accounting state): `FirstStartImport`, one span per poll beside the polls, its
progress kept in the accounting state file with the points it belongs to, so a restart
continues it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.points import electricity_point
from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyError
from collector.shelly.minutes import floor_minute
from collector.shelly.records import RecordsReader, RecordsSource
from heatpump.store.base import Point, Store

log = logging.getLogger("collector")

CHUNK = timedelta(hours=6)
MINUTE = timedelta(minutes=1)
FAR_BACK = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MeterImport:
    """What one run imported (or why nothing)."""

    device: str
    minutes: int = 0  # minutes stored by this run
    energy_wh: float = 0.0
    start: datetime | None = None  # the span this run covered: [start, end)
    end: datetime | None = None
    note: str = ""  # why nothing was imported, if so

    def line(self) -> str:
        if self.note:
            return f"meter {self.device}: {self.note}"
        assert self.start is not None and self.end is not None
        return (f"imported meter {self.device}: {self.minutes} minutes, "
                f"{self.energy_wh / 1000:.1f} kWh ({self.start:%d.%m.%Y %H:%M} – "
                f"{self.end:%d.%m.%Y %H:%M} UTC), from the meter's own records")


def record_points(device: str, energy_wh: dict[datetime, float]) -> list[Point]:
    """One `electricity` point per recorded minute (see the module docstring)."""
    return [electricity_point(m, device, "meter", "total",
                              {"energy_wh": wh, "duration_s": 60.0, "filled_wh": wh})
            for m, wh in sorted(energy_wh.items())]


def import_span(store: Store, device: str, first: datetime, now: datetime
                ) -> tuple[datetime, datetime]:
    """[start, end) still to import: `end` = the collector's first own minute of this meter
    (or the last complete minute), `start` = after the newest minute imported before it (or
    the oldest record)."""
    stored = store.points("electricity", first, now, {"source": "meter", "device": device})
    own = [p.time for p in stored if "counter_wh" in p.fields]
    end = min(own) if own else floor_minute(now)
    done = [p.time for p in stored if p.time < end]
    start = max(done) + MINUTE if done else first
    return start, end


def import_meter_records(client: ShellyClient, store: Store, write: Callable[[list[Point]],
                         None], now: datetime,
                         progress: Callable[[int, int], None] | None = None) -> MeterImport:
    """Import the meter's records before the collector's first reading (module docstring).
    Raises a ShellyError when the meter cannot be read (what was written stays) and a
    StoreError when the store cannot be read."""
    device = client.identify()
    reader = RecordsReader.of(client)
    if reader is None:
        return MeterImport(device.device_id, note=(
            f"a {device.family.title} keeps no energy records; nothing to import"))
    first = reader.first_record()
    if first is None:
        return MeterImport(device.device_id, note="the meter holds no records yet")
    start, end = import_span(store, device.device_id, floor_minute(first), now)
    if start >= end:
        return MeterImport(device.device_id, note=(
            "its records are imported already, up to the collector's own data"))
    total = int((end - start) / MINUTE)
    minutes, energy = 0, 0.0
    a = start
    while a < end:
        b = min(a + CHUNK, end)
        records = reader.read(a, b).energy_wh
        part = {m: wh for m, wh in records.items() if a <= m < b}
        write(record_points(device.device_id, part))
        minutes += len(part)
        energy += sum(part.values())
        a = b
        if progress is not None:
            progress(int((a - start) / MINUTE), total)
    return MeterImport(device.device_id, minutes, energy, start, end)


class FirstStartImport:
    """The collector's own import of the meter's records at its first start (nothing stored
    for this meter yet): from the oldest record up to the first reading, one `CHUNK` per
    poll so the polls go on meanwhile. Its progress is kept in the accounting state file
    with the points it belongs to (collector/state.py), so a restart continues it."""

    def __init__(self, reader: RecordsSource, device: str, next_minute: datetime,
                 end: datetime):
        self.reader, self.device = reader, device
        self.next, self.end = next_minute, end
        self.minutes, self.energy_wh = 0, 0.0

    @property
    def done(self) -> bool:
        return self.next >= self.end

    def step(self) -> list[Point]:
        """The points of the next span (raises a ShellyError: nothing advanced, the next
        poll tries again)."""
        a, b = self.next, min(self.next + CHUNK, self.end)
        part = {m: wh for m, wh in self.reader.read(a, b).energy_wh.items() if a <= m < b}
        self.next = b
        self.minutes += len(part)
        self.energy_wh += sum(part.values())
        return record_points(self.device, part)

    def to_json(self) -> dict[str, str]:
        return {"next": self.next.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_json(cls, reader: RecordsSource, device: str, d: dict[str, str]
                  ) -> FirstStartImport:
        return cls(reader, device, datetime.fromisoformat(d["next"]),
                   datetime.fromisoformat(d["end"]))


def state_key(device: str) -> str:
    return f"meter_records/{device}"


def first_start_import(client: ShellyClient, saved: Any, device: str, fresh: bool,
                       first_reading: datetime) -> FirstStartImport | None:
    """The import to run along the polls: the one `saved` in the accounting state (still
    going), else, at the first start for this meter (`fresh`: nothing stored, no state),
    a new one up to `first_reading`; None for a meter without records or when there is
    nothing to do (a failure to ask is logged: `heatpump backfill` can import later)."""
    if isinstance(saved, dict) and saved.get("done"):
        return None
    reader = RecordsReader.of(client)
    if reader is None:
        return None
    if saved is not None:
        try:
            return FirstStartImport.from_json(reader, device, saved)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("meter %s: the saved import of its records is damaged (%s); "
                        "`heatpump backfill` imports them", device, exc)
            return None
    if not fresh:
        return None
    try:
        first = reader.first_record()
    except ShellyError as exc:
        log.warning("meter %s: cannot ask for its records (%s); `heatpump backfill` imports "
                    "them later", device, exc)
        return None
    if first is None:
        return None
    job = FirstStartImport(reader, device, floor_minute(first), floor_minute(first_reading))
    if job.done:
        return None
    log.info("meter %s: importing its records from %s UTC on, %s per poll", device,
             job.next.isoformat(sep=" ", timespec="minutes")[:16], CHUNK)
    return job


def import_along(job: FirstStartImport) -> tuple[list[Point], dict[str, Any]]:
    """One span of `job`: its points, and the state to keep once they are durable. A meter
    that does not answer is logged; the same span is asked again at the next poll."""
    try:
        points = job.step()
    except ShellyError as exc:
        log.warning("meter %s: importing its records: %s (tried again at the next poll)",
                    job.device, exc)
        return [], {}
    if job.done:
        log.info("meter %s: imported %d minutes (%.1f kWh) from the meter's own records",
                 job.device, job.minutes, job.energy_wh / 1000)
        return points, {state_key(job.device): {"done": True}}
    return points, {state_key(job.device): job.to_json()}
