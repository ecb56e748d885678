"""A meter's energy records per UTC minute, whichever way the meter keeps them (Gen2+
EMData/EM1Data: collector/shelly/records.py; the Gen1 3EM's em_data.csv:
collector/shelly/em_data.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class MinuteRecords:
    """The meter's records over [start, end): UTC minute -> Wh imported in that minute.

    A minute missing from `energy_wh` is one the meter has no record of (it was off, or the
    records were deleted); nothing is invented for it."""

    start: datetime
    end: datetime
    energy_wh: Mapping[datetime, float]

    def covers(self, a: datetime, b: datetime) -> bool:
        """True when every minute that overlaps (a, b] has a record."""
        m = floor_minute(a)
        while m < b:
            if m not in self.energy_wh:
                return False
            m += timedelta(minutes=1)
        return True



def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def ceil_minute(t: datetime) -> datetime:
    f = floor_minute(t)
    return f if f == t else f + timedelta(minutes=1)
