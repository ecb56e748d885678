"""The embedded store's file when things go wrong: one clear line, never a raw sqlite3
traceback; a damaged file found by check(); a full disk keeps nothing half-written; the
files are private."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heatpump.store.base import Point, StoreError
from heatpump.store.sqlite import SQLiteStore
from tests.conftest import BERLIN

T0 = datetime(2026, 1, 5, tzinfo=UTC)
ROOT = Path(__file__).parents[3]
NOBODY = 65534


def meter(i: int, power: float = 1.0) -> Point:
    return Point("meter", T0 + timedelta(seconds=10 * i), {"power_w": power},
                 {"device": "d"})


def open_error(path: Path) -> StoreError:
    with pytest.raises(StoreError) as info:
        SQLiteStore(path, BERLIN)
    err = info.value
    text = str(err)
    assert "\n" not in text and str(path) in text, text
    assert err.__cause__ is None and err.__suppress_context__  # no sqlite3 traceback
    return err


def filled(path: Path, n: int = 2000) -> None:
    with SQLiteStore(path, BERLIN) as s:
        s.write([meter(i, float(i)) for i in range(n)])
        s.flush()


def test_a_directory_in_the_files_place(tmp_path: Path):
    (tmp_path / "heatpump.sqlite3").mkdir()
    err = open_error(tmp_path / "heatpump.sqlite3")
    assert "is a directory, not a database file" in str(err)


def test_a_file_where_the_data_directory_should_be(tmp_path: Path):
    (tmp_path / "data").write_text("not a directory")
    err = open_error(tmp_path / "data" / "heatpump.sqlite3")
    assert f"{tmp_path / 'data'} is a file, not a directory" in str(err)


def test_another_file_in_its_place(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    db.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 64)
    err = open_error(db)
    assert "not an SQLite database" in str(err) and "move the file away" in str(err)
    assert db.read_bytes().startswith(b"%PDF")  # left as it was


def test_a_damaged_schema_page_is_refused_at_open(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    filled(db)
    with open(db, "r+b") as f:  # page 1 after the 100-byte header: the table catalogue
        f.seek(100)
        f.write(b"\xff" * 400)
    err = open_error(db)
    assert "the file is damaged (database disk image is malformed)" in str(err)


def test_check_finds_a_damaged_data_page_that_open_does_not(tmp_path: Path):
    db = tmp_path / "heatpump.sqlite3"
    filled(db, 20_000)
    with SQLiteStore(db, BERLIN) as s:
        s.check()  # sound
        page = s._db.execute("PRAGMA page_size").fetchone()[0]
        pages = s._db.execute("PRAGMA page_count").fetchone()[0]
    with open(db, "r+b") as f:  # scribble over a page in the middle of the meter rows
        f.seek(page * (pages // 2) + 200)
        f.write(b"\x00\x13\x37" * 600)
    store = SQLiteStore(db, BERLIN)  # the catalogue is intact: it opens
    with pytest.raises(StoreError) as info:
        store.check()
    text = str(info.value)
    assert "\n" not in text and str(db) in text and "is damaged" in text
    assert info.value.__cause__ is None
    store.close()


@contextlib.contextmanager
def as_nobody() -> Iterator[None]:
    """Run the block with another user's rights (root's are not limited by file modes)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory any user can enter (tmp_path's parents are private to their owner)."""
    d = Path(tempfile.mkdtemp(prefix="heatpump-perm-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_store_file_this_user_may_not_open(open_dir: Path):
    db = open_dir / "heatpump.sqlite3"
    filled(db)
    os.chmod(db, 0o600 if os.geteuid() == 0 else 0o000)  # root's own file; nobody's none
    with as_nobody():
        err = open_error(db)
    assert "permission denied" in str(err) and "cannot read and write it" in str(err)


def test_a_read_only_store_file(open_dir: Path):
    db = open_dir / "heatpump.sqlite3"
    filled(db)
    for f in open_dir.iterdir():
        os.chmod(f, 0o644 if os.geteuid() == 0 else 0o444)
    with as_nobody():
        err = open_error(db)
    assert "cannot be written" in str(err) or "permission denied" in str(err)


def test_a_data_directory_this_user_may_not_write(open_dir: Path):
    if os.geteuid() != 0:
        open_dir.chmod(0o555)
    with as_nobody():
        err = open_error(open_dir / "heatpump.sqlite3")
    assert f"permission denied: this user (uid {os.geteuid() if os.geteuid() else NOBODY}) " \
        f"cannot create {open_dir / 'heatpump.sqlite3'}" in str(err)


def test_new_files_and_directories_are_private(tmp_path: Path):
    old = os.umask(0o022)
    try:
        db = tmp_path / "data" / "demo" / "heatpump.sqlite3"
        s = SQLiteStore(db, BERLIN)
        s.write([meter(0)])
        s.flush()
        for d in (tmp_path / "data", tmp_path / "data" / "demo"):
            assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
        for name in ("heatpump.sqlite3", "heatpump.sqlite3-wal", "heatpump.sqlite3-shm"):
            f = db.parent / name
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        s.close()
    finally:
        os.umask(old)


def test_an_existing_store_readable_by_others_is_made_private(tmp_path: Path):
    tmp_path.chmod(0o755)
    db = tmp_path / "heatpump.sqlite3"
    con = sqlite3.connect(db)  # made by an older version, mode 0644
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    db.chmod(0o644)
    SQLiteStore(db, BERLIN).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # not made here: left alone


# --- a full disk ------------------------------------------------------------------------


def stored(s: SQLiteStore) -> tuple[int, float]:
    """(meter points, Σ power_w from the daily rollups) of the test's days."""
    day = datetime(2026, 1, 4, tzinfo=BERLIN)
    rows = s.sums("meter", ["power_w"], day, day + timedelta(days=5), "day", BERLIN)
    return (len(s.points("meter", T0 - timedelta(days=1), T0 + timedelta(days=4))),
            sum(r.values["power_w"] for r in rows))


def _assert_nothing_half_written(db: Path) -> None:
    """Only the first flush's points are there, with rollups that match them exactly."""
    with SQLiteStore(db, BERLIN) as s:
        s.check()
        assert stored(s) == (100, 100.0)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    got = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                          str(where)], capture_output=True, text=True)
    if got.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({got.stderr.strip()[:200]}); the "
                    "file-size-limit variant of this test covers a full disk")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_gives_a_store_error_and_keeps_nothing_half_written(tmp_path: Path):
    with small_tmpfs(tmp_path / "small", "1m") as mnt:
        db = mnt / "heatpump.sqlite3"
        store = SQLiteStore(db, BERLIN)
        store.write([meter(i, 1.0) for i in range(100)])
        store.flush()
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
            while True:  # every last block
                f.write(b"\0" * 4096)
                f.flush()
        store.write([meter(i, 2.0) for i in range(100, 20_100)])
        with pytest.raises(StoreError) as info:
            store.flush()
        text = str(info.value)
        assert "\n" not in text and str(db) in text
        assert "disk is full" in text or "disk refused a write" in text, text
        _assert_nothing_half_written(db)
        filler.unlink()
        store.flush()  # space again: the kept points go in, once
        assert stored(store) == (20_100, 100 * 1.0 + 20_000 * 2.0)
        store.close()


FSIZE_CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo
    from heatpump.store.base import Point, StoreError
    from heatpump.store.sqlite import SQLiteStore
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    def meter(i, p):
        return Point("meter", t0 + timedelta(seconds=10 * i), {"power_w": p}, {"device": "d"})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    s = SQLiteStore(sys.argv[1], ZoneInfo("Europe/Berlin"))
    s.write([meter(i, 1.0) for i in range(100)])
    s.flush()
    s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    s.write([meter(i, 2.0) for i in range(100, 20_100)])
    out = {}
    try:
        s.flush()
    except StoreError as exc:
        out["error"] = str(exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    with SQLiteStore(sys.argv[1], ZoneInfo("Europe/Berlin")) as other:  # what a reader sees
        out["seen_after_error"] = len(other.points("meter", t0, t0 + timedelta(days=4)))
    s.flush()  # the limit is gone: the kept points go in, once
    out["seen_after_retry"] = len(s.points("meter", t0, t0 + timedelta(days=4)))
    s.close()
    print(json.dumps(out))
""")


def test_a_write_the_disk_refuses_keeps_nothing_half_written(tmp_path: Path):
    """The same with the kernel's file-size limit (no root needed): writes past it fail."""
    db = tmp_path / "heatpump.sqlite3"
    got = subprocess.run([sys.executable, "-c", FSIZE_CHILD, str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr[-2000:]
    out = json.loads(got.stdout)
    err = out["error"]
    assert "\n" not in err and str(db) in err and "nothing of this write was kept" in err
    assert out["seen_after_error"] == 100 and out["seen_after_retry"] == 20_100
    with SQLiteStore(db, BERLIN) as s:
        s.check()
        assert stored(s) == (20_100, 100 * 1.0 + 20_000 * 2.0)


def test_a_failure_anywhere_in_a_flush_is_a_store_error_and_rolled_back(tmp_path: Path,
                                                                        monkeypatch):
    """Not only the row writes: a statement of the rollup upkeep failing too."""
    db = tmp_path / "heatpump.sqlite3"
    store = SQLiteStore(db, BERLIN)
    store.write([meter(i, 1.0) for i in range(100)])
    store.flush()

    def broken(self, m, start_ms):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(SQLiteStore, "_drop_hours_from", broken)
    store.write([meter(i, 2.0) for i in range(100, 20_100)])  # reaches a later hour
    with pytest.raises(StoreError) as info:
        store.flush()
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "embedded store write failed" in str(info.value)
    _assert_nothing_half_written(db)
    monkeypatch.undo()
    store.flush()
    assert stored(store) == (20_100, 100 * 1.0 + 20_000 * 2.0)
    store.close()
