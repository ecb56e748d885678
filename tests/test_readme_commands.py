"""README lists every command and option of `heatpump` (issue 19), and no option that is
gone: its "Commands" table is compared with the argparse parsers of heatpump/cli.py, and the
bot's command table with bot/commands.py."""

from __future__ import annotations

import argparse
import re

from bot.commands import COMMANDS as BOT_COMMANDS
from heatpump.cli import COMMANDS, build_parser
from tests.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """The long options of a parser (its --help aside) and its positionals' metavars."""
    names = set()
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        if a.option_strings:
            names.update(o for o in a.option_strings if o.startswith("--"))
        else:
            names.add(a.metavar or a.dest.upper())
    return names


def _rows() -> dict[str, str]:
    """README's Commands table: command name -> the row's first cell."""
    rows = {}
    for line in _section("Commands").splitlines():
        m = re.match(r"\| `heatpump (\w+)([^`]*)`", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_readme_lists_every_command_with_every_option():
    parser = build_parser()
    rows = _rows()
    assert sorted(rows) == sorted(COMMANDS), "README's Commands table vs heatpump/cli.py"
    for name, sub in _subparsers(parser).items():
        usage = rows[name]
        written = set(re.findall(r"--[a-z][a-z-]*", usage))
        options = {o for o in _options(sub) if o.startswith("--")}
        assert written == options, (name, "README", sorted(written), "parser", sorted(options))
        for positional in _options(sub) - options:
            assert positional in usage, (name, positional)
    top = _options(parser) - {"COMMAND"}
    for option in top:  # --version, --env-file: said once below the table
        assert f"`heatpump {option}" in _section("Commands"), option


def test_readme_lists_every_bot_command():
    table = README.split("## What the bot says", 1)[1].split("\n## ", 1)[0]
    for command in BOT_COMMANDS:
        if command.listed:
            assert f"`/{command.name}" in table, command.name


def test_readme_german_examples_are_what_the_bot_says():
    """README's "Language" section quotes real German replies: they must stay the code's."""
    from bot.commands import free_text_hint, terms_lines, usage
    from heatpump import i18n

    section = _section("Language")
    with i18n.using("de"):
        wrong = usage("status", i18n._("/status takes no arguments")).text
        assert wrong == "Entschuldigung: /status nimmt keine Argumente\nAufruf: /status"
        for text in [free_text_hint().text, wrong, *terms_lines()]:
            assert text in section, text
