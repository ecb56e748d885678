"""A flood of /chart from one chat never holds another chat's answers (issue 16): the real
bot against the fake Bot API, with chart drawing held until the test lets it go, so the
proof is an order of events, not a stopwatch."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import bot.charts as charts_module
from bot.render_queue import PER_CHAT, RenderQueue
from tests.bot.test_telegram import GROUP, OWNER, Harness

FLOOD = 200


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    # the bot's own default queue (the fuzz harness lifts the limit; this one must not)
    harness.bot.renders = RenderQueue()
    harness.start()
    yield harness
    harness.stop()


def test_a_chart_flood_never_delays_another_chat(h, monkeypatch):
    drawing = threading.Event()  # a chart of the flood is being drawn
    release = threading.Event()
    real = charts_module.chart_png

    def held(chart):
        drawing.set()
        assert release.wait(60), "the test never released the charts"
        return real(chart)

    monkeypatch.setattr(charts_module, "chart_png", held)
    n = len(h.api.calls)
    for _ in range(FLOOD):
        h.api.push_text(OWNER, "/chart power 24h")
    assert drawing.wait(30)
    # while the flood's first chart is still held, the other chat is answered, and the
    # owner is told once that the rest of the flood is refused
    status = h.ask(GROUP, "/status")
    assert status.params["text"].startswith("Heat pump status")
    jaz = h.ask(GROUP, "/jaz 7d")
    assert jaz.params["text"].startswith("COP last 7 days")
    photos = [c for c in h.api.sent_to(OWNER, n) if c.method == "sendPhoto"]
    assert photos == []  # nothing of the flood was drawn yet: the answers did not wait
    busy = [c for c in h.api.sent_to(OWNER, n) if "Still drawing" in c.params.get("text", "")]
    assert len(busy) == 1
    assert h.bot.renders.pending(OWNER) == PER_CHAT
    release.set()
    deadline = time.monotonic() + 60
    while h.bot.renders.pending(OWNER) and time.monotonic() < deadline:
        time.sleep(0.05)
    h.ask(OWNER, "/help")  # every update before it has been handled
    photos = [c for c in h.api.sent_to(OWNER, n) if c.method == "sendPhoto"]
    assert len(photos) == PER_CHAT  # the rest was refused, and said so once
    assert len(h.api.sent_to(OWNER, n)) == PER_CHAT + 2  # + the notice + /help
    # the queue drained: a new /chart is drawn again, and a new flood would be told again
    assert h.ask(OWNER, "/chart temps 24h").method == "sendPhoto"
    assert h.bot.told_busy == set()


def test_the_queue_takes_chats_in_turn():
    """Round robin: a second chat's job runs after at most one job of the first chat, not
    after all of them."""
    order: list[str] = []

    async def main() -> None:
        q = RenderQueue(per_chat=5, total=10)
        gate = asyncio.Event()

        def job(name: str):
            async def run() -> None:
                await gate.wait()
                order.append(name)
            return run

        for i in range(5):
            assert q.offer(1, job(f"a{i}"))
        assert not q.offer(1, job("a5"))  # per-chat limit
        assert q.offer(2, job("b0")) and q.offer(2, job("b1"))
        q.start()
        gate.set()
        while q.pending():
            await asyncio.sleep(0.01)
        await q.stop()

    asyncio.run(main())
    assert order == ["a0", "b0", "a1", "b1", "a2", "a3", "a4"]


def test_the_whole_queue_is_bounded():
    async def main() -> None:
        q = RenderQueue(per_chat=2, total=3)

        async def nothing() -> None:
            return None

        assert q.offer(1, nothing) and q.offer(1, nothing) and q.offer(2, nothing)
        assert not q.offer(3, nothing)  # total reached, whatever the chat
        assert q.pending() == 3
        q.start()
        while q.pending():
            await asyncio.sleep(0.01)
        assert q.drawn == 3 and q.offer(3, nothing)
        await q.stop()

    asyncio.run(main())


def test_a_chart_that_fails_says_so_and_the_queue_goes_on(h, monkeypatch):
    real = charts_module.chart_png

    def broken(chart):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(charts_module, "chart_png", broken)
    reply = h.ask(OWNER, "/chart power 24h")
    assert reply.params["text"] == "Sorry, that failed on my side; please try again. /help"
    monkeypatch.setattr(charts_module, "chart_png", real)
    assert h.ask(OWNER, "/chart power 24h").method == "sendPhoto"
    deadline = time.monotonic() + 10
    while h.bot.renders.pending() and time.monotonic() < deadline:
        time.sleep(0.01)  # the job ends right after its photo reached the API
    assert h.bot.renders.pending() == 0
