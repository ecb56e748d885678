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
from heatpump.cli_texts import COMMAND_HELP, DESCRIPTIONS, early_language, install_argparse_texts
from heatpump.fsutil import make_private
from heatpump.i18n import _, set_language
from heatpump.logs import error_line, setup_logging
from heatpump.settings import Settings, SettingsError
from heatpump.store.base import StoreError

#: name -> module (its help texts: heatpump.cli_texts)
COMMANDS: dict[str, str] = {
    "demo": "simhouse.demo_cmd",
    "collect": "collector.collect_cmd",
    "replay": "collector.replay_cmd",
    "doctor": "collector.doctor",
    "backfill": "collector.backfill_cmd",
    "bot": "bot.run",
    "chat": "bot.chat",
    "alerts": "bot.alerts.cli",
    "export": "bot.export_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heatpump",
        description=_("Measure how well your Viessmann heat pump really works."),
    )
    parser.add_argument("--version", action="version", version=f"heatpump-monitor {__version__}",
                        help=_("show the version and exit"))
    parser.add_argument("--env-file", default=".env",
                        help=_("read settings from this file too (default: .env, if present)"))
    sub = parser.add_subparsers(dest="command", metavar=_("COMMAND"))
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=COMMAND_HELP[name](), description=DESCRIPTIONS[name]())
        module.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # The help texts are in the owner's language, so it is known before the parsers exist
    # (the settings, validated below, may be invalid: `--help` must work anyway).
    set_language(early_language(sys.argv[1:] if argv is None else argv))
    install_argparse_texts()
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
    module = importlib.import_module(COMMANDS[args.command])
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
