"""A local stand-in for the Viessmann cloud, speaking its wire format over 127.0.0.1.

- IAM: `POST /idp/v3/authorize` (HTTP Basic credentials, PKCE S256 challenge) answers
  302 to `vicare://oauth-callback/everest?code=...`, 401 `invalid_client` for an unknown
  client id, and 200 with an HTML login page for a wrong password (as the real IAM);
  `POST /idp/v3/token` exchanges the code (verifying the PKCE verifier) for a bearer token.
- API: `GET /iot/v2/equipment/installations?includeGateways=true` lists installations,
  gateways and devices; `GET /iot/v2/features/installations/{i}/gateways/{g}/devices/{d}/
  features/` returns a fixture dump. Scripted errors use the real bodies from
  tests/fixtures/vicare/errors with their real HTTP status codes.

Only the cloud is fake: tests point the REAL PyViCare at it by patching its module-level
URL constants (`use_fake_cloud`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.base import LoopbackServer, QuietHandler
from tests.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "vicare"
REDIRECT_URI = "vicare://oauth-callback/everest"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def error_body(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "errors" / f"{name}.json").read_text())


# Real HTTP status of each error body (the API repeats it in "statusCode"; the expired
# token body has none and comes with 401).
ERROR_STATUS = {"rate_limit": 429, "expired_token": 401, "device_offline": 400,
                "gateway_offline": 400, "error_500": 500, "error_502": 502}


@dataclass
class FakeDevice:
    installation: int
    gateway: str
    device_id: str
    model: str
    body: dict[str, Any]
    roles: list[str] = field(default_factory=lambda: ["type:heatpump"])
    device_type: str = "heating"


class FakeCloud:
    def __init__(self, username: str = "owner@example.com", password: str = "s3cret-Passw0rd",
                 client_id: str = "0123456789abcdef0123456789abcdef"):
        self.username, self.password, self.client_id = username, password, client_id
        self.devices: list[FakeDevice] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.errors: deque[tuple[int, dict[str, Any]]] = deque()
        self.valid_tokens: set[str] = set()
        self.issued_tokens: list[str] = []
        self._codes: dict[str, str] = {}  # code -> PKCE challenge
        self.hang_seconds = 0.0  # > 0: the identity server does not answer in time
        self.lock = threading.Lock()
        self._http = LoopbackServer(self._handler())

    # --- control -------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return self._http.url

    def start(self) -> FakeCloud:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def add_device(self, dump: str, gateway: str = "7571381681420106", device_id: str = "0",
                   model: str | None = None, installation: int = 1234567,
                   **kw: Any) -> FakeDevice:
        body = fixture(dump) if dump.endswith(".json") else fixture(dump + ".json")
        d = FakeDevice(installation, gateway, device_id, model or Path(dump).stem.split("-")[0]
                       .split("_")[0], body, **kw)
        self.devices.append(d)
        return d

    def fail_next(self, name: str, body: dict[str, Any] | None = None) -> None:
        """The next API GET answers with this real error body and status."""
        self.errors.append((ERROR_STATUS[name], body or error_body(name)))

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def count(self, prefix: str) -> int:
        return sum(1 for _, p, _ in self.requests if p.startswith(prefix))

    @property
    def logins(self) -> int:
        return self.count("/idp/v3/token")

    # --- HTTP ----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        cloud = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.0"  # the cloud closes each connection, as before

            def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                # Recorded before answering: the client may look at the count as soon as it
                # has the answer, and on a loaded machine this thread may not run again first.
                with cloud.lock:
                    cloud.requests.append((self.command, urlparse(self.path).path, status))
                self.send_body(status, body, headers, content_type)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if url.path == "/idp/v3/authorize":
                    return self._authorize(parse_qs(url.query))
                if url.path == "/idp/v3/token":
                    return self._token(form)
                self._send(404, {"error": "not found"})

            def _authorize(self, query: dict[str, list[str]]) -> None:
                if cloud.hang_seconds:
                    time.sleep(cloud.hang_seconds)
                if query.get("client_id", [""])[0] != cloud.client_id:
                    return self._send(401, {"error": "invalid_client",
                                            "error_description": "Unknown client"})
                auth = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(
                    f"{cloud.username}:{cloud.password}".encode()).decode()
                if auth != expected:
                    return self._send(200, "<html><body>Login</body></html>",
                                      content_type="text/html")
                code = secrets.token_urlsafe(16)
                cloud._codes[code] = query.get("code_challenge", [""])[0]
                state = query.get("state", [""])[0]
                self._send(302, None, {"Location": f"{REDIRECT_URI}?code={code}&state={state}"})

            def _token(self, form: dict[str, list[str]]) -> None:
                code = form.get("code", [""])[0]
                verifier = form.get("code_verifier", [""])[0]
                challenge = cloud._codes.pop(code, None)
                digest = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if challenge is None or digest != challenge:
                    return self._send(400, {"error": "invalid_grant"})
                token = "tok-" + secrets.token_hex(12)
                cloud.valid_tokens.add(token)
                cloud.issued_tokens.append(token)
                self._send(200, {"access_token": token, "token_type": "Bearer",
                                 "expires_in": 3600, "scope": "IoT User"})

            def do_GET(self) -> None:
                url = urlparse(self.path)
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in cloud.valid_tokens:
                    return self._send(401, error_body("expired_token"))
                with cloud.lock:
                    scripted = cloud.errors.popleft() if cloud.errors else None
                if scripted is not None:
                    return self._send(*scripted)
                if url.path == "/iot/v2/equipment/installations":
                    return self._send(200, cloud.listing())
                parts = url.path.strip("/").split("/")
                # iot v2 features installations {i} gateways {g} devices {d} features
                if len(parts) >= 10 and parts[2] == "features" and parts[9] == "features":
                    for d in cloud.devices:
                        if (str(d.installation), d.gateway, d.device_id) == (
                                parts[4], parts[6], parts[8]):
                            return self._send(200, copy.deepcopy(d.body))
                self._send(404, {"statusCode": 404, "errorType": "NOT_FOUND",
                                 "message": "not found", "viErrorId": "x"})

        return Handler

    def listing(self) -> dict[str, Any]:
        installations: dict[int, dict[str, dict[str, Any]]] = {}
        for d in self.devices:
            gws = installations.setdefault(d.installation, {})
            gw = gws.setdefault(d.gateway, {"serial": d.gateway, "version": "1.0",
                                            "gatewayType": "VitoconnectOpto1",
                                            "installationId": d.installation,
                                            "devices": []})
            gw["devices"].append({"gatewaySerial": d.gateway, "id": d.device_id,
                                  "modelId": d.model, "status": "Online",
                                  "deviceType": d.device_type, "roles": d.roles})
        return {"data": [{"id": i, "description": "Home", "gateways": list(g.values())}
                         for i, g in installations.items()]}


def use_fake_cloud(monkeypatch: Any, cloud: FakeCloud) -> None:
    """Point the real PyViCare at the fake cloud (its URLs are module constants)."""
    import PyViCare.PyViCareAbstractOAuthManager as abstract
    import PyViCare.PyViCareOAuthManager as oauth

    monkeypatch.setattr(abstract, "API_BASE_URL", cloud.base + "/iot/v2")
    monkeypatch.setattr(oauth, "AUTHORIZE_URL", cloud.base + "/idp/v3/authorize")
    monkeypatch.setattr(oauth, "TOKEN_URL", cloud.base + "/idp/v3/token")
