"""The time of a simulated device's answer, set by the test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def local(*args: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(*args, tzinfo=tz)
