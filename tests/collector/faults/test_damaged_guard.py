"""A damaged Viessmann guard never forgets a block (issue 15): vicare_guard.json and the
call ledger set aside with a warning, the 429 block, the quota and the login back-off
rebuilt from what evidence is left, assuming the worst (collector/vicare/guard.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from collector.vicare.guard import LEDGER_FILE, STATE_FILE, Guard, QuotaBlocked

NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)

DAMAGE = {
    "not JSON": "{not json",
    "another shape": json.dumps(["blocked_until", "2026-01-12T18:00:00+00:00"]),
    "a time that does not parse": json.dumps({"blocked_until": "tomorrow"}),
    "logins of the wrong shape": json.dumps({"logins": "many"}),
    "a block that is a number": json.dumps({"blocked_until": 1768240800}),
}


def guarded(tmp_path, damage: str) -> Guard:
    """A guard that saw a 429 two hours ago (blocked until 22:00), then got damaged."""
    g = Guard(tmp_path, daily_budget=1400, now=NOW - timedelta(hours=2))
    g.record(NOW - timedelta(hours=2), "features", 429)
    g.block(NOW + timedelta(hours=10))
    (tmp_path / STATE_FILE).write_text(damage)
    return Guard(tmp_path, daily_budget=1400, now=NOW)


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_guard_file_keeps_the_429_block(tmp_path, damage, caplog):
    g = guarded(tmp_path, damage)
    with pytest.raises(QuotaBlocked) as blocked:
        g.check_call(NOW + timedelta(hours=9))
    assert blocked.value.reason == "rate_limited"
    # the worst the ledger allows: 24 h after the 429 (the file said 10 h from now)
    assert blocked.value.until == NOW + timedelta(hours=22)
    assert list(tmp_path.glob(f"{STATE_FILE}.damaged-*"))  # set aside, not deleted
    assert "set aside" in caplog.text and "assuming the worst" in caplog.text
    again = Guard(tmp_path, daily_budget=1400, now=NOW + timedelta(minutes=1))
    with pytest.raises(QuotaBlocked):  # the rebuilt file holds it across a restart
        again.check_call(NOW + timedelta(hours=9))


def test_without_a_429_in_the_ledger_a_damaged_guard_blocks_nothing_but_logins(tmp_path):
    g = Guard(tmp_path, daily_budget=1400, now=NOW)
    g.start_login(NOW - timedelta(minutes=5))
    g.finish_login(True)
    g.record(NOW - timedelta(minutes=1), "features", 200)
    (tmp_path / STATE_FILE).write_text("{torn")
    rebuilt = Guard(tmp_path, daily_budget=1400, now=NOW)
    rebuilt.check_call(NOW)  # no block: the ledger proves there was none
    # the login's outcome is unknown: counted as failed, so the back-off applies
    with pytest.raises(QuotaBlocked) as backoff:
        rebuilt.check_login(NOW)
    assert backoff.value.reason == "login_failed"
    assert backoff.value.until == NOW - timedelta(minutes=5) + timedelta(minutes=15)


def test_a_damaged_ledger_too_blocks_for_a_whole_day(tmp_path):
    g = Guard(tmp_path, daily_budget=1400, now=NOW)
    g.record(NOW - timedelta(minutes=1), "features", 200)
    with open(tmp_path / LEDGER_FILE, "a") as f:
        f.write('{"t": "2026-01-12T11:59:30+00:00", "kind": "feat')  # torn
    (tmp_path / STATE_FILE).write_text("\x00\x00")
    rebuilt = Guard(tmp_path, daily_budget=1400, now=NOW)
    with pytest.raises(QuotaBlocked) as blocked:
        rebuilt.check_call(NOW + timedelta(hours=23))
    assert blocked.value.until == NOW + timedelta(hours=24)
    assert list(tmp_path.glob(f"{LEDGER_FILE}.damaged-*"))
    assert len(rebuilt.calls) == 2  # the torn line still counts as a call


def test_an_unreadable_ledger_uses_up_the_quota(tmp_path):
    (tmp_path / LEDGER_FILE).write_bytes(b"\xff\xfe\x00 not utf-8")
    g = Guard(tmp_path, daily_budget=1400, now=NOW)
    assert g.used_24h(datetime.now(UTC)) == 1400
    with pytest.raises(QuotaBlocked):
        g.check_call(datetime.now(UTC))
