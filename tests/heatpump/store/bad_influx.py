"""A loopback HTTP server that speaks InfluxDB's v1 API until told to misbehave.

It answers `/ping`, `/query` and `/write` like an empty InfluxDB 1.8 (so an InfluxStore
starts normally against it), then, per `mode`, answers every request:

- `ok`: normally (`{"results": [{"statement_id": 0}]}`);
- `answer`: with `body` (bytes, sent as a JSON answer with its length);
- `silent`: reads the request and never answers (the connection stays open);
- `trickle_headers`: one byte of the status line and headers every `trickle_s`;
- `trickle_body`: full headers, then one byte of the body every `trickle_s`;
- `flood`: headers without a length, then body bytes as fast as the client takes them
  (up to `flood_bytes`);
- `huge_length`: headers announcing a `Content-Length` of 300 MB, then bytes as for flood.

`sent` counts the body bytes written, so a test can tell how much the client accepted.
"""

from __future__ import annotations

import socket
import threading

OK_QUERY = b'{"results":[{"statement_id":0}]}'


class BadInflux:
    def __init__(self) -> None:
        self.mode = "ok"
        self.body = OK_QUERY
        self.trickle_s = 0.2
        self.flood_bytes = 400 * 1024 * 1024
        self.sent = 0
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def close(self) -> None:
        self._stop.set()
        self._accept.join(5)
        for c in self._conns:
            c.close()
        for t in self._threads:
            t.join(5)
        self._sock.close()

    def __enter__(self) -> BadInflux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _read_request(self, conn: socket.socket, buf: bytes) -> tuple[str, bytes] | None:
        while b"\r\n\r\n" not in buf:
            chunk = self._recv(conn)
            if not chunk:
                return None
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for h in lines[1:]:
            name, _, value = h.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = self._recv(conn)
            if not chunk:
                return None
            rest += chunk
        return lines[0], rest[length:]

    def _recv(self, conn: socket.socket) -> bytes:
        conn.settimeout(0.2)
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""

    def _handle(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while not self._stop.is_set():
                got = self._read_request(conn, buf)
                if got is None:
                    return
                request_line, buf = got
                self.requests.append(request_line)
                path = request_line.split(" ")[1].split("?")[0]
                if path == "/ping":
                    conn.sendall(b"HTTP/1.1 204 No Content\r\nX-Influxdb-Version: 1.8.10\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                    continue
                if not self._misbehave(conn, path):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _misbehave(self, conn: socket.socket, path: str) -> bool:
        """Answer one request per mode; False when the connection is done."""
        mode = self.mode
        if mode in ("ok", "answer"):
            if path == "/write":
                conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                return True
            body = self.body if mode == "answer" else OK_QUERY
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            return True
        if mode == "silent":
            self._stop.wait()
            return False
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if mode == "trickle_headers":
            for byte in head + b"X-Pad: " + b"x" * 100_000:
                if self._stop.wait(self.trickle_s):
                    return False
                conn.sendall(bytes([byte]))
            return False
        if mode == "trickle_body":
            conn.sendall(head + b"Content-Length: 1000000\r\n\r\n")
            while not self._stop.wait(self.trickle_s):
                conn.sendall(b" ")
                self.sent += 1
            return False
        length = b"Content-Length: 300000000\r\n" if mode == "huge_length" else b""
        conn.sendall(head + length + b"Connection: close\r\n\r\n")
        chunk = b'{"results":[{"statement_id":0,"series":[' + b" " * 65000
        while self.sent < self.flood_bytes and not self._stop.is_set():
            conn.sendall(chunk)
            self.sent += len(chunk)
        return False

