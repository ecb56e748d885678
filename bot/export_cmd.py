"""`heatpump export --from 2026-11-01 --to 2026-11-30 --step hour|day [--out FILE]`: the
measured energy, COP and temperatures as CSV, one row per local hour or day.

Both days are local calendar days of HEATPUMP_TZ, `--to` included; the range ends at the
last complete hour at the latest. Every hour or day of the range has a row; a gap is an
empty cell, never 0. The columns, with their units, are in docs/bot.md ("/export") and in
bot/export.py. Without `--out` (or with `--out -`) the CSV goes to standard output.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot import export, store_reads
from heatpump.fsutil import write_atomic
from heatpump.i18n import _, ngettext
from heatpump.settings import Settings
from heatpump.timeutil import _local_to_utc, bucket_floor, utcnow


class ExportArgsError(ValueError):
    """--from/--to that cannot be used (the message says why)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD",
                   help=_("first local day"))
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                   help=_("last local day, included (default: today)"))
    p.add_argument("--step", choices=export.STEPS, default="hour",
                   help=_("one row per local hour (default) or day"))
    p.add_argument("--out", default="-", help=_("CSV file to write (default: standard output)"))
    p.add_argument("--demo", action="store_true",
                   help=_("read the demo store (<data dir>/demo/, written by `heatpump demo`)"))


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ExportArgsError(_("{option} {text!r} is not a day; use YYYY-MM-DD, e.g. "
                                "2026-11-01").format(option=what, text=text)) from None


def export_range(date_from: str, date_to: str | None, now: datetime, settings: Settings
                 ) -> tuple[datetime, datetime]:
    """[start, end) in UTC: local midnight of --from to local midnight after --to, cut at
    the last complete hour. ExportArgsError when the range is empty or reversed (naming
    only the options that were given: a --from in the future is not "after --to")."""
    tz = settings.tz
    first = _day(date_from, "--from")
    today = now.astimezone(tz).date()
    if first > today:
        raise ExportArgsError(_("--from {first} lies in the future (today is {today})"
                                ).format(first=first, today=today))
    last = _day(date_to, "--to") if date_to else today
    if last < first:
        raise ExportArgsError(_("--to {last} lies before --from {first}").format(
            last=last, first=first))
    start = _local_to_utc(datetime(first.year, first.month, first.day), tz)
    after = last + timedelta(days=1)
    end = min(_local_to_utc(datetime(after.year, after.month, after.day), tz),
              bucket_floor(now, "hour", tz))
    if end <= start:
        raise ExportArgsError(_("{first} has no complete hour yet").format(first=first))
    return start, end


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout) -> int:
    from bot.demo_store import open_for

    try:
        start, end = export_range(args.date_from, args.date_to, utcnow(), settings)
    except ExportArgsError as exc:
        print(f"heatpump export: {exc}", file=sys.stderr)
        return 2
    store = open_for("export", settings, args.demo)
    if store is None:
        return 1
    with store:
        data = store_reads.export_data(store, start, end, settings.tz, args.step)
    rows = export.rows(data.pairs, data.outdoor_c, data.flow_c, start, end, args.step,
                       settings.tz)
    text = export.to_csv(rows, settings.tz)
    if args.out == "-":
        out.write(text)
        return 0
    write_atomic(Path(args.out), text)
    print(ngettext("wrote {n} row ({step}) to {path}", "wrote {n} rows ({step}) to {path}",
                   len(rows)).format(n=len(rows), step=args.step, path=args.out),
          file=sys.stderr)
    return 0
