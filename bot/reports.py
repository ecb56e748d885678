"""Scheduled reports: `/report daily|weekly|monthly|off` per chat, a short digest with one
chart sent through the bot's job queue (bot/telegram_app.py).

What a report covers and when it goes out (docs/bot.md, "/report"): the last complete
local day, week (Monday to Sunday) or month, sent at TELEGRAM_REPORT_TIME local time on
the day after it (weekly: Monday; monthly: the 1st), or later, once the store holds a
sample past the period's end (the collector commits every HEATPUMP_FLUSH_MINUTES; `due`).
Each chat's choice and the period it was last sent are kept in `reports.json` beside the
alert subscriptions (the data dir, or its demo/ folder), written atomically and read back
checked like them (bot.alerts.persist): a restart neither repeats a report nor forgets
one; a report missed while the bot was down goes out once when it is back, and only the
latest period.

The digest (`digest_text`): energy, JAZ/COP with its coverage, the cost line when a tariff
is set, the same figures of the period before, and anything unusual: hours with gaps,
settings changes in the period, active alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import fmt
from bot.alerts.persist import _load, chat_id, write_json_atomic
from bot.analytics import HourPair, performance
from bot.changes import Entry
from bot.periods import Period, _local_midnight
from bot.replies import performance_lines
from heatpump.i18n import _
from heatpump.timeutil import _local_to_utc

log = logging.getLogger(__name__)

REPORTS_FILE = "reports.json"
REPORTS_VERSION = 1
EVERY = ("daily", "weekly", "monthly")
# the chart each report carries: (kind, range) of /chart, the period in its context
CHARTS = {"daily": ("energy", "7d"), "weekly": ("cop", "30d"), "monthly": ("cop", "12m")}
LOW_COVERAGE = 0.9
# A due report waits at most this long past the report time for the store to hold its
# period's end (`due`); the collector commits at least every HEATPUMP_FLUSH_MINUTES (90
# minutes by default) while it runs, so a longer wait means it does not.
REPORT_MAX_WAIT = timedelta(hours=3)


def _months_back(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(y, m + 1, 1)


def last_period(every: str, now: datetime, tz: ZoneInfo) -> tuple[Period, Period]:
    """(the last complete day, week or month at `now`, the one before it)."""
    today = now.astimezone(tz).date()
    if every == "daily":
        firsts = [today - timedelta(days=k) for k in (2, 1, 0)]
    elif every == "weekly":
        monday = today - timedelta(days=today.weekday())
        firsts = [monday - timedelta(days=k) for k in (14, 7, 0)]
    elif every == "monthly":
        firsts = [_months_back(today, k) for k in (2, 1, 0)]
    else:
        raise ValueError(f"unknown report {every!r}")
    out = []
    for a, b in pairwise(firsts):
        if every == "daily":
            key, label = f"{a}", fmt.weekday_day(a)
        elif every == "weekly":
            iso = a.isocalendar()
            key = f"{iso.year}-W{iso.week:02d}"
            label = _("week {week} ({first}–{last})").format(
                week=iso.week, first=f"{a:%d.%m.}", last=fmt.day(b - timedelta(days=1)))
        else:
            key, label = f"{a:%Y-%m}", fmt.month_year(a)
        out.append(Period(key, label, _local_midnight(a, tz), _local_midnight(b, tz)))
    return out[1], out[0]


def due(every: str, last_key: str | None, now: datetime, tz: ZoneInfo, report_time: str,
        committed: Callable[[datetime], bool]) -> Period | None:
    """The period whose report is due at `now` for a chat that last got `last_key`; None
    when it was sent already, its send time has not come, or the store may still lack its
    end.

    `committed(end)` says whether the store holds a meter or heat pump sample at or after
    `end` (bot.store_reads.sample_at_or_after): the collector commits the embedded store
    only every HEATPUMP_FLUSH_MINUTES, so at a report time shortly after midnight the
    period's last hour may still wait in its memory, and a report sent then would say
    "covers 96 %" for good. It is asked only when the send time has come, and no longer
    from REPORT_MAX_WAIT after it: a collector that is down must not hold the report back,
    which then goes out as the store has it."""
    period, _before = last_period(every, now, tz)
    at = _at(period, report_time, tz)
    if period.key == last_key or now < at:
        return None
    if now < at + REPORT_MAX_WAIT and not committed(period.end):
        return None
    return period


def _at(period: Period, report_time: str, tz: ZoneInfo) -> datetime:
    """TELEGRAM_REPORT_TIME (local) on the day the period ends (the day after it)."""
    h, m = (int(x) for x in report_time.split(":"))
    day = period.end.astimezone(tz).date()
    return _local_to_utc(datetime(day.year, day.month, day.day, h, m), tz)


# --- the digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    """What a digest needs, read by bot.store_reads for a period and the one before."""

    pairs: list[HourPair]
    before: list[HourPair]
    changes: list[Entry]
    alert_lines: list[str]  # active alerts (bot.alerts.commands.active_lines), may be empty
    cost_line: str | None = None


def digest_text(every: str, period: Period, before: Period, data: ReportData,
                tz: ZoneInfo) -> str:
    """The report's text: short, every figure with its basis."""
    perf = performance(data.pairs, period.start, period.end)
    prev = performance(data.before, before.start, before.end)
    lines = ["📊 " + _report_title(every).format(period=period.label)]
    if perf.elec_wh_all > 0 or perf.heat_wh_all > 0:
        lines.append(_("electricity {elec}, heat {heat}").format(
            elec=fmt.kwh(perf.elec_wh_all or None), heat=fmt.kwh(perf.heat_wh_all or None)))
    lines += performance_lines(perf, "COP")[:2]
    if data.cost_line:
        lines.append(data.cost_line)
    if prev.ratio is not None:
        line = _("{period}: COP {ratio}, heat {heat} over {pct} of it").format(
            period=before.label, ratio=fmt.ratio(prev.ratio), heat=fmt.kwh(prev.heat_wh),
            pct=fmt.pct(prev.coverage))
        if perf.ratio is not None:
            change = f"{(perf.ratio / prev.ratio - 1) * 100:+.0f}".replace("-", "−")
            line += _(" (COP now {change} %)").format(change=change)
        lines.append(line)
    else:
        lines.append(_("{period}: no COP to compare with").format(period=before.label))
    unusual: list[str] = []
    if perf.ratio is not None and perf.coverage < LOW_COVERAGE:
        unusual.append(_("data gaps: meter and heat data together for only {pct} of the hours")
                       .format(pct=fmt.pct(perf.coverage)))
    for e in data.changes:
        if period.start <= e.time < period.end:
            unusual.append(_("settings changed {time}: {changes} (/changes)").format(
                time=fmt.local(e.time, tz), changes="; ".join(c.text() for c in e.changes)))
    unusual += data.alert_lines
    lines += ([_("unusual:"), *(f"  {u}" for u in unusual)] if unusual
              else [_("nothing unusual")])
    return "\n".join(lines)


def _report_title(every: str) -> str:
    """'Daily report: {period}' and its siblings, in the current language."""
    return {"daily": _("Daily report: {period}"), "weekly": _("Weekly report: {period}"),
            "monthly": _("Monthly report: {period}")}[every]


# --- who gets which report -----------------------------------------------------------------


def check_reports(raw: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The chats of the reports file, and what was wrong with it (a damaged entry is
    dropped, the rest kept)."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict) or not isinstance(raw.get("chats"), dict):
        return {}, ["not a reports file"]
    out: dict[str, dict[str, Any]] = {}
    problems = []
    for key, entry in raw["chats"].items():
        try:
            cid = chat_id(key)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(entry, dict) or entry.get("every") not in EVERY:
            problems.append(f"chat {cid}: no report kind")
            continue
        last = entry.get("last_sent")
        if last is not None and not isinstance(last, str):
            problems.append(f"chat {cid}: last_sent is not a period")
            last = None
        out[str(cid)] = {"every": entry["every"], "last_sent": last}
    return out, problems


class ReportBook:
    """Each chat's report choice and the period last sent, in `<dir>/reports.json`."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / REPORTS_FILE
        loaded, rewrite = _load(self.path, check_reports)
        self._chats: dict[str, dict[str, Any]] = loaded or {}
        if rewrite:
            try:
                self._save()
            except OSError as exc:
                log.error("cannot write the cleaned %s: %s", self.path, exc.strerror or exc)

    def _save(self) -> None:
        write_json_atomic(self.path, {"version": REPORTS_VERSION, "chats": self._chats})

    def chats(self) -> list[tuple[int, str, str | None]]:
        """(chat, every, last period sent) of each chat with a report."""
        return [(int(c), e["every"], e.get("last_sent")) for c, e in sorted(self._chats.items())]

    def every(self, chat: int) -> str | None:
        entry = self._chats.get(str(chat))
        return entry["every"] if entry else None

    def set(self, chat: int, every: str | None, now: datetime, tz: ZoneInfo) -> bool:
        """Choose a report (None: off); True when that changed something. A new choice
        counts the period just ended as sent, so the first report is the next one."""
        current = self.every(chat)
        if every == current:
            return False
        if every is None:
            del self._chats[str(chat)]
        else:
            self._chats[str(chat)] = {"every": every,
                                      "last_sent": last_period(every, now, tz)[0].key}
        self._save()
        return True

    def move(self, old: int, new: int) -> bool:
        """A group that became a supergroup: its report follows the new id (unless that one
        has its own). True when something moved."""
        entry = self._chats.pop(str(old), None)
        if entry is None:
            return False
        self._chats.setdefault(str(new), entry)
        self._save()
        return True

    def sent(self, chat: int, key: str) -> None:
        entry = self._chats.get(str(chat))
        if entry is not None:
            entry["last_sent"] = key
            self._save()


def report_reply(book: ReportBook | None, chat: int | None, arg: str, now: datetime,
                 tz: ZoneInfo, report_time: str) -> str:
    """The text of `/report ARG` (in a chat with a `book`): what changed and when the
    next report comes."""
    if book is None or chat is None:
        raise ValueError("needs a chat")
    if arg == "off":
        changed = book.set(chat, None, now, tz)
        return _("Reports are off here.") if changed else _("No reports were on here.")
    if arg == "":
        every = book.every(chat)
        if every is None:
            return _("No reports here. /report daily, /report weekly or /report monthly sends "
                     "one at {time} (local time).").format(time=report_time)
        arg = every
    else:
        book.set(chat, arg, now, tz)
    period, _before = last_period(arg, now, tz)
    nxt, _after = last_period(arg, _next_end(arg, period, tz) + timedelta(hours=1), tz)
    when = fmt.local(_at(nxt, report_time, tz), tz)
    text = {"daily": _("Daily report here at {time}: the next one, on {period}, comes {when}. "
                       "/report off stops it. The latest:"),
            "weekly": _("Weekly report here at {time}: the next one, on {period}, comes "
                        "{when}. /report off stops it. The latest:"),
            "monthly": _("Monthly report here at {time}: the next one, on {period}, comes "
                         "{when}. /report off stops it. The latest:")}[arg]
    return text.format(time=report_time, period=nxt.label, when=when)


def _next_end(every: str, period: Period, tz: ZoneInfo) -> datetime:
    """The end of the period after `period`."""
    d = period.end.astimezone(tz).date()
    nxt = {"daily": d + timedelta(days=1), "weekly": d + timedelta(days=7),
           "monthly": _months_back(d, -1)}[every]
    return _local_midnight(nxt, tz)


def parse_every(args: Sequence[str]) -> str:
    """'' (show), 'daily', 'weekly', 'monthly' or 'off'; ValueError otherwise."""
    if len(args) > 1:
        raise ValueError(_("/report takes one word: daily, weekly, monthly or off"))
    word = args[0].lower() if args else ""
    if word not in ("", "off", *EVERY):
        raise ValueError(_("{word} is not a report; use daily, weekly, monthly or off").format(
            word=repr(word)))
    return word
