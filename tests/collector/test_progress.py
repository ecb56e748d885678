"""Progress of long offline runs (collector/progress.py): rate and time left, on a terminal
through tqdm with log lines kept apart, elsewhere a few plain lines and never minutes of
silence."""

import io
import itertools
import logging
import re
import sys
from datetime import UTC, datetime, timedelta

import pytest

from collector.progress import SpanProgress, span_progress

START = datetime(2026, 1, 1, tzinfo=UTC)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Wall:
    """A wall clock that advances `per_call` seconds every time it is read."""

    def __init__(self, per_call: float):
        self.t, self.per_call = 100.0, per_call

    def __call__(self) -> float:
        self.t += self.per_call
        return self.t


def _feed(progress: SpanProgress, days: float) -> None:
    """Ask it at every 10-s poll of `days`, as the offline driver does, then at the end."""
    end = START + timedelta(days=days)
    t = START
    while t < end:
        progress.update(t)
        t += timedelta(seconds=10)
    progress.update(end)
    progress.close()


def test_plain_lines_at_each_tenth_with_rate_and_time_left():
    out = io.StringIO()
    progress = SpanProgress(START, START + timedelta(days=2), out, monotonic=_Wall(0.001))
    _feed(progress, 2)
    lines = out.getvalue().splitlines()
    assert [int(re.search(r"simulating: (\d+)%", ln)[1]) for ln in lines] == list(
        range(0, 101, 10))
    # between start and end, each line has the rate and the time left
    assert all(re.search(r"[\d.]+ days/s, about \d+ (s|min) left\)$", ln)
               for ln in lines[1:-1]), lines
    assert "(2.0 of 2.0 days" in lines[-1] and "left" not in lines[-1]


def test_plain_lines_in_german():
    """Issue 19: the progress speaks the owner's language, numbers as the locale writes
    them (the verb is the caller's text, translated there)."""
    from heatpump import i18n

    out = io.StringIO()
    with i18n.using("de"):
        progress = SpanProgress(START, START + timedelta(days=2), out, verb=i18n._("simulating"),
                                monotonic=_Wall(0.001))
        _feed(progress, 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  simuliere: 0 % (0,0 von 2,0 Tagen, ")
    assert re.search(r", [\d,]+ Tage/s, noch etwa \d+ (s|min)\)$", lines[1]), lines[1]
    assert lines[-1].startswith("  simuliere: 100 % (2,0 von 2,0 Tagen, ")


def test_plain_lines_never_leave_a_long_run_silent():
    """A slow run (a second of work per thousandth of the span: ~17 min in all) writes a
    line at least every 10 s of work, not only at each tenth of the way."""
    out = io.StringIO()
    wall = _Wall(1.0)
    progress = SpanProgress(START, START + timedelta(days=1), out, monotonic=wall)
    _feed(progress, 1)
    lines = out.getvalue().splitlines()
    seconds = [int(re.search(r"days, (\d+) s", ln)[1]) for ln in lines]
    assert len(lines) > 50
    assert max(b - a for a, b in itertools.pairwise(seconds)) <= 11
    assert "about 16 min left" in lines[1] or "about 17 min left" in lines[1]
    assert lines[-1].startswith("  simulating: 100%")


def test_terminal_gets_one_tqdm_bar_with_rate_and_time_left():
    out = _Tty()
    progress = SpanProgress(START, START + timedelta(days=3), out, verb="replaying")
    assert progress.tty
    _feed(progress, 3)
    text = out.getvalue()
    assert "replaying" in text
    final = text.split("\r")[-1]
    assert re.search(r"100%\|#+\| 3\.0/3 days \[[\d:]+<[\d:]+, .*day/s\]", final), final
    assert text.endswith("\n")  # the finished bar stays, the next output starts a new line


def test_terminal_log_lines_are_not_interleaved_with_the_bar(monkeypatch):
    """A warning during the run is written on a line of its own (tqdm clears the bar,
    writes the line, draws the bar again), through the root handler's formatter and
    filters; after the run, logging is as it was."""
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    root = logging.getLogger()
    handler = logging.StreamHandler()  # the stream is sys.stderr now: the console
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    monkeypatch.setattr(root, "handlers", [handler])
    # whatever earlier tests left: this logger's warnings reach the root's handler
    monkeypatch.setattr(logging.root.manager, "disable", logging.NOTSET)
    level = root.level
    root.setLevel(logging.INFO)  # (setLevel, not setattr: it clears the loggers' caches)
    log = logging.getLogger("tests.progress")
    try:
        with span_progress(START, START + timedelta(days=1), verb="simulating") as progress:
            assert root.handlers != [handler]
            progress.update(START + timedelta(hours=6))
            progress.update(START + timedelta(hours=12))
            log.warning("meter down (unreachable)")
            progress.update(START + timedelta(hours=18))
            progress.update(START + timedelta(days=1))
    finally:
        root.setLevel(level)
    assert root.handlers == [handler]
    text = tty.getvalue()
    assert "WARNING tests.progress: meter down (unreachable)\n" in text
    for line in text.split("\n"):
        if "meter down" in line:
            shown = line.split("\r")[-1]
            assert shown.startswith("WARNING tests.progress:"), repr(line)
    # the bar came back after the warning and finished
    assert "100%" in text.split("meter down (unreachable)")[1]


def test_a_run_of_one_moment_ends_at_100_percent():
    """A replay of a single poll (start = end) still says it is done."""
    out = io.StringIO()
    progress = SpanProgress(START, START, out, verb="replaying", monotonic=_Wall(0.001))
    progress.update(START)
    progress.close()
    assert out.getvalue().splitlines()[-1].startswith("  replaying: 100% (0.0 of 0.0 days")


@pytest.mark.parametrize(("seconds", "text"), [(5, "5 s"), (300, "5 min"),
                                               (3900, "1 h 05 min")])
def test_time_left_is_said_no_finer_than_it_can_be_known(seconds, text):
    from collector.progress import _duration

    assert _duration(seconds) == text


def test_demo_and_replay_show_their_progress(tmp_path):
    """`heatpump demo` and `heatpump replay` report progress on the stream they are given
    (stderr): plain lines here, ending at 100 %."""
    from collector.replay_cmd import replay
    from heatpump.settings import Settings
    from simhouse.demo_cmd import backfill

    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    out = io.StringIO()
    backfill(settings, 0.2, 3, [], now=datetime(2026, 1, 15, 12, tzinfo=UTC), out=out,
             record=tmp_path / "rec")
    demo_lines = out.getvalue().splitlines()
    assert demo_lines[0].startswith("  simulating: 0% (0.0 of 0.2 days")
    assert demo_lines[-1].startswith("  simulating: 100% (0.2 of 0.2 days")
    out = io.StringIO()
    replay(tmp_path / "rec", settings, tmp_path / "replay", out=out)
    replay_lines = out.getvalue().splitlines()
    assert [ln.split("%")[0] for ln in replay_lines] == [
        f"  replaying: {pct}" for pct in range(0, 101, 10)]
