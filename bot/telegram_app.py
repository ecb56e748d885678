"""The Telegram shell: python-telegram-bot handlers around the one command table.

One CommandHandler per row of bot/commands.py (new messages only: an edited message never
triggers an answer), each small: check access (a gate in group -1), compute the `Reply` off
the event loop (store reads in a worker thread), send it. Charts, the heavy rows, go through
the render queue (bot/render_queue.py): their handlers return at once, so a flood of charts
from one chat never holds another chat's /status. The alert check runs on the job queue
(bot/alerts/telegram.py). The bot token is never logged: the URL logger of httpx is quieted
in heatpump.logs and our own log lines carry no URL.

Handlers are idempotent: a button pressed twice, a command sent again or an update
delivered twice leaves the same state (one subscription, one live view per chat, the final
/live snapshot kept), and Telegram's "message is not modified" is success, not a failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import charts, reports, store_reads
from bot.alerts.service import AlertService
from bot.alerts.telegram import FIRST_CHECK_S, AlertJob
from bot.commands import (
    COMMANDS,
    LIVE_DURATION_S,
    LIVE_INTERVAL_S,
    Chat,
    Context,
    Reply,
    answer,
    answer_callback,
    free_text_hint,
    is_heavy,
    live_snapshot,
    menu,
    parse_callback,
    report_chart,
    report_digest,
)
from bot.render_queue import RenderQueue
from heatpump import heartbeat
from heatpump.i18n import _
from heatpump.settings import Settings
from heatpump.store.base import Store, StoreError
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # Telegram allows 4096 characters per message
MAX_CAPTION = 1000  # and 1024 per photo caption
# how often the job queue looks for a /report that is due (bot/reports.py)
REPORT_CHECK_S = 300.0
# bot.heartbeat from a job of the event loop: a dead loop stops it (docs/deployment.md)
HEARTBEAT_EVERY_S = heartbeat.BEAT_EVERY_S / 2


def refusal_text(chat_id: int) -> str:
    return _("Sorry, this bot only answers its owner's chats. This chat's id is {chat_id}; "
             "to allow it, add it to TELEGRAM_ALLOWED_CHAT_IDS and restart the bot."
             ).format(chat_id=chat_id)


def failed_text() -> str:
    """What a chat is told when a command failed on the bot's side (the log has why)."""
    return _("Sorry, that failed on my side; please try again. /help")


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in reply.buttons])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def command_name(update: Update) -> str:
    """The command word only (for logs): never the rest of a stranger's message."""
    msg = update.effective_message
    if update.callback_query is not None:
        return "(button)"
    if msg is None or not msg.text:
        return "(no text)"
    word = msg.text.split(maxsplit=1)[0] if msg.text.split() else ""
    if not word.startswith("/"):
        return "(text)"
    name = word[1:].split("@", 1)[0]
    return "/" + "".join(ch for ch in name[:32] if ch.isalnum() or ch == "_")


# Loggers that print request URLs, and so the bot token, below these levels.
TOKEN_LOGGERS = {"httpx": logging.WARNING, "httpcore": logging.WARNING,
                 "telegram.Bot": logging.INFO, "telegram.ext.ExtBot": logging.INFO}


def quiet_token_loggers() -> None:
    """Keep the token out of logs even at DEBUG (the redacting filter is a second line)."""
    for name, floor in TOKEN_LOGGERS.items():
        lg = logging.getLogger(name)
        lg.setLevel(max(floor, lg.getEffectiveLevel()))


def not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing: the message already shows what
    was asked (a button pressed twice), so it is success."""
    return "message is not modified" in exc.message.lower()


def busy_text(n: int) -> str:
    """A chat's render queue is full (bot/render_queue.py holds at most `n` per chat)."""
    return _("Still drawing your earlier charts (at most {n} at a time for a chat); send "
             "/chart again once they have arrived.").format(n=n)


def live_stop_button() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(_("stop"), callback_data="live stop")]])


@dataclass
class LiveSession:
    """The one /live message of a chat. `ended` is set once, under `lock`, by the stop
    button, the end of its time or a newer /live; after that nothing edits the message
    again, so its final snapshot stays."""

    chat_id: int
    message_id: int
    text: str
    until: datetime
    ended: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BotApp:
    """Holds the shared state (context, allow-list, refused chats, the alert service, the
    render queue, the live views) of one running bot; `first_check_s` is when the first
    alert check runs after start-up."""

    def __init__(self, settings: Settings, store: Store,
                 now: Callable[[], datetime] = utcnow,
                 live_interval_s: float = LIVE_INTERVAL_S,
                 live_duration_s: float = LIVE_DURATION_S,
                 first_check_s: float = FIRST_CHECK_S,
                 render_queue: RenderQueue | None = None,
                 report_check_s: float = REPORT_CHECK_S):
        self.settings = settings
        self.alerts = AlertService(settings, store, now)
        self.alert_job = AlertJob(self.alerts)
        self.first_check_s = first_check_s
        self.ctx = Context(store, settings, now, alert_dir=self.alerts.data_dir)
        self.refused: set[int] = set()
        self.live_interval_s = live_interval_s
        self.live_duration_s = live_duration_s
        self.renders = render_queue or RenderQueue()
        self.told_busy: set[int] = set()  # chats told their chart queue is full
        self.live: dict[int, LiveSession] = {}  # chat -> its live view
        self.reports = reports.ReportBook(self.alerts.data_dir)  # /report, beside alerts
        self.report_check_s = report_check_s

    @property
    def allowed(self) -> frozenset[int]:
        """TELEGRAM_ALLOWED_CHAT_IDS, plus the supergroups allowed groups became."""
        return self.alerts.allowed_chats()

    # --- building ---------------------------------------------------------------------

    def build(self) -> Application:
        token = self.settings.telegram_bot_token
        if not token:
            raise ValueError("TELEGRAM_BOT_TOKEN is empty; get a token from @BotFather")
        quiet_token_loggers()
        builder = (Application.builder().token(token).post_init(self._post_init)
                   .post_stop(self._post_stop).post_shutdown(self._post_shutdown))
        base = self.settings.telegram_api_base_url
        if base:
            builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
        app = builder.build()
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        # new messages only: editing an old message does not trigger a second answer
        fresh = filters.UpdateType.MESSAGE
        for command in COMMANDS:
            app.add_handler(CommandHandler(command.name, self.on_command, filters=fresh))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(fresh, self.on_other))
        app.add_error_handler(self.on_error)
        return app

    async def _post_init(self, app: Application) -> None:
        if app.job_queue is None:
            raise RuntimeError("the job queue is missing (install python-telegram-bot[job-queue])")
        app.job_queue.run_repeating(self._beat, interval=HEARTBEAT_EVERY_S, first=0,
                                    name="heartbeat")
        app.job_queue.run_repeating(self._report_tick, interval=self.report_check_s,
                                    first=self.report_check_s, name="reports")
        self.renders.start()
        await asyncio.to_thread(charts.warm_up)
        await app.bot.set_my_commands([BotCommand(n, t[:256]) for n, t in menu()])
        # after the slow start-up steps (matplotlib's font cache can take a minute on a
        # Pi): `first_check_s` counts from here
        self.alert_job.schedule(app.job_queue, self.first_check_s)
        if not self.allowed:
            log.warning("TELEGRAM_ALLOWED_CHAT_IDS is empty: every chat is refused and told "
                        "its id")

    async def _beat(self, context: CallbackContext) -> None:
        """Runs on the event loop, so the file only stays fresh while the loop works."""
        try:
            heartbeat.beat(self.settings.data_dir, "bot")
        except OSError as exc:
            log.warning("cannot write the bot heartbeat: %s", exc)

    async def _post_shutdown(self, app: Application) -> None:
        """Runs however the bot ends (even stopped while starting): the render worker
        goes with it."""
        await self.renders.stop()

    async def _post_stop(self, app: Application) -> None:
        """A bot that stopped is not healthy, however fresh its last beat."""
        try:
            heartbeat.beat(self.settings.data_dir, "bot",
                           {"time": utcnow().isoformat(), "stopped": True})
        except OSError as exc:
            log.warning("cannot write the bot heartbeat: %s", exc)

    # --- handlers ---------------------------------------------------------------------

    async def gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Allowed chats pass; any other chat gets one refusal naming its id, then silence.
        A group that became a supergroup (Telegram's service message in either chat) moves
        its subscription to the new id, which is allowed from then on."""
        msg = update.effective_message
        if msg is not None and (msg.migrate_to_chat_id or msg.migrate_from_chat_id):
            old = msg.migrate_from_chat_id or msg.chat_id
            new = msg.migrate_to_chat_id or msg.chat_id
            if old in self.allowed and old != new:
                self.alerts.follow_migration(old, new)
                self.reports.move(old, new)
            raise ApplicationHandlerStop  # a service message: nothing to answer
        chat = update.effective_chat
        if chat is not None and chat.id in self.allowed:
            return
        log.warning("refused chat %s (%s): %s", chat.id if chat else "?",
                    chat.type if chat else "?", command_name(update))
        if update.callback_query is not None:
            await update.callback_query.answer()
        if chat is not None and chat.id not in self.refused:
            self.refused.add(chat.id)
            await context.bot.send_message(chat.id, refusal_text(chat.id))
        raise ApplicationHandlerStop

    def chat_context(self, chat_id: int) -> Context:
        """The context of a message from `chat_id`: the alert commands act on that chat."""
        return dataclasses.replace(self.ctx, chat=Chat(chat_id, self.alerts.subscribers,
                                                       self.reports))

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        if msg is None or msg.text is None:
            return
        chat_id, text = msg.chat_id, msg.text
        if is_heavy(text):
            async def draw() -> None:
                reply = await asyncio.to_thread(answer, text, self.chat_context(chat_id))
                await self.send(context, chat_id, reply)

            await self.queue_render(context, chat_id, draw)
            return
        reply = await asyncio.to_thread(answer, text, self.chat_context(chat_id))
        sent = await self.send(context, chat_id, reply)
        if reply.live and sent is not None:
            await self.start_live(context, chat_id, sent.message_id, reply.text)

    async def queue_render(self, context: CallbackContext, chat_id: int,
                           job: Callable[[], Any], query: Any = None) -> bool:
        """Offer a chart to the render queue; a full queue is told once per flood (a button
        press gets a short notice on the button instead)."""
        async def guarded() -> None:
            try:
                await job()
            except Exception as exc:  # as on_error does for a handler
                log.error("chart failed: %s", type(exc).__name__, exc_info=exc)
                try:
                    await context.bot.send_message(
                        chat_id, failed_text())
                except TelegramError:
                    log.warning("could not send the failure notice")

        if self.renders.offer(chat_id, guarded):
            self.told_busy.discard(chat_id)
            return True
        log.info("chart queue full for chat %s: request refused", chat_id)
        text = busy_text(self.renders.per_chat)
        if query is not None:
            await query.answer(text[:200])
        elif chat_id not in self.told_busy:
            self.told_busy.add(chat_id)
            await context.bot.send_message(chat_id, text)
        return False

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unknown commands, plain text, stickers...: a short help."""
        msg = update.effective_message
        if msg is None:
            return
        reply = (await asyncio.to_thread(answer, msg.text, self.chat_context(msg.chat_id))
                 if msg.text else free_text_hint())
        await self.send(context, msg.chat_id, reply)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        data = query.data or ""
        message = query.message
        if data == "live stop":
            stopped = message is not None and await self.stop_live(
                context, message.chat.id, message.message_id)
            await query.answer(_("stopped") if stopped
                               else _("This live view has already ended."))
            return
        if parse_callback(data) is None or message is None:
            await query.answer(_("This button has expired; send the command again."))
            return
        chat_id, message_id = message.chat.id, message.message_id

        async def draw() -> None:
            reply = await asyncio.to_thread(answer_callback, data, self.ctx)
            if reply is None:
                return
            if reply.photo is None:  # the store could not be read: say so below the chart
                await self.send(context, chat_id, reply)
                return
            try:
                await context.bot.edit_message_media(
                    chat_id=chat_id, message_id=message_id,
                    media=InputMediaPhoto(reply.photo, caption=_clip(reply.text, MAX_CAPTION)),
                    reply_markup=keyboard(reply))
            except BadRequest as exc:
                if not not_modified(exc):
                    raise

        if await self.queue_render(context, chat_id, draw, query=query):
            await query.answer()

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure (secrets are redacted by the log filter) and say so briefly."""
        log.error("handler failed: %s", type(context.error).__name__, exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_id = update.effective_chat.id
            if chat_id in self.allowed:
                try:
                    await context.bot.send_message(chat_id, failed_text())
                except TelegramError:
                    log.warning("could not send the failure notice")

    async def send(self, context: CallbackContext, chat_id: int, reply: Reply) -> Any:
        if reply.document is not None:
            name, content = reply.document
            return await context.bot.send_document(chat_id, document=content, filename=name,
                                                   caption=_clip(reply.text, MAX_CAPTION))
        if reply.photo is not None:
            return await context.bot.send_photo(chat_id, photo=reply.photo,
                                                caption=_clip(reply.text, MAX_CAPTION),
                                                reply_markup=keyboard(reply))
        return await context.bot.send_message(chat_id, _clip(reply.text, MAX_TEXT),
                                              reply_markup=keyboard(reply))

    # --- /report ----------------------------------------------------------------------

    async def _report_tick(self, context: CallbackContext) -> None:
        """Send every report that is due (bot.reports.due): the digest, then its chart. A
        report is marked sent only once both went out, so a failure is retried at the next
        tick; one chat's failure never stops the others."""
        now, tz = self.ctx.now(), self.settings.tz
        for chat_id, every, last in self.reports.chats():
            if chat_id not in self.allowed:
                continue
            try:
                period = await asyncio.to_thread(reports.due, every, last, now, tz,
                                                 self.settings.telegram_report_time,
                                                 self._committed)
                if period is None:
                    continue
                text, _period = await asyncio.to_thread(report_digest, self.ctx, every)
                png, caption = await asyncio.to_thread(report_chart, self.ctx, every)
                await context.bot.send_message(chat_id, _clip(text, MAX_TEXT))
                await context.bot.send_photo(chat_id, photo=png,
                                             caption=_clip(caption, MAX_CAPTION))
            except ChatMigrated as exc:  # the group became a supergroup: follow it
                self.alerts.follow_migration(chat_id, int(exc.new_chat_id))
                self.reports.move(chat_id, int(exc.new_chat_id))
                continue
            except Forbidden:  # blocked or removed from the chat: no more reports there
                log.warning("chat %s refuses messages; its /report is switched off", chat_id)
                self.reports.set(chat_id, None, now, tz)
                continue
            except (TelegramError, StoreError) as exc:
                log.warning("report for chat %s not sent (%s); trying again later", chat_id,
                            type(exc).__name__)
                continue
            self.reports.sent(chat_id, period.key)

    def _committed(self, end: datetime) -> bool:
        """Whether the store holds a sample at or after `end` (bot.reports.due): the
        collector has committed the period ending there."""
        return store_reads.sample_at_or_after(self.ctx.store, end,
                                              self.ctx.now() + timedelta(hours=1))

    # --- /live ------------------------------------------------------------------------

    def _live_name(self, chat_id: int) -> str:
        return f"live:{chat_id}"

    async def start_live(self, context: CallbackContext, chat_id: int, message_id: int,
                         text: str) -> None:
        """One live view per chat: a newer /live ends the previous one (its stop button
        goes, its last snapshot stays)."""
        jq = context.job_queue
        if jq is None:
            raise RuntimeError("the job queue is missing (install python-telegram-bot[job-queue])")
        previous = self.live.get(chat_id)
        if previous is not None:
            await self._end_live(context, previous, _("(ended: a newer /live follows)"))
        until = self.ctx.now() + timedelta(seconds=self.live_duration_s)
        session = LiveSession(chat_id, message_id, text, until)
        self.live[chat_id] = session
        jq.run_repeating(self._live_tick, interval=self.live_interval_s,
                         first=self.live_interval_s, name=self._live_name(chat_id),
                         chat_id=chat_id, data=session)

    def _drop_jobs(self, context: CallbackContext, session: LiveSession) -> None:
        jq = context.job_queue
        if jq is None:
            return
        for job in jq.get_jobs_by_name(self._live_name(session.chat_id)):
            if job.data is session:
                job.schedule_removal()

    async def _end_live(self, context: CallbackContext, session: LiveSession,
                        note: str) -> bool:
        """End `session` once: its last snapshot with `note`, no stop button. False when it
        had already ended (a second press of stop changes nothing)."""
        async with session.lock:
            if session.ended:
                return False
            session.ended = True
            if self.live.get(session.chat_id) is session:
                del self.live[session.chat_id]
            self._drop_jobs(context, session)
            try:
                await context.bot.edit_message_text(f"{session.text}\n{note}",
                                                    chat_id=session.chat_id,
                                                    message_id=session.message_id)
            except BadRequest as exc:
                if not not_modified(exc):
                    log.info("could not mark the live message ended: %s", exc.message)
            except TelegramError as exc:  # the view has ended all the same
                log.warning("could not mark the live message ended: %s", type(exc).__name__)
            return True

    async def _live_tick(self, context: CallbackContext) -> None:
        job = context.job
        if job is None or not isinstance(job.data, LiveSession):
            return
        session = job.data
        if session.ended:
            job.schedule_removal()
            return
        text = await asyncio.to_thread(live_snapshot, self.ctx)
        if self.ctx.now() >= session.until:
            session.text = text
            await self._end_live(context, session, _("(live view ended; /live to start again)"))
            return
        async with session.lock:
            if session.ended or text == session.text:
                return  # stopped meanwhile, or nothing changed (Telegram refuses those)
            try:
                await context.bot.edit_message_text(text, chat_id=session.chat_id,
                                                    message_id=session.message_id,
                                                    reply_markup=live_stop_button())
                session.text = text
            except BadRequest as exc:
                if not_modified(exc):
                    session.text = text
                    return
                # e.g. the message was deleted: stop instead of failing every 15 s
                log.info("live edit refused (%s); stopping", exc.message)
                session.ended = True
                if self.live.get(session.chat_id) is session:
                    del self.live[session.chat_id]
                job.schedule_removal()

    async def stop_live(self, context: CallbackContext, chat_id: int, message_id: int) -> bool:
        """The stop button of `message_id`: True when it ended that live view now, False
        when it had ended already (the final snapshot stays as it is)."""
        session = self.live.get(chat_id)
        if session is None or session.message_id != message_id:
            return False
        return await self._end_live(context, session, _("(stopped)"))


def build_app(settings: Settings, store: Store, **bot_options: Any) -> Application:
    """The whole bot: the commands of bot/commands.py and the alert check."""
    return BotApp(settings, store, **bot_options).build()


def run_bot(settings: Settings, store: Store) -> None:
    """Long-poll Telegram until interrupted."""
    app = build_app(settings, store)
    log.info("bot starting (%d allowed chats)", len(settings.telegram_allowed_chat_ids))
    app.run_polling(allowed_updates=Update.ALL_TYPES)
