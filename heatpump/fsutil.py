"""Files that are replaced whole, never seen half-written: state, subscriptions, heartbeats;
and folders only their owner can enter.

`write_atomic` writes a temporary file next to the target (same directory, so the rename
stays on one file system), flushes it to disk, gives it its final permissions and renames
it over the target. A reader sees the old file or the new one; a crash or power cut leaves
the old one intact. The default mode is private (0600): the data dir holds tokens and chat
ids. Folders it creates are private too (0700, `private_dir`); `heatpump` also runs with
umask 077 (heatpump/cli.py), so whatever else a library creates (SQLite's -wal and -shm
files) is private from the start.
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
    private_dir(path.parent)
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


PRIVATE_DIR = 0o700


def private_dir(folder: str | Path) -> Path:
    """Create `folder` and every missing parent with mode 0700 (whatever the umask); an
    existing folder is left as it is (see `make_private`). Raises OSError."""
    folder = Path(folder)
    missing = []
    for p in (folder, *folder.parents):
        if p.is_dir():
            break
        missing.append(p)
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            p.mkdir(mode=PRIVATE_DIR)
        os.chmod(p, PRIVATE_DIR)  # mkdir's mode is cut by the umask
    if not folder.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(folder))
    return folder


def make_private(folder: str | Path) -> bool:
    """Take group and other permissions off an existing `folder` this user owns (a data dir
    from an older version, or one git checked out 0755). True when it changed; False when
    it was private already, is missing or belongs to someone else (then left alone)."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    if st.st_mode & 0o077 == 0 or st.st_uid != os.geteuid():
        return False
    os.chmod(folder, st.st_mode & 0o700 | PRIVATE_DIR)
    return True


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (not possible on every file system: then skipped)."""
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
