"""The queue of heavy replies (charts): drawn one at a time, fairly between chats, bounded.

python-telegram-bot handles updates one after another. A handler that drew its chart
before returning (about 0.3-0.6 s each, seconds on a Pi) made every later update wait: a
flood of 200 /chart from one chat held a /status from another chat for 45 s. So a chart
handler only *offers* its job here and returns at once; one worker draws the jobs in a
thread (matplotlib's Agg canvas on a Figure of its own, one at a time) and sends them.

Bounds, so a flood costs a few charts and never memory or other chats' time:
- at most `per_chat` jobs of one chat wait or draw at a time (a flood's extra requests are
  refused, and the chat is told once per flood);
- at most `total` jobs of all chats together;
- the worker takes the chats in turn (round robin), so a second chat's chart waits for at
  most one job of each other chat, never for a whole flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
PER_CHAT = 3  # a chart on show, the next being drawn, one more: enough for button presses
TOTAL = 32  # all chats together (an allow-list holds a few chats)


class RenderQueue:
    """Jobs per chat, run by one worker task on the bot's event loop (`start` in the
    running loop, `stop` at shutdown). `offer` is called on the event loop too."""

    def __init__(self, per_chat: int = PER_CHAT, total: int = TOTAL):
        if per_chat < 1 or total < per_chat:
            raise ValueError("per_chat must be at least 1 and total at least per_chat")
        self.per_chat = per_chat
        self.total = total
        self._jobs: OrderedDict[int, deque[Job]] = OrderedDict()  # waiting, per chat in turn
        self._pending: dict[int, int] = {}  # per chat: waiting + drawing
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.drawn = 0  # jobs finished (tests and the benchmark read it)

    def pending(self, chat_id: int | None = None) -> int:
        """Jobs waiting or being drawn: of one chat, or of all."""
        if chat_id is None:
            return sum(self._pending.values())
        return self._pending.get(chat_id, 0)

    def offer(self, chat_id: int, job: Job) -> bool:
        """Queue `job` for `chat_id`; False (nothing queued) when that chat or the whole
        queue is full."""
        if self.pending(chat_id) >= self.per_chat or self.pending() >= self.total:
            return False
        self._jobs.setdefault(chat_id, deque()).append(job)
        self._pending[chat_id] = self.pending(chat_id) + 1
        self._wake.set()
        return True

    def _next(self) -> tuple[int, Job] | None:
        """The first waiting job of the chat whose turn it is; that chat goes to the back."""
        while self._jobs:
            chat_id, jobs = next(iter(self._jobs.items()))
            job = jobs.popleft()
            del self._jobs[chat_id]
            if jobs:
                self._jobs[chat_id] = jobs  # back of the line: the other chats go first
            return chat_id, job
        return None

    async def _run(self) -> None:
        while True:
            nxt = self._next()
            if nxt is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            chat_id, job = nxt
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed chart must not stop the others
                log.exception("a queued chart failed")
            finally:
                left = self.pending(chat_id) - 1
                if left > 0:
                    self._pending[chat_id] = left
                else:
                    self._pending.pop(chat_id, None)
                self.drawn += 1

    def start(self) -> None:
        """Start the worker on the running event loop."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(),
                                                                  name="render-queue")

    async def stop(self) -> None:
        """Stop the worker; jobs still waiting are dropped (the bot is shutting down)."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        dropped = sum(len(j) for j in self._jobs.values())
        if dropped:
            log.info("shutdown: %d queued chart(s) not drawn", dropped)
        self._jobs.clear()
        self._pending.clear()
