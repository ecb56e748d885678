"""One alert check: read the store, run the rules, persist the state, queue the messages.

Messages go into an outbox in the persisted state before anything is sent, and leave it
only once delivered, so a Telegram outage or a restart between check and delivery loses
nothing; an undeliverable message is dropped after OUTBOX_MAX_AGE (and logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import store_reads
from bot.alert_data import DayStats, Notification
from bot.alerts import persist
from bot.alerts.deliver import AppriseChannel, apprise_channel
from bot.alerts.engine import evaluate
from heatpump.settings import Settings
from heatpump.store.base import Store
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

OUTBOX_MAX_AGE = timedelta(hours=24)
DAYS_CACHE = timedelta(hours=1)
SendText = Callable[[int, str], Awaitable[Any]]


def state_dir(settings: Settings, store: Store) -> Path:
    """Where alert state and subscribers live: the data dir, or its demo/ folder when the
    bot reads the demo store (`heatpump bot --demo`), so demo alerts never mix with real."""
    demo = (settings.data_dir / "demo").resolve()
    try:
        location = Path(store_reads.store_location(store)).resolve()
    except (OSError, ValueError):
        return settings.data_dir
    return demo if demo in location.parents else settings.data_dir


class PermanentFailure(Exception):
    """The chat can never receive messages (bot blocked, chat deleted)."""


class AlertService:
    def __init__(self, settings: Settings, store: Store,
                 now: Callable[[], datetime] = utcnow,
                 apprise: AppriseChannel | bool | None = True,
                 data_dir: Path | None = None):
        self.settings = settings
        self.store = store
        self.now = now
        self.tz = settings.tz
        self.data_dir = data_dir or state_dir(settings, store)
        self.subscribers = persist.Subscribers(self.data_dir)
        self.apprise: AppriseChannel | None = (
            apprise_channel(settings.apprise_urls) if apprise is True
            else (apprise or None))
        self._days_cache: tuple[date, datetime, tuple[DayStats, ...]] | None = None

    def _days(self, now: datetime) -> tuple[DayStats, ...]:
        """Daily figures, re-read once an hour (late data still counts the same day)."""
        key = now.astimezone(self.tz).date()
        cached = self._days_cache
        if cached is None or cached[0] != key or now - cached[1] > DAYS_CACHE:
            days = store_reads.complete_days(self.store, now, self.tz,
                                             store_reads.days_needed(self.settings))
            self._days_cache = cached = (key, now, days)
        return cached[2]

    def check(self, now: datetime | None = None) -> list[Notification]:
        """Evaluate the rules at `now` and queue what is to be sent (blocking: store I/O)."""
        now = now or self.now()
        snap = store_reads.alert_snapshot(self.store, self.settings, self.tz, now, self._days(now))
        state = persist.load_state(self.data_dir)
        new, notes = evaluate(snap, state, self.settings, self.tz)
        outbox = list(state.get("outbox", []))
        allowed = set(self.settings.telegram_allowed_chat_ids)
        chats = [c for c in self.subscribers.recipients(now) if c in allowed]
        for n in notes:
            log.info("alert %s %s", n.key, n.event)
            outbox.append({"key": n.key, "kind": n.kind, "event": n.event, "text": n.text,
                           "at": now.isoformat(), "chats": chats,
                           "apprise": self.apprise is not None})
        new["outbox"] = outbox
        persist.save_state(self.data_dir, new)
        return notes

    async def deliver(self, send_text: SendText) -> int:
        """Send the outbox; returns how many deliveries succeeded."""
        state = persist.load_state(self.data_dir)
        outbox = state.get("outbox", [])
        if not outbox:
            return 0
        now = self.now()
        delivered = 0
        keep = []
        for item in outbox:
            pending = []
            for chat in item.get("chats", []):
                try:
                    await send_text(int(chat), item["text"])
                    delivered += 1
                except PermanentFailure:
                    log.warning("chat %s cannot receive alerts; unsubscribing it", chat)
                    self.subscribers.unsubscribe(int(chat))
                except Exception as exc:
                    log.warning("alert to chat %s not delivered yet: %s", chat,
                                type(exc).__name__)
                    pending.append(chat)
            if item.get("apprise") and self.apprise is not None:
                ok = await asyncio.to_thread(self.apprise.send, item["kind"], item["event"],
                                             item["text"])
                delivered += ok
                item["apprise"] = not ok
            item["chats"] = pending
            if not pending and not item.get("apprise"):
                continue
            if now - datetime.fromisoformat(item["at"]) > OUTBOX_MAX_AGE:
                log.error("alert %s %s dropped undelivered after %s", item["key"],
                          item["event"], OUTBOX_MAX_AGE)
                continue
            keep.append(item)
        state = persist.load_state(self.data_dir)
        state["outbox"] = keep
        persist.save_state(self.data_dir, state)
        return delivered
