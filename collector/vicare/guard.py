"""Protects the Viessmann account: call ledger, daily budget, 429 block, login backoff.

Everything is persisted in the data dir and re-read by every new process, so restarts
(crash loops, `docker compose up` storms) cannot spend more than the rules allow:

- `vicare_api_calls.jsonl`: one line per API call (time, kind, HTTP status, calls). The
  rolling 24 h and 10 min windows are counted from it.
- `vicare_guard.json`: the 429 block (`blocked_until`), login attempts and their outcome,
  and the time of the last poll per device.

The decision functions are pure (`LoginPolicy`, `Budget`); `Guard` only adds the files.

Damage never loosens the rules (docs/collector.md, "Faults"). A damaged `vicare_guard.json`
(not JSON, another shape, a time that does not parse) is set aside as
`vicare_guard.json.damaged-<UTC time>` with a warning and rebuilt from the ledger,
assuming the worst the evidence allows: an HTTP 429 in the ledger's last 24 h blocks
calls until 24 h after it (the longest a day limit lasts); a login in it counts as a
failed one (the back-off applies); when the ledger is damaged too, calls are blocked for
24 h from the moment the damage was found. Damaged ledger lines are set aside the same
way and each still counts as one call, at the time the ledger was last written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from heatpump.fsutil import write_atomic

log = logging.getLogger(__name__)

DAY = timedelta(hours=24)
SHORT_WINDOW = timedelta(minutes=10)
SHORT_WINDOW_LIMIT = 120  # free tier: 120 calls per 10 minutes
LOGIN_CALLS = 2  # authorize + token exchange
LEDGER_FILE = "vicare_api_calls.jsonl"
STATE_FILE = "vicare_guard.json"
WORST_BLOCK = DAY  # the longest a 429 (day limit) blocks: assumed when the guard is lost


class QuotaBlocked(Exception):
    """No call may be made now; `until` says when one may (never holds a secret)."""

    def __init__(self, reason: str, until: datetime, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.until = until
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Call:
    time: datetime
    kind: str
    status: int
    calls: int = 1


@dataclass(frozen=True)
class Budget:
    """Rolling-window limits over the ledger (pure)."""

    daily: int
    short_limit: int = SHORT_WINDOW_LIMIT

    def used(self, calls: Iterable[Call], now: datetime, window: timedelta = DAY) -> int:
        return sum(c.calls for c in calls if now - window < c.time <= now)

    def next_free(self, calls: list[Call], now: datetime, cost: int) -> datetime | None:
        """None if `cost` calls may be made now, else the earliest time they may."""
        for window, limit in ((DAY, self.daily), (SHORT_WINDOW, self.short_limit)):
            inside = sorted((c for c in calls if now - window < c.time <= now),
                            key=lambda c: c.time)
            excess = sum(c.calls for c in inside) + cost - limit
            if excess > 0:
                freed = 0
                for c in inside:
                    freed += c.calls
                    if freed >= excess:
                        return c.time + window
                return now + window
        return None


@dataclass(frozen=True)
class LoginPolicy:
    """When a password login may be tried (pure).

    There is no refresh token, so every login sends the password: wrong credentials must
    not hammer the identity server (which may lock the account). Failures back off
    15 min, 30 min, then at most one attempt per hour; any two logins are at least
    `min_spacing` apart (a token that expires right away cannot cause a login loop).
    """

    backoff: tuple[timedelta, ...] = (timedelta(minutes=15), timedelta(minutes=30),
                                      timedelta(hours=1))
    min_spacing: timedelta = timedelta(minutes=10)

    def next_allowed(self, attempts: list[dict[str, Any]]) -> datetime | None:
        if not attempts:
            return None
        last = datetime.fromisoformat(attempts[-1]["t"])
        failures = 0
        for a in reversed(attempts):
            if a.get("ok"):
                break
            failures += 1
        wait = self.min_spacing if failures == 0 else self.backoff[
            min(failures, len(self.backoff)) - 1]
        return last + max(wait, self.min_spacing)


@dataclass
class GuardState:
    blocked_until: str | None = None
    block_reason: str | None = None
    logins: list[dict[str, Any]] = field(default_factory=list)
    credentials: str | None = None  # salted hash: a changed password resets the backoff
    salt: str | None = None
    last_poll: dict[str, str] = field(default_factory=dict)
    # Why the last connect (login, device listing) failed: {"reason", "detail", "status"}
    # (the health sentence, never a secret), so a restart or `heatpump doctor` within the
    # retry interval says why instead of nothing.
    connect_failure: dict[str, str] | None = None


def _utc(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("a time is not text")
    t = datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError("a time without its zone")
    return t


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _set_aside(path: Path, why: str) -> Path | None:
    """Rename a damaged file to `<name>.damaged-<UTC time>`; None when that fails."""
    aside = path.with_name(f"{path.name}.damaged-{_stamp()}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        log.error("%s is %s and cannot be set aside (%s)", path, why, exc)
        return None
    log.warning("%s is %s; set aside as %s", path, why, aside.name)
    return aside


def _checked_state(raw: object) -> GuardState:
    """The state a file holds, or ValueError/TypeError when it is not one this code wrote."""
    if not isinstance(raw, dict):
        raise TypeError("not a JSON object")
    state = GuardState(**{k: v for k, v in raw.items() if k in GuardState.__dataclass_fields__})
    for name in ("blocked_until", "block_reason", "credentials", "salt"):
        if getattr(state, name) is not None and not isinstance(getattr(state, name), str):
            raise TypeError(f"{name} is not text")
    if state.blocked_until is not None:
        _utc(state.blocked_until)
    if state.salt is not None:
        bytes.fromhex(state.salt)
    if not isinstance(state.logins, list) or not all(
            isinstance(a, dict) and isinstance(a.get("ok", False), bool) for a in state.logins):
        raise TypeError("logins is not a list of attempts")
    for a in state.logins:
        _utc(a["t"])
    if state.connect_failure is not None and not (
            isinstance(state.connect_failure, dict)
            and all(isinstance(state.connect_failure.get(k), str)
                    for k in ("reason", "detail", "status"))):
        raise TypeError("connect_failure is not a reason and a detail")
    if not isinstance(state.last_poll, dict):
        raise TypeError("last_poll is not a mapping")
    for t in state.last_poll.values():
        _utc(t)
    return state


def credentials_fingerprint(salt: str, username: str, password: str, client_id: str) -> str:
    """Salted scrypt of the credentials (so a fixed password retries at once, and the file
    reveals nothing usable)."""
    material = "\0".join((username, password, client_id)).encode()
    return hashlib.scrypt(material, salt=bytes.fromhex(salt), n=2**14, r=8, p=1,
                          dklen=16).hex()


class Guard:
    """The persisted guard of one data dir; every method takes `now` (UTC)."""

    def __init__(self, data_dir: Path, daily_budget: int,
                 policy: LoginPolicy | None = None, now: datetime | None = None):
        """`now`: when the files are read (UTC; default the clock), the moment a lost
        guard's worst-case block counts from."""
        self.data_dir = Path(data_dir)
        self.budget = Budget(daily_budget)
        self.policy = policy or LoginPolicy()
        self.ledger_path = self.data_dir / LEDGER_FILE
        self.state_path = self.data_dir / STATE_FILE
        self._ledger_damaged = False
        self.calls: list[Call] = self._load_ledger()
        self.state = self._load_state(now or datetime.now(UTC))

    # --- persistence ---------------------------------------------------------------------

    def _load_ledger(self) -> list[Call]:
        calls: list[Call] = []
        try:
            lines = self.ledger_path.read_text().splitlines()
            written = datetime.fromtimestamp(self.ledger_path.stat().st_mtime, UTC)
        except FileNotFoundError:
            return calls
        except (OSError, ValueError) as exc:  # unreadable, not UTF-8
            self._ledger_damaged = True
            _set_aside(self.ledger_path, f"unreadable ({exc})")
            log.warning("assuming the Viessmann quota is used up for 24 h")
            calls.append(Call(datetime.now(UTC), "damaged", 0, self.budget.daily))
            return calls
        bad: list[str] = []
        for line in lines:
            try:
                raw = json.loads(line)
                call = Call(_utc(raw["t"]), str(raw["kind"]), int(raw["status"]),
                            int(raw.get("calls", 1)))
                if call.calls < 0:
                    raise ValueError("negative calls")
                calls.append(call)
            except (ValueError, KeyError, TypeError, AttributeError):
                bad.append(line)
                # a call was made (or begun): it counts, at the ledger's last write
                calls.append(Call(written, "damaged", 0))
        if bad:
            self._ledger_damaged = True
            aside = self.ledger_path.with_name(f"{self.ledger_path.name}.damaged-"
                                               f"{_stamp()}")
            try:
                with open(aside, "a") as f:
                    f.write("".join(line + "\n" for line in bad))
                write_atomic(self.ledger_path, "".join(self._line(c) for c in calls))
            except OSError as exc:
                log.error("%s has %d damaged lines that cannot be set aside (%s)",
                          self.ledger_path, len(bad), exc)
            else:
                log.warning("%s: %d damaged lines set aside in %s; each still counts as "
                            "one API call", self.ledger_path, len(bad), aside.name)
        return calls

    def _load_state(self, now: datetime) -> GuardState:
        try:
            raw = json.loads(self.state_path.read_text())
            return _checked_state(raw)
        except FileNotFoundError:
            return GuardState()
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            _set_aside(self.state_path, f"damaged ({str(exc)[:80]})")
            return self._worst_state(now)

    def _worst_state(self, now: datetime) -> GuardState:
        """The guard state the ledger allows at worst (see the module doc)."""
        state = GuardState()
        recent = [c for c in self.calls if now - DAY < c.time <= now]
        blocks = [c.time for c in recent if c.status == 429]
        until: datetime | None = None
        if self._ledger_damaged:
            until = now + WORST_BLOCK
        elif blocks:
            until = max(blocks) + WORST_BLOCK
        if until is not None and until > now:
            state.blocked_until, state.block_reason = until.isoformat(), "rate_limited"
        logins = [c.time for c in recent if c.kind == "login"]
        state.logins = [{"t": t.isoformat(), "ok": False} for t in logins[-3:]]
        log.warning("Viessmann guard rebuilt from the call ledger, assuming the worst: %s; "
                    "%d recent login(s) counted as failed",
                    f"no call until {until.isoformat()}" if state.blocked_until
                    else "no 429 block in the last 24 h", len(state.logins))
        self.state = state
        self._save_state()
        return state

    def _save_state(self) -> None:
        """Write the state; when the disk refuses (full, read-only, a folder in the way) it
        is kept in memory: a block or a login back-off holds while this process runs, and
        a restart rebuilds it from the ledger, assuming the worst."""
        try:
            write_atomic(self.state_path, json.dumps(self.state.__dict__, indent=1))
        except OSError as exc:
            log.error("cannot write %s (%s): the Viessmann guard is kept in memory",
                      self.state_path, exc)

    def record(self, now: datetime, kind: str, status: int, calls: int = 1) -> Call:
        """Append one call to the ledger (durably) and prune entries older than 24 h."""
        call = Call(now, kind, status, calls)
        self.calls.append(call)
        old = [c for c in self.calls if now - c.time >= DAY]
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if old and len(old) > 100:
                self.calls = [c for c in self.calls if now - c.time < DAY]
                write_atomic(self.ledger_path, "".join(self._line(c) for c in self.calls))
            else:
                with open(self.ledger_path, "a") as f:
                    f.write(self._line(call))
                    f.flush()
                    os.fsync(f.fileno())
        except OSError as exc:  # counted in memory all the same: the budget still holds
            log.error("cannot write %s (%s): this call is counted in memory only",
                      self.ledger_path, exc)
        return call

    @staticmethod
    def _line(c: Call) -> str:
        return json.dumps({"t": c.time.isoformat(), "kind": c.kind, "status": c.status,
                           "calls": c.calls}) + "\n"

    # --- quota ---------------------------------------------------------------------------

    def used_24h(self, now: datetime) -> int:
        return self.budget.used(self.calls, now)

    def check_call(self, now: datetime, cost: int = 1) -> None:
        """Raise QuotaBlocked unless `cost` calls may be made now."""
        if self.state.blocked_until:
            until = datetime.fromisoformat(self.state.blocked_until)
            if now < until:
                raise QuotaBlocked(self.state.block_reason or "rate_limited", until,
                                   f"the Viessmann API blocked this account (HTTP 429); "
                                   f"no call until {until.isoformat()}")
        free_at = self.budget.next_free(self.calls, now, cost)
        if free_at is not None:
            raise QuotaBlocked("quota_exhausted", free_at,
                               f"{self.used_24h(now)} of VICARE_DAILY_BUDGET="
                               f"{self.budget.daily} calls used in the last 24 h; next call "
                               f"at {free_at.isoformat()}")

    def block(self, until: datetime, reason: str = "rate_limited") -> None:
        self.state.blocked_until = until.astimezone(UTC).isoformat()
        self.state.block_reason = reason
        self._save_state()

    # --- logins --------------------------------------------------------------------------

    def bind_credentials(self, username: str, password: str, client_id: str) -> None:
        """Forget the login backoff when the credentials changed since it was recorded."""
        if self.state.salt is None:
            self.state.salt = os.urandom(16).hex()
        fingerprint = credentials_fingerprint(self.state.salt, username, password, client_id)
        if fingerprint != self.state.credentials:
            if self.state.credentials is not None and self.state.logins:
                log.info("Viessmann credentials changed; login backoff reset")
            self.state.credentials = fingerprint
            self.state.logins = []
            self._save_state()

    def check_login(self, now: datetime) -> None:
        allowed = self.policy.next_allowed(self.state.logins)
        if allowed is not None and now < allowed:
            failures = self.login_failures
            detail = (f"Viessmann login failed {failures} time(s) in a row: check "
                      "VICARE_USERNAME, VICARE_PASSWORD and VICARE_CLIENT_ID; next attempt "
                      f"at {allowed.isoformat()}" if failures else
                      f"a login was just made; next one at {allowed.isoformat()}")
            raise QuotaBlocked("login_failed" if failures else "login_spacing", allowed, detail)
        self.check_call(now, LOGIN_CALLS)

    def start_login(self, now: datetime) -> None:
        """Persist the attempt BEFORE it is made, so a crash mid-login still counts."""
        self.state.logins = [*self.state.logins[-20:], {"t": now.isoformat(), "ok": False}]
        self._save_state()
        self.record(now, "login", 0, LOGIN_CALLS)

    def finish_login(self, ok: bool) -> None:
        if self.state.logins:
            self.state.logins[-1]["ok"] = ok
            self._save_state()

    @property
    def login_failures(self) -> int:
        n = 0
        for a in reversed(self.state.logins):
            if a.get("ok"):
                break
            n += 1
        return n

    @property
    def logins(self) -> int:
        return len(self.state.logins)

    # --- poll schedule -------------------------------------------------------------------

    def last_poll(self, device: str) -> datetime | None:
        t = self.state.last_poll.get(device)
        return datetime.fromisoformat(t) if t else None

    def set_last_poll(self, device: str, when: datetime) -> None:
        self.state.last_poll[device] = when.isoformat()
        self._save_state()

    def clear_last_poll(self, device: str) -> None:
        changed = self.state.last_poll.pop(device, None) is not None
        if self.state.connect_failure is not None:
            self.state.connect_failure, changed = None, True
        if changed:
            self._save_state()

    def note_connect_failure(self, reason: str, detail: str, status: str) -> None:
        """Keep why the connect failed (saved with the next state write)."""
        self.state.connect_failure = {"reason": reason, "detail": detail, "status": status}
