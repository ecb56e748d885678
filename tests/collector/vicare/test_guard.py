"""The guard's pure rules and its persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.vicare.guard import Budget, Call, Guard, LoginPolicy, QuotaBlocked

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)


def calls(*minutes: float) -> list[Call]:
    return [Call(T0 + timedelta(minutes=m), "features", 200) for m in minutes]


def test_budget_rolling_24h() -> None:
    b = Budget(daily=3)
    history = calls(0, 60, 120)
    assert b.next_free(history, T0 + timedelta(minutes=121), 1) == T0 + timedelta(hours=24)
    assert b.next_free(history, T0 + timedelta(hours=24, minutes=1), 1) is None
    # a login costs 2: it needs two calls to have left the window
    assert b.next_free(history, T0 + timedelta(hours=24, minutes=1), 2) == \
        T0 + timedelta(hours=25)


def test_budget_short_window() -> None:
    b = Budget(daily=1000, short_limit=5)
    history = calls(0, 1, 2, 3, 4)
    assert b.next_free(history, T0 + timedelta(minutes=5), 1) == T0 + timedelta(minutes=10)
    assert b.next_free(history, T0 + timedelta(minutes=10, seconds=1), 1) is None


def test_login_policy_backoff() -> None:
    p = LoginPolicy()

    def attempts(*oks: bool) -> list[dict]:
        return [{"t": (T0 + timedelta(minutes=i)).isoformat(), "ok": ok}
                for i, ok in enumerate(oks)]

    assert p.next_allowed([]) is None
    last = T0 + timedelta(minutes=0)
    assert p.next_allowed(attempts(True)) == last + timedelta(minutes=10)
    assert p.next_allowed(attempts(False)) == last + timedelta(minutes=15)
    assert p.next_allowed(attempts(True, False, False)) == T0 + timedelta(minutes=32)
    assert p.next_allowed(attempts(False, False, False, False, False)) == \
        T0 + timedelta(minutes=4, hours=1)


def test_guard_state_survives_restarts_and_damage(tmp_path: Path) -> None:
    g = Guard(tmp_path, daily_budget=2)
    g.record(T0, "features", 200)
    g.record(T0 + timedelta(minutes=5), "features", 200)
    g.block(T0 + timedelta(hours=2))
    again = Guard(tmp_path, daily_budget=2)
    with pytest.raises(QuotaBlocked) as blocked:
        again.check_call(T0 + timedelta(minutes=10))
    assert blocked.value.reason == "rate_limited"
    with pytest.raises(QuotaBlocked) as exhausted:
        again.check_call(T0 + timedelta(hours=3))
    assert exhausted.value.reason == "quota_exhausted"
    assert exhausted.value.until == T0 + timedelta(hours=24)
    with open(tmp_path / "vicare_api_calls.jsonl", "a") as f:
        f.write("{broken\n")
    (tmp_path / "vicare_guard.json").write_text("{not json")
    damaged = Guard(tmp_path, daily_budget=2)
    assert damaged.used_24h(T0 + timedelta(hours=1)) == 2  # the good lines still count


def test_credentials_change_resets_the_login_backoff(tmp_path: Path) -> None:
    g = Guard(tmp_path, daily_budget=100)
    g.bind_credentials("me@example.com", "old-password", "client")
    for i in range(3):
        g.start_login(T0 + timedelta(hours=i))
        g.finish_login(False)
    with pytest.raises(QuotaBlocked):
        g.check_login(T0 + timedelta(hours=2, minutes=30))
    same = Guard(tmp_path, daily_budget=100)
    same.bind_credentials("me@example.com", "old-password", "client")
    assert same.login_failures == 3
    fixed = Guard(tmp_path, daily_budget=100)
    fixed.bind_credentials("me@example.com", "new-password", "client")
    assert fixed.login_failures == 0
    fixed.check_login(T0 + timedelta(hours=2, minutes=30))  # allowed at once
    text = (tmp_path / "vicare_guard.json").read_text()
    assert "new-password" not in text and "old-password" not in text


def test_a_guard_that_cannot_write_keeps_the_block_in_memory(tmp_path: Path, caplog) -> None:
    """The disk refuses the guard's files (here a folder where each file should be): a 429
    and the calls are still kept, in memory, with one error line each and no exception."""
    g = Guard(tmp_path, daily_budget=2)
    (tmp_path / "vicare_guard.json").mkdir()
    (tmp_path / "vicare_api_calls.jsonl").mkdir()
    g.record(T0, "features", 429)
    g.block(T0 + timedelta(hours=2))
    g.record(T0 + timedelta(minutes=1), "features", 200)
    with pytest.raises(QuotaBlocked) as blocked:
        g.check_call(T0 + timedelta(minutes=10))
    assert blocked.value.reason == "rate_limited"
    with pytest.raises(QuotaBlocked) as exhausted:
        g.check_call(T0 + timedelta(hours=3))
    assert exhausted.value.reason == "quota_exhausted"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("kept in memory" in e for e in errors)
    assert any("counted in memory only" in e for e in errors)
