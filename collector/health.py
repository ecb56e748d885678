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
            return t.isoformat().replace("+00:00", "Z") if t else None

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
        fields: dict[str, str | int] = {"status": s.status, "reason": s.reason,
                                        "detail": s.detail, "failures": s.failures}
        if s.until:
            fields["until"] = s.until.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return Point("health", self.time, fields, {"source": s.source, "device": s.device})


@dataclass
class HealthBook:
    """Per-source state; every method returns a Change only when something changed."""

    states: dict[str, SourceState] = field(default_factory=dict)

    def state(self, source: str, device: str) -> SourceState:
        st = self.states.get(source)
        if st is None:
            st = self.states[source] = SourceState(source, device or "-")
        return st

    def success(self, source: str, device: str, now: datetime,
                degraded: tuple[str, str] | None = None) -> Change | None:
        st = self.state(source, device)
        previous = (st.status, st.reason)
        was_down, failures, down_since = st.status == "down", st.failures, st.down_since
        if device:
            st.device = device
        st.last_success, st.failures, st.until, st.down_since = now, 0, None, None
        st.status, st.reason, st.detail = ("degraded", *degraded) if degraded else ("up", "", "")
        if (st.status, st.reason) == previous:
            return None
        if st.status == "degraded":
            return Change(_copy(st), now, f"{source} degraded ({st.reason}): {st.detail}",
                          "warning")
        dev = f" ({st.device})" if st.device != "-" else ""
        if was_down:
            since = f", down since {_short(down_since)}" if down_since else ""
            polls = f" after {failures} failed polls" if failures > 1 else ""
            return Change(_copy(st), now, f"{source} up again{dev}{polls}{since}", "info")
        return Change(_copy(st), now, f"{source} up{dev}", "info")

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
        return Change(_copy(st), now, f"{source} {st.status} ({st.reason}){until}: "
                      f"{st.detail}", "error" if st.status == "down" else "warning")

    def mirror(self, source: str, device: str, now: datetime, status: str, reason: str,
               detail: str, until: datetime | None) -> None:
        """Follow the state of a source that records its own health (no Change: it already
        logged and stored it)."""
        st = self.state(source, device)
        if device:
            st.device = device
        if status == "down":
            st.failures += 1
            st.last_error, st.last_error_detail = now, detail
            st.down_since = st.down_since or now
        else:
            st.last_success, st.failures, st.down_since = now, 0, None
        st.status, st.reason, st.detail, st.until = status, reason, detail, until

    def event(self, source: str, device: str, now: datetime, reason: str, detail: str
              ) -> Change:
        """A one-off occurrence (counter reset, quota warning): logged and stored, state kept."""
        st = self.state(source, device)
        snapshot = _copy(st)
        snapshot.reason, snapshot.detail = reason, detail
        if snapshot.status == "starting":
            snapshot.status = "up"
        return Change(snapshot, now, f"{source} {reason}: {detail}", "warning")


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
        "time": now.astimezone(UTC).isoformat().replace("+00:00", "Z"), "pid": os.getpid(),
        "sources": {name: st.as_json() for name, st in sorted(book.states.items())}}
    if extra:
        body.update(extra)
    return body
