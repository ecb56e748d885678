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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from collector.points import electricity_point
from collector.shelly.client import ShellyClient
from collector.shelly.records import RecordsReader, floor_minute
from heatpump.store.base import Point, Store

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
