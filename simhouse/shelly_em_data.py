"""The simulated Gen1 3EM's own memory: `/emeter/<i>/em_data.csv`, answered as the real one.

A real Shelly 3EM (Gen1) serves per phase a CSV file of the energy it measured (format:
collector/shelly/em_data.py, from real files another project publishes,
tests/fixtures/shelly/records/): the header `Date/time UTC,Active energy Wh (A),Returned
energy Wh (A)` (the phase's letter), then one row per interval, `YYYY-MM-DD HH:MM` (UTC
start) and the Wh imported and returned in it with 2 decimals; per minute from 00:00 UTC of
the previous day on, per 10 minutes before that, about a year back. `EmDataCsv` serves
the same from the simulator's 10-s trace, outages included (the device keeps measuring
while unreachable); the minute still running has no row yet. A row's energy is the
counter's advance over its interval, split over the phases as the meter's power is
(simhouse/shelly.py PHASE_SHARE). Rows are written in time order (the real file is in
chunks of days; the reader sorts them either way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from simhouse.house import Simulator

RETENTION = timedelta(days=365)
ROUTE = re.compile(r"/emeter/([0-9]+)/em_data\.csv")
DAY_S = 86400


class EmDataCsv:
    """The em_data.csv files of the simulated meter; `clock()` is the time of a request."""

    def __init__(self, sim: Simulator, clock: Callable[[], datetime],
                 phase_share: tuple[float, ...]):
        self.sim, self.clock, self.share = sim, clock, phase_share

    def answer(self, path: str) -> tuple[int, str]:
        """(HTTP status, the CSV text) for `/emeter/<i>/em_data.csv`."""
        match = ROUTE.fullmatch(path.split("?")[0])
        if match is None or int(match[1]) >= len(self.share):
            return 404, "Not Found"
        phase = int(match[1])
        letter = "ABC"[phase]
        lines = [f"Date/time UTC,Active energy Wh ({letter}),Returned energy Wh ({letter})"]
        lines += [f"{datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M},{wh:.2f},0.00"
                  for t, wh in self.rows(self.share[phase])]
        return 200, "\n".join(lines)

    def rows(self, share: float) -> list[tuple[int, float]]:
        """(interval start in epoch s, Wh of this phase) in time order."""
        now = int(self.clock().timestamp())
        end = now // 60 * 60
        per_minute_from = (now // DAY_S - 1) * DAY_S  # 00:00 UTC of the previous day
        origin = int(self.sim.origin_s)
        if _ceil(origin, 60) >= per_minute_from:
            first = _ceil(origin, 60)
        else:
            first = max(_ceil(origin, 600), _ceil(end - int(RETENTION.total_seconds()), 600))
        trace = self.sim.meter_trace(datetime.fromtimestamp(first, UTC),
                                     datetime.fromtimestamp(end + 1, UTC))
        t, counter = trace.time_s, trace.energy_import_wh
        out: list[tuple[int, float]] = []
        m = first
        while m < end:
            period = 60 if m >= per_minute_from else 600
            if m + period > end:
                break
            i, j = np.searchsorted(t, m), np.searchsorted(t, m + period)
            if i < len(t) and j < len(t) and t[i] == m and t[j] == m + period:
                out.append((m, round(max(float(counter[j] - counter[i]), 0.0) * share, 2)))
            m += period
        return out


def _ceil(t: int, step: int) -> int:
    return -(-t // step) * step
