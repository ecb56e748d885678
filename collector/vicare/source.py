"""The Viessmann source: `ViCareSource.poll(now)` -> samples, points and health events.

The collector's loop (not here) calls `poll()` every VICARE_POLL_SECONDS and writes
`result.points`. `poll()` never raises and never blocks longer than one HTTP round trip
per device: every failure becomes a `health` event, and the guard (collector/vicare/
guard.py) decides whether a call may be made at all.

One poll of one device is ONE API call: PyViCare's service fetches all features at once
and the declarative mapping (mapping.py) reads the `heatpump` fields from that raw JSON.
PyViCare's cache is switched off (cache duration 0): its time-based cache would hand out
the previous answer — with no sign that it is old — when a poll comes early or a fetch
fails ("returning stale cache"). Each sample is stamped with the time the API answered.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

from collector.heat import MethodChoice, choose_heat_method, electricity_points, heat_points
from collector.readings import HeatPumpMessage, HeatPumpSample
from collector.vicare.cloud import LISTING_FILE, GuardedOAuthManager
from collector.vicare.guard import Guard, QuotaBlocked, _write_atomic
from collector.vicare.mapping import map_sample
from collector.vicare.replay import OfflineOAuthManager, dump_files, save_dump
from heatpump.logs import redact
from heatpump.schema import API_CALL, HEALTH, HEALTH_SOURCE, HEATPUMP, MESSAGE
from heatpump.settings import Settings
from heatpump.store.base import Point

log = logging.getLogger(__name__)

SOURCE = HEALTH_SOURCE["heatpump"]  # the `source` tag of its health points
ACCOUNT = "account"  # `device` tag of health events that concern the whole account
# Same models PyViCare's auto-detection treats as heat pumps (without its extra API call).
HEATPUMP_MODELS = re.compile(r"Vitocal|VBC70|V200WO1A|CU401B|OBNG_SCU|OBNG_OCU")
SAMPLES_FILE = "vicare_last_samples.json"
POLL_SLACK = timedelta(seconds=5)  # a loop that wakes a little early still polls
CONNECT_FAILED = "_connect_failed"  # guard key: time of the last failed connect


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class HealthEvent:
    time: datetime
    device: str
    status: str  # up, down, degraded
    reason: str
    detail: str
    until: datetime | None = None
    failures: int = 0

    def point(self) -> Point:
        fields: dict[str, Any] = {"status": self.status, "reason": self.reason,
                                  "detail": self.detail, "failures": self.failures}
        if self.until is not None:
            fields["until"] = self.until.astimezone(UTC).isoformat()
        return Point(HEALTH.name, self.time, fields, {"source": SOURCE, "device": self.device})


@dataclass
class PollResult:
    samples: list[HeatPumpSample] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    health: list[HealthEvent] = field(default_factory=list)
    next_poll_at: datetime | None = None  # earliest time another poll can do anything


@dataclass
class _Device:
    tag: str
    config: PyViCareDeviceConfig


def sample_points(sample: HeatPumpSample) -> list[Point]:
    """`heatpump` and `message` points of one sample."""
    tags = {"device": sample.device}
    points = [Point(HEATPUMP.name, sample.time, dict(sample.values), tags)] if sample.values \
        else []
    for m in sample.messages:
        fields: dict[str, Any] = {"priority": m.priority, "text": m.text}
        if m.since is not None:
            fields["since"] = m.since.astimezone(UTC).isoformat()
        points.append(Point(MESSAGE.name, sample.time, fields,
                            {"device": sample.device, "kind": m.kind, "code": m.code}))
    return points


def _sample_to_json(s: HeatPumpSample) -> dict[str, Any]:
    return {"time": s.time.isoformat(), "values": dict(s.values), "counters": dict(s.counters)}


def _sample_from_json(device: str, raw: Mapping[str, Any]) -> HeatPumpSample:
    return HeatPumpSample(time=datetime.fromisoformat(raw["time"]), device=device,
                          values=dict(raw.get("values", {})),
                          counters={k: float(v) for k, v in raw.get("counters", {}).items()})


def _next_utc_midnight(now: datetime) -> datetime:
    return (now.astimezone(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                             microsecond=0)


class ViCareSource:
    """Polls the Viessmann cloud (or replays VICARE_DUMP) without ever endangering the
    account's quota. Build once per process; call `poll()` on the collector's schedule."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow):
        self.settings = settings
        self.clock = clock
        self.data_dir = Path(settings.data_dir)
        self.guard = Guard(self.data_dir, settings.vicare_daily_budget)
        self.devices: list[_Device] = []
        self.manager: GuardedOAuthManager | OfflineOAuthManager | None = None
        self._health: dict[str, tuple[str, str]] = {}
        self._failures: dict[str, int] = {}
        self._calls: list[Point] = []
        self._credentials_bound = False
        self._last: dict[str, HeatPumpSample] = self._load_samples()
        self._replay = bool(settings.vicare_dump)
        self._secrets = [s for s in (settings.vicare_password,) if s]

    # --- public --------------------------------------------------------------------------

    def poll(self, now: datetime | None = None, running_s: float | None = None) -> PollResult:
        """Poll every due device once. Never raises.

        `running_s`: compressor running seconds since the previous poll from the meter's
        power trace (single heat pump only); improves the estimated heat methods.
        """
        now = now or self.clock()
        result = PollResult()
        self._calls = []
        try:
            self._poll(now, running_s, result)
        except Exception as exc:  # the source must never crash the process
            log.error("Viessmann source: unexpected %s: %s", type(exc).__name__,
                      redact(str(exc), self._secrets))
            self._event(result, now, ACCOUNT, "down", "bad_response",
                        f"unexpected {type(exc).__name__}; see the collector log")
        result.points.extend(self._calls)
        result.points.extend(e.point() for e in result.health)
        return result

    def heat_methods(self) -> dict[str, MethodChoice]:
        """Per device, the heat method the last sample allows and why (`heatpump doctor`)."""
        return {tag: choose_heat_method(s, self.settings.rated_heat_kw)
                for tag, s in self._last.items()}

    def save_dump(self, path: Path) -> int:
        """Fetch every selected device once and write a redacted, replayable dump.

        Costs one API call per device (plus a login/listing if not yet connected)."""
        now = self.clock()
        self._connect(now)
        pairs = []
        for d in self.devices:
            self.guard.check_call(self.clock())
            body = d.config.service.fetch_all_features(d.config.accessor)
            pairs.append(({"modelId": d.config.device_model, "deviceType": d.config.device_type,
                           "roles": d.config.roles, "id": d.config.device_id}, body["data"]))
        return save_dump(path, pairs)

    # --- connection ----------------------------------------------------------------------

    def _on_call(self, when: datetime, kind: str, status: int, calls: int) -> None:
        self._calls.append(Point(API_CALL.name, when, {"calls": calls, "status_code": status},
                                 {"source": SOURCE, "kind": kind}))

    def _connect(self, now: datetime) -> None:
        if self.manager is not None:
            return
        s = self.settings
        if self._replay:
            files = dump_files(Path(s.vicare_dump or ""))
            model = Path(s.vicare_dump or "replay").stem
            manager: GuardedOAuthManager | OfflineOAuthManager = OfflineOAuthManager(
                files, model)
        else:
            if not (s.vicare_username and s.vicare_password and s.vicare_client_id):
                raise PyViCareInvalidCredentialsError()
            if not self._credentials_bound:
                self.guard.bind_credentials(s.vicare_username, s.vicare_password,
                                            s.vicare_client_id)
                self._credentials_bound = True
            manager = GuardedOAuthManager(
                s.vicare_username, s.vicare_password, s.vicare_client_id, s.token_file,
                self.guard, self.clock, self._on_call, self.data_dir / LISTING_FILE)
        vicare = PyViCare()
        vicare.setCacheDuration(0)  # no PyViCare cache: a sample is always a fresh answer
        vicare.initWithExternalOAuth(manager)
        self.devices = self._select(vicare.devices)
        self.manager = manager
        if not self.devices:
            found = ", ".join(f"{c.device_model} ({c.accessor.serial}/{c.device_id})"
                              for c in vicare.devices) or "none"
            raise LookupError("no heat pump matches"
                              + (f" VICARE_DEVICE={s.vicare_device!r}" if s.vicare_device
                                 else "") + f"; devices of this account: {found}")
        log.info("Viessmann source: polling %s", ", ".join(
            f"{d.config.device_model} as device={d.tag}" for d in self.devices))

    def _select(self, configs: list[PyViCareDeviceConfig]) -> list[_Device]:
        chosen = self.settings.vicare_device
        out = []
        many = len({(c.accessor.serial, c.device_id) for c in configs}) > 1
        for c in configs:
            is_heatpump = bool(HEATPUMP_MODELS.search(c.device_model or "")) or c.hasRoles(
                ["type:heatpump"])
            if self._replay:
                base = Path(self.settings.vicare_dump or "replay").stem
                tag = f"{base}-{c.device_id}" if many else base
            else:
                tag = f"{c.accessor.serial}-{c.device_id}"
            if chosen:
                if chosen not in (tag, str(c.device_id), str(c.accessor.serial),
                                  c.device_model):
                    continue
            elif not is_heatpump:
                continue
            out.append(_Device(tag, c))
        return out

    # --- one poll ------------------------------------------------------------------------

    def _poll(self, now: datetime, running_s: float | None, result: PollResult) -> None:
        interval = timedelta(seconds=self.settings.vicare_poll_seconds)
        if self.manager is None and not self._replay:
            # A failed connect (listing error, login refused) is retried once per poll
            # interval, also across restarts.
            failed = self.guard.last_poll(CONNECT_FAILED)
            if failed is not None and now - failed < interval - POLL_SLACK:
                result.next_poll_at = failed + interval
                return
        try:
            self._connect(now)
        except Exception as exc:  # classified below
            self.manager = None
            if not self._replay:
                self.guard.set_last_poll(CONNECT_FAILED, now)
            until = self._failure(result, now, ACCOUNT, exc)
            result.next_poll_at = max(until or now, now + interval)
            return
        if self.guard.last_poll(CONNECT_FAILED) is not None:
            self.guard.clear_last_poll(CONNECT_FAILED)
        if self._replay:
            assert isinstance(self.manager, OfflineOAuthManager)
            if self.manager.exhausted:
                self._event(result, now, ACCOUNT, "degraded", "replay_finished",
                            "every dump of VICARE_DUMP was replayed")
                return
            self.manager.advance()
        self._event(result, now, ACCOUNT, "up", "ok", "connected")
        single = len(self.devices) == 1
        next_times = []
        for device in self.devices:
            last = self.guard.last_poll(device.tag)
            if not self._replay and last is not None and now - last < interval - POLL_SLACK:
                next_times.append(last + interval)
                continue
            try:
                if not self._replay:
                    self.guard.check_call(now)
                    # Recorded BEFORE the call: a crash loop cannot poll more often.
                    self.guard.set_last_poll(device.tag, now)
                body = device.config.service.fetch_all_features(device.config.accessor)
                answered = self.clock()
                if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
                    raise PyViCareInvalidDataError(body)
            except Exception as exc:  # classified below
                until = self._failure(result, now, device.tag, exc)
                next_times.append(until or now + interval)
                continue
            sample = map_sample(body["data"], device.tag, answered)
            self._accept(sample, result, running_s if single else None)
            self._event(result, answered, device.tag, "up", "ok", "polled")
            next_times.append(now + interval)
        result.next_poll_at = min(next_times) if next_times else None

    def _accept(self, sample: HeatPumpSample, result: PollResult,
                running_s: float | None) -> None:
        result.samples.append(sample)
        result.points.extend(sample_points(sample))
        prev = self._last.get(sample.device)
        if prev is not None and sample.time > prev.time:
            gap = 3.0 * self.settings.vicare_poll_seconds
            result.points.extend(heat_points(prev, sample, tz=self.settings.tz,
                                             rated_heat_kw=self.settings.rated_heat_kw,
                                             running_s=running_s, max_gap_s=gap))
            result.points.extend(electricity_points(prev, sample, tz=self.settings.tz))
        self._last[sample.device] = sample
        self._save_samples()

    # --- failures and health -------------------------------------------------------------

    def _failure(self, result: PollResult, now: datetime, device: str,
                 exc: Exception) -> datetime | None:
        status, reason, until = "down", "bad_response", None
        detail = type(exc).__name__
        if isinstance(exc, QuotaBlocked):
            reason, until, detail = exc.reason, exc.until, exc.detail
            status = "degraded" if reason == "login_spacing" else "down"
        elif isinstance(exc, PyViCareRateLimitError):
            reset = exc.limitResetDate.replace(tzinfo=UTC)
            until = reset if reset > now else _next_utc_midnight(now)
            self.guard.block(until)
            reason = "rate_limited"
            detail = (f"the Viessmann API refused the call (HTTP 429, day limit); no call "
                      f"until {until.isoformat()}")
        elif isinstance(exc, PyViCareDeviceCommunicationError):
            reason = {"DEVICE_OFFLINE": "device_offline",
                      "GATEWAY_OFFLINE": "gateway_offline"}.get(exc.reason, "server_error")
            detail = f"Viessmann cloud: device communication error ({exc.reason})"
        elif isinstance(exc, PyViCareInternalServerError):
            unreachable = "status code 0 " in exc.message
            reason = "unreachable" if unreachable else "server_error"
            detail = ("the Viessmann cloud cannot be reached" if unreachable else
                      redact(exc.message, self._secrets))
        elif isinstance(exc, PyViCareInvalidCredentialsError | PyViCareInvalidConfigurationError
                        | OAuthError):
            self.manager = None
            reason = "login_failed"
            allowed = self.guard.policy.next_allowed(self.guard.state.logins)
            until = allowed
            detail = ("Viessmann login failed: check VICARE_USERNAME, VICARE_PASSWORD and "
                      "VICARE_CLIENT_ID (the client's redirect URI must be "
                      "vicare://oauth-callback/everest)")
        elif isinstance(exc, PyViCareNotPaidForError):
            reason = "auth_failed"
            detail = "the Viessmann API refused the features (PACKAGE_NOT_PAID_FOR)"
        elif isinstance(exc, LookupError):
            status, reason, detail = "degraded", "no_device", str(exc)
        elif isinstance(exc, OSError | PyViCareInvalidDataError | ValueError | KeyError):
            reason = "unreachable" if isinstance(exc, OSError) else "bad_response"
            detail = f"{type(exc).__name__}: " + redact(str(exc), self._secrets)[:200]
        else:
            raise exc
        self._failures[device] = self._failures.get(device, 0) + 1
        self._event(result, now, device, status, reason, detail, until)
        return until

    def _event(self, result: PollResult, now: datetime, device: str, status: str,
               reason: str, detail: str, until: datetime | None = None) -> None:
        """Record a health event when the state (status, reason) of `device` changes."""
        failures = (self._failures.pop(device, 0) if status == "up"
                    else self._failures.get(device, 0))
        state = (status, reason)
        if self._health.get(device) == state:
            return
        self._health[device] = state
        level = logging.INFO if status == "up" else logging.WARNING
        if reason == "login_failed" and until is not None and until > now:
            level = logging.ERROR  # the one clear error; blocked retries stay quiet
        log.log(level, "Viessmann %s: %s (%s)%s", device, status, detail,
                f", waiting until {until.isoformat()}" if until else "")
        result.health.append(HealthEvent(now, device, status, reason, detail, until, failures))

    # --- persisted last samples (heat accounting resumes after a restart) ----------------

    def _load_samples(self) -> dict[str, HeatPumpSample]:
        path = self.data_dir / SAMPLES_FILE
        try:
            raw = json.loads(path.read_text())
            return {dev: _sample_from_json(dev, s) for dev, s in raw.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError):
            log.warning("%s is damaged; heat accounting restarts with the next poll", path)
            return {}

    def _save_samples(self) -> None:
        _write_atomic(self.data_dir / SAMPLES_FILE, json.dumps(
            {dev: _sample_to_json(s) for dev, s in self._last.items()}))


__all__ = ["HealthEvent", "HeatPumpMessage", "PollResult", "ViCareSource", "sample_points"]
