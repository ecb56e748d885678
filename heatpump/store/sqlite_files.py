"""The embedded store's files: created private, and every failure named in one line.

The store holds a household's energy use minute by minute, so its file, the `-wal` and
`-shm` files SQLite keeps next to it, and the directories the store creates are readable by
their owner only (0600 / 0700). SQLite gives its `-wal`/`-shm` files the mode of the
database file (os_unix.c, findCreateFileMode), so creating the database file 0600 before
SQLite opens it covers all three.

SQLite's own messages ("unable to open database file", "file is not a database") say
neither what is wrong nor where; `describe()` turns them into one line that says both.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
COMPANIONS = ("-wal", "-shm")  # what SQLite keeps next to the database file in WAL mode

# Primary SQLite result codes (sqlite3.h); Python exposes them as exc.sqlite_errorcode.
SQLITE_PERM, SQLITE_BUSY, SQLITE_READONLY, SQLITE_IOERR = 3, 5, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
MOVE_AWAY = ("stop heatpump-monitor and move the file away (keep it: `sqlite3 FILE .recover` "
             "may save its data); a new, empty store is created at the next start")


def create_private(path: Path) -> None:
    """The empty database file, 0600, unless it exists; existing files of the store (and its
    -wal/-shm) that others may read are made private too (when this user owns them)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
        return
    except FileExistsError:
        pass
    for p in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        try:
            st = p.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
            try:
                os.chmod(p, PRIVATE_FILE)
            except OSError as exc:
                log.warning("%s is readable by others (mode %o) and cannot be made private: %s",
                            p, st.st_mode & 0o777, exc.strerror)


def _may(path: Path, mode: int) -> bool:
    """os.access by the effective user (the one whose rights SQLite's open() gets)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


def _user() -> str:
    return f"this user (uid {os.geteuid()})" if hasattr(os, "geteuid") else "this user"


def describe_os(exc: OSError, path: Path) -> str:
    """The same for an error of the file system while making the directories or the file."""
    where = Path(exc.filename) if exc.filename else path
    if isinstance(exc, NotADirectoryError):
        bad = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()),
                   where)
        return f"{bad} is a file, not a directory"
    if isinstance(exc, PermissionError):
        return f"permission denied: {_user()} cannot create {where}"
    return f"{exc.strerror or exc} ({where})"


def describe(exc: sqlite3.Error, path: Path) -> str:
    """What is wrong, in words a person can act on (one line, no traceback)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    user = _user()
    if code == SQLITE_CANTOPEN or path.is_dir():
        if path.is_dir():
            return "it is a directory, not a database file"
        if not path.parent.is_dir():
            return f"its directory {path.parent} does not exist"
        if path.exists() and not _may(path, os.R_OK | os.W_OK):
            return f"permission denied: {user} cannot read and write it"
        if not _may(path.parent, os.W_OK | os.X_OK):
            return (f"permission denied: {user} cannot create files in {path.parent} (SQLite "
                    "keeps its -wal and -shm files next to the store)")
        return f"SQLite cannot open it ({exc})"
    if code == SQLITE_NOTADB:
        return f"it is not an SQLite database (another file is in its place); {MOVE_AWAY}"
    if code == SQLITE_CORRUPT:
        return f"the file is damaged ({exc}); {MOVE_AWAY}"
    if code == SQLITE_FULL:
        return f"the disk is full ({exc}); nothing of this write was kept, free some space"
    if code == SQLITE_IOERR:
        return (f"the disk refused a write or read ({exc}: full, failing, or over a file-size "
                "limit); nothing of this write was kept")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return (f"it cannot be written ({exc}): read-only for {user} or on a read-only "
                "filesystem")
    if code == SQLITE_BUSY:
        return f"another process holds it locked ({exc})"
    return str(exc)
