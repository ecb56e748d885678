"""The alert check on the Telegram bot's job queue, and delivery through the bot.

`AlertJob.schedule` is called once the bot runs (bot.telegram_app posts it at start-up).
The check runs in a worker thread (store reads), the sends on the event loop through the
real python-telegram-bot client. The alert commands are rows of bot/commands.py.

`classify` turns the Bot API's refusal into what the outbox does with it (see
bot/alerts/service.py): the error envelope's `error_code`, `description` and `parameters`
(`migrate_to_chat_id`, `retry_after`) arrive as python-telegram-bot's exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes, Job, JobQueue

from bot.alerts.service import (
    AlertService,
    ChatMoved,
    MessageRefused,
    PermanentFailure,
    RetryLater,
)

log = logging.getLogger(__name__)
JOB_NAME = "alerts"
FIRST_CHECK_S = 20.0
MAX_TEXT = 4096  # Telegram's limit of one message

# 400 descriptions that mean the chat is gone for this bot, not that the message was bad
# (Bot API answers: "Bad Request: chat not found", "... group chat was deactivated", ...).
CHAT_GONE = ("chat not found", "group chat was deactivated", "peer_id_invalid",
             "user is deactivated", "bot was kicked", "not enough rights to send",
             "have no rights to send", "chat_write_forbidden", "need administrator rights")


def classify(exc: TelegramError) -> Exception:
    """What a failed send means for the outbox: ChatMoved (a group that became a supergroup,
    HTTP 400 with `migrate_to_chat_id`), PermanentFailure (403: blocked, kicked, the user
    deleted; 400s that say the chat is gone), RetryLater (429 flood control),
    MessageRefused (any other 400: this message can never be sent as it is), or the error
    itself for everything temporary (timeouts, network, 5xx, a conflict)."""
    if isinstance(exc, ChatMigrated):
        return ChatMoved(int(exc.new_chat_id), str(exc))
    if isinstance(exc, Forbidden):
        return PermanentFailure(exc.message)
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # the int form of retry_after is deprecated
            warnings.simplefilter("ignore")
            after = exc.retry_after
        secs = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return RetryLater(secs, exc.message)
    if isinstance(exc, BadRequest):
        if any(phrase in exc.message.lower() for phrase in CHAT_GONE):
            return PermanentFailure(exc.message)
        return MessageRefused(exc.message)
    return exc


class AlertJob:
    def __init__(self, service: AlertService):
        self.service = service

    async def send_text(self, bot: Bot, chat_id: int, text: str) -> None:
        """Send one alert; a refusal is raised as `classify` names it."""
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        try:
            await bot.send_message(chat_id, text)
        except TelegramError as exc:
            outcome = classify(exc)
            if outcome is exc:
                raise
            raise outcome from exc

    async def tick(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One scheduled check; a failing store only logs, the next tick tries again."""
        try:
            await asyncio.to_thread(self.service.check)
        except Exception as exc:
            log.error("alert check failed: %s: %s", type(exc).__name__, exc)
        bot = context.bot
        await self.service.deliver(lambda chat, text: self.send_text(bot, chat, text))

    def schedule(self, jq: JobQueue, first_s: float = FIRST_CHECK_S) -> Job:
        """Check every ALERT_CHECK_MINUTES, the first time `first_s` from now. Call it once
        the bot runs: `first` counts from here, so a slow start cannot make the scheduler
        drop the first check as missed."""
        interval_s = self.service.settings.alert_check_minutes * 60
        # a check that is due while the loop was busy runs late rather than never
        # (APScheduler drops a run missed by more than its grace time, 1 s by default)
        return jq.run_repeating(self.tick, interval=interval_s, first=first_s, name=JOB_NAME,
                                job_kwargs={"misfire_grace_time": None, "coalesce": True})
