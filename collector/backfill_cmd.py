"""Import what the heat pump remembers of its energy (days, months, years) into the store.

The heat pump keeps its own energy per day (last 8 days), month (last 13 months) and year
(this and last), for electricity and, where it has them, heat. This command asks each
selected device once and stores those figures as the `device_energy` measurement: the
device's own basis, shown by /jaz beside (never mixed into) the metered figures. Running
it again overwrites the same periods (nothing doubles).

The collector does the same by itself on its first poll after every start and once a day
after (from the answer it fetches anyway, at no extra call); this command is for a store
that had no collector running, or to refresh now. It costs ONE Viessmann API call per
device, counted against VICARE_DAILY_BUDGET through the same guard and ledger as the
collector's (refused when the budget is spent or the account is blocked); with
VICARE_DUMP it reads the dump and costs nothing. See docs/backfill.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from collector.vicare.history import DeviceEnergy
from heatpump.settings import Settings

NOT_CONFIGURED = ("heatpump backfill: no heat pump configured: set VICARE_USERNAME, "
                  "VICARE_PASSWORD and VICARE_CLIENT_ID (or VICARE_DUMP); see README, "
                  "Set up your system")


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options: one call per device, everything the device remembers


def run(args: argparse.Namespace, settings: Settings) -> int:
    from collector.points import device_energy_points
    from collector.service import RealClock
    from collector.sink import DurableSink
    from collector.spool import Spool
    from collector.wiring import Context, vicare_reader
    from heatpump.store import open_store

    if not settings.vicare_enabled:
        print(NOT_CONFIGURED, file=sys.stderr)
        return 2
    reader = vicare_reader(Context(settings, RealClock(), Path(settings.data_dir)))
    budget = settings.vicare_daily_budget
    if reader.guard is not None:
        print(f"heatpump backfill: one Viessmann API call per heat pump (counted against "
              f"VICARE_DAILY_BUDGET: {reader.guard.used_24h(reader.clock())} of {budget} "
              "used in the last 24 h)", file=sys.stderr)
    records, failures = reader.fetch_history()
    points = reader.take_calls() + device_energy_points(records, settings.tz)
    sink = DurableSink(open_store(settings), Spool(settings.data_dir / "spool",
                                                   int(settings.spool_max_mb * 1e6)),
                       lambda: 0.0)
    sink.write(points)  # spooled if the store is down: the collector writes it later
    sink.close()
    for line in summary_lines(records):
        print(line)
    for device, err in sorted(failures.items()):
        print(f"heatpump backfill: {device}: {err.reason}: {err.detail}", file=sys.stderr)
    if not records and not failures:
        print("heatpump backfill: the heat pump reports no energy history (no "
              "heating.power.consumption or heating.heat.production features)")
    return 1 if failures else 0


def summary_lines(records: list[DeviceEnergy]) -> list[str]:
    """One line per device and kind: how many days, months and years were stored and
    from when, e.g. 'imported 7571381681420106-0 electricity (total, heating, dhw): 8 days,
    13 months, 2 years (since 01.10.2024)'."""
    by: dict[tuple[str, str], list[DeviceEnergy]] = defaultdict(list)
    for r in records:
        by[(r.device, r.kind)].append(r)
    lines = []
    for (device, kind), rs in sorted(by.items()):
        circuits = ", ".join(dict.fromkeys(r.circuit for r in rs))
        counts = []
        for period in ("day", "month", "year"):
            n = len({r.start for r in rs if r.period == period})
            if n:
                counts.append(f"{n} {period}{'s' if n != 1 else ''}")
        first = min(r.start for r in rs if r.period != "year") if any(
            r.period != "year" for r in rs) else min(r.start for r in rs)
        lines.append(f"imported {device} {kind} ({circuits}): {', '.join(counts)} "
                     f"(since {first:%d.%m.%Y}), the device's own figures")
    return lines
