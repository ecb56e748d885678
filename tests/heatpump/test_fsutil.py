"""write_atomic: the target is replaced whole, privately, and survives a failed write."""

import os
import stat

import pytest

from heatpump.fsutil import write_atomic


def mode_of(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_text_and_bytes_privately_and_creates_the_folder(tmp_path):
    target = tmp_path / "new" / "state.json"
    write_atomic(target, "grüße")
    assert target.read_text(encoding="utf-8") == "grüße"
    assert mode_of(target) == 0o600
    write_atomic(target, b"\x00\x01", mode=0o640)
    assert target.read_bytes() == b"\x00\x01" and mode_of(target) == 0o640


def test_private_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "token", "t", durable=False)
    finally:
        os.umask(old)
    assert mode_of(tmp_path / "token") == 0o600


def test_replaces_by_rename_so_a_reader_keeps_the_whole_old_file(tmp_path):
    target = tmp_path / "alerts_state.json"
    write_atomic(target, "old contents")
    with open(target, encoding="utf-8") as reader:
        write_atomic(target, "new")
        assert reader.read() == "old contents"  # never truncated in place
    assert target.read_text(encoding="utf-8") == "new"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "subscribers.json"
    write_atomic(target, "kept")
    with pytest.raises(TypeError):
        write_atomic(target, object())  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subscribers.json"]
