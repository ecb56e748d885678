"""Progress of a long offline run (`heatpump demo`, `heatpump replay`): rate and time left.

On a terminal: one tqdm bar (tqdm is the well-kept progress library; issue 19) with the
simulated days done, the rate in simulated days per second and the time left, while log
lines go through tqdm (`logging_redirect_tqdm`), so a warning is printed on its own line
and the bar is drawn again below it instead of the two running into each other. Anywhere
else (a log file, CI, a pipe): plain lines at each 10 % and at least every
PLAIN_EVERY_S seconds of work, so a long run is never silent for minutes.

`update(t)` is called for every poll (8,640 times a simulated day), so it returns at once
until the run has moved on by a thousandth of its span.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from heatpump.i18n import _, number

PLAIN_STEP_PCT = 10  # a plain line at each multiple of this ...
PLAIN_EVERY_S = 10.0  # ... and whenever this long has passed since the last one
DAY_S = 86400.0


class SpanProgress:
    """Progress over the span [start, end) of a run's own (simulated or recorded) time.

    `out` is the stream shown to the person (stderr); `verb` names the work
    ("simulating", "replaying"); `monotonic` is the wall clock (injected by tests)."""

    def __init__(self, start: datetime, end: datetime, out: TextIO | None = None, *,
                 verb: str = "simulating",
                 monotonic: Callable[[], float] = time.monotonic):
        self.start, self.end = start, end
        self.out = out if out is not None else sys.stderr
        self.verb = verb
        self.monotonic = monotonic
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.span_s = max((end - start).total_seconds(), 1e-9)
        self.total_days = self.span_s / DAY_S
        self._tick = (end - start) / 1000  # the finest step anything is shown at
        self._next = start
        self._done_days = 0.0
        self._t0 = monotonic()
        self._closed = False
        self._bar: tqdm | None = None
        self._plain_pct = -1  # the last multiple of PLAIN_STEP_PCT written
        self._plain_wall = self._t0
        if self.tty:
            self._bar = tqdm(total=round(self.total_days, 3), unit="day", file=self.out,
                             desc=f"  {verb}", dynamic_ncols=True, leave=True,
                             bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total:g} "
                                        + _("days").replace("{", "{{").replace("}", "}}")
                                        + " [{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def update(self, now: datetime) -> None:
        """The run has reached `now` (cheap unless a thousandth of the span has passed)."""
        if now < self._next and now < self.end:
            return
        fraction = (1.0 if now >= self.end
                    else max(0.0, (now - self.start).total_seconds() / self.span_s))
        self._next = now + self._tick
        days = round(fraction * self.total_days, 3)
        if self._bar is not None:
            if days > self._done_days:
                self._bar.update(days - self._bar.n)
                self._bar.n = self._done_days = days  # exact: no float drift at 100 %
                self._bar.set_postfix_str(now.astimezone().strftime("%Y-%m-%d"),
                                          refresh=False)
            return
        self._done_days = days
        pct = int(100 * fraction)
        wall = self.monotonic()
        step = pct // PLAIN_STEP_PCT * PLAIN_STEP_PCT
        if step > self._plain_pct or (wall - self._plain_wall >= PLAIN_EVERY_S
                                      and fraction < 1.0):
            self._plain_pct = max(self._plain_pct, step)
            self._plain_wall = wall
            self._write_plain(fraction, wall)

    def close(self) -> None:
        """The run ended (at its end, or stopped early): the last state and the time taken."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
            return
        wall = self.monotonic()
        if self._plain_pct < 100 and self._done_days >= self.total_days:
            self._write_plain(1.0, wall)

    def _write_plain(self, fraction: float, wall: float) -> None:
        elapsed = wall - self._t0
        done = fraction * self.total_days
        line = "  " + _("{verb}: {pct}% ({done} of {total} days, {elapsed} s").format(
            verb=self.verb, pct=int(100 * fraction), done=number(done, 1, grouping=False),
            total=number(self.total_days, 1, grouping=False), elapsed=f"{elapsed:.0f}")
        if fraction >= 1.0:
            line += ")"
        elif elapsed > 0 and done > 0:
            rate = done / elapsed
            left = (self.total_days - done) / rate
            line += _(", {rate} days/s, about {left} left)").format(rate=_sig3(rate),
                                                                    left=_duration(left))
        else:
            line += ")"
        if fraction >= 1.0:
            self._plain_pct = 100
        self.out.write(line + "\n")
        self.out.flush()

    def logging(self) -> AbstractContextManager[None]:
        """While the bar is shown, log lines are written through tqdm (on their own line,
        the bar drawn again below); without a bar, logging stays as it is."""
        if self._bar is None:
            return nullcontext()
        return logging_redirect_tqdm(loggers=[logging.getLogger()])


@contextmanager
def span_progress(start: datetime, end: datetime, out: TextIO | None = None, *,
                  verb: str = "simulating") -> Iterator[SpanProgress]:
    """A SpanProgress for the block, with logging redirected around its bar; closed after."""
    progress = SpanProgress(start, end, out, verb=verb)
    try:
        with progress.logging():
            yield progress
    finally:
        progress.close()


def _sig3(x: float) -> str:
    """`x` with three significant digits in the owner's locale ('0.506', '12.3' / '0,506')."""
    digits = 2 - math.floor(math.log10(abs(x))) if x else 0
    return number(round(x, digits), max(digits, 0), grouping=False)


def _duration(seconds: float) -> str:
    """'45 s', '3 min', '1 h 05 min': the time left, no more precise than it can be."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"

