"""The meter's own memory: the per-minute energy records a Gen2+ energy meter keeps.

Shelly's Gen2+ energy meters store what they measured every minute for weeks, whether or
not anybody asks (Shelly API docs, EMData / EM1Data components:
https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EMData and .../EM1Data):

- Pro 3EM and 3EM-63 (triphase profile, family `em`): `EMData.GetRecords?id=0` says from
  when records exist, `EMData.GetData?id=0&ts=&end_ts=` returns them;
- Pro EM, EM Gen3 and a Pro 3EM in the monophase profile (family `em1`): the same as
  `EM1Data.GetRecords` / `EM1Data.GetData` with `id` = the EM1 channel.

A GetData answer is `{"keys": [...], "data": [{"ts", "period", "values": [[...], ...]}],
"next_record_ts"}`: row i of a block is the interval [ts + i*period, ts + (i+1)*period),
its values in the order of `keys`; `<phase>_total_act_energy` (EMData) or
`total_act_energy` (EM1Data) is the active energy imported in that interval, in Wh (not a
counter). A long span comes in pages: `next_record_ts` is where the next one starts. The
Gen1 3EM's records are a CSV file per phase, read by collector/shelly/em_data.py into the
same `MinuteRecords`. Meters without records (plugs, switches, PM1, Gen1 EM and plugs) are
not asked: their gaps stay gaps.

Everything here is read through the meter's ShellyClient (so through its Transport: HTTP
for a real meter, answer functions for the simulated one) and parsed strictly: an answer
that is not in this shape is one `ShellyBadResponse` naming what is wrong, and nothing of
it is used (the gap it was asked for is then bridged as without records).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from collector.shelly.client import ShellyClient, ShellyDevice
from collector.shelly.errors import ShellyBadResponse, ShellyError
from collector.shelly.minutes import MinuteRecords, ceil_minute, floor_minute

log = logging.getLogger(__name__)

MINUTE_S = 60
# The records the meter keeps are per minute; a block of another period is refused rather
# than guessed into minutes.
RECORD_PERIOD_S = 60
# A malformed pagination (a next_record_ts that does not move on) must not loop forever:
# a day of minutes in pages of a few dozen records stays far below this.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class RecordsApi:
    """How one family's records are asked for."""

    namespace: str  # "EMData" / "EM1Data"
    component_id: int
    energy_keys: tuple[str, ...]  # summed per record: the Wh imported in its minute


def records_api(device: ShellyDevice) -> RecordsApi | None:
    """The records of this meter's configured channel, or None for a meter that keeps none
    (every family but `em` and `em1`)."""
    key, channel = device.family.key, device.channel
    if key == "em":
        phases = ("a", "b", "c") if channel.index is None else (channel.letter,)
        return RecordsApi("EMData", 0, tuple(f"{p}_total_act_energy" for p in phases))
    if key == "em1":
        return RecordsApi("EM1Data", channel.index or 0, ("total_act_energy",))
    return None


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def parse_data(body: Any, api: RecordsApi, where: str
               ) -> tuple[dict[datetime, float], int | None]:
    """One GetData answer -> ({UTC minute: Wh}, next_record_ts or None).

    Raises ShellyBadResponse (one message, nothing kept) when the answer is not a GetData
    answer, lacks one of `api.energy_keys`, holds a block of another period than a minute,
    a block not on a minute, a row of another length than `keys`, or a value that is not a
    finite number >= 0."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ShellyBadResponse(f"{where}: not a {api.namespace}.GetData answer (no 'data' "
                                "list)")
    keys = body.get("keys")
    if not isinstance(keys, list):
        raise ShellyBadResponse(f"{where}: the answer has no 'keys' (asked with add_keys)")
    try:
        columns = [keys.index(k) for k in api.energy_keys]
    except ValueError:
        missing = [k for k in api.energy_keys if k not in keys]
        raise ShellyBadResponse(f"{where}: the records hold no {', '.join(missing)}") from None
    out: dict[datetime, float] = {}
    for n, block in enumerate(body["data"]):
        if not isinstance(block, dict):
            raise ShellyBadResponse(f"{where}: data[{n}] is not an object")
        ts, period, rows = block.get("ts"), block.get("period"), block.get("values")
        if not _is_int(ts) or not isinstance(rows, list):
            raise ShellyBadResponse(f"{where}: data[{n}] has no whole 'ts' or no 'values'")
        if period != RECORD_PERIOD_S:
            raise ShellyBadResponse(f"{where}: data[{n}] holds records of {period!r} s; only "
                                    "per-minute records (period 60) are used")
        if ts % MINUTE_S:
            raise ShellyBadResponse(f"{where}: data[{n}] starts at {ts}, not on a minute")
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(keys):
                raise ShellyBadResponse(f"{where}: data[{n}].values[{i}] does not have one "
                                        f"value per key ({len(keys)})")
            wh = 0.0
            for c in columns:
                v = row[c]
                if not _is_number(v) or v < 0:
                    raise ShellyBadResponse(f"{where}: data[{n}].values[{i}] has {keys[c]} = "
                                            f"{v!r}, not an energy")
                wh += float(v)
            out[datetime.fromtimestamp(ts + i * period, UTC)] = wh
    nxt = body.get("next_record_ts")
    if nxt is not None and not _is_int(nxt):
        raise ShellyBadResponse(f"{where}: next_record_ts {nxt!r} is not a time")
    return out, nxt


def parse_first_record(body: Any, api: RecordsApi, where: str) -> datetime | None:
    """A GetRecords answer -> the start of the oldest record, None when there is none."""
    blocks = body.get("data_blocks") if isinstance(body, dict) else None
    if not isinstance(blocks, list):
        raise ShellyBadResponse(f"{where}: not a {api.namespace}.GetRecords answer (no "
                                "'data_blocks' list)")
    starts = [b.get("ts") for b in blocks if isinstance(b, dict)]
    if len(starts) != len(blocks) or not all(_is_int(t) for t in starts):
        raise ShellyBadResponse(f"{where}: a data block has no whole 'ts'")
    return datetime.fromtimestamp(min(starts), UTC) if starts else None


class RecordsSource(Protocol):
    """What the gap fill and the imports ask a meter's records (collector/accounting/
    gapfill.py, collector/meter_history.py): a Gen2+ meter's RecordsReader, or a Gen1
    3EM's EmDataReader."""

    def first_record(self) -> datetime | None: ...

    def read(self, start: datetime, end: datetime,
             progress: Callable[[datetime], None] | None = None) -> MinuteRecords: ...


class RecordsReader:
    """Reads the records of one recognised Gen2+ meter through its client."""

    def __init__(self, client: ShellyClient, api: RecordsApi):
        self.client, self.api = client, api

    @classmethod
    def of(cls, client: ShellyClient) -> RecordsSource | None:
        """A reader for the client's meter (a Gen1 3EM's: collector/shelly/em_data.py), or
        None when it keeps no records (or is not recognised yet)."""
        device = client.device
        if device is not None and device.family.key == "gen1_3em":
            from collector.shelly.em_data import EmDataReader  # it builds on this module
            index = device.channel.index
            return EmDataReader(client, (0, 1, 2) if index is None else (index,))
        api = records_api(device) if device is not None else None
        return cls(client, api) if api is not None else None

    def first_record(self) -> datetime | None:
        """When the meter's oldest record starts (None: it keeps none yet)."""
        path = f"/rpc/{self.api.namespace}.GetRecords?id={self.api.component_id}"
        return parse_first_record(self.client.get(path), self.api,
                                  f"{self.client.url}{path.split('?')[0]}")

    def read(self, start: datetime, end: datetime,
             progress: Callable[[datetime], None] | None = None) -> MinuteRecords:
        """The records of every minute that overlaps [start, end), following the pages;
        `progress(t)` after each page (t: where the next page starts)."""
        a, b = floor_minute(start), ceil_minute(end)
        ns, cid = self.api.namespace, self.api.component_id
        where = f"{self.client.url}/rpc/{ns}.GetData"
        end_ts = _epoch(b) - MINUTE_S  # the last record's own start
        out: dict[datetime, float] = {}
        ts = _epoch(a)
        for _ in range(MAX_PAGES):
            body = self.client.get(f"/rpc/{ns}.GetData?id={cid}&ts={ts}&end_ts={end_ts}")
            page, nxt = parse_data(body, self.api, where)
            out.update((m, wh) for m, wh in page.items() if a <= m < b)
            if nxt is None or nxt > end_ts:
                break
            if nxt <= ts:
                raise ShellyBadResponse(f"{where}: next_record_ts {nxt} does not move on from "
                                        f"{ts}")
            ts = nxt
            if progress is not None:
                progress(datetime.fromtimestamp(ts, UTC))
        else:
            raise ShellyBadResponse(f"{where}: more than {MAX_PAGES} pages for one span")
        return MinuteRecords(a, b, out)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def records_for_gap(client: ShellyClient, start: datetime, end: datetime
                    ) -> Mapping[datetime, float] | None:
    """The meter's records (UTC minute -> Wh) over a gap in the readings (start, end], or
    None when it keeps none or they cannot be read (logged: the gap is then booked as
    without records, nothing is lost)."""
    reader = RecordsReader.of(client)
    if reader is None:
        return None
    try:
        return reader.read(start, end).energy_wh
    except ShellyError as exc:
        log.warning("meter %s: cannot read its records of %s – %s (%s); the gap is booked "
                    "as without them", client.device.device_id if client.device else "?",
                    start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds"),
                    exc)
        return None
