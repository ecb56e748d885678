"""The bot's commands in a terminal, against the same store: `heatpump chat /jaz 12m`.

Without a command it starts an interactive prompt. A chart is saved as a PNG file and its
path printed; /live prints a new snapshot whenever it changes (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot import replies
from bot.alerts.commands import COMMAND_HELP as ALERT_COMMAND_HELP
from bot.commands import Context, Reply, answer, split_command
from heatpump.settings import Settings
from heatpump.timeutil import utcnow


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help="read the demo store (<data dir>/demo/, written by `heatpump demo`)")
    p.add_argument("--out", default=".", help="folder for chart PNG files (default: .)")
    p.add_argument("words", metavar="COMMAND", nargs=argparse.REMAINDER,
                   help="one command to answer, e.g. /jaz 12m (default: interactive)")


ALERT_COMMANDS = frozenset(name for name, _ in ALERT_COMMAND_HELP)


def console_answer(text: str, ctx: Context) -> Reply:
    """`answer`, plus the alert commands: /alerts shows what the bot's alert check keeps
    active; subscribing and muting belong to a Telegram chat, and say so."""
    name, _args = split_command(text)
    if name == "alerts":
        from bot.alerts import persist
        from bot.alerts.commands import console_overview
        from bot.alerts.service import state_dir

        state = persist.load_state(state_dir(ctx.settings, ctx.store))
        return Reply(console_overview(state, ctx.settings,
                                      ctx.now(), ctx.settings.tz))
    if name in ALERT_COMMANDS:
        return Reply(f"/{name} works in Telegram only: alerts go to subscribed Telegram chats, "
                     f"so send /{name} to the bot there. Here, /alerts shows what is active.")
    return answer(text, ctx)


def show(reply: Reply, out_dir: Path, out: TextIO) -> Path | None:
    """Print a reply; a chart goes to a PNG file whose path is printed."""
    path = None
    if reply.photo is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^a-z0-9]+", "-", reply.text.lower()).strip("-")[:60] or "chart"
        path = out_dir / f"{name}.png"
        path.write_bytes(reply.photo)
        print(f"{reply.text}\nchart saved: {path}", file=out)
    else:
        print(reply.text, file=out)
    if reply.buttons and reply.photo is not None:
        # the buttons mark the chart on show as "· x ·": list only the others
        others = [d for row in reply.buttons for label, d in row if not label.startswith("·")]
        print("other charts: " + " | ".join("/chart " + d.removeprefix("chart ")
                                             for d in others), file=out)
    return path


def live(ctx: Context, out: TextIO, interval_s: float = 15.0, duration_s: float = 600.0,
         sleep: Callable[[float], None] = time.sleep) -> None:
    last = ""
    end = time.monotonic() + duration_s
    while True:
        text = replies.live_text(ctx.store, ctx.settings, ctx.now())
        if text != last:
            print(text + "\n", file=out, flush=True)
            last = text
        if time.monotonic() + interval_s > end:
            break
        sleep(interval_s)


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout,
        inp: TextIO = sys.stdin) -> int:
    from heatpump.store import open_store

    out_dir = Path(args.out)
    with open_store(settings, demo=args.demo) as store:
        ctx = Context(store, settings, utcnow)
        if args.words:
            text = " ".join(args.words)
            if not text.startswith("/"):
                text = "/" + text
            reply = console_answer(text, ctx)
            if reply.live:
                with contextlib.suppress(KeyboardInterrupt):
                    live(ctx, out)
                return 0
            show(reply, out_dir, out)
            return 0
        print("heatpump chat: type a command (/help), an empty line or Ctrl-D quits.", file=out)
        while True:
            print("> ", end="", file=out, flush=True)
            line = inp.readline()
            if not line or not line.strip():
                return 0
            text = line.strip()
            if not text.startswith("/"):
                text = "/" + text
            reply = console_answer(text, ctx)
            if reply.live:
                try:
                    live(ctx, out)
                except KeyboardInterrupt:
                    print("(live stopped)", file=out)
                continue
            show(reply, out_dir, out)
