"""A fake Shelly on 127.0.0.1 (real sockets) serving a whole device from the fixtures.

Gen1: `/shelly`, `/status`, `/meter/N`, `/emeter/N`, HTTP Basic when a password is set.
Gen2+: `/shelly`, `/rpc/Shelly.GetStatus`, `/rpc/Shelly.GetDeviceInfo`, `/rpc/Sys.GetStatus`
and `/rpc/<Component>.GetStatus?id=N`, with a real Digest SHA-256 challenge in the header
format of the captured 401 (fixture `gen2_http_401_digest_challenge_pro3em__...txt`) and the
response hash verified server-side. `/shelly` never needs a password, like the real thing.

Further RPC methods (a meter's stored records) are served by functions a test puts in
`rpc`. Misbehaviour is scripted per request through `actions` ("429", "garbage", "500", "sleep:S",
"drop"), and `max_in_flight` records the most requests ever served at once.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import parse_http_list, parse_keqv_list

from tests.fakes.base import LoopbackServer, QuietHandler
from tests.paths import FIXTURES

DEVICES = FIXTURES / "shelly" / "devices"


def load_device(name: str) -> dict[str, Any]:
    return json.loads((DEVICES / name).read_text())


class FakeShelly:
    def __init__(self, device: dict[str, Any], password: str | None = None,
                 gen1_user: str = "admin"):
        self.device = copy.deepcopy(device)
        self.password = password
        self.gen1_user = gen1_user
        self.gen = self.device["shelly"].get("gen", 1)
        if self.gen == 1:
            self.device["shelly"]["auth"] = password is not None
        else:
            self.device["shelly"]["auth_en"] = password is not None
            self.realm = self.device["shelly"]["id"]
        self.actions: deque[str] = deque()
        # further RPC methods a test serves ("EMData.GetData": query -> (status, body))
        self.rpc: dict[str, Callable[[dict[str, list[str]]], tuple[int, Any]]] = {}
        self.requests: list[str] = []
        self.auth_failures = 0
        self.digest_ok = 0
        self.nonces: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._http = LoopbackServer(self._handler(), poll_interval=0.02)

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def status(self) -> dict[str, Any]:
        return self.device["status"]

    def __enter__(self) -> FakeShelly:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    # --- routing ----------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        status = self.status
        if path == "/shelly" or path == "/rpc/Shelly.GetDeviceInfo":
            return 200, self.device["shelly"]
        if self.gen == 1:
            if path == "/status":
                return 200, status
            for prefix, key in (("/meter/", "meters"), ("/emeter/", "emeters")):
                if path.startswith(prefix) and path[len(prefix):].isdigit():
                    items = status.get(key, [])
                    index = int(path[len(prefix):])
                    if index < len(items):
                        return 200, items[index]
            return 404, "Not Found"
        if path == "/rpc/Shelly.GetStatus":
            return 200, status
        if path == "/rpc/Sys.GetStatus":
            return 200, status["sys"]
        if path.startswith("/rpc/") and path.endswith(".GetStatus"):
            component = path[len("/rpc/"):-len(".GetStatus")].lower()
            key = f"{component}:{query.get('id', ['0'])[0]}"
            if key in status:
                return 200, status[key]
            return 500, {"code": -105, "message": f"Argument 'id', value {key} not found!"}
        method = self.rpc.get(path[len("/rpc/"):]) if path.startswith("/rpc/") else None
        if method is not None:
            return method(query)
        return 404, {"code": 404, "message": f"No handler for {path}"}

    # --- auth -------------------------------------------------------------------------

    def challenge(self) -> str:
        nonce = str(int(time.time()))
        self.nonces.add(nonce)
        return (f'Digest qop="auth", realm="{self.realm}", nonce="{nonce}", '
                f"algorithm=SHA-256")

    def authorized(self, method: str, raw_path: str, header: str | None) -> bool:
        if self.password is None:
            return True
        if not header:
            return False
        if self.gen == 1:
            expected = base64.b64encode(f"{self.gen1_user}:{self.password}".encode()).decode()
            return header == f"Basic {expected}"
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "digest":
            return False
        fields = parse_keqv_list(parse_http_list(rest))
        if (fields.get("username") != "admin" or fields.get("realm") != self.realm
                or fields.get("nonce") not in self.nonces or fields.get("uri") != raw_path
                or fields.get("algorithm", "").upper() != "SHA-256"
                or fields.get("qop") != "auth"):
            return False

        def h(text: str) -> str:
            return hashlib.sha256(text.encode()).hexdigest()

        ha1 = h(f"admin:{self.realm}:{self.password}")
        ha2 = h(f"{method}:{raw_path}")
        expected = h(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")
        ok = fields.get("response") == expected
        if ok:
            self.digest_ok += 1
        return ok

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with fake._lock:
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._serve()
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _serve(self) -> None:
                split = urlsplit(self.path)
                fake.requests.append(self.path)
                action = fake.actions.popleft() if fake.actions else None
                if action and action.startswith("sleep:"):
                    time.sleep(float(action.split(":", 1)[1]))
                    action = None
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if action == "429":
                    return self._send(429, {"code": 429, "message": "Too many requests"},
                                      {"Retry-After": "30"})
                if action == "500":
                    return self._send(500, {"code": -1, "message": "Internal error"})
                if split.path != "/shelly" and not fake.authorized(
                        "GET", self.path, self.headers.get("Authorization")):
                    fake.auth_failures += 1
                    header = (fake.challenge() if fake.gen > 1
                              else f'Basic realm="{fake.device["shelly"].get("type")}"')
                    return self._send(401, None, {"WWW-Authenticate": header})
                code, body = fake.answer(split.path, parse_qs(split.query))
                if action == "garbage":
                    return self._send(200, b"<html>\x00\xff not json", raw=True)
                self._send(code, body)

            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None,
                      raw: bool = False) -> None:
                self.send_body(code, body, {**(headers or {}), "Server": "ShellyHTTP/1.0.0"})

        return Handler
