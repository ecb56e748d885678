"""The measured energy as CSV, hour by hour or day by day: `heatpump export` and `/export`.

Pure: `rows` turns what bot.store_reads.export_data read into one `ExportRow` per local
hour or day of the range (every bucket, also the empty ones), `to_csv` writes them. A gap
is an empty cell, never 0: an hour without meter data has no electricity, not 0 kWh.

The columns, their units and meaning are `COLUMNS` (docs/bot.md, "/export", shows the same
table); times are local (HEATPUMP_TZ, with its offset) and UTC. A day is 23, 24 or 25 h;
the last row ends at the last complete hour.

`cop` is the JAZ/COP pairing rule of /jaz: the electricity and heat of the hours where both
sides have data; so it is not always `heat_kwh / electricity_kwh` (those hold everything).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.analytics import HourPair
from heatpump.i18n import _, ngettext
from heatpump.timeutil import bucket_floor, bucket_next

Step = Literal["hour", "day"]
STEPS: tuple[Step, ...] = ("hour", "day")

# (column, unit, meaning): the header and the documentation of the file
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("start_local", "ISO 8601 with offset", "start of the hour or day in HEATPUMP_TZ"),
    ("start_utc", "ISO 8601, Z", "the same instant in UTC"),
    ("end_utc", "ISO 8601, Z", "end of the bucket (exclusive); a day is 23, 24 or 25 h"),
    ("electricity_kwh", "kWh", "all the meter counted (gaps bridged across hours included)"),
    ("heat_kwh", "kWh", "heat delivered, by the best heat method of each hour"),
    ("heat_method", "", "counter, flow, modulation, runtime (estimates), mixed"),
    ("counted_h", "h", "hours in which meter and heat both covered the hour"),
    ("cop", "", "heat over the meter's electricity over the counted hours only"),
    ("outdoor_temp_c", "°C", "mean outdoor temperature of the heat pump's sensor"),
    ("flow_temp_c", "°C", "mean supply (flow) temperature"),
    ("compressor_running_h", "h", "compressor running time by the meter"),
    ("compressor_starts", "", "compressor starts by the meter"),
)
HEADER = tuple(c for c, _u, _m in COLUMNS)


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One bucket; None is a gap (an empty cell)."""

    start: datetime  # UTC
    end: datetime
    electricity_wh: float | None
    heat_wh: float | None
    heat_method: str | None
    counted_h: float
    counted_heat_wh: float
    counted_elec_wh: float
    outdoor_c: float | None
    flow_c: float | None
    running_s: float | None
    starts: float | None

    @property
    def cop(self) -> float | None:
        return (self.counted_heat_wh / self.counted_elec_wh
                if self.counted_h > 0 and self.counted_elec_wh > 0 else None)


def buckets(start: datetime, end: datetime, step: Step, tz: ZoneInfo
            ) -> list[tuple[datetime, datetime]]:
    """Every local hour or day of [start, end): the rows of the file, gaps included; the
    last one ends at `end` (a day in progress is cut at its last complete hour)."""
    out = []
    t = bucket_floor(start, step, tz)
    while t < end:
        n = bucket_next(t, step, tz)
        out.append((t, min(n, end)))
        t = n
    return out


def _sum(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) if found else None


def _mean_in(a: datetime, b: datetime, means: Mapping[datetime, float]) -> float | None:
    vals = [v for t, v in means.items() if a <= t < b]
    return sum(vals) / len(vals) if vals else None


def rows(pairs: Sequence[HourPair], outdoor_c: Mapping[datetime, float],
         flow_c: Mapping[datetime, float], start: datetime, end: datetime, step: Step,
         tz: ZoneInfo) -> list[ExportRow]:
    """One row per local hour or day of [start, end).

    `pairs`: the paired energy (hours, or whole days where both sides covered them);
    `outdoor_c`/`flow_c`: hourly means keyed by the hour's UTC start (hours without data
    absent). A bucket's temperature is the mean of its hourly means."""
    out = []
    for a, b in buckets(start, end, step, tz):
        inside = [p for p in pairs if a <= p.start and p.end <= b]
        counted = [p for p in inside if p.counted]
        meter = [p for p in inside if p.elec_total_wh is not None]
        methods = {p.method for p in inside if p.method and p.heat_wh is not None}
        out.append(ExportRow(
            start=a, end=b,
            electricity_wh=_sum([p.elec_total_wh for p in inside]),
            heat_wh=_sum([p.heat_wh for p in inside]),
            heat_method=(methods.pop() if len(methods) == 1 else "mixed") if methods else None,
            counted_h=float(sum(p.hours for p in counted)),
            counted_heat_wh=sum(p.heat_wh or 0.0 for p in counted),
            counted_elec_wh=sum(p.elec_wh or 0.0 for p in counted),
            outdoor_c=_mean_in(a, b, outdoor_c), flow_c=_mean_in(a, b, flow_c),
            running_s=sum(p.running_s for p in meter) if meter else None,
            starts=sum(p.starts for p in meter) if meter else None))
    return out


def _iso_utc(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def to_csv(export_rows: Sequence[ExportRow], tz: ZoneInfo) -> str:
    """The CSV text (comma-separated, a header line, '.' as the decimal mark)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for r in export_rows:
        w.writerow([
            r.start.astimezone(tz).isoformat(), _iso_utc(r.start), _iso_utc(r.end),
            _num(None if r.electricity_wh is None else r.electricity_wh / 1000, 3),
            _num(None if r.heat_wh is None else r.heat_wh / 1000, 3),
            r.heat_method or "", _num(r.counted_h, 0 if r.counted_h.is_integer() else 2),
            _num(r.cop, 2), _num(r.outdoor_c, 1), _num(r.flow_c, 1),
            _num(None if r.running_s is None else r.running_s / 3600, 2),
            _num(r.starts, 0)])
    return buf.getvalue()


def file_name(start: datetime, end: datetime, step: Step, tz: ZoneInfo) -> str:
    """'heatpump-2026-10-31-2026-11-29-hour.csv': the local first and last day."""
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    return f"heatpump-{start.astimezone(tz).date()}-{last}-{step}.csv"


def summary_text(export_rows: Sequence[ExportRow], label: str, step: Step) -> str:
    """The caption of /export's document: what it holds, with the gaps counted."""
    n = len(export_rows)
    no_meter = sum(1 for r in export_rows if r.electricity_wh is None)
    no_heat = sum(1 for r in export_rows if r.heat_wh is None)
    what = (ngettext("{n} hour", "{n} hours", n) if step == "hour"
            else ngettext("{n} day", "{n} days", n)).format(n=n)
    return _("Export {period}: {what} as CSV (kWh, °C; local time and UTC); {no_meter} "
             "without meter data, {no_heat} without heat data (empty cells). Columns: "
             "docs/bot.md, /export.").format(period=label, what=what, no_meter=no_meter,
                                             no_heat=no_heat)
