"""Files that are replaced whole, never seen half-written: state, subscriptions, heartbeats.

`write_atomic` writes a temporary file next to the target (same directory, so the rename
stays on one file system), flushes it to disk, gives it its final permissions and renames
it over the target. A reader sees the old file or the new one; a crash or power cut leaves
the old one intact. The default mode is private (0600): the data dir holds tokens and chat
ids.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes | str, mode: int = 0o600, *,
                 durable: bool = True) -> None:
    """Replace `path` by `data` (str is written as UTF-8) atomically, with permissions `mode`.

    The parent directory is created when missing. With `durable` (the default) the data and
    the rename are fsync'd, so they survive a power cut; `durable=False` skips both for
    files that only need to be whole, not kept (a heartbeat rewritten every minute would
    wear an SD card). Raises OSError; the temporary file is removed on any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (not possible on every file system: then skipped)."""
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
