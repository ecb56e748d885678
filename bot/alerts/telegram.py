"""Alerts in the Telegram bot: four commands and a periodic check on the job queue.

`install(app, settings, store)` is called once on the built Application (bot.telegram_app).
The check runs in a worker thread (store reads), the sends on the event loop through the
real python-telegram-bot client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler

from bot.alerts import commands, persist
from bot.alerts.service import AlertService, PermanentFailure
from heatpump.settings import Settings
from heatpump.store.base import Store
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)
JOB_NAME = "alerts"
FIRST_CHECK_S = 20.0


class AlertsBot:
    def __init__(self, settings: Settings, store: Store,
                 now: Callable[[], datetime] = utcnow, service: AlertService | None = None):
        self.settings = settings
        self.now = now
        self.service = service or AlertService(settings, store, now)
        self.allowed = frozenset(settings.telegram_allowed_chat_ids)

    @property
    def subs(self) -> persist.Subscribers:
        return self.service.subscribers

    async def _reply(self, update: Update, text: str) -> None:
        msg = update.effective_message
        if msg is not None:
            await msg.reply_text(text)

    async def on_subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None:
            await self._reply(update, commands.subscribe(self.subs, chat.id, self.allowed))

    async def on_unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None:
            await self._reply(update, commands.unsubscribe(self.subs, chat.id))

    async def on_mute(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None:
            arg = " ".join(context.args or [])
            await self._reply(update, commands.mute(self.subs, chat.id, arg, self.now(),
                                                    self.settings.tz))

    async def on_alerts(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        state = await asyncio.to_thread(persist.load_state, self.service.data_dir)
        await self._reply(update, commands.alerts_overview(
            state, self.subs, chat.id, self.settings, self.now(), self.settings.tz))

    async def send_text(self, bot, chat_id: int, text: str) -> None:  # type: ignore[no-untyped-def]
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


def install(app: Application, settings: Settings, store: Store,
            now: Callable[[], datetime] = utcnow, first_s: float = FIRST_CHECK_S,
            service: AlertService | None = None) -> AlertsBot:
    """Add the alert commands (ahead of any catch-all handler) and schedule the check."""
    alerts = AlertsBot(settings, store, now, service)
    handlers = {"subscribe": alerts.on_subscribe, "unsubscribe": alerts.on_unsubscribe,
                "mute": alerts.on_mute, "alerts": alerts.on_alerts}
    catch_all = [h for h in app.handlers.get(0, []) if isinstance(h, MessageHandler)]
    for h in catch_all:
        app.remove_handler(h, group=0)
    for name, callback in handlers.items():
        app.add_handler(CommandHandler(name, callback))
    for h in catch_all:
        app.add_handler(h, group=0)
    jq = app.job_queue
    if jq is None:
        raise RuntimeError("the job queue is missing (install python-telegram-bot[job-queue])")
    previous = app.post_init

    async def post_init(application: Application) -> None:
        if previous is not None:
            await previous(application)
        # Scheduled only now: `first` counts from here, so a slow start cannot make the
        # scheduler drop the first check as missed.
        jq.run_repeating(alerts.tick, interval=settings.alert_check_minutes * 60,
                         first=first_s, name=JOB_NAME)
        current = list(await application.bot.get_my_commands())
        known = {c.command for c in current}
        extra = [BotCommand(n, t) for n, t in commands.COMMAND_HELP if n not in known]
        if extra:
            await application.bot.set_my_commands(current + extra)

    app.post_init = post_init
    return alerts
