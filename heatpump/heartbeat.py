"""Liveness heartbeat files: how a container health check sees that a process still works.

A process that hangs (stuck call, dead event loop) does not exit, so `restart:` cannot help;
touching `<data dir>/<process>.heartbeat` from its own main loop proves it is alive, and
`deploy/healthcheck.py` reports the container unhealthy when the file grows stale. The
contract (who beats, how often) is in docs/deployment.md.
"""

from __future__ import annotations

from pathlib import Path

# The longest a healthy process waits between two beats, idle or not.
BEAT_EVERY_S = 60.0
PROCESSES = ("collector", "bot")


def heartbeat_path(data_dir: Path, process: str) -> Path:
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; one of {', '.join(PROCESSES)}")
    return Path(data_dir) / f"{process}.heartbeat"


def beat(data_dir: Path, process: str) -> None:
    """Mark `process` alive now (only the modification time counts, not the content)."""
    path = heartbeat_path(data_dir, process)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()  # an existing file gets the current time


def age_s(data_dir: Path, process: str, now: float) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        return now - heartbeat_path(data_dir, process).stat().st_mtime
    except FileNotFoundError:
        return None
