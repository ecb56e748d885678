"""Thin HTTP shell around `parse`: recognise the Shelly, then read it, one request per poll.

`ShellyClient.poll()` returns one `MeterReading` stamped with the collector's own UTC clock
(the device's clock is not trusted) or raises a typed `ShellyError`. The answers come
through a transport (collector/shelly/transport.py): HTTP for a real meter, a function
for the simulated one or a recording; everything after that is the same code. Gen1 devices use HTTP
Basic auth, Gen2+ Digest SHA-256 with the fixed user `admin`; `GET /shelly` never needs a
password. Gen2 devices accept few simultaneous connections and some firmware answers 429,
so a lock keeps a single request in flight and one connection is reused. A Gen2+ poll is a
single `Shelly.GetStatus` (every component the family reads is in it), not one request per
component: a third of the requests to the meter (and of Digest handshakes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from collector.readings import MeterReading
from collector.shelly.errors import (
    ShellyAuthFailed,
    ShellyBadResponse,
    ShellyRateLimited,
    ShellyUnsupported,
)
from collector.shelly.parse import (
    Channel,
    ChannelReader,
    DeviceInfo,
    Family,
    Values,
    channel_reader,
    gen1_family,
    gen2_family,
    identify,
    read_values,
    request_paths,
    resolve_channel,
    responses_from_status,
)
from collector.shelly.transport import Answer, HttpTransport, NotJson, Transport
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

GEN2_USER = "admin"  # Gen2+ devices have exactly one user
GEN2_STATUS = "/rpc/Shelly.GetStatus"  # every component's status in one answer


@dataclass(frozen=True)
class ShellyDevice:
    """A recognised meter: who it is, how it is read, and which channel."""

    info: DeviceInfo
    family: Family
    channel: Channel
    has_counter: bool = True  # False: the answers hold no energy counter (old firmware)

    @property
    def device_id(self) -> str:
        return self.info.device_id

    @property
    def counter_survives_reboot(self) -> bool:
        return self.family.counter_survives_reboot

    def describe(self) -> str:
        return (f"{self.family.title} {self.info.model} ({self.info.device_id}, "
                f"gen {self.info.gen}), {self.channel.describe()}")


class ShellyClient:
    """Reads one Shelly meter through a transport (HTTP, or an in-process stand-in). Not
    async: one small request every 10 s."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 channel: str | None = None, timeout_s: float = 4.0,
                 clock: Callable[[], datetime] = utcnow,
                 transport: Transport | None = None):
        parsed = httpx.URL(url)
        # Credentials written into the URL are moved to the auth settings, never shown.
        username = username or (parsed.username or None)
        password = password or (parsed.password or None)
        self.url = str(parsed.copy_with(username=None, password=None)).rstrip("/")
        self._username = username
        self._password = password
        self._channel_setting = channel
        self._clock = clock
        self._lock = threading.Lock()
        # the poll plan of the recognised device (made once per device, used every poll)
        self._plan: PollPlan | None = None
        self.transport: Transport = transport or HttpTransport(self.url, timeout_s)
        self._auth: httpx.Auth | None = None
        self.device: ShellyDevice | None = None

    @classmethod
    def from_settings(cls, settings: Any, clock: Callable[[], datetime] = utcnow,
                      transport: Transport | None = None) -> ShellyClient:
        """Build from `heatpump.settings.Settings` (SHELLY_* variables); `transport` replaces
        HTTP (a recording replayed, the simulated meter)."""
        if not settings.shelly_url:
            raise ValueError("SHELLY_URL is empty: the meter source is disabled")
        return cls(settings.shelly_url, username=settings.shelly_username,
                   password=settings.shelly_password, channel=settings.shelly_channel,
                   timeout_s=settings.shelly_timeout_seconds, clock=clock, transport=transport)

    # --- public API -------------------------------------------------------------------

    def identify(self) -> ShellyDevice:
        """Recognise the device (GET /shelly, then one status read to find the meter)."""
        with self._lock:
            return self._identify()

    def poll(self) -> MeterReading:
        """One reading of the configured channel; raises a ShellyError subclass on failure."""
        with self._lock:
            device = self.device or self._identify()
            plan = self._plan
            if plan is None or plan.device is not device:  # once per recognised device
                plan = self._plan = PollPlan.of(device)
            try:
                values, stamp = self._read(plan)
            except ShellyBadResponse:
                self.device = None  # a swapped device or changed profile: recognise again
                raise
            power_w, energy_import_wh, uptime_s, has_counter = values
            if has_counter != device.has_counter:
                self.device = device = replace(device, has_counter=has_counter)
                _log_counters(device)
            # positional: (time, device, power_w, energy_import_wh, uptime_s, has_counter)
            # costs a fifth less than by keyword, every poll
            return MeterReading(stamp, plan.device_id, power_w, energy_import_wh, uptime_s,
                                has_counter)

    def get(self, path: str) -> Any:
        """The JSON answer to one more request of the recognised meter (its stored records,
        collector/shelly/records.py), with the same authentication and error handling as a
        poll; raises a ShellyError subclass on failure."""
        with self._lock:
            if self.device is None:
                self._identify()
            return self._get_json(path)

    def get_text(self, path: str) -> str:
        """The text answer (a CSV file: the Gen1 3EM's em_data.csv, collector/shelly/
        em_data.py) to one more request of the recognised meter, with the same
        authentication, size limit and error handling as `get`; an answer that is JSON or
        not UTF-8 text is a ShellyBadResponse."""
        with self._lock:
            if self.device is None:
                self._identify()
            body = self._get_body(path)
            if isinstance(body, NotJson) and body.text is not None:
                return body.text
            what = "not text" if isinstance(body, NotJson) else "JSON"
            raise ShellyBadResponse(f"{self.url}{path.split('?')[0]} answered {what}, not "
                                    "a CSV file")

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ShellyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------

    def _read(self, plan: PollPlan) -> tuple[Values, datetime]:
        """The values of one poll (`read_values`) and the time the power value arrived.
        Gen2+: one Shelly.GetStatus holds every component the family reads; a component
        missing from it (a changed profile, a swapped device) is a ShellyBadResponse, so
        the device is recognised again. Gen1: its one /status. A plain answer (one that
        works, `ChannelReader.plain`) is read in one pass; any other by the rules of
        `read_values`."""
        reader = plan.reader
        path = plan.status_path
        if path is not None:
            answer = self._get(path)
            status = answer.body
            if answer.status != 200 or isinstance(status, NotJson):  # see _get_json
                status = self._json_of(path, answer)
            stamp = self._clock()
            values = reader.plain(status)
            if values is not None:
                return values, stamp
            if not plan.one_status:  # Gen1: the request's answer is the whole status
                return reader.read({plan.requests[0][0]: status}), stamp
            try:
                responses = reader.responses(status)
            except ShellyUnsupported as exc:
                raise ShellyBadResponse(f"{self.url}{GEN2_STATUS}: {exc}") from None
            return reader.read(responses), stamp
        responses = {}
        first: datetime | None = None
        for key, path in plan.requests:
            responses[key] = self._get_json(path)
            first = first or self._clock()  # when the power value arrived
        assert first is not None
        return reader.read(responses), first

    def _identify(self) -> ShellyDevice:
        info = identify(self._get_json("/shelly", auth=False))
        self._auth = self._make_auth(info)
        if info.auth_required and self._auth is None:
            raise ShellyAuthFailed(f"the meter at {self.url} requires a password: set "
                                   "SHELLY_PASSWORD (and SHELLY_USERNAME, 'admin' on Gen2+)")
        if info.gen == 1:
            status = self._get_json("/status")
            family = gen1_family(info, status)
        else:
            status = self._get_json(GEN2_STATUS)
            family = gen2_family(status)
        channel = resolve_channel(family, self._channel_setting)
        try:  # the configured channel must exist before the first poll relies on it
            values = read_values(family, channel,
                                 responses_from_status(family, channel, status))
        except ShellyUnsupported:
            raise
        except ShellyBadResponse:
            raise ShellyUnsupported(f"a {family.title} {info.model} has no "
                                    f"{channel.describe()} ({family.channels_hint}); check "
                                    "SHELLY_CHANNEL") from None
        device = ShellyDevice(info, family, channel, values.has_counter)
        log.info("Shelly meter recognised: %s", device.describe())
        if not values.has_counter:
            _log_counters(device)
        self.device = device
        return device

    def _make_auth(self, info: DeviceInfo) -> httpx.Auth | None:
        if not self._password:
            return None
        if info.gen == 1:
            return httpx.BasicAuth(self._username or GEN2_USER, self._password)
        if self._username and self._username != GEN2_USER:
            log.warning("SHELLY_USERNAME=%s ignored: Gen2+ devices only know the user 'admin'",
                        self._username)
        return httpx.DigestAuth(GEN2_USER, self._password)

    def _get(self, path: str, auth: bool = True) -> Answer:
        return self.transport.get(path, self._auth if auth and self._auth else None)

    def _get_json(self, path: str, auth: bool = True) -> Any:
        return self._json_of(path, self._get(path, auth))

    def _json_of(self, path: str, answer: Answer) -> Any:
        """The JSON body of a 200 answer to `path`; a body that is not JSON is a
        ShellyBadResponse, any other status its ShellyError (`_body_of`)."""
        body = self._body_of(path, answer)
        if isinstance(body, NotJson):
            raise ShellyBadResponse(f"{self.url}{path.split('?')[0]} answered something that "
                                    f"is not JSON ({body.size} bytes)")
        return body

    def _get_body(self, path: str, auth: bool = True) -> Any:
        return self._body_of(path, self._get(path, auth))

    def _body_of(self, path: str, answer: Answer) -> Any:
        """The body of a 200 answer to `path` (JSON, or a NotJson); any other status is its
        ShellyError."""
        status = answer.status
        if status == 200:
            return answer.body
        where = f"{self.url}{path.split('?')[0]}"
        if status == 401:
            hint = ("rejected the password" if self._password else "requires a password")
            raise ShellyAuthFailed(f"the meter at {self.url} {hint} (HTTP 401); check "
                                   "SHELLY_USERNAME/SHELLY_PASSWORD")
        if status == 429:
            raise ShellyRateLimited(f"the meter at {self.url} is rate limiting (HTTP 429); "
                                    "polling less often helps",
                                    _retry_after(answer.retry_after))
        if status >= 400:
            raise ShellyBadResponse(f"{where} answered HTTP {status}{_rpc_error(answer.body)}")
        return answer.body


@dataclass(frozen=True)
class PollPlan:
    """How every poll of one recognised device goes, worked out once: whether one
    Shelly.GetStatus serves it, its requests otherwise, and the channel's reader (its read
    paths resolved, collector/shelly/parse.py)."""

    device: ShellyDevice
    one_status: bool
    requests: tuple[tuple[str, str], ...]  # (response key, URL path), in order
    reader: ChannelReader
    device_id: str  # the device's tag (DeviceInfo.device_id)
    # the URL path of the one request whose answer is the full status (Gen2+ one
    # Shelly.GetStatus, Gen1 its /status); None when a poll takes several requests
    status_path: str | None = None

    @classmethod
    def of(cls, device: ShellyDevice) -> PollPlan:
        family, channel = device.family, device.channel
        one_status = poll_paths(family, channel) == [GEN2_STATUS]
        requests = tuple(request_paths(family, channel))
        whole = len(family.requests) == 1 and family.requests[0].component is None
        status_path = GEN2_STATUS if one_status else requests[0][1] if whole else None
        return cls(device, one_status, requests, channel_reader(family, channel),
                   device.device_id, status_path)


NO_COUNTERS = ("reports no energy counters ({what}, firmware {fw}): electricity is "
               "integrated from its power samples and marked as an estimate; a firmware "
               "update brings the counters")


def _log_counters(device: ShellyDevice) -> None:
    if device.has_counter:
        log.info("the meter %s reports energy counters again: energy comes from them",
                 device.device_id)
    else:
        log.warning("the meter %s " + NO_COUNTERS.format(what=device.family.title,
                                                        fw=device.info.firmware or "?"),
                    device.device_id)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86400 else None


def _rpc_error(body: Any) -> str:
    """The short RPC error message a Gen2 device puts in an error body, if any."""
    message = body.get("message") if isinstance(body, dict) else None
    return f": {message[:120]}" if isinstance(message, str) and message else ""


def poll_paths(family: Family, channel: Channel) -> list[str]:
    """The URL paths one poll requests: Gen2+ one Shelly.GetStatus (it holds every component
    the family reads), otherwise the family's own requests (Gen1: its /status)."""
    if not family.gen1 and all(r.component is not None for r in family.requests):
        return [GEN2_STATUS]
    return [path for _, path in request_paths(family, channel)]
