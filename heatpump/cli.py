"""The `heatpump` command: one console script, one subcommand per job.

Each subcommand lives in its own module with `add_arguments(parser)` and
`run(args, settings) -> int`; modules are imported only when their command runs, so
`heatpump --help` stays fast and a broken optional part cannot stop the others.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from heatpump import __version__
from heatpump.fsutil import make_private
from heatpump.i18n import set_language
from heatpump.logs import error_line, setup_logging
from heatpump.settings import Settings, SettingsError
from heatpump.store.base import StoreError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("simhouse.demo_cmd", "simulate a heat pump and fill a demo store; no devices needed"),
    "collect": ("collector.collect_cmd", "poll the meter and the heat pump into the store"),
    "replay": ("collector.replay_cmd",
               "run a recording (collect --record) or dumps through the collector again"),
    "doctor": ("collector.doctor", "check settings, devices and store; say what to fix"),
    "backfill": ("collector.backfill_cmd",
                 "import the heat pump's own memory of its energy (days, months, years)"),
    "bot": ("bot.run", "run the Telegram bot"),
    "chat": ("bot.chat", "the bot's commands in a terminal (heatpump chat /jaz 12m)"),
    "alerts": ("bot.alerts.cli", "check the alert rules now, or replay a period (--replay 14d)"),
    "export": ("bot.export_cmd", "energy, COP and temperatures per hour or day as CSV"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heatpump",
        description="Measure how well your Viessmann heat pump really works.",
    )
    parser.add_argument("--version", action="version", version=f"heatpump-monitor {__version__}")
    parser.add_argument("--env-file", default=".env",
                        help="read settings from this file too (default: .env, if present)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env(env_file=args.env_file)
    except SettingsError as exc:
        print(f"heatpump: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.secrets())
    set_language(settings.lang)
    for warning in settings.warnings:  # e.g. a misspelt variable: shown by every command
        logging.getLogger("heatpump.settings").warning("%s", warning)
    # Everything a command creates is its owner's only (the data dir holds tokens, chat ids
    # and the measurements), and a data dir from before this rule is made private too.
    os.umask(0o077)
    if make_private(settings.data_dir):
        logging.getLogger("heatpump.cli").info("made the data dir %s private (0700)",
                                               settings.data_dir)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except (StoreError, OSError) as exc:
        # The last catch: a store that cannot be opened or read, a file that cannot be
        # written. One line and exit 1, never a traceback (a crash loop in Docker shows it
        # at every restart); secrets are masked as in the log.
        print(f"heatpump {args.command}: {error_line(exc, settings.secrets())}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
