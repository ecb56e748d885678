"""The one small server the loopback fakes share: an HTTP server on 127.0.0.1, a free port,
a thread, start/stop, and a handler base that answers JSON quietly.

Each fake (tests/fakes/shelly.py, telegram.py, vicare_cloud.py) only adds what its device or
service answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive; one segment per answer and no Nagle, so a client never waits
    out a delayed ACK (~40 ms a call); no log lines in the test output."""

    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> None:
        """`body`: JSON-able, str, bytes (sent as they are) or None (empty)."""
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if raw:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test, or shutdown during a long poll)


class LoopbackServer:
    """A threaded HTTP server on a free port of 127.0.0.1, serving `handler`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], poll_interval: float = 0.05):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": poll_interval}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
