"""The texts of `heatpump --help` and of argparse's own messages, in the owner's language.

The parsers are built before the settings are read (a `--help` must work without valid
settings), so `heatpump.cli` sets the language first from `early_language()`: HEATPUMP_LANG
from the environment, else from the --env-file / .env, the same order Settings uses. A value
Settings would refuse is ignored here (English); Settings reports it afterwards as before.

argparse words its own lines ("usage:", "options", "the following arguments are required")
through `gettext`; `install_argparse_texts()` points argparse at `argparse_text()`, which
looks them up here. Their msgids are argparse's own (printf-style placeholders), so they
match what argparse asks for.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from heatpump.i18n import _, check_language

#: name -> one-line help (the list of `heatpump --help`), in the language of the moment
COMMAND_HELP: dict[str, Callable[[], str]] = {
    "demo": lambda: _("simulate a heat pump and fill a demo store; no devices needed"),
    "collect": lambda: _("poll the meter and the heat pump into the store"),
    "replay": lambda: _("run a recording (collect --record) or dumps through the collector "
                        "again"),
    "doctor": lambda: _("check settings, devices and store; say what to fix"),
    "backfill": lambda: _("import the heat pump's own memory of its energy (days, months, "
                          "years)"),
    "bot": lambda: _("run the Telegram bot"),
    "chat": lambda: _("the bot's commands in a terminal (heatpump chat /jaz 12m)"),
    "alerts": lambda: _("check the alert rules now, or replay a period (--replay 14d)"),
    "export": lambda: _("energy, COP and temperatures per hour or day as CSV"),
}

#: name -> the description of `heatpump NAME --help` (the module docstrings say the same for
#: programmers, with the modules involved)
DESCRIPTIONS: dict[str, Callable[[], str]] = {
    "demo": lambda: _(
        "Try everything without a heat pump: simulate a house, a heat pump and its meter. "
        "`heatpump demo` simulates the last 30 days (or --days) of a house whose Shelly meter "
        "and Viessmann heat pump answer as the real devices do. Those answers go through the "
        "same collector and store a real installation uses, into a separate demo store "
        "(<data dir>/demo/, never your real data). It then prints electricity in, heat out "
        "and the JAZ, next to the simulator's exact truth."),
    "collect": lambda: _(
        "Poll the meter and the heat pump and store what they say, until stopped. Outages of "
        "the store, the meter or the Viessmann cloud are ridden out (data is kept and "
        "written later); Ctrl-C or SIGTERM stop it within seconds without losing data. See "
        "docs/collector.md."),
    "replay": lambda: _(
        "Run what devices once answered through the collector again. DIR is a recording "
        "(heatpump collect --record DIR or heatpump demo --record DIR) or a folder of "
        "Viessmann dumps with times. The answers go into a separate store (<data "
        "dir>/replay/, recreated on every run); then a summary: energy per side, heat "
        "method, JAZ, hours covered and the warnings of the run."),
    "doctor": lambda: _(
        "Check the settings, reach each configured source and the store, and say what to "
        "fix. Exit code 1 when something is wrong. Viessmann calls made here count against "
        "the same daily quota as the collector's."),
    "backfill": lambda: _(
        "Import what the devices remember of their energy: the heat pump's days (last 8), "
        "months (last 13) and years, and the meter's per-minute records where it keeps "
        "them. Running it again overwrites the same periods (nothing doubles). It costs one "
        "Viessmann API call per device (none with VICARE_DUMP). See docs/backfill.md."),
    "bot": lambda: _(
        "Run the Telegram bot: its commands and the alert check. Needs TELEGRAM_BOT_TOKEN "
        "and TELEGRAM_ALLOWED_CHAT_IDS; other chats are told their id and refused."),
    "chat": lambda: _(
        "The bot's commands in a terminal, against the same store: heatpump chat /jaz 12m. "
        "Without a command it starts an interactive prompt. A chart is saved as a PNG file "
        "and its path printed; /live prints a new snapshot whenever it changes (Ctrl-C stops "
        "it)."),
    "alerts": lambda: _(
        "Check the alert rules from a terminal: what would the bot send now, or over a "
        "period? Without options it checks now and prints the messages (the running bot is "
        "not touched); --replay 14d (or --replay all) steps through a stored period; with "
        "--demo it reads the demo store."),
    "export": lambda: _(
        "The measured energy, COP and temperatures as CSV, one row per local hour or day, "
        "from --from to --to (local days, both included). Every hour or day has a row; a "
        "gap is an empty cell, never 0. The columns are in docs/bot.md (/export)."),
}


def argparse_texts() -> dict[str, str]:
    """argparse's own msgids -> the text in the current language."""
    return {
        "usage: ": _("usage: "),
        "positional arguments": _("positional arguments"),
        "options": _("options"),
        "show this help message and exit": _("show this help message and exit"),
        "%(prog)s: error: %(message)s\n": _("%(prog)s: error: %(message)s\n"),
        "argument %(argument_name)s: %(message)s": _("argument %(argument_name)s: %(message)s"),
        "the following arguments are required: %s": _("the following arguments are "
                                                      "required: %s"),
        "unrecognized arguments: %s": _("unrecognized arguments: %s"),
        "invalid choice: %(value)r (choose from %(choices)s)": _(
            "invalid choice: %(value)r (choose from %(choices)s)"),
        "invalid %(type)s value: %(value)r": _("invalid %(type)s value: %(value)r"),
        "expected one argument": _("expected one argument"),
        "ambiguous option: %(option)s could match %(matches)s": _(
            "ambiguous option: %(option)s could match %(matches)s"),
    }


def argparse_text(msgid: str) -> str:
    """argparse's `msgid` in the current language (unknown ones stay as argparse has them)."""
    return argparse_texts().get(msgid, msgid)


def install_argparse_texts() -> None:
    """Make argparse word its own lines through `argparse_text` (argparse looks up its
    module-level `_` at each call)."""
    argparse._ = argparse_text  # type: ignore[attr-defined]


def env_file_argument(argv: Sequence[str]) -> str:
    """The value of `--env-file` in `argv` ('.env' without one). A plain scan, not a parser:
    a malformed command line is for the real parser to report, in the language found."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--env-file="):
            return arg.split("=", 1)[1]
        if arg == "--env-file" and i + 1 < len(args):
            return args[i + 1]
    return ".env"


def early_language(argv: Sequence[str], environ: dict[str, str] | None = None) -> str:
    """HEATPUMP_LANG before the settings are read: the environment, else the --env-file
    named in `argv` (default .env) when it exists; 'en' when unset or not a language."""
    env = os.environ if environ is None else environ
    raw = env.get("HEATPUMP_LANG", "").strip()
    if not raw:
        path = Path(env_file_argument(argv))
        if path.is_file():
            from dotenv import dotenv_values

            raw = (dotenv_values(path).get("HEATPUMP_LANG") or "").strip()
    try:
        return check_language(raw) if raw else "en"
    except ValueError:
        return "en"
