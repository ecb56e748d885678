"""The simulated Pro 3EM's own memory: per-minute energy records, answered as the real one.

A real Pro 3EM stores what it measured every minute for weeks (the Shelly API docs, EMData
component; shelly-go's EMData comment: "up to 60 days ... at 1-minute intervals"), whether
or not anybody polls it: a collector that was stopped, or could not reach the meter, finds
those minutes there afterwards (collector/shelly/records.py). `EMDataRecords` keeps the
same records for the simulated meter, from the simulator's 10-s trace with outages
included (the device keeps measuring while unreachable), and answers `EMData.GetRecords`
and `EMData.GetData` in the real wire format: the key list of a real 3-phase record (the
52-column CSV header of a real Pro 3EM export, tests/fixtures/shelly/records/), blocks of
`{"ts", "period": 60, "values"}` and a `next_record_ts` when more follow.

A record's energy is the counter's advance over its minute, split over the phases as the
meter's power is (simhouse/shelly.py PHASE_SHARE), rounded to 4 decimals per phase as a
real export shows; the minute still running has no record yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from simhouse.house import Simulator

RETENTION = timedelta(days=60)
PER_PAGE = 120  # records per GetData answer: a long span comes in pages, as on the device
ROUTES = ("/rpc/EMData.GetRecords", "/rpc/EMData.GetData")
_PHASE_KEYS = ("total_act_energy", "fund_act_energy", "total_act_ret_energy",
               "fund_act_ret_energy", "lag_react_energy", "lead_react_energy", "max_act_power",
               "min_act_power", "max_aprt_power", "min_aprt_power", "max_voltage",
               "min_voltage", "avg_voltage", "max_current", "min_current", "avg_current")
KEYS = [f"{p}_{k}" for p in "abc" for k in _PHASE_KEYS] + [
    "n_max_current", "n_min_current", "n_avg_current"]


class EMDataRecords:
    """The records of the simulated meter; `clock()` is the time of a request."""

    def __init__(self, sim: Simulator, clock: Callable[[], datetime],
                 phase_share: tuple[float, float, float]):
        self.sim, self.clock, self.share = sim, clock, phase_share

    def answer(self, path: str) -> tuple[int, Any]:
        route, _, query = path.partition("?")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if params.get("id", "0") != "0":
            return 400, {"code": -105, "message": f"Argument 'id', value {params['id']} not "
                                                  "found!"}
        first, end = self._span()
        if route == ROUTES[0]:
            records = max(0, (end - first) // 60)
            return 200, {"data_blocks": [{"ts": first, "period": 60, "records": records}]
                         if records else []}
        try:
            ts = int(params.get("ts", "0"))
            end_ts = int(params["end_ts"]) if "end_ts" in params else end - 60
        except ValueError:
            return 400, {"code": -103, "message": "Invalid argument 'ts'!"}
        a = max(_ceil60(ts), first)
        b = min(end_ts + 60, end)  # the records starting at a ... end_ts
        stop = min(b, a + PER_PAGE * 60)
        body: dict[str, Any] = {"keys": KEYS, "data": []}
        if stop > a:
            body["data"] = self._blocks(a, stop)
        if stop < b:
            body["next_record_ts"] = stop
        return 200, body

    def _span(self) -> tuple[int, int]:
        """[first, end) of the minutes with a record, as epoch seconds."""
        now = int(self.clock().timestamp())
        end = now // 60 * 60
        first = max(_ceil60(self.sim.origin_s), end - int(RETENTION.total_seconds()))
        return first, end

    def _blocks(self, a: int, b: int) -> list[dict[str, Any]]:
        """The records of the minutes [a, b) as GetData blocks; a minute the meter did not
        measure whole (before its first step) ends a block: the next one starts after it."""
        trace = self.sim.meter_trace(datetime.fromtimestamp(a, UTC),
                                     datetime.fromtimestamp(b + 1, UTC))
        t, counter, power = trace.time_s, trace.energy_import_wh, trace.power_w
        blocks: list[dict[str, Any]] = []
        rows: list[list[float]] = []
        for m in range(a, b, 60):
            i, j = np.searchsorted(t, m), np.searchsorted(t, m + 60)
            if i >= len(t) or j >= len(t) or t[i] != m or t[j] != m + 60:
                if rows:
                    blocks.append({"ts": m - 60 * len(rows), "period": 60, "values": rows})
                rows = []
                continue
            wh = max(float(counter[j] - counter[i]), 0.0)
            p = power[i:j]
            row: list[float] = []
            for share in self.share:
                e = round(wh * share, 4)
                hi, lo = round(float(p.max()) * share, 1), round(float(p.min()) * share, 1)
                row += [e, e, 0.0, 0.0, 0.0, 0.0, hi, lo, round(hi * 1.03, 1),
                        round(lo * 1.03, 1), 231.0, 229.0, 230.0, round(hi / 230.0, 3),
                        round(lo / 230.0, 3), round(wh * share * 60 / 230.0, 3)]
            rows.append([*row, 0.0, 0.0, 0.0])
        if rows:
            blocks.append({"ts": b - 60 * len(rows), "period": 60, "values": rows})
        return blocks


def _ceil60(t: int) -> int:
    return -(-t // 60) * 60
