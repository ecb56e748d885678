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

from simhouse.house import METER_STEP_S, Simulator
from simhouse.rounding import round_each

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
        measure whole (before its first step) ends a block: the next one starts after it.

        Every record of the span is computed at once, as arrays (`_rows`); a page's 120
        records one by one cost some 25 µs each."""
        trace = self.sim.meter_trace(datetime.fromtimestamp(a, UTC),
                                     datetime.fromtimestamp(b + 1, UTC))
        t, counter, power = trace.time_s, trace.energy_import_wh, trace.power_w
        minutes = np.arange(a, b, 60, dtype=np.int64)
        first, after = np.searchsorted(t, minutes), np.searchsorted(t, minutes + 60)
        n = len(t)
        whole = (first < n) & (after < n)
        whole[whole] &= (t[first[whole]] == minutes[whole]) & (
            t[after[whole]] == minutes[whole] + 60)
        rows: list[list[float]] = []
        if whole.any():
            i, j = first[whole], after[whole]
            if not np.all(j - i == 60 // METER_STEP_S):
                raise AssertionError(f"the meter's trace is not one step every {METER_STEP_S} s")
            rows = self._rows(counter[j] - counter[i],
                              power[i[:, None] + np.arange(60 // METER_STEP_S)])
        blocks: list[dict[str, Any]] = []
        run: list[list[float]] = []
        at = 0
        for m, ok in zip(minutes.tolist(), whole.tolist(), strict=True):
            if ok:
                run.append(rows[at])
                at += 1
            elif run:
                blocks.append({"ts": m - 60 * len(run), "period": 60, "values": run})
                run = []
        if run:
            blocks.append({"ts": b - 60 * len(run), "period": 60, "values": run})
        return blocks

    def _rows(self, advance_wh: np.ndarray, powers: np.ndarray) -> list[list[float]]:
        """The records of whole minutes from their counters' advances (Wh) and their
        steps' powers (W, a row per minute): per phase its share of the energy (0.1 mWh),
        of the highest and lowest power (0.1 W; apparent power 1.03 times it, current at
        230 V in mA) and the mean current; the roundings by `round_each`, bit for bit the
        float-by-float `round(wh * share, 4)`, `round(max(p) * share, 1)`, ... of a
        minute at a time, the counter's advance never below 0 (`max(wh, 0.0)`)."""
        wh = np.where(advance_wh < 0.0, 0.0, advance_wh)  # max(x, 0.0), element by element
        p_max, p_min = powers.max(axis=1), powers.min(axis=1)
        zero, columns = np.zeros(len(wh)), []
        for share in self.share:
            e = round_each(wh * share, 4)
            hi, lo = round_each(p_max * share, 1), round_each(p_min * share, 1)
            columns += [e, e, zero, zero, zero, zero, hi, lo, round_each(hi * 1.03, 1),
                        round_each(lo * 1.03, 1), np.full(len(wh), 231.0),
                        np.full(len(wh), 229.0), np.full(len(wh), 230.0),
                        round_each(hi / 230.0, 3), round_each(lo / 230.0, 3),
                        round_each(wh * share * 60 / 230.0, 3)]
        return np.column_stack([*columns, zero, zero, zero]).tolist()


def _ceil60(t: int) -> int:
    return -(-t // 60) * 60
