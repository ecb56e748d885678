"""Live on demand: the bot asks the collector to commit every poll while someone looks.

The embedded store is committed every HEATPUMP_FLUSH_MINUTES (60 by default) to spare an
SD card; a person asking /status or /live wants the last seconds, though. The bot touches
`<data dir>/live.request` when it answers such a command (one metadata update, rare), and
the collector commits every poll while that file is younger than LIVE_WINDOW, and what it
holds at once when the request is new (its next loop step, even without a poll). Both
processes see the same data dir (docker compose mounts ./data into both). When the request
is new and a collector runs beside the bot, the bot waits for that first commit
(`LIVE_WAIT_S` at most) before it answers, so even the first /status is fresh.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

LIVE_REQUEST = "live.request"
LIVE_WINDOW_S = 600.0  # a request keeps the collector committing every poll this long
LIVE_WAIT_S = 15.0  # the longest the bot waits for the first commit after a new request


def request_live(data_dir: Path) -> bool:
    """Ask the collector for fresh data. True when this is a new request (none was active)
    and a collector runs here (its heartbeat is fresh), i.e. worth waiting for its first
    commit. Never raises: a read-only data dir only means the answer may be older."""
    path = Path(data_dir) / LIVE_REQUEST
    new = not live_wanted(data_dir)
    with contextlib.suppress(OSError):
        path.touch(mode=0o600)
        os.utime(path)
    if not new:
        return False
    from heatpump import heartbeat

    age = heartbeat.age_s(Path(data_dir), "collector", time.time())
    stopped = heartbeat.content(heartbeat.heartbeat_path(Path(data_dir), "collector")).get(
        "stopped") is True
    return age is not None and age < 2 * heartbeat.BEAT_EVERY_S and not stopped


def live_wanted(data_dir: Path, now: float | None = None) -> bool:
    """Whether someone asked for fresh data within LIVE_WINDOW_S (wall clock)."""
    return request_time(data_dir, now) is not None


def request_time(data_dir: Path, now: float | None = None) -> float | None:
    """When the live request in force was made (live.request's mtime, epoch seconds), or
    None when there is none younger than LIVE_WINDOW_S (one stat). The collector tells a
    new request by a changed time and commits at once for it (collector/sink.py)."""
    try:
        mtime = (Path(data_dir) / LIVE_REQUEST).stat().st_mtime
    except OSError:
        return None
    age = (time.time() if now is None else now) - mtime
    return mtime if -60.0 < age < LIVE_WINDOW_S else None
