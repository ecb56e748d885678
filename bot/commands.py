"""One table of commands, answered without Telegram: text in, `Reply` out.

The Telegram handlers and the `heatpump chat` console both go through `answer`, so any
text gets a reply (a short help for anything unknown or malformed), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot import replies
from bot.charts import KINDS, RANGES, ChartError, chart_png, parse_chart_args
from bot.periods import PeriodError
from heatpump.settings import Settings
from heatpump.store.base import Store, StoreError

log = logging.getLogger(__name__)

Button = tuple[str, str]  # (label, callback data)


@dataclass(frozen=True)
class Reply:
    text: str
    photo: bytes | None = None  # PNG; `text` is then its caption
    buttons: tuple[tuple[Button, ...], ...] = ()
    live: bool = False  # the caller should start a /live session


@dataclass(frozen=True)
class Context:
    store: Store
    settings: Settings
    now: Callable[[], datetime]


def usage(problem: str = "") -> Reply:
    head = f"Sorry: {problem}\n\n" if problem else "I did not understand that.\n\n"
    return Reply(head + replies.help_text())


def chart_buttons(kind: str, rng: str) -> tuple[tuple[Button, ...], ...]:
    ranges = tuple((f"· {r} ·" if r == rng else r, f"chart {kind} {r}") for r in RANGES)
    kinds = tuple((f"· {k} ·" if k == kind else k, f"chart {k} {rng}") for k in KINDS)
    return ranges, kinds


def _status(ctx: Context, args: list[str]) -> Reply:
    if args:
        return usage("/status takes no arguments")
    return Reply(replies.status_text(ctx.store, ctx.settings, ctx.now()))


def _jaz(ctx: Context, args: list[str]) -> Reply:
    if len(args) > 1:
        return usage("/jaz takes one period, e.g. /jaz 12m or /jaz 2025-11")
    try:
        return Reply(replies.jaz_text(ctx.store, ctx.settings, args[0] if args else "",
                                      ctx.now()))
    except PeriodError as exc:
        return usage(str(exc))


def _chart(ctx: Context, args: list[str]) -> Reply:
    try:
        kind, rng = parse_chart_args(args)
    except ChartError as exc:
        return usage(str(exc))
    png, caption = chart_png(ctx.store, kind, rng, ctx.now(), ctx.settings.tz)
    return Reply(caption, photo=png, buttons=chart_buttons(kind, rng))


def _live(ctx: Context, args: list[str]) -> Reply:
    if args:
        return usage("/live takes no arguments")
    return Reply(replies.live_text(ctx.store, ctx.settings, ctx.now()),
                 buttons=((("stop", "live stop"),),), live=True)


def _help(ctx: Context, args: list[str]) -> Reply:
    return Reply(replies.help_text())


def _start(ctx: Context, args: list[str]) -> Reply:
    return Reply(replies.start_text())


COMMANDS: dict[str, Callable[[Context, list[str]], Reply]] = {
    "start": _start,
    "help": _help,
    "status": _status,
    "jaz": _jaz,
    "chart": _chart,
    "live": _live,
}


def split_command(text: str) -> tuple[str | None, list[str]]:
    """'/jaz@MyBot 12m' -> ('jaz', ['12m']); non-commands -> (None, [])."""
    parts = (text or "").split()
    if not parts or not parts[0].startswith("/"):
        return None, []
    name = parts[0][1:].split("@", 1)[0].lower()
    return name, parts[1:]


def answer(text: str, ctx: Context) -> Reply:
    """Reply to one message text; unknown input gets the help, a store outage a clear line."""
    name, args = split_command(text)
    handler = COMMANDS.get(name or "")
    if handler is None:
        return usage(f"unknown command /{name}" if name else "")
    try:
        return handler(ctx, args)
    except StoreError as exc:
        log.warning("store unavailable for /%s: %s", name, exc)
        return Reply(f"The store cannot be read right now ({exc}). Try again later.")


def answer_callback(data: str, ctx: Context) -> Reply | None:
    """Reply to an inline button ("chart <kind> <range>"); None for unknown data."""
    parts = (data or "").split()
    if len(parts) == 3 and parts[0] == "chart" and parts[1] in KINDS and parts[2] in RANGES:
        return _chart(ctx, parts[1:])
    return None
