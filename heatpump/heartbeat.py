"""Liveness heartbeat files: how a container health check sees that a process still works.

A process that hangs (stuck call, dead event loop) does not exit, so `restart:` cannot help;
renewing `<process>.heartbeat` from its own main loop proves it is alive, and
`deploy/healthcheck.py` reports the container unhealthy when the file grows stale. The
modification time is the heartbeat; the optional JSON content says what the process is doing
(the collector writes its sources' states there) and whether it stopped on purpose. The
contract (who beats, how often) is in docs/deployment.md.

A beat every 30 s would write an SD card every 30 s for nothing, so the files live in RAM:
`/dev/shm/heatpump-<uid>-<data dir's key>/` (one folder per data dir, shared by every
process of this machine or container that uses that data dir: the health check and
`heatpump doctor` run beside the process they check). Where there is no /dev/shm, they are
in the data dir itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from heatpump.fsutil import write_atomic
from heatpump.timeutil import utcnow

# The longest a healthy process waits between two beats, idle or not.
BEAT_EVERY_S = 60.0
PROCESSES = ("collector", "bot")


RAM_DIR = Path("/dev/shm")


def heartbeat_dir(data_dir: Path) -> Path:
    """Where the heartbeats of the processes using `data_dir` live (see the module doc)."""
    if RAM_DIR.is_dir() and os.access(RAM_DIR, os.W_OK | os.X_OK):
        key = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
        return RAM_DIR / f"heatpump-{os.geteuid()}-{key}"
    return Path(data_dir)


def heartbeat_path(data_dir: Path, process: str) -> Path:
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; one of {', '.join(PROCESSES)}")
    return heartbeat_dir(data_dir) / f"{process}.heartbeat"


def beat(data_dir: Path, process: str, content: Mapping[str, object] | None = None) -> None:
    """Mark `process` alive now: replace the file atomically (a reader never sees half of
    it) by `content` as JSON, or by its time and pid. A process's first beat and its last
    are always written this way, so a `"stopped": true` left by the previous run cannot
    outlive a restart; in between, `touch` may renew the time alone."""
    if content is None:
        content = {"time": utcnow().isoformat().replace("+00:00", "Z"), "pid": os.getpid()}
    # Whole, not durable: after a power cut the process beats again anyway.
    write_atomic(heartbeat_path(data_dir, process), json.dumps(content, indent=1) + "\n",
                 durable=False)


def touch(data_dir: Path, process: str) -> bool:
    """Renew the beat's time without rewriting its content (no data written); False when
    there is no file yet (then `beat` must write one)."""
    try:
        os.utime(heartbeat_path(data_dir, process))
    except FileNotFoundError:
        return False
    return True


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
