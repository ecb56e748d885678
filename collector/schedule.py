"""When each source polls: slots on a fixed monotonic grid, never drifting, never overlapping.

A poll that takes longer than its interval does not shift later polls (the grid is
`origin + k * interval`, not "interval after the last run"), and the slots it overran are
coalesced into one catch-up run instead of a burst. Pure arithmetic over a clock value
handed in, so it is tested with a fake clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Grid:
    """Slots `origin + k * interval_s` for k = 0, 1, 2, ... on a monotonic clock."""

    interval_s: float
    origin: float
    next_slot: int = 0
    skipped: int = field(default=0)  # slots coalesced away so far (for logs and tests)

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError("interval must be positive")

    @property
    def next_due(self) -> float:
        return self.origin + self.next_slot * self.interval_s

    def due(self, now: float) -> bool:
        return now >= self.next_due

    def take(self, now: float) -> int:
        """Consume the due slot at `now`; returns how many earlier slots were coalesced.

        The next slot is the first grid point strictly after `now`, so a late run never
        causes a burst of catch-up runs and never moves the grid."""
        if not self.due(now):
            raise ValueError("not due")
        current = math.floor((now - self.origin) / self.interval_s)
        coalesced = current - self.next_slot
        self.skipped += coalesced
        self.next_slot = current + 1
        return coalesced
