"""Record every raw device answer, and replay a recording through the same path.

`heatpump collect --record DIR` (and `heatpump demo --record DIR`) keep what the devices
answered, with the time of each poll and each answer, so `heatpump replay DIR` can run
exactly that through the same readers, mapping and accounting into a separate store. This
is what a user attaches to a bug report, and what a regression test replays.

Format (docs/recording.md), a folder with:
- `recording.json`: {"format": "heatpump-monitor recording", "version": 1, "started": ...,
  "settings": {the settings that change accounting: HEATPUMP_TZ, HEATPUMP_RUNNING_W,
  HEATPUMP_RATED_HEAT_KW, SHELLY_CHANNEL, SHELLY_POLL_SECONDS, VICARE_POLL_SECONDS}}
- `answers.jsonl`: one JSON object per line, in the order they happened:
  {"t": ..., "source": "meter"|"vicare", "poll": n} opens poll n of a source;
  {"t": ..., "source": ..., "poll": n, "path": ..., "status": 200, "body": {...}} is one
  answer (`path` relative to the Shelly's root or to the Viessmann API root);
  {"t": ..., "source": ..., "poll": n, "path": ..., "error": "unreachable"|"timeout",
  "detail": ...} is a request that got no answer (`detail`: its cause, e.g.
  "ConnectError").
- the header's "meter": the meter's URL (without credentials), so a replay's messages
  name the meter as the recorded run did.
Times are UTC ISO 8601. Identifiers are redacted (collector/redact.py) consistently over
the whole recording; passwords, tokens and login answers are never written.
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from collector.points import iso_utc
from collector.redact import Redactor
from collector.shelly.client import GEN2_STATUS
from collector.shelly.errors import ShellyTimeout, ShellyUnreachable
from collector.shelly.transport import Answer, NotJson, Transport

FORMAT = "heatpump-monitor recording"
VERSION = 1
HEADER = "recording.json"
ANSWERS = "answers.jsonl"
# a Gen2+ component's own status request, as recorded before one Shelly.GetStatus per poll
_COMPONENT_PATH = re.compile(r"/rpc/(?P<name>[A-Za-z0-9]+)\.GetStatus(?:\?id=(?P<id>\d+))?")
# Settings that change what accounting makes of the answers (kept in the header).
ACCOUNTING_SETTINGS = {"HEATPUMP_TZ": "tz_name", "HEATPUMP_RUNNING_W": "running_w",
                       "HEATPUMP_RATED_HEAT_KW": "rated_heat_kw",
                       "HEATPUMP_HEATING_ROD_KW": "heating_rod_kw",
                       "SHELLY_CHANNEL": "shelly_channel",
                       "SHELLY_POLL_SECONDS": "shelly_poll_seconds",
                       "VICARE_POLL_SECONDS": "vicare_poll_seconds"}


class RecordingError(ValueError):
    """A recording that cannot be read (one line saying what and where)."""


# --- writing -----------------------------------------------------------------------------


class Recorder:
    """Appends to a recording folder; thread-safe (the two sources poll in two threads)."""

    def __init__(self, folder: Path, clock: Callable[[], datetime], settings: Any):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._redactor = Redactor()
        self._lock = threading.Lock()
        self._polls: dict[str, int] = defaultdict(int)
        header = self.folder / HEADER
        if not header.exists():
            header.write_text(json.dumps({
                "format": FORMAT, "version": VERSION, "started": iso_utc(clock()),
                "settings": {env: getattr(settings, attr)
                             for env, attr in ACCOUNTING_SETTINGS.items()}}, indent=1))
        self._out = open(self.folder / ANSWERS, "a", encoding="utf-8")  # noqa: SIM115

    def note(self, key: str, value: Any) -> None:
        """A fact about the recorded run for the header (e.g. the meter's URL)."""
        header = self.folder / HEADER
        body = json.loads(header.read_text())
        body[key] = value
        header.write_text(json.dumps(body, indent=1))

    def begin_poll(self, source: str) -> None:
        with self._lock:
            self._polls[source] += 1
            self._write({"t": iso_utc(self.clock()), "source": source,
                         "poll": self._polls[source]})

    def answer(self, source: str, path: str, status: int, body: Any) -> None:
        with self._lock:
            if isinstance(body, NotJson):
                body = f"<not JSON, {body.size} bytes>"
            red = (self._redactor.listing(body) if path.startswith("/equipment/installations")
                   else self._redactor.json(body))
            self._write({"t": iso_utc(self.clock()), "source": source,
                         "poll": self._polls[source], "path": self._redactor.text(path),
                         "status": status, "body": red})

    def error(self, source: str, path: str, kind: str, detail: str) -> None:
        with self._lock:
            self._write({"t": iso_utc(self.clock()), "source": source,
                         "poll": self._polls[source], "path": self._redactor.text(path),
                         "error": kind, "detail": self._redactor.text(detail)})

    def _write(self, entry: dict[str, Any]) -> None:
        self._out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._out.flush()

    def close(self) -> None:
        with self._lock:
            self._out.close()

    # --- wrappers for the transports ------------------------------------------------------

    def answers(self, source: str, answer: Callable[[str], tuple[int, Any]]
                ) -> Callable[[str], tuple[int, Any]]:
        """An answer function (simulated device, dump) that records what it answers."""

        def recorded(path: str) -> tuple[int, Any]:
            try:
                status, body = answer(path)
            except TimeoutError as exc:
                self.error(source, path, "timeout", str(exc))
                raise
            except ConnectionError as exc:
                self.error(source, path, "unreachable", str(exc))
                raise
            self.answer(source, path, status, body)
            return status, body

        return recorded


class RecordingTransport:
    """A Shelly transport (HTTP) whose answers are also recorded."""

    def __init__(self, inner: Transport, recorder: Recorder, source: str = "meter"):
        self.inner, self.recorder, self.source = inner, recorder, source
        self.url = inner.url

    def get(self, path: str, auth: httpx.Auth | None) -> Answer:
        try:
            answer = self.inner.get(path, auth)
        except ShellyTimeout as exc:
            self.recorder.error(self.source, path, "timeout", exc.cause)
            raise
        except ShellyUnreachable as exc:
            self.recorder.error(self.source, path, "unreachable", exc.cause)
            raise
        self.recorder.answer(self.source, path, answer.status, answer.body)
        return answer

    def close(self) -> None:
        self.inner.close()


class RecordedSource:
    """A source whose polls open a new poll in the recording."""

    def __init__(self, source: Any, recorder: Recorder):
        self._source, self._recorder = source, recorder

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._source, name)  # AttributeError when the source has none
        if name == "poll_span":  # a source that takes spans: each poll begins one too
            return self._poll_span
        return found

    def poll(self) -> Any:
        self._recorder.begin_poll(self._source.name)
        return self._source.poll()

    def _poll_span(self, times: Any, at: Callable[[datetime], None], *args: Any) -> Any:
        def at_and_begin(when: datetime) -> None:
            at(when)
            self._recorder.begin_poll(self._source.name)

        return self._source.poll_span(times, at_and_begin, *args)


# --- reading -----------------------------------------------------------------------------


@dataclass
class Poll:
    """One recorded poll of one source: when it began and what it was answered."""

    source: str
    number: int
    time: datetime
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Recording:
    folder: Path
    settings: dict[str, Any]
    polls: list[Poll]  # in the order they began
    meter_url: str | None = None  # as the recorded run named the meter

    @property
    def sources(self) -> set[str]:
        return {p.source for p in self.polls}


def read_recording(folder: Path) -> Recording:
    """The recording in `folder`; RecordingError when it is not one or is damaged."""
    folder = Path(folder)
    try:
        header = json.loads((folder / HEADER).read_text())
    except FileNotFoundError:
        raise RecordingError(f"{folder} has no {HEADER}: not a recording") from None
    except (OSError, ValueError) as exc:
        raise RecordingError(f"{folder / HEADER} cannot be read: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise RecordingError(f"{folder / HEADER} is not a {FORMAT}")
    if header.get("version") != VERSION:
        raise RecordingError(f"{folder / HEADER}: version {header.get('version')!r} is not "
                             f"{VERSION}; use the heatpump-monitor that made it")
    polls: dict[tuple[str, int], Poll] = {}
    order: list[Poll] = []
    try:
        lines = (folder / ANSWERS).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RecordingError(f"{folder / ANSWERS} cannot be read: {exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            source, number = str(entry["source"]), int(entry["poll"])
            when = datetime.fromisoformat(str(entry["t"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError) as exc:
            if n == len(lines):  # a line cut by a crash while it was written
                break
            raise RecordingError(f"{folder / ANSWERS} line {n} is damaged ({exc})") from None
        key = (source, number)
        if "path" not in entry:
            poll = Poll(source, number, when)
            polls[key] = poll
            order.append(poll)
        elif key in polls:
            polls[key].entries.append(dict(entry, time=when))
    order.sort(key=lambda p: p.time)
    meter = header.get("meter")
    return Recording(folder, dict(header.get("settings") or {}), order,
                     meter if isinstance(meter, str) else None)


class Replayer:
    """Serves the answers of the current poll of each source, in order, and sets the replay
    clock to the time each answer arrived (so readings are stamped as they were)."""

    def __init__(self, set_time: Callable[[datetime], None]):
        self._set_time = set_time
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._queued: dict[str, deque[Poll]] = {}

    def begin(self, poll: Poll) -> None:
        self._pending[poll.source] = list(poll.entries)

    def queue(self, poll: Poll) -> None:
        """`poll` is its source's next poll after those queued before (the offline driver
        reads its polls ahead: collector/drive.py); `before_poll` begins it."""
        self._queued.setdefault(poll.source, deque()).append(poll)

    def before_poll(self, when: datetime, source: Any) -> None:
        """Begin `source`'s next queued poll: the driver is about to poll it (`source`: a
        collector source, its `name` the recording's source name)."""
        self.begin(self._queued[source.name].popleft())

    def answers(self, source: str) -> Callable[[str], tuple[int, Any]]:
        def answer(path: str) -> tuple[int, Any]:
            pending = self._pending.get(source, [])
            for i, entry in enumerate(pending):
                if entry["path"] == path:
                    del pending[i]
                    self._set_time(entry["time"])
                    if "error" in entry:
                        if entry["error"] == "timeout":
                            raise TimeoutError(entry.get("detail") or "no answer in time")
                        raise ConnectionError(entry.get("detail") or "no answer")
                    return int(entry["status"]), entry.get("body")
            if path == GEN2_STATUS and any(_component_key(e["path"]) for e in pending):
                return self._composed_status(pending)
            raise ConnectionError(f"the recording has no answer for {path} in this poll")

        return answer

    def _composed_status(self, pending: list[dict[str, Any]]) -> tuple[int, Any]:
        """A Shelly.GetStatus answer from the per-component answers a recording made before
        the client asked for the whole status at once (`/rpc/EM.GetStatus?id=0` is the
        `em:0` entry of Shelly.GetStatus, `/rpc/Sys.GetStatus` its `sys`), so those
        recordings replay unchanged. The first failed request fails the whole poll."""
        status: dict[str, Any] = {}
        for entry in [e for e in pending if _component_key(e["path"])]:
            pending.remove(entry)
            self._set_time(entry["time"])
            if "error" in entry:
                if entry["error"] == "timeout":
                    raise TimeoutError(entry.get("detail") or "no answer in time")
                raise ConnectionError(entry.get("detail") or "no answer")
            if int(entry["status"]) != 200:
                return int(entry["status"]), entry.get("body")
            status[_component_key(entry["path"])] = entry.get("body")
        return 200, status


def _component_key(path: str) -> str:
    """"em:0" for "/rpc/EM.GetStatus?id=0", "sys" for "/rpc/Sys.GetStatus", else ""."""
    match = _COMPONENT_PATH.fullmatch(path)
    if match is None or match["name"] == "Shelly":
        return ""
    name = match["name"].lower()
    return f"{name}:{match['id']}" if match["id"] is not None else name
