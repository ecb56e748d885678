"""The Viessmann reader: one poll of every selected heat pump, as samples or classified errors.

`ViCareReader.read(now)` never raises and never blocks longer than one HTTP round trip
per device. It talks to the devices through PyViCare over a `Connection`:

- `CloudConnection`: the real Viessmann cloud. Every call passes the guard
  (collector/vicare/guard.py: the daily budget, a 429 block, the login backoff, one poll
  per device and interval, also across restarts) and is counted in its ledger.
- `OfflineConnection`: answers from this process (a dump, a recording, the simulated heat
  pump) through PyViCare's own OAuth manager (collector/vicare/offline.py); no quota.

One poll of one device is ONE API call: PyViCare's service fetches all features at once
and the declarative mapping (mapping.py) reads the `heatpump` fields and the energy
counters from that raw JSON. PyViCare's cache is switched off (cache duration 0): its
time-based cache would hand out the previous answer, with no sign that it is old, when a
poll comes early or a fetch fails. Each sample is stamped with the time the API answered.
Accounting, points and health are not done here (collector/pipeline.py).

The device's own memory of its energy per day, month and year (collector/vicare/history.py)
comes with the same answer: the first poll of each device after a start, and the first of
each new local day after that, also hands it on (`ViCareRead.history`), at no extra call.
`fetch_history` is `heatpump backfill`'s: one call per device, through the same guard.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from authlib.integrations.base_client.errors import OAuthError
from PyViCare.PyViCare import PyViCare
from PyViCare.PyViCareDeviceConfig import PyViCareDeviceConfig
from PyViCare.PyViCareUtils import (
    PyViCareDeviceCommunicationError,
    PyViCareInternalServerError,
    PyViCareInvalidConfigurationError,
    PyViCareInvalidCredentialsError,
    PyViCareInvalidDataError,
    PyViCareNotPaidForError,
    PyViCareRateLimitError,
)

from collector.health import SourceError
from collector.points import api_call_point
from collector.readings import HeatPumpSample
from collector.vicare.cloud import LISTING_FILE, GuardedOAuthManager, Recorder
from collector.vicare.dumps import save_dump
from collector.vicare.guard import Guard, QuotaBlocked
from collector.vicare.history import DeviceEnergy, device_history
from collector.vicare.mapping import map_sample
from collector.vicare.offline import Answer, OfflineOAuthManager
from heatpump.logs import redact
from heatpump.schema import HEALTH_SOURCE
from heatpump.settings import Settings

log = logging.getLogger(__name__)

SOURCE = HEALTH_SOURCE["heatpump"]  # the `source` tag of its health and api_call points
ACCOUNT = "account"  # device of the failures that concern the whole account
# Same models PyViCare's auto-detection treats as heat pumps (without its extra API call).
HEATPUMP_MODELS = re.compile(r"Vitocal|VBC70|V200WO1A|CU401B|OBNG_SCU|OBNG_OCU")
POLL_SLACK = timedelta(seconds=5)  # a loop that wakes a little early still polls
CONNECT_FAILED = "_connect_failed"  # guard key: time of the last failed connect
QUOTA_WARN, QUOTA_CLEAR = 0.8, 0.6  # share of VICARE_DAILY_BUDGET: warn once, clear


@dataclass
class ViCareRead:
    """What one poll of the Viessmann source gave."""

    samples: list[HeatPumpSample] = field(default_factory=list)
    failures: dict[str, SourceError] = field(default_factory=dict)  # device (or account)
    connected: bool = False  # the account (or offline source) answered
    calls: list[Any] = field(default_factory=list)  # api_call points
    # what the devices remember of their energy (first poll after a start, then daily)
    history: list[DeviceEnergy] = field(default_factory=list)


@dataclass
class Device:
    tag: str  # the `device` tag of its data
    config: PyViCareDeviceConfig


class Connection(Protocol):
    guarded: bool  # calls count against the account's quota (the real cloud)

    def manager(self, on_call: Callable[[datetime, str, int, int], None]) -> Any:
        """A PyViCare OAuth manager; raises on a failed login. `on_call` hears of every
        call that counts against the quota."""

    def begin_poll(self) -> bool:
        """Called before every poll; False when an offline source has nothing more."""

    def tag(self, config: PyViCareDeviceConfig, many: bool) -> str:
        """The device tag of a device of this connection."""


class CloudConnection:
    """The real Viessmann cloud, behind the guard."""

    guarded = True

    def __init__(self, settings: Settings, guard: Guard, clock: Callable[[], datetime],
                 recorder: Recorder | None = None):
        self.settings, self.guard, self.clock = settings, guard, clock
        self._recorder = recorder
        self._bound = False

    def manager(self, on_call: Callable[[datetime, str, int, int], None]) -> Any:
        s = self.settings
        if not (s.vicare_username and s.vicare_password and s.vicare_client_id):
            raise PyViCareInvalidCredentialsError()
        if not self._bound:
            self.guard.bind_credentials(s.vicare_username, s.vicare_password,
                                        s.vicare_client_id)
            self._bound = True
        return GuardedOAuthManager(
            s.vicare_username, s.vicare_password, s.vicare_client_id, s.token_file,
            self.guard, self.clock, on_call, Path(s.data_dir) / LISTING_FILE,
            recorder=self._recorder)

    def begin_poll(self) -> bool:
        return True

    def tag(self, config: PyViCareDeviceConfig, many: bool) -> str:
        return f"{config.accessor.serial}-{config.device_id}"


class OfflineConnection:
    """Answers from this process: `answer(path) -> (status, body)`; `begin_poll` (if given)
    moves a dump sequence on. `name` replaces the gateway serial in device tags when set
    (a replayed dump is tagged by its file name)."""

    guarded = False

    def __init__(self, answer: Answer, begin_poll: Callable[[], bool] | None = None,
                 name: str | None = None):
        self._answer, self._begin, self.name = answer, begin_poll, name

    def manager(self, on_call: Callable[[datetime, str, int, int], None]) -> Any:
        return OfflineOAuthManager(self._answer)

    def begin_poll(self) -> bool:
        return self._begin() if self._begin is not None else True

    def tag(self, config: PyViCareDeviceConfig, many: bool) -> str:
        if self.name is None:
            return f"{config.accessor.serial}-{config.device_id}"
        return f"{self.name}-{config.device_id}" if many else self.name


class ViCareReader:
    """Reads the selected heat pumps once per `read()`. Build once per process."""

    def __init__(self, settings: Settings, connection: Connection,
                 clock: Callable[[], datetime], guard: Guard | None = None):
        self.settings = settings
        self.connection = connection
        self.clock = clock
        self.guard = guard
        self.devices: list[Device] = []
        self._manager: Any = None
        self._calls: list[Any] = []
        self._secrets = [s for s in (settings.vicare_password,) if s]
        self._quota_warned = False
        self._history_day: dict[str, date] = {}  # device -> local day of its last import

    # --- public --------------------------------------------------------------------------

    def read(self, now: datetime | None = None) -> ViCareRead:
        """Poll every due device once. Never raises."""
        now = now or self.clock()
        result = ViCareRead()
        self._calls = []
        try:
            self._read(now, result)
        except Exception as exc:  # the source must never crash the process
            log.error("Viessmann source: unexpected %s: %s", type(exc).__name__,
                      redact(str(exc), self._secrets))
            result.failures[ACCOUNT] = SourceError(
                "bad_response", f"unexpected {type(exc).__name__}; see the collector log")
        result.calls = self._calls
        self._watch_quota()
        return result

    def on_call(self, when: datetime, kind: str, status: int, calls: int) -> None:
        """A call the guarded manager made (its ledger has it too): an `api_call` point."""
        self._calls.append(api_call_point(when, SOURCE, kind, status, calls))

    def save_dump(self, path: Path) -> int:
        """Fetch every selected device once and write a redacted, replayable dump.

        Costs one API call per device (plus a login/listing if not yet connected)."""
        self._connect()
        pairs = []
        for d in self.devices:
            if self.guard is not None and self.connection.guarded:
                self.guard.check_call(self.clock())
            body = d.config.service.fetch_all_features(d.config.accessor)
            pairs.append(({"modelId": d.config.device_model, "deviceType": d.config.device_type,
                           "roles": d.config.roles, "id": d.config.device_id}, body["data"]))
        return save_dump(path, pairs)

    def fetch_history(self) -> tuple[list[DeviceEnergy], dict[str, SourceError]]:
        """What every selected device remembers of its energy (`heatpump backfill`).

        ONE API call per device (plus a login/listing if not yet connected), each through
        the guard: it counts against VICARE_DAILY_BUDGET and is refused when the budget or
        a 429 block says so. Returns the records and, per device (or ACCOUNT), the failure
        that stopped it; the calls' `api_call` points are in `take_calls()`. Never raises."""
        now = self.clock()
        self._calls = []
        records: list[DeviceEnergy] = []
        failures: dict[str, SourceError] = {}
        try:
            self._connect()
        except Exception as exc:  # classified below
            self._manager = None
            failures[ACCOUNT] = self._classify(now, exc)
            return records, failures
        for device in self.devices:
            try:
                if self.guard is not None and self.connection.guarded:
                    self.guard.check_call(self.clock())
                body = device.config.service.fetch_all_features(device.config.accessor)
                if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                    raise PyViCareInvalidDataError(body)
            except Exception as exc:  # classified below
                failures[device.tag] = self._classify(now, exc)
                continue
            records.extend(self._history(body["data"], device.tag))
        return records, failures

    def take_calls(self) -> list[Any]:
        """The `api_call` points of the calls since the last `read`/`fetch_history`."""
        calls, self._calls = self._calls, []
        return calls

    def _history(self, data: list[Any], tag: str) -> list[DeviceEnergy]:
        try:
            return device_history(data, tag, self.settings.tz)
        except Exception as exc:  # a surprising answer must not cost the poll its sample
            log.warning("device %s: its energy history could not be read (%s: %s)", tag,
                        type(exc).__name__, redact(str(exc), self._secrets)[:200])
            return []

    # --- connection ----------------------------------------------------------------------

    def _connect(self) -> None:
        if self._manager is not None:
            return
        manager = self.connection.manager(self.on_call)
        vicare = PyViCare()
        vicare.setCacheDuration(0)  # no PyViCare cache: a sample is always a fresh answer
        vicare.initWithExternalOAuth(manager)
        self.devices = self._select(vicare.devices)
        self._manager = manager
        if not self.devices:
            found = ", ".join(f"{c.device_model} ({c.accessor.serial}/{c.device_id})"
                              for c in vicare.devices) or "none"
            chosen = self.settings.vicare_device
            raise LookupError("no heat pump matches"
                              + (f" VICARE_DEVICE={chosen!r}" if chosen else "")
                              + f"; devices of this account: {found}")
        log.info("Viessmann source: polling %s", ", ".join(
            f"{d.config.device_model} as device={d.tag}" for d in self.devices))

    def _select(self, configs: list[PyViCareDeviceConfig]) -> list[Device]:
        chosen = self.settings.vicare_device
        many = len({(c.accessor.serial, c.device_id) for c in configs}) > 1
        out = []
        for c in configs:
            is_heatpump = bool(HEATPUMP_MODELS.search(c.device_model or "")) or c.hasRoles(
                ["type:heatpump"])
            tag = self.connection.tag(c, many)
            if chosen:
                if chosen not in (tag, str(c.device_id), str(c.accessor.serial),
                                  c.device_model):
                    continue
            elif not is_heatpump:
                continue
            out.append(Device(tag, c))
        return out

    # --- one poll ------------------------------------------------------------------------

    def _read(self, now: datetime, result: ViCareRead) -> None:
        interval = timedelta(seconds=self.settings.vicare_poll_seconds)
        guard = self.guard if self.connection.guarded else None
        if self._manager is None and guard is not None:
            # A failed connect (listing error, login refused) is retried once per poll
            # interval, also across restarts.
            failed = guard.last_poll(CONNECT_FAILED)
            if failed is not None and now - failed < interval - POLL_SLACK:
                result.failures[ACCOUNT] = self._last_connect_failure(guard, failed,
                                                                      interval)
                return
        try:
            self._connect()
        except Exception as exc:  # classified below
            self._manager = None
            error = self._classify(now, exc)
            if guard is not None:
                guard.note_connect_failure(error.reason, error.detail, error.status)
                guard.set_last_poll(CONNECT_FAILED, now)
            result.failures[ACCOUNT] = error
            return
        if guard is not None and guard.last_poll(CONNECT_FAILED) is not None:
            guard.clear_last_poll(CONNECT_FAILED)
        if not self.connection.begin_poll():
            result.failures[ACCOUNT] = SourceError(
                "replay_finished", "every dump of VICARE_DUMP was replayed",
                status="degraded")
            return
        result.connected = True
        for device in self.devices:
            if guard is not None:
                last = guard.last_poll(device.tag)
                if last is not None and now - last < interval - POLL_SLACK:
                    continue  # polled moments ago (another process, a restart)
            try:
                if guard is not None:
                    guard.check_call(now)
                    # Recorded BEFORE the call: a crash loop cannot poll more often.
                    guard.set_last_poll(device.tag, now)
                body = device.config.service.fetch_all_features(device.config.accessor)
                answered = self.clock()
                if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                    raise PyViCareInvalidDataError(body)
            except Exception as exc:  # classified below
                result.failures[device.tag] = self._classify(now, exc)
                continue
            result.samples.append(map_sample(body["data"], device.tag, answered))
            day = answered.astimezone(self.settings.tz).date()
            if self._history_day.get(device.tag) != day:
                self._history_day[device.tag] = day
                result.history.extend(self._history(body["data"], device.tag))

    @staticmethod
    def _last_connect_failure(guard: Guard, failed: datetime,
                              interval: timedelta) -> SourceError:
        """The failure of a connect made moments ago (by this process before a restart,
        or by the collector when `heatpump doctor` runs), not retried yet: its reason,
        and when the next attempt is due."""
        known = guard.state.connect_failure or {
            "reason": "unreachable", "status": "down",
            "detail": "the last connection to the Viessmann cloud failed"}
        until = failed + interval
        if known["reason"] == "login_failed":
            until = max(until, guard.policy.next_allowed(guard.state.logins) or until)
        return SourceError(known["reason"], f"{known['detail']} (attempt at "
                           f"{failed.astimezone(UTC):%Y-%m-%d %H:%M} UTC)", until,
                           known["status"])

    def _classify(self, now: datetime, exc: Exception) -> SourceError:
        """A failure as the `health` reason, status and one sentence (never a secret)."""
        if isinstance(exc, QuotaBlocked):
            status = "degraded" if exc.reason == "login_spacing" else "down"
            return SourceError(exc.reason, exc.detail, exc.until, status)
        if isinstance(exc, PyViCareRateLimitError):
            reset = exc.limitResetDate.replace(tzinfo=UTC)
            until = reset if reset > now else _next_utc_midnight(now)
            if self.guard is not None and self.connection.guarded:
                self.guard.block(until)
            return SourceError("rate_limited", "the Viessmann API refused the call (HTTP "
                               f"429, day limit); no call until {until.isoformat()}", until)
        if isinstance(exc, PyViCareDeviceCommunicationError):
            reason = {"DEVICE_OFFLINE": "device_offline",
                      "GATEWAY_OFFLINE": "gateway_offline"}.get(exc.reason, "server_error")
            return SourceError(reason, "Viessmann cloud: device communication error "
                               f"({exc.reason})")
        if isinstance(exc, PyViCareInternalServerError):
            unreachable = "status code 0 " in exc.message
            return SourceError("unreachable" if unreachable else "server_error",
                               "the Viessmann cloud cannot be reached" if unreachable
                               else redact(exc.message, self._secrets))
        if isinstance(exc, PyViCareInvalidCredentialsError | PyViCareInvalidConfigurationError
                      | OAuthError):
            self._manager = None
            until = (self.guard.policy.next_allowed(self.guard.state.logins)
                     if self.guard is not None else None)
            return SourceError("login_failed", "Viessmann login failed: check "
                               "VICARE_USERNAME, VICARE_PASSWORD and VICARE_CLIENT_ID (the "
                               "client's redirect URI must be vicare://oauth-callback/everest)",
                               until)
        if isinstance(exc, PyViCareNotPaidForError):
            return SourceError("auth_failed", "the Viessmann API refused the features "
                               "(PACKAGE_NOT_PAID_FOR)")
        if isinstance(exc, LookupError):
            return SourceError("no_device", str(exc), status="degraded")
        if isinstance(exc, OSError | PyViCareInvalidDataError | ValueError | KeyError):
            reason = "unreachable" if isinstance(exc, OSError) else "bad_response"
            return SourceError(reason, f"{type(exc).__name__}: "
                               + redact(str(exc), self._secrets)[:200])
        raise exc

    def _watch_quota(self) -> None:
        """One warning when the rolling 24 h call count passes QUOTA_WARN of the budget,
        one line when it is back below QUOTA_CLEAR (not one per poll)."""
        if self.guard is None or not self.connection.guarded:
            return
        budget = self.settings.vicare_daily_budget
        used = self.guard.used_24h(self.clock())
        if not self._quota_warned and used >= QUOTA_WARN * budget:
            self._quota_warned = True
            log.warning("vicare: %d of %d API calls used in the last 24 h; polls stop at "
                        "the budget until calls age out (VICARE_DAILY_BUDGET)", used, budget)
        elif self._quota_warned and used < QUOTA_CLEAR * budget:
            self._quota_warned = False
            log.info("vicare: API calls back to %d of %d in the last 24 h", used, budget)


def _next_utc_midnight(now: datetime) -> datetime:
    return (now.astimezone(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)
