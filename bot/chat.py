"""The bot's commands in a terminal, against the same store: `heatpump chat /jaz 12m`.

The same command table as Telegram (bot/commands.py), without a chat: /alerts shows what the
alert check keeps active, and the commands that act on a Telegram chat (/subscribe,
/unsubscribe, /mute) say so. Without a command it starts an interactive prompt. A chart is
saved as a new PNG file (in <data dir>/charts/ unless --out names a folder) and its path
printed; /live prints a new snapshot whenever it changes
(Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.commands import (
    BY_NAME,
    LIVE_DURATION_S,
    LIVE_INTERVAL_S,
    Context,
    Reply,
    answer,
    live_snapshot,
)
from heatpump.fsutil import write_atomic
from heatpump.i18n import _
from heatpump.settings import Settings
from heatpump.timeutil import utcnow


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true",
                   help=_("read the demo store (<data dir>/demo/, written by `heatpump demo`)"))
    p.add_argument("--out", default=None,
                   help=_("folder for chart PNG and /export CSV files (default: charts go to "
                        "<data dir>/charts/, /export files to the current folder)"))
    p.add_argument("words", metavar="COMMAND", nargs=argparse.REMAINDER,
                   help=_("one command to answer, e.g. /jaz 12m (default: interactive)"))


def chart_path(reply: Reply, out_dir: Path, now: datetime) -> Path:
    """Where a chart reply is saved: `chart-<kind>-<range>-<UTC time to the second>Z.png`
    (kind and range from the chart's own button row, whole words in any language), with
    `-2`, `-3`... when that name exists: a chart never overwrites another."""
    marked = [d for row in reply.buttons for label, d in row if label.startswith("·")]
    stem = re.sub(r"[^a-z0-9]+", "-", marked[0].lower()).strip("-") if marked else "chart"
    stem = f"{stem}-{now.astimezone(UTC):%Y%m%d-%H%M%S}Z"
    path, n = out_dir / f"{stem}.png", 1
    while path.exists():
        n += 1
        path = out_dir / f"{stem}-{n}.png"
    return path


def show(reply: Reply, out_dir: Path, out: TextIO, charts_dir: Path | None = None) -> Path | None:
    """Print a reply; a chart goes to a new PNG file in `charts_dir` (default `out_dir`), a
    document (/export) to a file of its name in `out_dir`, whose path is printed."""
    path = None
    if reply.document is not None:
        name, content = reply.document
        path = out_dir / Path(name).name
        write_atomic(path, content, durable=False)
        print(reply.text + "\n" + _("file saved: {path}").format(path=path), file=out)
    elif reply.photo is not None:
        folder = charts_dir or out_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = chart_path(reply, folder, utcnow())
        write_atomic(path, reply.photo, durable=False)  # private (0600), never half-written
        print(reply.text + "\n" + _("chart saved: {path}").format(path=path), file=out)
    else:
        print(reply.text, file=out)
    if reply.buttons and reply.photo is not None:
        # the buttons mark the chart on show as "· x ·": list only the others
        others = [d for row in reply.buttons for label, d in row if not label.startswith("·")]
        print(_("other charts: {commands}").format(commands=" | ".join(
            "/chart " + d.removeprefix("chart ") for d in others)), file=out)
    return path


def live(ctx: Context, out: TextIO) -> None:
    """/live in a terminal: print the snapshot whenever it changed, as long as in Telegram."""
    last = ""
    end = time.monotonic() + LIVE_DURATION_S
    while True:
        text = live_snapshot(ctx)
        if text != last:
            print(text + "\n", file=out, flush=True)
            last = text
        if time.monotonic() + LIVE_INTERVAL_S > end:
            break
        time.sleep(LIVE_INTERVAL_S)


def run(args: argparse.Namespace, settings: Settings, out: TextIO = sys.stdout,
        inp: TextIO = sys.stdin) -> int:
    from bot.demo_store import open_for

    # charts into the data dir unless told otherwise: never silently into whatever folder
    # (a repository checkout) the command ran in
    out_dir = Path(args.out) if args.out else Path(".")
    charts_dir = Path(args.out) if args.out else settings.data_dir / "charts"
    store = open_for("chat", settings, args.demo)
    if store is None:
        return 1
    with store:
        ctx = Context(store, settings, utcnow)
        if args.words:
            text = as_command(" ".join(args.words))
            reply = answer(text, ctx)
            if reply.failed:  # the store cannot be read: the one line, and exit 1
                print(f"heatpump chat: {reply.text}", file=sys.stderr)
                return 1
            if reply.live:
                with contextlib.suppress(KeyboardInterrupt):
                    live(ctx, out)
                return 0
            show(reply, out_dir, out, charts_dir)
            return 0
        print(_("heatpump chat: type a command (/help), an empty line or Ctrl-D quits."),
              file=out)
        while True:
            print("> ", end="", file=out, flush=True)
            line = inp.readline()
            if not line or not line.strip():
                return 0
            text = as_command(line.strip())
            reply = answer(text, ctx)
            if reply.live:
                try:
                    live(ctx, out)
                except KeyboardInterrupt:
                    print(_("(live stopped)"), file=out)
                continue
            show(reply, out_dir, out, charts_dir)


def as_command(text: str) -> str:
    """"jaz 30d" -> "/jaz 30d": a command name may be typed without its slash in the
    terminal; any other text stays as typed, so free text gets the bot's short hint, as in
    Telegram ("hello" is not "unknown command /hello")."""
    words = text.split()
    if words and not text.startswith("/") and words[0].lower() in BY_NAME:
        return "/" + text
    return text
