"""Check the alert rules from a terminal: what would the bot send now, or over a period?

Without options it evaluates now against the store, with a scratch state (the running
bot's state and subscribers are not touched), and prints the messages. --replay 14d (or
--replay all) steps through a stored period; with --demo it reads the demo store, e.g. after
`heatpump demo --scenario meter-outage`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from bot.alerts.commands import parse_duration
from bot.alerts.replay import print_replay
from heatpump.settings import Settings
from heatpump.timeutil import utcnow


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help="read the demo store (<data dir>/demo/, written by `heatpump demo`)")
    p.add_argument("--replay", metavar="PERIOD", default=None,
                   help="replay the last PERIOD (e.g. 14d, 48h) or 'all' stored data")
    p.add_argument("--step", metavar="DURATION", default="15m",
                   help="time between checks in a replay (default 15m)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.fmt import store_error_line
    from heatpump.store import StoreError, open_store

    try:
        step = parse_duration(args.step)
        period = (None if args.replay in (None, "all")
                  else parse_duration(args.replay, maximum=timedelta(days=3660)))
    except ValueError as exc:
        print(f"heatpump alerts: {exc}", file=sys.stderr)
        return 2
    try:
        with open_store(settings, demo=args.demo) as store:
            now = utcnow()
            if args.replay is None:
                print_replay(store, settings, sys.stdout, start=now, end=now, step=step)
            elif period is None:  # all stored data, up to now
                print_replay(store, settings, sys.stdout, step=step, now=now)
            else:
                print_replay(store, settings, sys.stdout, start=now - period, end=now,
                             step=step)
    except (StoreError, OSError) as exc:
        # a store that cannot be opened or read (damaged, no permission, InfluxDB down)
        print(f"heatpump alerts: {store_error_line(exc)}",
              file=sys.stderr)
        return 1
    return 0

