"""What each source is doing: up, degraded or down, and why — so missing data is explained.

The bot can tell "stale" (no new data but the source is up) from "down" (and why: quota
exhausted until 00:00 UTC, login failed, device offline, meter unreachable) because the
collector writes a `health` point on every change of a source's state, and keeps a
heartbeat (heatpump/heartbeat.py) a container healthcheck can test. The state machine here
is pure; the service hands it times and outcomes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collector.points import health_point, iso_utc
from heatpump.store.base import Point


class SourceError(Exception):
    """A classified poll failure: `reason` is machine-readable, `detail` one human sentence.

    `detail` must never hold a secret; `until` says when the source will try again on its
    own (quota)."""

    def __init__(self, reason: str, detail: str, until: datetime | None = None,
                 status: str = "down"):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.until, self.status = reason, detail, until, status


@dataclass
class SourceState:
    source: str
    device: str
    status: str = "starting"  # starting, up, degraded, down
    reason: str = ""
    detail: str = ""
    until: datetime | None = None
    failures: int = 0
    last_success: datetime | None = None
    last_error: datetime | None = None
    last_error_detail: str = ""
    down_since: datetime | None = None

    def as_json(self) -> dict[str, object]:
        def iso(t: datetime | None) -> str | None:
            return iso_utc(t) if t else None

        return {"status": self.status, "reason": self.reason, "detail": self.detail,
                "until": iso(self.until), "failures": self.failures, "device": self.device,
                "last_success": iso(self.last_success), "last_error": iso(self.last_error),
                "last_error_detail": self.last_error_detail}


@dataclass(frozen=True)
class Change:
    """A state transition (or a one-off event such as a counter reset) worth a log line."""

    state: SourceState
    time: datetime
    message: str
    level: str  # "info", "warning", "error"

    def point(self) -> Point:
        s = self.state
        return health_point(self.time, s.source, s.device, s.status, s.reason, s.detail,
                            s.until, s.failures)


@dataclass
class HealthBook:
    """The state of every (source, device): the meter, each heat pump, the Viessmann
    account, the store. Every method returns a Change only when something changed."""

    states: dict[tuple[str, str], SourceState] = field(default_factory=dict)

    def state(self, source: str, device: str) -> SourceState:
        key = (source, device or ANY_DEVICE)
        st = self.states.get(key)
        if st is None:
            # a device seen for the first time inherits what was known before its id was
            # (the meter's id is learnt from its first answer)
            unknown = self.states.pop((source, ANY_DEVICE), None) if device else None
            st = self.states[key] = unknown or SourceState(source, key[1])
            st.device = key[1]
        return st

    def is_up(self, source: str, device: str) -> bool:
        """Whether the source's device is up (not degraded, starting or down): a success
        without degradation then changes nothing but its time."""
        st = self.states.get((source, device or ANY_DEVICE))
        return st is not None and st.status == "up"

    def success(self, source: str, device: str, now: datetime,
                degraded: tuple[str, str] | None = None) -> Change | None:
        st = self.state(source, device)
        previous = (st.status, st.reason)
        was_down, failures, down_since = st.status == "down", st.failures, st.down_since
        st.last_success, st.failures, st.until, st.down_since = now, 0, None, None
        st.status, st.reason, st.detail = ("degraded", *degraded) if degraded else ("up", "", "")
        if (st.status, st.reason) == previous:
            return None
        who = _who(st)
        if st.status == "degraded":
            return Change(_copy(st), now, f"{who} degraded ({st.reason}): {st.detail}",
                          "warning")
        if was_down:
            since = f", down since {_short(down_since)}" if down_since else ""
            polls = f" after {failures} failed polls" if failures > 1 else ""
            recovered = _copy(st)
            recovered.failures = failures  # the point says how many polls failed before
            return Change(recovered, now, f"{who} up again{polls}{since}", "info")
        return Change(_copy(st), now, f"{who} up", "info")

    def failure(self, source: str, device: str, now: datetime, error: SourceError
                ) -> Change | None:
        st = self.state(source, device)
        previous = (st.status, st.reason)
        st.failures += 1
        st.last_error, st.last_error_detail = now, error.detail
        st.status, st.reason, st.detail, st.until = (error.status, error.reason, error.detail,
                                                     error.until)
        if st.status == "down" and st.down_since is None:
            st.down_since = now
        if (st.status, st.reason) == previous:
            return None
        until = f" until {_short(error.until)}" if error.until else ""
        return Change(_copy(st), now, f"{_who(st)} {st.status} ({st.reason}){until}: "
                      f"{st.detail}", "error" if st.status == "down" else "warning")

    def event(self, source: str, device: str, now: datetime, reason: str, detail: str,
              status: str | None = None) -> Change:
        """A one-off occurrence (counter reset, reversed clamp): logged and stored with
        `status` (default: the current one), the state itself is kept."""
        st = self.state(source, device)
        snapshot = _copy(st)
        snapshot.reason, snapshot.detail = reason, detail
        snapshot.status = status or ("up" if st.status == "starting" else st.status)
        return Change(snapshot, now, f"{_who(st)} {reason}: {detail}", "warning")

    def worst(self) -> list[SourceState]:
        """The states that are down (for `collect --once`'s exit code)."""
        return [st for st in self.states.values() if st.status == "down"]


ANY_DEVICE = "-"  # device tag while a source's device id is not known yet


def _who(st: SourceState) -> str:
    return st.source if st.device == ANY_DEVICE else f"{st.source} {st.device}"


def _key(st: SourceState) -> str:
    """"meter/shellypro3em-…", "vicare/account": a source's entry in the heartbeat."""
    return st.source if st.device == ANY_DEVICE else f"{st.source}/{st.device}"


def _copy(st: SourceState) -> SourceState:
    return SourceState(**st.__dict__)


def _short(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if t else "?"


# --- heartbeat content ------------------------------------------------------------------


def heartbeat_body(now: datetime, book: HealthBook,
                   extra: dict[str, object] | None = None) -> dict[str, object]:
    """What the collector's heartbeat file (heatpump/heartbeat.py) says besides its age: each
    source's state, so `docker inspect` and `heatpump doctor` show why data is missing."""
    body: dict[str, object] = {
        "time": iso_utc(now), "pid": os.getpid(),
        "sources": {_key(st): st.as_json() for _, st in sorted(book.states.items())}}
    if extra:
        body.update(extra)
    return body
