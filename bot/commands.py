"""The one command table: every command the bot answers, in Telegram and in `heatpump chat`.

Each row (`Command`) holds a command's name, its short help and usage (what /help and
Telegram's command menu show), whether it acts on a Telegram chat, and its handler: a
function `(args, ctx) -> Reply` that reads through bot.store_reads and builds the answer
with the pure bot.replies, bot.charts or bot.alerts.commands, without Telegram. The Telegram
app (bot/telegram_app.py) registers one CommandHandler per row and the console (bot/chat.py)
calls `answer`, as tests do; so any text gets the same reply everywhere (a short hint for
free text, the list of commands for an unknown one, the command's usage line for a wrong
argument), never a traceback. Texts are in the owner's language (heatpump.i18n).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot import (
    changes,
    charts,
    compare,
    costs,
    device_basis,
    export,
    replies,
    reports,
    store_reads,
)
from bot.alerts import commands as alert_commands
from bot.alerts import persist
from bot.alerts.persist import Subscribers
from bot.charts import KINDS, RANGES, Chart, ChartError, parse_chart_args
from bot.periods import PeriodError, parse_period
from heatpump.i18n import _
from heatpump.live import LIVE_WAIT_S, answered, live_wanted, request_live
from heatpump.settings import Settings
from heatpump.store.base import Store, StoreError

log = logging.getLogger(__name__)

Button = tuple[str, str]  # (label, callback data)
# /live: one message edited every 15 s for 10 minutes (well inside Telegram's edit limits of
# about one edit per second and chat); the console prints a snapshot at the same pace.
LIVE_INTERVAL_S = 15.0
LIVE_DURATION_S = 600.0


@dataclass(frozen=True)
class Reply:
    text: str
    photo: bytes | None = None  # PNG; `text` is then its caption
    buttons: tuple[tuple[Button, ...], ...] = ()
    live: bool = False  # the caller should start a /live session
    failed: bool = False  # the store could not be read: `text` says so (`heatpump chat` exits 1)
    document: tuple[str, bytes] | None = None  # (file name, content); `text` is its caption


@dataclass(frozen=True)
class Chat:
    """The Telegram chat a message came from, and the alert subscriptions it acts on (the
    running bot's own `Subscribers`, which its alert check reads)."""

    id: int
    subscribers: Subscribers
    reports: reports.ReportBook | None = None  # the running bot's /report choices


@dataclass(frozen=True)
class Context:
    """What a handler may use besides its arguments."""

    store: Store
    settings: Settings
    now: Callable[[], datetime]
    chat: Chat | None = None  # None in the console: commands that need a chat say so
    alert_dir: Path | None = None  # alert state; None: the data dir (alerts.service.state_dir)
    # the clock of the wait for the collector's commit (`_want_live`); tests pass their own
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


Handler = Callable[[list[str], Context], Reply]


@dataclass(frozen=True)
class Command:
    """One row of the command table."""

    name: str  # without the slash; a public contract (never renamed)
    # one line for /help and the Telegram menu, in the current language: a function, so the
    # text is translated when shown (the table is built at import, before HEATPUMP_LANG is read)
    help: Callable[[], str]
    usage: str  # how to call it with arguments (typed words: never translated); "" when none
    handler: Handler
    needs_chat: bool = False  # acts on the Telegram chat it was sent in
    listed: bool = True  # in /help and the menu (/start is not)
    heavy: bool = False  # drawn in the bot's render queue (bot/render_queue.py), not inline

    @property
    def description(self) -> str:
        """The help line without the command: what /help and the Telegram menu show."""
        return f"{self.help()}: {self.usage}" if self.usage else self.help()

    @property
    def usage_line(self) -> str:
        """How the command is typed: its usage, or just '/name' when it takes no arguments."""
        return self.usage or f"/{self.name}"


# --- replies shared by several commands ------------------------------------------------------


def usage(name: str, problem: str) -> Reply:
    """A wrong argument of the command `name`: what was wrong and how the command is typed,
    two lines (issue 19: never the whole help again)."""
    return Reply(_("Sorry: {problem}").format(problem=problem) + "\n"
                 + _("Usage: {usage}").format(usage=BY_NAME[name].usage_line))


def unknown_command(name: str) -> Reply:
    """A /word that is no command: say so and name the commands, in one line each."""
    names = " ".join(f"/{n}" for n, _d in menu())
    return Reply(_("Sorry: unknown command /{name}").format(name=name) + "\n"
                 + _("Commands: {names} (/help explains each)").format(names=names))


def free_text_hint() -> Reply:
    """Plain text, a sticker, a photo: the bot only answers commands; a short hint, not the
    help (nor 'unknown command /hello')."""
    return Reply(_("I did not understand that: I answer commands, e.g. /status or /jaz 30d. "
                   "/help lists them all."))


def terms_lines() -> list[str]:
    """The two figures every reply is about, one sentence each (/help and /start)."""
    return [_("COP (coefficient of performance): the heat delivered divided by the "
              "electricity used, over any period, e.g. one day."),
            _("JAZ (Jahresarbeitszahl, seasonal performance factor SPF): the same ratio over "
              "a whole year, the figure that says how efficiently the heat pump really works.")]


def telegram_only(name: str) -> Reply:
    """The console's answer to a command that acts on a Telegram chat."""
    return Reply(_("/{name} works in Telegram only: alerts go to subscribed Telegram chats, "
                   "so send /{name} to the bot there. Here, /alerts shows what is active."
                   ).format(name=name))


def chart_buttons(kind: str, rng: str) -> tuple[tuple[Button, ...], ...]:
    ranges = tuple((f"· {r} ·" if r == rng else r, f"chart {kind} {r}") for r in RANGES)
    kinds = [(f"· {k} ·" if k == kind else k, f"chart {k} {rng}") for k in KINDS]
    half = (len(kinds) + 1) // 2  # two rows: eight buttons in one are too narrow on a phone
    return ranges, tuple(kinds[:half]), tuple(kinds[half:])


def chart_of(ctx: Context, kind: str, rng: str) -> Chart:
    """The chart `kind` over `rng` at ctx.now(): what it needs, read, built (not drawn)."""
    now, tz = ctx.now(), ctx.settings.tz
    req = charts.request(kind, rng, now, tz)
    data = store_reads.chart_data(ctx.store, req.start, req.end, tz, req.series, req.pairs)
    return charts.build(req, data, now, tz)


def live_snapshot(ctx: Context) -> str:
    """The text /live shows (and keeps editing) at ctx.now()."""
    return replies.live_text(store_reads.live_data(ctx.store), ctx.now(), ctx.settings.tz)


def _chat(ctx: Context) -> Chat:
    if ctx.chat is None:  # `answer` never calls a needs_chat handler without one
        raise ValueError("this command needs a Telegram chat")
    return ctx.chat


# --- the handlers ----------------------------------------------------------------------------


def _want_live(ctx: Context, stream: bool = False) -> None:
    """Someone looks: ask the collector to commit what it holds now, or every poll for a
    while (`stream`, /live) (heatpump.live), in the data dir of the store this bot reads
    (the demo's for `--demo`); when a collector runs beside the bot (heatpump.live
    `collector_runs`), wait for that commit (at most LIVE_WAIT_S): a sample of any source
    newer than the newest stored before the request, or the collector's answer that it
    committed all it held (store_reads.wait_for_sample_after). A store committed every poll
    (HEATPUMP_FLUSH_MINUTES=0, InfluxDB's default) needs no request."""
    from bot.alerts.service import state_dir

    if ctx.settings.flush_s <= 0:
        return
    data_dir = state_dir(ctx.settings, ctx.store)
    newest = None
    waits = not live_wanted(data_dir)
    if waits:  # read before the request: a commit right after it counts
        newest = store_reads.newest_sample_time(ctx.store, ctx.now())
    asked = request_live(data_dir, stream)
    if asked is not None and waits:
        store_reads.wait_for_sample_after(ctx.store, newest, ctx.now(), LIVE_WAIT_S,
                                          ctx.sleep, ctx.monotonic,
                                          done=lambda: answered(data_dir, asked))


def _want_recent(ctx: Context, end: datetime) -> None:
    """A reply over a period ending at `end`: when that lies within HEATPUMP_FLUSH_MINUTES
    (`Settings.flush_s`) of now, part of it may still wait in the collector's memory (the
    embedded store is committed every 90 minutes), so ask for a commit as /status does and
    wait for it; the reply is then complete up to now. Older periods, a store committed every
    poll (InfluxDB), or no collector beside the bot: nothing changes."""
    flush = timedelta(seconds=ctx.settings.flush_s)
    if flush > timedelta(0) and ctx.now() - end < flush:
        _want_live(ctx)


def status(args: list[str], ctx: Context) -> Reply:
    if args:
        return usage("status", _("/status takes no arguments"))
    _want_live(ctx)
    now = ctx.now()
    data = store_reads.status_data(ctx.store, now, ctx.settings.tz)
    return Reply(replies.status_text(data, ctx.settings, now))


def jaz(args: list[str], ctx: Context) -> Reply:
    if len(args) > 1:
        return usage("jaz", _("/jaz takes one period, e.g. /jaz 12m or /jaz 2025-11"))
    now, tz = ctx.now(), ctx.settings.tz
    try:
        period = parse_period(args[0] if args else "", now, tz)
    except PeriodError as exc:
        return usage("jaz", str(exc))
    end = period.elapsed_end(now)
    _want_recent(ctx, end)
    data = store_reads.period_data(ctx.store, period.start, end, tz, now)
    text = replies.jaz_text(period, data, now, tz, ctx.settings.rated_heat_kw)
    tariff = costs.Tariff.from_settings(ctx.settings)
    if tariff is not None and end > period.start:
        hourly = store_reads.hourly_meter_wh(ctx.store, period.start, end, tz)
        report = costs.cost_report(tariff, hourly, data.pairs, period.start, end, tz)
        line = costs.short_line(report, tariff)
        text += f"\n{line}" if line else ""
    # the heat pump's own figures (its memory), below the metered ones, never mixed in
    own = device_basis.device_jaz_lines(
        store_reads.device_records(ctx.store, period.start, period.end),
        period.start.astimezone(tz).date(), period.end.astimezone(tz).date(),
        "JAZ" if period.key == "12m" or period.key.isdigit() else "COP")
    return Reply("\n".join([text, *own]))


def cost(args: list[str], ctx: Context) -> Reply:
    """/cost [period] (default: this month): the user's tariff applied hour by hour."""
    if len(args) > 1:
        return usage("cost", _("/cost takes one period, e.g. /cost month or /cost 2025-11"))
    now, tz = ctx.now(), ctx.settings.tz
    try:  # a wrong period is said first, tariff or not
        period = parse_period(args[0] if args else "month", now, tz)
    except PeriodError as exc:
        return usage("cost", str(exc))
    tariff = costs.Tariff.from_settings(ctx.settings)
    if tariff is None:
        return Reply(costs.no_tariff_text())
    end = period.elapsed_end(now)
    _want_recent(ctx, end)
    pairs = store_reads.hour_pairs(ctx.store, period.start, end, tz)
    hourly = store_reads.hourly_meter_wh(ctx.store, period.start, end, tz)
    report = costs.cost_report(tariff, hourly, pairs, period.start, max(end, period.start), tz)
    return Reply(costs.cost_text(period.label, report, tariff))


def chart(args: list[str], ctx: Context) -> Reply:
    try:
        kind, rng = parse_chart_args(args)
    except ChartError as exc:
        return usage("chart", str(exc))
    _want_recent(ctx, charts.request(kind, rng, ctx.now(), ctx.settings.tz).end)
    png, caption = charts.chart_png(chart_of(ctx, kind, rng))
    return Reply(caption, photo=png, buttons=chart_buttons(kind, rng))


def live(args: list[str], ctx: Context) -> Reply:
    if args:
        return usage("live", _("/live takes no arguments"))
    _want_live(ctx, stream=True)
    return Reply(live_snapshot(ctx), buttons=(((_("stop"), "live stop"),),), live=True)


def compare_(args: list[str], ctx: Context) -> Reply:
    """/compare [month|season|year]: against the same days a year before, per degree day."""
    if len(args) > 1:
        return usage("compare", _("/compare takes one span: month, season or year"))
    now, tz = ctx.now(), ctx.settings.tz
    try:
        found = compare.spans(args[0].lower() if args else "month", now, tz)
    except compare.CompareError as exc:
        return usage("compare", str(exc))
    if found is None:
        return Reply(_("Nothing to compare yet: this month has no complete day so far "
                       "(/compare season or /compare year reach further back)."))
    label, this, before = found
    sides = []
    for span in (this, before):
        start, end = span.utc(tz)
        pairs, outdoor = store_reads.compare_data(ctx.store, start, end, tz)
        sides.append(compare.side(span, pairs, outdoor, tz))
    return Reply(compare.compare_text(label, sides[0], sides[1]))


def changes_(args: list[str], ctx: Context) -> Reply:
    """/changes: settings changes the collector found, with the COP before and after."""
    if args:
        return usage("changes", _("/changes takes no arguments"))
    now, tz = ctx.now(), ctx.settings.tz
    rows = store_reads.setting_changes(ctx.store, now - timedelta(days=changes.LOOKBACK_DAYS),
                                       now)
    found = changes.entries(rows)
    wins = changes.windows(found, now.astimezone(tz).date(), tz)
    effects: list[changes.Effect | None] = [None] * len(found)
    for i in range(max(0, len(found) - changes.MAX_ENTRIES), len(found)):
        w = wins[i]
        days = store_reads.day_stats(ctx.store, w.first, w.last, tz)
        effects[i] = changes.effect(days, w)
    devices = len({e.device for e in found})
    return Reply(changes.changes_text(found, effects, tz, devices))


def report_digest(ctx: Context, every: str) -> tuple[str, reports.Period]:
    """The digest of the last complete day, week or month at ctx.now() (bot.reports)."""
    from bot.alerts.commands import report_alert_lines
    from bot.alerts.service import state_dir

    now, tz = ctx.now(), ctx.settings.tz
    period, before = reports.last_period(every, now, tz)
    pairs = store_reads.hour_pairs(ctx.store, period.start, period.end, tz)
    prev = store_reads.hour_pairs(ctx.store, before.start, before.end, tz)
    found = changes.entries(store_reads.setting_changes(ctx.store, period.start, period.end))
    state = persist.load_state(ctx.alert_dir or state_dir(ctx.settings, ctx.store))
    alert_lines = report_alert_lines(state, now, tz)
    cost_line = None
    tariff = costs.Tariff.from_settings(ctx.settings)
    if tariff is not None:
        hourly = store_reads.hourly_meter_wh(ctx.store, period.start, period.end, tz)
        cost_line = costs.short_line(costs.cost_report(tariff, hourly, pairs, period.start,
                                                       period.end, tz), tariff)
    data = reports.ReportData(pairs, prev, found, alert_lines, cost_line)
    return reports.digest_text(every, period, before, data, tz), period


def report_chart(ctx: Context, every: str) -> tuple[bytes, str]:
    """The one chart a report carries (bot.reports.CHARTS): PNG and caption."""
    kind, rng = reports.CHARTS[every]
    return charts.chart_png(chart_of(ctx, kind, rng))


def report(args: list[str], ctx: Context) -> Reply:
    """/report [daily|weekly|monthly|off]: a digest per chat on a schedule; in the console
    a preview of the digest."""
    try:
        word = reports.parse_every(args)
    except ValueError as exc:
        return usage("report", str(exc))
    at = ctx.settings.telegram_report_time
    if ctx.chat is None or ctx.chat.reports is None:  # the console: a preview
        if word == "off":
            return telegram_only("report")
        every = word or "daily"
        _want_recent(ctx, reports.last_period(every, ctx.now(), ctx.settings.tz)[0].end)
        text, _period = report_digest(ctx, every)
        return Reply(text + "\n" + _("(In Telegram, /report {every} sends this with a chart "
                                      "at {time}.)").format(every=every, time=at))
    head = reports.report_reply(ctx.chat.reports, ctx.chat.id, word, ctx.now(),
                                ctx.settings.tz, at)
    every = ctx.chat.reports.every(ctx.chat.id) if ctx.chat.reports else None
    if word == "off" or every is None:
        return Reply(head)
    _want_recent(ctx, reports.last_period(every, ctx.now(), ctx.settings.tz)[0].end)
    return Reply(f"{head}\n\n{report_digest(ctx, every)[0]}")


# /export takes hourly rows up to this many days, daily rows beyond (a year of hours is
# 8760 rows, more than a chat needs)
EXPORT_HOURLY_MAX_DAYS = 35


def export_(args: list[str], ctx: Context) -> Reply:
    """/export [period] [hour|day]: the CSV of `heatpump export` as a document."""
    words = [a.lower() for a in args]
    steps = [w for w in words if w in export.STEPS]
    rest = [w for w in words if w not in export.STEPS]
    if len(steps) > 1 or len(rest) > 1:
        return usage("export", _("/export takes a period and hour or day, e.g. /export 30d day"))
    now, tz = ctx.now(), ctx.settings.tz
    try:
        period = parse_period(rest[0] if rest else "30d", now, tz)
    except PeriodError as exc:
        return usage("export", str(exc))
    end = period.elapsed_end(now)
    if end <= period.start:
        return Reply(_("Export {period}: no complete hour yet.").format(period=period.label))
    _want_recent(ctx, end)
    long = end - period.start > timedelta(days=EXPORT_HOURLY_MAX_DAYS)
    step = steps[0] if steps else ("day" if long else "hour")
    data = store_reads.export_data(ctx.store, period.start, end, tz, step)
    rows = export.rows(data.pairs, data.outdoor_c, data.flow_c, period.start, end, step, tz)
    name = export.file_name(period.start, end, step, tz)
    return Reply(export.summary_text(rows, period.label, step),
                 document=(name, export.to_csv(rows, tz).encode("utf-8")))


def subscribe(args: list[str], ctx: Context) -> Reply:
    chat = _chat(ctx)
    # the allow-list and the supergroups its groups became
    allowed = chat.subscribers.allowed(ctx.settings.telegram_allowed_chat_ids)
    return Reply(alert_commands.subscribe(chat.subscribers, chat.id, allowed))


def unsubscribe(args: list[str], ctx: Context) -> Reply:
    chat = _chat(ctx)
    return Reply(alert_commands.unsubscribe(chat.subscribers, chat.id))


def mute(args: list[str], ctx: Context) -> Reply:
    chat = _chat(ctx)
    return Reply(alert_commands.mute(chat.subscribers, chat.id, " ".join(args), ctx.now(),
                                     ctx.settings.tz))


def alerts(args: list[str], ctx: Context) -> Reply:
    """What the alert check keeps active; in a chat also whether it is subscribed or muted,
    in the console where subscribing happens."""
    from bot.alerts.service import state_dir

    now, tz = ctx.now(), ctx.settings.tz
    state = persist.load_state(ctx.alert_dir or state_dir(ctx.settings, ctx.store))
    cfg = ctx.settings
    if ctx.chat is None:
        return Reply(alert_commands.console_overview(state, cfg, now, tz))
    return Reply(alert_commands.alerts_overview(state, ctx.chat.subscribers, ctx.chat.id, cfg,
                                                now, tz))


def help_(args: list[str], ctx: Context) -> Reply:
    return Reply("\n".join([replies.help_text(menu()), *terms_lines()]))


def start(args: list[str], ctx: Context) -> Reply:
    return Reply("\n".join([replies.start_text(menu()), *terms_lines()]))


COMMANDS: tuple[Command, ...] = (
    Command("status", lambda: _("live power, compressor, temperatures, today's COP, faults, "
                                "sources"), "", status),
    Command("jaz", lambda: _("JAZ/COP of a period"),
            "/jaz [today|yesterday|7d|month|12m|2025|2025-11]", jaz),
    Command("cost", lambda: _("what the heat pump cost, per kWh of heat and against a boiler"),
            "/cost [month|yesterday|30d|12m|2025-11]", cost),
    Command("compare", lambda: _("this month, heating season or year against a year before, "
                                 "per heating degree day"), "/compare [month|season|year]",
            compare_),
    Command("chart", lambda: _("chart"), "/chart [power|temps|cop|energy|starts|heat|"
            "cop-outdoor|flow] [24h|7d|30d|12m]", chart, heavy=True),
    Command("changes", lambda: _("settings changes (heating curve, targets, modes) and the "
                                 "COP before and after"), "", changes_),
    Command("export", lambda: _("energy, COP and temperatures as a CSV file"),
            "/export [30d|month|2025-11|12m] [hour|day]", export_, heavy=True),
    Command("live", lambda: _("live power and state, updated every 15 s for 10 minutes"), "",
            live),
    Command("report", lambda: _("a daily, weekly or monthly digest here, with a chart"),
            "/report daily, /report weekly, /report monthly, /report off", report,
            heavy=True),
    Command("subscribe", lambda: _("get alerts in this chat: faults, missing data, COP drop, "
                                   "short cycling"), "", subscribe, needs_chat=True),
    Command("unsubscribe", lambda: _("stop alerts in this chat"), "", unsubscribe,
            needs_chat=True),
    Command("alerts", lambda: _("active alerts and whether this chat is subscribed or muted"),
            "", alerts),
    Command("mute", lambda: _("silence alerts here for a while"),
            "/mute 2h, /mute 1d, /mute off", mute, needs_chat=True),
    Command("help", lambda: _("this help"), "", help_),
    Command("start", lambda: _("greeting and this help"), "", start, listed=False),
)
BY_NAME = {c.name: c for c in COMMANDS}


def menu() -> list[tuple[str, str]]:
    """(name, description) of every listed command, in table order: /help and the menu."""
    return [(c.name, c.description) for c in COMMANDS if c.listed]


def split_command(text: str) -> tuple[str | None, list[str]]:
    """'/jaz@MyBot 12m' -> ('jaz', ['12m']); non-commands -> (None, [])."""
    parts = (text or "").split()
    if not parts or not parts[0].startswith("/"):
        return None, []
    name = parts[0][1:].split("@", 1)[0].lower()
    return name, parts[1:]


def answer(text: str, ctx: Context) -> Reply:
    """Reply to one message text; free text gets a short hint, an unknown command the list
    of commands, a store outage a clear line, a command that needs a Telegram chat outside
    one says so."""
    name, args = split_command(text)
    if not name:
        return free_text_hint()
    command = BY_NAME.get(name)
    if command is None:
        return unknown_command(name)
    if command.needs_chat and ctx.chat is None:
        return telegram_only(command.name)
    try:
        return command.handler(args, ctx)
    except StoreError as exc:
        return store_failed(name or "", exc)


def store_failed(name: str, exc: StoreError) -> Reply:
    """The one line a command answers when the store cannot be read."""
    log.warning("store unavailable for /%s: %s", name, exc)
    return Reply(_("The store cannot be read right now ({error}). Try again later.").format(
        error=exc), failed=True)


def is_heavy(text: str) -> bool:
    """Whether `text` runs a command of the table marked heavy (a chart)."""
    command = BY_NAME.get(split_command(text)[0] or "")
    return command is not None and command.heavy


def parse_callback(data: str) -> tuple[str, str] | None:
    """(kind, range) of an inline chart button ("chart <kind> <range>"); None otherwise."""
    parts = (data or "").split()
    if len(parts) == 3 and parts[0] == "chart" and parts[1] in KINDS and parts[2] in RANGES:
        return parts[1], parts[2]
    return None


def answer_callback(data: str, ctx: Context) -> Reply | None:
    """Reply to an inline button ("chart <kind> <range>"); None for unknown data."""
    parsed = parse_callback(data)
    if parsed is None:
        return None
    try:
        return chart(list(parsed), ctx)
    except StoreError as exc:
        return store_failed("chart", exc)
