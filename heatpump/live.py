"""Live on demand: the bot asks the collector to commit now, or every poll while /live runs.

The embedded store is committed every HEATPUMP_FLUSH_MINUTES (90 by default) to spare an
SD card; a person asking /status, /jaz today or /chart wants the last minutes, though. Two
requests, each a file in the data dir whose modification time is the request (one metadata
update, rare); both processes see the same data dir (docker compose mounts ./data into
both):

- `commit.request` (/status, and /jaz, /cost, /chart, /export, /report over a period that
  ends within the commit interval): the collector commits what it holds once, at its next
  loop step (every LIVE_LOOK_S, collector/service.py), and goes back to its cadence;
- `live.request` (/live, which edits its message every 15 s for 10 minutes): the collector
  commits every poll while the file is younger than LIVE_WINDOW_S.

A commit every 10-s poll costs an SD card about 1.7 MB per 10 minutes (docs/performance.md),
so only /live asks for that. The collector answers each new request by touching
`commit.done` once it committed (or had nothing to commit). When a collector runs beside
the bot, the bot waits for that answer, or for a newer sample, before it answers
(`LIVE_WAIT_S` at most), so the answer is fresh. "Runs beside the bot": its heartbeat is
fresh (same machine: the heartbeat lives in /dev/shm), or it answered a request within
ANSWERED_TRUST_S (docker compose: the bot's container has its own /dev/shm and sees only the
data dir).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import NamedTuple

LIVE_REQUEST = "live.request"  # /live: every poll committed for LIVE_WINDOW_S
COMMIT_REQUEST = "commit.request"  # one commit, now
LIVE_WINDOW_S = 600.0  # a /live request keeps the collector committing every poll this long
LIVE_WAIT_S = 15.0  # the longest the bot waits for the commit it asked for
ASKED_FRESH_S = 60.0  # a commit request older than this is history (e.g. at a restart)
COMMIT_DONE = "commit.done"  # the collector's answer: touched when it handled a request
ANSWERED_TRUST_S = 86400.0  # a collector that answered within this long is taken to run


class Requests(NamedTuple):
    """What the bot asks of the collector at one look: the `live.request` in force (its
    time, epoch seconds) or None, and the latest fresh `commit.request` or None."""

    live: float | None
    commit: float | None


def request_live(data_dir: Path, stream: bool = False) -> float | None:
    """Ask the collector for fresh data: one commit now, or (`stream`, /live) every poll for
    LIVE_WINDOW_S. The request's time (epoch seconds, the file's mtime) when it is worth
    waiting for the collector's answer (`answered`): a collector runs beside the bot
    (`collector_runs`) and no /live request already has every poll committed; else None.
    Never raises: a read-only data dir only means the answer may be older."""
    path = Path(data_dir) / (LIVE_REQUEST if stream else COMMIT_REQUEST)
    streaming = live_wanted(data_dir)
    try:
        path.touch(mode=0o600)
        os.utime(path)
        asked = path.stat().st_mtime
    except OSError:
        return None
    return None if streaming or not collector_runs(data_dir) else asked


def collector_runs(data_dir: Path, now: float | None = None) -> bool:
    """Whether a collector commits for this data dir: its heartbeat is fresh and does not
    say it stopped (same machine), or it answered a request within ANSWERED_TRUST_S (the
    only sign across containers) and its heartbeat, where visible, does not say stopped."""
    from heatpump import heartbeat

    now = time.time() if now is None else now
    beat = heartbeat.heartbeat_path(Path(data_dir), "collector")
    if heartbeat.content(beat).get("stopped") is True:
        return False
    age = heartbeat.age_s(Path(data_dir), "collector", now)
    if age is not None and age < 2 * heartbeat.BEAT_EVERY_S:
        return True
    done = _fresh(Path(data_dir) / COMMIT_DONE, ANSWERED_TRUST_S, now)
    return done is not None


def answer(data_dir: Path) -> None:
    """The collector handled a new request (committed what it held, or held nothing):
    touch `commit.done`, which the bot's wait looks for. Never raises."""
    path = Path(data_dir) / COMMIT_DONE
    with contextlib.suppress(OSError):
        path.touch(mode=0o600)
        os.utime(path)


def answered(data_dir: Path, asked: float) -> bool:
    """Whether the collector answered the request made at `asked` (one stat)."""
    try:
        return (Path(data_dir) / COMMIT_DONE).stat().st_mtime >= asked
    except OSError:
        return False


def withdraw(data_dir: Path) -> None:
    """A collector that stops answers no more requests: remove `commit.done`, so the bot
    does not wait for it (a crash leaves it, and the bot waits LIVE_WAIT_S per request for
    at most ANSWERED_TRUST_S). Never raises."""
    with contextlib.suppress(OSError):
        (Path(data_dir) / COMMIT_DONE).unlink()


def live_wanted(data_dir: Path, now: float | None = None) -> bool:
    """Whether someone asked for fresh data within LIVE_WINDOW_S (wall clock)."""
    return request_time(data_dir, now) is not None


def request_time(data_dir: Path, now: float | None = None) -> float | None:
    """When the /live request in force was made (live.request's mtime, epoch seconds), or
    None when there is none younger than LIVE_WINDOW_S (one stat)."""
    return _fresh(Path(data_dir) / LIVE_REQUEST, LIVE_WINDOW_S, now)


def requests(data_dir: Path, now: float | None = None) -> Requests:
    """Both requests at once (two stats), as the collector looks each loop step: it commits
    at once for a request whose time changed since its last look (collector/sink.py)."""
    return Requests(request_time(data_dir, now),
                    _fresh(Path(data_dir) / COMMIT_REQUEST, ASKED_FRESH_S, now))


def _fresh(path: Path, window_s: float, now: float | None) -> float | None:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    age = (time.time() if now is None else now) - mtime
    return mtime if -60.0 < age < window_s else None
