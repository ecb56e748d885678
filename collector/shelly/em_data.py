"""The Gen1 3EM's own memory: the energy records it serves as `/emeter/<i>/em_data.csv`.

The Shelly 3EM (Gen1, SHEM-3) keeps, per phase i = 0, 1, 2, a file of what it measured
(Shelly Gen1 API docs, "/emeter/{index}/em_data.csv"). Its real format, as in the files
another project publishes (tests/fixtures/shelly/records/README.md):

    Date/time UTC,Active energy Wh (A),Returned energy Wh (A)
    2025-01-11 00:00,30.70,0.00

- the time is the UTC start of the row's interval, `YYYY-MM-DD HH:MM`;
- `Active energy Wh` is the energy imported in that interval, in Wh (not a counter);
- the newest rows (from 00:00 UTC of the previous day on) are per minute, older ones per
  10 minutes; the file holds about a year and is NOT in time order (it is stored in
  chunks of days); a chunk may appear twice (with the same values).

A row's interval is not written in the file, so it is read from its neighbours: a row
with a row 60 s before or after it is a minute; else a row on a 10-minute boundary with a
row 600 s before or after it is 10 minutes; a row with neither is not used (its interval
is unknown: nothing is invented for it). A 10-minute row is spread evenly over its 10
minutes (the collector's records are per minute): its hour, and so the JAZ pairing, gets
exactly its energy; where inside the 10 minutes it was drawn is not known.

The phases the meter is configured to read (SHELLY_CHANNEL, as the live reading) are
summed per minute; a minute is recorded only when every one of them has it. A file that is
not in this format is one `ShellyBadResponse` naming the line, and nothing of it is used.
The whole file is fetched at once (the device ignores a time range); a reader keeps what it
fetched, so an import that asks span after span fetches each phase once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyBadResponse
from collector.shelly.minutes import MinuteRecords, ceil_minute, floor_minute

TIME_COLUMN = "Date/time UTC"
ENERGY_COLUMN = re.compile(r"Active energy Wh( \([^)]*\))?")
TIME_FORMAT = "%Y-%m-%d %H:%M"
MINUTE_S, TEN_MINUTES_S = 60, 600
MINUTE = timedelta(minutes=1)

# interval start (UTC) -> (its length in s: 60 or 600, Wh imported in it)
Intervals = dict[datetime, tuple[int, float]]


def csv_path(phase: int) -> str:
    return f"/emeter/{phase}/em_data.csv"


def parse_em_data(text: str, where: str) -> Intervals:
    """One phase's em_data.csv -> its intervals (module docstring).

    Raises ShellyBadResponse (one message, nothing kept) when the first line is not the
    header (`Date/time UTC`, then `Active energy Wh ...`), a line has another number of
    columns than the header, a time is not `YYYY-MM-DD HH:MM`, an energy is not a finite
    number >= 0, or one time appears twice with different energies. Empty lines are
    skipped (the file may end with one)."""
    lines = text.splitlines()
    header = lines[0].split(",") if lines else []
    if len(header) < 2 or header[0] != TIME_COLUMN or not ENERGY_COLUMN.fullmatch(header[1]):
        raise ShellyBadResponse(f"{where}: not an em_data.csv file (its first line is "
                                f"{(lines[0] if lines else '')[:80]!r})")
    rows: dict[datetime, float] = {}
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != len(header):
            raise ShellyBadResponse(f"{where}: line {n} has {len(cells)} columns, the header "
                                    f"{len(header)} ({line[:60]!r})")
        try:
            t = datetime.strptime(cells[0], TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise ShellyBadResponse(f"{where}: line {n} has no time {TIME_FORMAT!r} "
                                    f"({cells[0][:40]!r})") from None
        try:
            wh = float(cells[1])
        except ValueError:
            wh = math.nan
        if not math.isfinite(wh) or wh < 0:
            raise ShellyBadResponse(f"{where}: line {n} has {cells[1][:20]!r} as its energy, "
                                    "not Wh >= 0")
        if rows.get(t, wh) != wh:
            raise ShellyBadResponse(f"{where}: line {n}: {cells[0]} appears twice with "
                                    f"different energies ({rows[t]} and {wh} Wh)")
        rows[t] = wh
    return _intervals(rows)


def _intervals(rows: Mapping[datetime, float]) -> Intervals:
    """Each row's interval from its neighbours (module docstring)."""
    times = sorted(rows)
    out: Intervals = {}
    for i, t in enumerate(times):
        steps = {(t - times[i - 1]).total_seconds() if i > 0 else None,
                 (times[i + 1] - t).total_seconds() if i + 1 < len(times) else None}
        if MINUTE_S in steps:
            out[t] = (MINUTE_S, rows[t])
        elif TEN_MINUTES_S in steps and t.minute % 10 == 0:
            out[t] = (TEN_MINUTES_S, rows[t])
    return out


def minute_energy(phase: Intervals, m: datetime) -> float | None:
    """The Wh of minute `m` in one phase's intervals (a 10-minute row's tenth), or None."""
    row = phase.get(m)
    if row is not None and row[0] == MINUTE_S:
        return row[1]
    row = phase.get(m - timedelta(minutes=m.minute % 10))
    if row is not None and row[0] == TEN_MINUTES_S:
        return row[1] / 10.0
    return None


def sum_phases(phases: list[Intervals], a: datetime, b: datetime) -> dict[datetime, float]:
    """{UTC minute: Wh} over [a, b) (a, b on minutes), the phases summed; a minute is there
    only when every phase has it."""
    out: dict[datetime, float] = {}
    m = a
    while m < b:
        parts = [minute_energy(p, m) for p in phases]
        if all(v is not None for v in parts):
            out[m] = sum(v for v in parts if v is not None)
        m += MINUTE
    return out


class EmDataReader:
    """Reads a Gen1 3EM's records through its client, with the interface of
    collector.shelly.records.RecordsReader (`first_record`, `read`)."""

    def __init__(self, client: ShellyClient, phases: tuple[int, ...]):
        self.client, self.phases = client, phases
        self._fetched: list[Intervals] | None = None
        self._fetched_end: datetime | None = None  # after the newest minute of all phases

    def _fetch(self, need_end: datetime | None = None) -> list[Intervals]:
        """Every configured phase's file, fetched again unless what was fetched reaches
        `need_end` (a past minute does not change on the device)."""
        if (self._fetched is None or need_end is None or self._fetched_end is None
                or need_end > self._fetched_end):
            files = [parse_em_data(self.client.get_text(csv_path(i)),
                                   f"{self.client.url}{csv_path(i)}") for i in self.phases]
            ends = [max(t + timedelta(seconds=p) for t, (p, _) in f.items())
                    for f in files if f]
            self._fetched = files
            self._fetched_end = min(ends) if len(ends) == len(files) else None
        return self._fetched

    def first_record(self) -> datetime | None:
        """From when every configured phase has records (None: one has none yet)."""
        files = self._fetch()
        return max(min(f) for f in files) if all(files) else None

    def read(self, start: datetime, end: datetime,
             progress: Callable[[datetime], None] | None = None) -> MinuteRecords:
        """The records of every minute that overlaps [start, end); `progress(end)` once."""
        a, b = floor_minute(start), ceil_minute(end)
        records = MinuteRecords(a, b, sum_phases(self._fetch(b), a, b))
        if progress is not None:
            progress(b)
        return records
