"""A gap filled from the meter's own records: where its energy was drawn, minute by minute.

When the collector hears nothing from the meter for a while (it was stopped, or the meter
was unreachable), the counter's advance across the gap is all the meter accounting knows:
it books it to the minute where the gap ends (a gap inside one hour) or spreads it evenly
and marks it bridged (a gap across hours, left out of the JAZ pairing). A meter that keeps
per-minute records (collector/shelly/records.py) knows more; `fill_gap` places the same
counter advance by them instead:

* every minute that overlaps the gap (start, end] must have a record, else nothing is
  filled (a minute without a record is not invented), except the minute in which the gap
  ends: it is still running when the reading comes, so it has no record yet; its part of
  the gap (under a minute) gets what the counter advanced beyond the records;
* the part of a minute inside the gap gets its record's energy pro rata (the edge minutes
  are shared with the polls before and after the gap);
* the counter advance is the total (the same as every other minute's: the counter is the
  meter's legal figure, the records its distribution over the minutes), so the records'
  shares are scaled to it. They must agree first: records and counter come from the same
  metering chip, and differ only by their rounding (4 decimals per phase and minute). If
  they differ by more than `TOLERANCE_WH` + `TOLERANCE_REL` of the advance (records
  deleted or incomplete, a counter reset in the gap), the records are not used and the gap
  is booked as without them;
* filled minutes are not bridged (their hour is known, so the JAZ pairing counts them) and
  carry the energy again in `filled_wh`; they hold no running time or starts (a minute's
  energy cannot show a 10-s start): those stay unknown, as in any gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

TOLERANCE_WH = 2.0
TOLERANCE_REL = 0.02
MINUTE = timedelta(minutes=1)


def fill_gap(minutes: Any, start: datetime, end: datetime, energy_wh: float,
             records: Mapping[datetime, float], end_power_w: float | None = None
             ) -> str | None:
    """Book `energy_wh` of the gap (start, end] into `minutes` (the meter accounting's
    minute buckets: `get(minute)`, `put(bucket)`) by the meter's per-minute `records`
    (UTC minute -> Wh). Returns None when booked, else why the records were not used (and
    then nothing was booked).

    The minute in which the gap ends is still running when the reading that ends it comes:
    the meter has no record of it yet. Its part of the gap (the tail, under a minute) gets
    what the counter advanced beyond the records; the agreement check expects it to be
    about `end_power_w` (the power of that reading) times its length."""
    shares: list[tuple[datetime, float, float]] = []  # (minute, seconds in the gap, Wh)
    missing = 0
    tail_s = 0.0
    m = start.replace(second=0, microsecond=0)
    while m < end:
        seconds = (min(m + MINUTE, end) - max(m, start)).total_seconds()
        if seconds > 0:
            wh = records.get(m)
            if wh is not None:
                shares.append((m, seconds, wh * seconds / 60.0))
            elif m + MINUTE > end and m > start:
                tail_s = seconds  # the running minute: no record yet
            else:
                missing += 1
        m += MINUTE
    if missing:
        return (f"the meter's records miss {missing} minute{'s' if missing != 1 else ''} of "
                "the gap")
    recorded = sum(wh for _, _, wh in shares)
    tail_expected = max(end_power_w or 0.0, 0.0) * tail_s / 3600.0
    if abs(recorded + tail_expected - energy_wh) > TOLERANCE_WH + TOLERANCE_REL * energy_wh:
        return (f"the meter's records hold {recorded:.1f} Wh for the gap, its counter "
                f"advanced {energy_wh:.1f} Wh")
    tail_wh = max(energy_wh - recorded, 0.0) if tail_s > 0 else 0.0
    booked = energy_wh - tail_wh  # what the records place (their rounding scaled away)
    total_s = sum(s for _, s, _ in shares)
    for minute, seconds, wh in shares:
        part = (wh * booked / recorded if recorded > 0
                else booked * seconds / total_s if total_s > 0 else 0.0)
        minutes.put(minutes.get(minute).add(part, seconds, filled=True))
    if tail_s > 0:
        tail = end.replace(second=0, microsecond=0)
        minutes.put(minutes.get(tail).add(tail_wh, tail_s))
    return None
