"""A fake Shelly Plus 1PM on 127.0.0.1 whose counter follows real time, and which can
misbehave the way a broken meter (or whatever answers at its address) does.

`mode`: None answers normally; "trickle" sends the headers, then one byte of body every
2 s; "flood" announces 200 MB and streams it; "flood-chunked" streams without announcing a
size; "lie" answers valid JSON whose energy counter is a string. `/shelly` (identification)
always answers normally. Every counter value actually served is kept in `served`, with
whether it answered the read that recognises the device (the one after `/shelly`, never
booked); `truth_wh()` is what the counter advanced between the first and the last reading
the collector could book. The counter follows `clock` (default: real time).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.shelly import FakeShelly, load_device

DEVICE = "aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json"
POWER_W = 1800.0
FLOOD_BYTES = 200_000_000
TRICKLE_EVERY_S = 2.0


def _served_total(body: Any) -> float | None:
    """The energy counter in an answer (a component's status or the whole status)."""
    if isinstance(body, dict):
        aenergy = body.get("aenergy")
        if isinstance(aenergy, dict) and isinstance(aenergy.get("total"), (int, float)):
            return float(aenergy["total"])
        for value in body.values():
            found = _served_total(value)
            if found is not None:
                return found
    return None


def _lie(body: Any) -> Any:
    """The same answer with every energy counter turned into a string."""
    if isinstance(body, dict):
        return {k: ("12.5 kWh" if k == "aenergy" else _lie(v)) for k, v in body.items()}
    return body


class LiveMeter(FakeShelly):
    def __init__(self, password: str | None = None):
        self.mode: str | None = None
        self.faulted = 0  # requests answered with a fault
        self.served: list[tuple[float, bool]] = []  # (counter Wh, identification read)
        self.first_read_at: float | None = None  # time.monotonic() of the first counter read
        self.clock: Callable[[], float] = time.monotonic
        self._previous_path = ""
        self._t0: float | None = None
        self._wh0 = 7_500.0
        self._stop = threading.Event()
        super().__init__(load_device(DEVICE), password=password)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        super().__exit__(*exc)

    def wh(self) -> float:
        now = self.clock()
        if self._t0 is None:
            self._t0 = now
        return self._wh0 + POWER_W * (now - self._t0) / 3600

    def truth_wh(self) -> float:
        booked = [wh for i, (wh, identifying) in enumerate(self.served)
                  if not identifying or i == len(self.served) - 1]
        return booked[-1] - booked[0]

    def uptime_s(self) -> int:
        return 86_400 + int(self.clock() - (self._t0 or self.clock()))

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        with self._lock:
            sw = self.status["switch:0"]
            sw["apower"], sw["aenergy"]["total"] = POWER_W, round(self.wh(), 3)
            sw["output"] = True
            self.status["sys"]["uptime"] = self.uptime_s()
            code, body = super().answer(path, query)
            body = copy.deepcopy(body)
            identifying, self._previous_path = self._previous_path == "/shelly", path
        if self.mode == "lie":
            return code, _lie(body)
        total = _served_total(body) if path != "/shelly" else None
        if total is not None:
            if self.first_read_at is None:
                self.first_read_at = time.monotonic()
            self.served.append((total, identifying))
        return code, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler()
        fake = self

        class Faulty(base):  # type: ignore[misc,valid-type]
            def do_GET(self) -> None:
                mode = fake.mode
                if mode in (None, "lie") or urlsplit(self.path).path == "/shelly":
                    return super().do_GET()
                fake.faulted += 1
                try:
                    if mode == "trickle":
                        self._trickle()
                    elif mode == "flood":
                        self._flood(chunked=False)
                    elif mode == "flood-chunked":
                        self._flood(chunked=True)
                except OSError:
                    pass  # the client gave up, as it should
                self.close_connection = True

            def finish(self) -> None:
                with contextlib.suppress(OSError):  # the client hung up on a fault
                    super().finish()

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.flush()
                for _ in range(4096):
                    if fake._stop.wait(TRICKLE_EVERY_S):
                        return
                    self.wfile.write(b" ")
                    self.wfile.flush()

            def _flood(self, chunked: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(FLOOD_BYTES))
                self.end_headers()
                block = b"[" + b"1," * 32_767 + b"1"
                sent = 0
                while sent < FLOOD_BYTES and not fake._stop.is_set():
                    if chunked:
                        self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                    else:
                        self.wfile.write(block)
                    sent += len(block)

        return Faulty
