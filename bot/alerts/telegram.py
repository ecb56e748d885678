"""The alert check on the Telegram bot's job queue, and delivery through the bot.

`AlertJob.schedule` is called once the bot runs (bot.telegram_app posts it at start-up).
The check runs in a worker thread (store reads), the sends on the event loop through the
real python-telegram-bot client. The alert commands are rows of bot/commands.py.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes, Job, JobQueue

from bot.alerts.service import AlertService, PermanentFailure

log = logging.getLogger(__name__)
JOB_NAME = "alerts"
FIRST_CHECK_S = 20.0


class AlertJob:
    def __init__(self, service: AlertService):
        self.service = service

    async def send_text(self, bot: Bot, chat_id: int, text: str) -> None:
        """Send one alert; a chat that can never receive one raises PermanentFailure."""
        try:
            await bot.send_message(chat_id, text)
        except Forbidden as exc:
            raise PermanentFailure(str(exc)) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise PermanentFailure(exc.message) from exc
            raise

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
        return jq.run_repeating(self.tick, interval=interval_s, first=first_s, name=JOB_NAME)
