"""One alert check: read the store, run the rules, persist the state, queue the messages.

Messages go into an outbox in the persisted state before anything is sent, and leave it
only once delivered, so a Telegram outage or a restart between check and delivery loses
nothing; an undeliverable message is dropped after OUTBOX_MAX_AGE (and logged).

A send fails in one of four ways (the Telegram shell, bot/alerts/telegram.py, tells them
apart from the Bot API's answer), and each is handled differently:
- temporary (network, server error, flood control): the message stays in the outbox for the
  chat and is tried again at the next check;
- the chat moved (a group became a supergroup, `ChatMoved`): the subscription follows the
  new id, the message goes there at once, and the log tells the owner which id to allow;
- the chat is gone for the bot (blocked, kicked, deleted: `PermanentFailure`): the chat is
  unsubscribed, with a warning;
- the message itself is refused (`MessageRefused`): it is dropped for that chat with an
  error line; retrying the same message could never succeed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot import store_reads
from bot.alert_data import DayStats, Notification
from bot.alerts import persist
from bot.alerts.deliver import AppriseChannel, apprise_channel
from bot.alerts.engine import empty_state, evaluate
from bot.alerts.resumed import note_resumed
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


class ChatMoved(Exception):
    """The chat has a new id (a group that became a supergroup): send there instead."""

    def __init__(self, new_chat_id: int, detail: str = ""):
        super().__init__(detail or f"the chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class MessageRefused(Exception):
    """This message can never be sent as it is (the chat itself is fine)."""


class RetryLater(Exception):
    """Flood control: nothing more to this bot for `after_s` seconds."""

    def __init__(self, after_s: float, detail: str = ""):
        super().__init__(detail or f"retry after {after_s:g} s")
        self.after_s = after_s


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
        # (end of the last complete day, when read, the days)
        self._days_cache: tuple[datetime, datetime, tuple[DayStats, ...]] | None = None

    def _days(self, now: datetime) -> tuple[DayStats, ...]:
        """The complete days the daily rules judge (bot.store_reads.complete_days): re-read
        once the store proves one more day complete (a sample past its end: the collector
        may commit the day's last hour long after midnight), and once an hour (late data
        still counts the same day). Nothing read before that proof is kept after it."""
        end = store_reads.complete_days_end(self.store, now, self.tz)
        cached = self._days_cache
        if cached is None or cached[0] != end or now - cached[1] > DAYS_CACHE:
            days = store_reads.complete_days(self.store, now, self.tz,
                                             store_reads.days_needed(self.settings), end)
            self._days_cache = cached = (end, now, days)
        return cached[2]

    def allowed_chats(self) -> frozenset[int]:
        """TELEGRAM_ALLOWED_CHAT_IDS and the supergroups allowed groups became."""
        return self.subscribers.allowed(self.settings.telegram_allowed_chat_ids)

    def follow_migration(self, old: int, new: int) -> None:
        """Group `old` became supergroup `new` (Telegram's answer or service message): its
        subscription moves, and the owner learns which id to allow from now on."""
        if self.subscribers.move(old, new):
            log.warning("chat %s became the supergroup %s (Telegram gave it a new id): its "
                        "alerts go there now; replace %s by %s in TELEGRAM_ALLOWED_CHAT_IDS",
                        old, new, old, new)

    def check(self, now: datetime | None = None) -> list[Notification]:
        """Evaluate the rules at `now` and queue what is to be sent (blocking: store I/O)."""
        now = now or self.now()
        snap = store_reads.alert_snapshot(self.store, self.settings, self.tz, now, self._days(now))
        state = persist.load_state(self.data_dir)
        try:
            resumed = note_resumed(self.store, state, now, snap.sources)
            new, notes = evaluate(snap, resumed, self.settings, self.tz)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A record that passed the checks but still does not fit (facts of the wrong
            # type): the file goes aside, the rules start afresh; the outbox is kept.
            persist.set_aside(self.data_dir / persist.STATE_FILE,
                              f"the alert rules cannot use it: {type(exc).__name__}")
            fresh = {**empty_state(), "outbox": state.get("outbox", [])}
            new, notes = evaluate(snap, empty_state(), self.settings, self.tz)
            state = fresh
        outbox = list(state.get("outbox", []))
        allowed = self.allowed_chats()
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
        flood = False  # flood control: no more Telegram sends this round
        for item in outbox:
            pending: list[int] = []
            for chat in item.get("chats", []):
                if flood:
                    pending.append(int(chat))
                    continue
                outcome = await self._send_one(send_text, int(chat), item)
                if isinstance(outcome, RetryLater):
                    flood = True
                    pending.append(int(chat))
                elif isinstance(outcome, bool):
                    delivered += outcome
                else:
                    pending.append(outcome)
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

    async def _send_one(self, send_text: SendText, chat: int,
                        item: dict[str, Any]) -> bool | int | RetryLater:
        """Send one outbox message to one chat (or to the id that chat has now). True: sent;
        False: never to be sent there (logged); an int: still to be sent to that chat id;
        RetryLater: flood control, stop for this round."""
        target = self.subscribers.current_id(chat)
        for _ in range(2):  # the chat's id, and once more if it moved meanwhile
            try:
                await send_text(target, item["text"])
                return True
            except ChatMoved as exc:
                self.follow_migration(target, exc.new_chat_id)
                target = exc.new_chat_id
            except PermanentFailure as exc:
                log.warning("chat %s cannot receive alerts (%s); unsubscribing it", target, exc)
                self.subscribers.unsubscribe(target)
                return False
            except MessageRefused as exc:
                log.error("alert %s %s refused for chat %s (%s); not sent there", item["key"],
                          item["event"], target, exc)
                return False
            except RetryLater as exc:
                log.warning("Telegram asks to wait %g s (flood control); the alerts wait in "
                            "the outbox", exc.after_s)
                return exc
            except Exception as exc:
                log.warning("alert to chat %s not delivered yet: %s", target,
                            type(exc).__name__)
                return target
        return target  # moved twice in a row: try the newest id at the next check
