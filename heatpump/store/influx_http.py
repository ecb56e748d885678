"""HTTP for the InfluxDB backend with a deadline on the whole request and a cap on answers.

httpx's timeouts bound each socket operation, not a request: an influxd stopped with SIGSTOP
accepts the connection (the kernel does) and never answers, and a server that sends one byte
a second never lets a per-read timeout fire. Here every connect, read and write of a request
gets at most the time left until the request's deadline (a network backend for httpcore that
clamps each operation), so a request ends within its deadline plus one scheduling slice,
whatever the server does. The answer is read in chunks and refused once it passes a size
cap, so a runaway answer never sits in memory whole.

Only public httpx/httpcore interfaces are used (`httpx.BaseTransport`,
`httpcore.ConnectionPool(network_backend=...)`, `httpcore.NetworkBackend`).
"""

from __future__ import annotations

import threading
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass

import httpcore
import httpx

# What one request may take in all (connect, send, wait, receive), and the largest answer
# read: 7 days of raw 10-second meter samples are ~3 MB of InfluxDB JSON; a bigger answer is
# a query gone wrong (or a server that floods) and would cost 5-10x its size once parsed.
DEADLINE_S = 30.0
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class DeadlinePassed(httpx.TimeoutException):
    """The request's deadline passed before the answer was complete."""


class AnswerTooLarge(httpx.HTTPError):
    """The answer is larger than the cap (announced by Content-Length, or counted)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes


class _Deadlines(threading.local):
    at: float | None = None


def _left(deadlines: _Deadlines, timeout: float | None, exc: type[Exception]) -> float | None:
    """The time an operation may take: its own timeout, cut to what is left of the request's
    deadline; `exc` when nothing is left."""
    at = deadlines.at
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise exc("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadlines: _Deadlines):
        self._stream, self._deadlines = stream, deadlines

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._deadlines, timeout,
                                                  httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._deadlines, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._stream.start_tls(
            ssl_context, server_hostname,
            _left(self._deadlines, timeout, httpcore.ConnectTimeout)), self._deadlines)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadlines: _Deadlines):
        self._backend = httpcore.SyncBackend()
        self._deadlines = deadlines

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None,
                    ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_tcp(
            host, port, _left(self._deadlines, timeout, httpcore.ConnectTimeout),
            local_address, socket_options), self._deadlines)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: typing.Iterable[typing.Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return _Stream(self._backend.connect_unix_socket(
            path, _left(self._deadlines, timeout, httpcore.ConnectTimeout), socket_options),
            self._deadlines)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _mapped(exc: Exception) -> httpx.HTTPError:
    """The httpx exception for an httpcore one (as httpx's own transport maps them)."""
    for core, mapped in ((httpcore.TimeoutException, httpx.TimeoutException),
                         (httpcore.ConnectError, httpx.ConnectError),
                         (httpcore.ReadError, httpx.ReadError),
                         (httpcore.WriteError, httpx.WriteError),
                         (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
                         (httpcore.LocalProtocolError, httpx.LocalProtocolError),
                         (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol)):
        if isinstance(exc, core):
            return mapped(str(exc) or type(exc).__name__)
    return httpx.TransportError(f"{type(exc).__name__}: {exc}")


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: typing.Iterable[bytes]):
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except (httpcore.TimeoutException, httpcore.NetworkError,
                httpcore.ProtocolError) as exc:
            raise _mapped(exc) from exc

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx.BaseTransport):
    """httpx transport whose requests honour the deadline `bounded()` sets for this thread."""

    def __init__(self) -> None:
        self.deadlines = _Deadlines()
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=_Backend(self.deadlines))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, typing.Iterable)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        try:
            resp = self._pool.handle_request(req)
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                httpcore.UnsupportedProtocol) as exc:
            raise _mapped(exc) from exc
        assert isinstance(resp.stream, typing.Iterable)
        return httpx.Response(status_code=resp.status, headers=resp.headers,
                              stream=_Body(resp.stream), extensions=resp.extensions)

    def close(self) -> None:
        self._pool.close()


def bounded(client: httpx.Client, transport: DeadlineTransport, method: str, path: str,
            deadline_s: float, max_bytes: int, **kw: typing.Any) -> Answer:
    """One request that ends within `deadline_s` and reads at most `max_bytes` of answer.

    Raises DeadlinePassed or AnswerTooLarge, or the httpx error of a failed connection."""
    deadlines = transport.deadlines
    at = time.monotonic() + deadline_s
    deadlines.at = at
    try:
        with client.stream(method, path, **kw) as r:
            announced = r.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > max_bytes:
                raise AnswerTooLarge(f"the answer announces {int(announced):,} bytes")
            body = bytearray()
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise AnswerTooLarge(f"the answer passed {max_bytes:,} bytes")
                if time.monotonic() > at:
                    raise DeadlinePassed("the request's deadline passed")
            return Answer(r.status_code, r.headers, bytes(body))
    except httpx.TimeoutException as exc:
        if time.monotonic() >= at - 0.001 or isinstance(exc, DeadlinePassed):
            raise DeadlinePassed(str(exc)) from None
        raise
    finally:
        deadlines.at = None
