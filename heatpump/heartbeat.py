"""Liveness heartbeat files: how a container health check sees that a process still works.

A process that hangs (stuck call, dead event loop) does not exit, so `restart:` cannot help;
rewriting `<data dir>/<process>.heartbeat` from its own main loop proves it is alive, and
`deploy/healthcheck.py` reports the container unhealthy when the file grows stale. The
modification time is the heartbeat; the optional JSON content says what the process is doing
(the collector writes its sources' states there) and whether it stopped on purpose. The
contract (who beats, how often) is in docs/deployment.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from heatpump.fsutil import write_atomic
from heatpump.timeutil import utcnow

# The longest a healthy process waits between two beats, idle or not.
BEAT_EVERY_S = 60.0
PROCESSES = ("collector", "bot")


def heartbeat_path(data_dir: Path, process: str) -> Path:
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; one of {', '.join(PROCESSES)}")
    return Path(data_dir) / f"{process}.heartbeat"


def beat(data_dir: Path, process: str, content: Mapping[str, object] | None = None) -> None:
    """Mark `process` alive now: replace the file atomically (a reader never sees half of
    it) by `content` as JSON, or by its time and pid. Always rewritten, never just touched,
    so a `"stopped": true` left by the previous run cannot outlive a restart."""
    if content is None:
        content = {"time": utcnow().isoformat().replace("+00:00", "Z"), "pid": os.getpid()}
    # Whole, not durable: after a power cut the process beats again anyway.
    write_atomic(heartbeat_path(data_dir, process), json.dumps(content, indent=1) + "\n",
                 durable=False)


def age_s(data_dir: Path, process: str, now: float) -> float | None:
    """Seconds since the last beat, or None when there was none."""
    try:
        return now - heartbeat_path(data_dir, process).stat().st_mtime
    except FileNotFoundError:
        return None


def content(path: Path) -> dict[str, object]:
    """The JSON a process wrote with its last beat; {} for a touched, unreadable or foreign
    file (the content is a bonus, only the age decides liveness)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
