"""Import what the devices remember of their energy into the store: the heat pump's days,
months and years, and the meter's per-minute records.

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
VICARE_DUMP it reads the dump and costs nothing.

With a meter configured (SHELLY_URL) that keeps per-minute records (Pro 3EM, Pro EM), the
command also imports those from the meter's oldest record up to the collector's first own
reading (collector/meter_history.py), with a progress bar on stderr; an interrupted import
continues where it stopped, a second run imports nothing again. See docs/backfill.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from collector.vicare.history import DeviceEnergy
from heatpump.i18n import _, period_count
from heatpump.settings import MeterSpec, Settings

NOT_CONFIGURED = ("heatpump backfill: no device configured: set VICARE_USERNAME, "
                  "VICARE_PASSWORD and VICARE_CLIENT_ID (or VICARE_DUMP) for the heat pump, "
                  "SHELLY_URL for the meter; see README, Set up your system")


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options: one call per device, everything the device remembers


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.vicare_enabled and not settings.meters:
        print(NOT_CONFIGURED, file=sys.stderr)
        return 2
    failed = False
    if settings.vicare_enabled:
        failed = heatpump_history(settings) != 0
    for spec in settings.meters:  # each meter's own records (SHELLY_METERS or SHELLY_URL)
        failed = meter_records(settings, spec=spec) != 0 or failed
    return 1 if failed else 0


def heatpump_history(settings: Settings) -> int:
    """The heat pump's own days, months and years (one API call per device)."""
    from collector.points import device_energy_points
    from collector.service import RealClock
    from collector.sink import DurableSink
    from collector.spool import Spool
    from collector.wiring import Context, vicare_reader
    from heatpump.store import open_store

    reader = vicare_reader(Context(settings, RealClock(), Path(settings.data_dir)))
    budget = settings.vicare_daily_budget
    if reader.guard is not None:
        print("heatpump backfill: " + _(
            "one Viessmann API call per heat pump (counted against VICARE_DAILY_BUDGET: "
            "{used} of {budget} used in the last 24 h)").format(
                used=reader.guard.used_24h(reader.clock()), budget=budget), file=sys.stderr)
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
        print("heatpump backfill: " + _("the heat pump reports no energy history (no "
                                        "heating.power.consumption or heating.heat.production "
                                        "features)"))
    return 1 if failures else 0


def meter_records(settings: Settings, client: Any = None, now: datetime | None = None,
                  spec: MeterSpec | None = None) -> int:
    """A meter's per-minute records before the collector's first reading, with a progress
    bar on stderr (log lines are printed above it, not through it). `spec` is the meter
    (default: the one at SHELLY_URL); its points carry its role like the collector's.
    `client` replaces the one the settings describe and `now` the clock (tests: a stand-in
    meter)."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from collector.meter_history import import_meter_records
    from collector.points import with_role
    from collector.shelly.client import ShellyClient
    from collector.shelly.errors import ShellyError
    from collector.sink import DurableSink
    from collector.spool import Spool
    from heatpump.store import open_store
    from heatpump.store.base import StoreError
    from heatpump.timeutil import utcnow

    spec = spec or settings.meters[0]
    client = client or ShellyClient(spec.url, username=settings.shelly_username,
                                    password=settings.shelly_password, channel=spec.channel,
                                    timeout_s=settings.shelly_timeout_seconds)
    store = open_store(settings)
    sink = DurableSink(store, Spool(settings.data_dir / "spool",
                                    int(settings.spool_max_mb * 1e6)), lambda: 0.0)
    bar = tqdm(total=0, unit="min", desc=_("meter records ({role})").format(role=spec.role),
               file=sys.stderr, leave=False, disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        with logging_redirect_tqdm():
            result = import_meter_records(
                client, store, lambda points: sink.write(with_role(points, spec.role)),
                now or utcnow(), progress)
    except (ShellyError, StoreError) as exc:
        print("heatpump backfill: " + _("meter: {error} (what was imported is kept; run it "
                                        "again to continue)").format(error=exc),
              file=sys.stderr)
        return 1
    finally:
        bar.close()
        sink.close()
        client.close()
    print(result.line())
    return 0


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
                counts.append(period_count(period, n))
        first = min(r.start for r in rs if r.period != "year") if any(
            r.period != "year" for r in rs) else min(r.start for r in rs)
        lines.append(_("imported {device} {kind} ({circuits}): {counts} (since {first}), "
                       "the device's own figures").format(
                           device=device, kind=kind_text(kind), circuits=circuits,
                           counts=", ".join(counts), first=f"{first:%d.%m.%Y}"))
    return lines


def kind_text(kind: str) -> str:
    """The device_energy `kind` tag (electricity, heat) in the current language."""
    return {"electricity": _("electricity"), "heat": _("heat")}.get(kind, kind)
