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

from bot.alerts.commands import MAX_MUTE, parse_duration
from bot.alerts.replay import print_replay
from heatpump.i18n import _
from heatpump.settings import Settings
from heatpump.timeutil import utcnow


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help=_("read the demo store (<data dir>/demo/, written by `heatpump demo`)"))
    p.add_argument("--replay", metavar="PERIOD", default=None,
                   help=_("replay the last PERIOD (e.g. 14d, 48h) or 'all' stored data"))
    p.add_argument("--step", metavar="DURATION", default="15m",
                   help=_("time between checks in a replay (default 15m)"))


#: The longest --replay (the stores keep at most ten years worth asking for) and --step.
REPLAY_MAX = timedelta(days=3660)
STEP_MAX = MAX_MUTE


def parse_args(replay: str | None, step: str) -> tuple[timedelta | None, timedelta]:
    """(--replay as a duration, None for 'all' or no replay; --step). ValueError with the
    real limits of the option that is wrong (parse_duration's own message speaks of /mute)."""
    try:
        period = (None if replay in (None, "all")
                  else parse_duration(replay, maximum=REPLAY_MAX))
    except ValueError:
        raise ValueError(_("--replay {text!r}: give a duration more than 0 and at most "
                           "{max_days} days, e.g. 14d, 48h or 1w, or 'all' for all stored "
                           "data").format(text=replay, max_days=REPLAY_MAX.days)) from None
    try:
        every = parse_duration(step, maximum=STEP_MAX)
    except ValueError:
        raise ValueError(_("--step {text!r}: give a time between checks more than 0 and at "
                           "most {max_days} days, e.g. 15m (the default) or 1h").format(
                               text=step, max_days=STEP_MAX.days)) from None
    return period, every


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo_store import demo_missing
    from bot.fmt import store_error_line
    from heatpump.store import StoreError, open_store

    try:
        period, step = parse_args(args.replay, args.step)
    except ValueError as exc:
        print(f"heatpump alerts: {exc}", file=sys.stderr)
        return 2
    if args.demo and (missing := demo_missing(settings)):
        print(f"heatpump alerts: {missing}", file=sys.stderr)
        return 1
    try:
        with open_store(settings, demo=args.demo) as store:
            now = utcnow()
            if args.replay is None:
                print_replay(store, settings, sys.stdout, start=now, end=now, step=step,
                             now=now)
            elif period is None:  # all stored data, up to now
                print_replay(store, settings, sys.stdout, step=step, now=now)
            else:
                print_replay(store, settings, sys.stdout, start=now - period, end=now,
                             step=step, now=now)
    except (StoreError, OSError) as exc:
        # a store that cannot be opened or read (damaged, no permission, InfluxDB down)
        print(f"heatpump alerts: {store_error_line(exc)}",
              file=sys.stderr)
        return 1
    return 0

