"""How a Shelly's answers reach the client: over HTTP, or from an in-process stand-in.

The client (collector/shelly/client.py) asks a `Transport` for one path at a time and gets
an `Answer` (HTTP status, JSON body or "not JSON" (with its text, for the Gen1 3EM's CSV
records), Retry-After). Everything that decides
what an answer means (401, 429, HTTP errors, bodies that are not JSON, the family's fields)
stays in the client and the parser, so the real meter over HTTP, a recording replayed
(collector/recording.py) and the simulated meter (simhouse.shelly) take the same path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import httpx

from collector.shelly.errors import (
    ShellyAuthFailed,
    ShellyBadResponse,
    ShellyTimeout,
    ShellyUnreachable,
)
from heatpump.store.influx_http import AnswerTooLarge, DeadlineTransport, bounded

# A Shelly's largest answer (a Pro 3EM's Shelly.GetStatus) is a few tens of KB; anything
# past this is not a meter's answer and is refused before it fills the memory.
MAX_ANSWER_BYTES = 1 << 20
# The Gen1 3EM's stored records (`/emeter/<i>/em_data.csv`, collector/shelly/em_data.py)
# are a file of about a year: a real one published by another project holds 52,000-65,000
# rows, 1.5-1.8 MB per phase. A path ending in ".csv" may be this large, no larger.
MAX_CSV_BYTES = 4 << 20


def answer_limit(path: str) -> int:
    """The largest answer accepted for `path`, in bytes (see MAX_CSV_BYTES)."""
    return MAX_CSV_BYTES if path.split("?")[0].endswith(".csv") else MAX_ANSWER_BYTES


class NotJson:
    """The body of an answer that was not JSON (its size is kept for the error message;
    `text` is the body when it is UTF-8 text, e.g. a CSV file, else None)."""

    def __init__(self, size: int, text: str | None = None):
        self.size = size
        self.text = text

    def __repr__(self) -> str:
        return f"NotJson({self.size} bytes)"


class Answer(NamedTuple):
    """One answer of the meter (a named tuple: made for every poll, and a third as costly
    as a frozen dataclass)."""

    status: int  # HTTP status
    body: Any  # parsed JSON, or a NotJson
    retry_after: str | None = None  # the Retry-After header, if any


# Answer's own __new__ in one C call: the in-process transport makes one every poll
_new_answer = tuple.__new__


class Transport(Protocol):
    """GET one path of the meter. Raises ShellyUnreachable/ShellyTimeout when no answer
    came, ShellyAuthFailed when the authentication cannot be answered at all."""

    url: str  # for messages (never with credentials)

    def get(self, path: str, auth: httpx.Auth | None) -> Answer: ...

    def close(self) -> None: ...


class HttpTransport:
    """The real meter over local HTTP: one connection, reused (Gen2 devices accept few).

    `timeout_s` (SHELLY_TIMEOUT_SECONDS) bounds each request as a whole — connect, the
    Digest challenge and its answer, every byte of the body — not each socket read: a meter
    (or anything at its address) that trickles a byte every 2 s fails the poll in time. An
    answer larger than MAX_ANSWER_BYTES (MAX_CSV_BYTES for a .csv path) is refused while it
    streams in (a Content-Length
    that announces more is refused before reading), so a flood never sits in memory."""

    def __init__(self, url: str, timeout_s: float, max_answer_bytes: int | None = None):
        self.url = url
        self._timeout_s = timeout_s
        self._max_bytes = max_answer_bytes  # None: answer_limit(path)
        self._transport = DeadlineTransport()
        self._http = httpx.Client(
            base_url=url, timeout=timeout_s, follow_redirects=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"Accept": "application/json"}, transport=self._transport)

    def get(self, path: str, auth: httpx.Auth | None) -> Answer:
        limit = self._max_bytes or answer_limit(path)
        try:
            response = bounded(self._http, self._transport, "GET", path, self._timeout_s,
                               limit, **({"auth": auth} if auth else {}))
        except httpx.TimeoutException:
            raise timeout(self.url, f"within {self._timeout_s:g} s") from None
        except AnswerTooLarge as exc:
            raise ShellyBadResponse(f"the meter at {self.url} sent an answer larger than "
                                    f"{limit // 1024} KB ({exc}); refused") from None
        except httpx.TransportError as exc:
            raise unreachable(self.url, type(exc).__name__) from None
        except (KeyError, ValueError):  # httpx cannot answer this Digest challenge
            raise ShellyAuthFailed(f"the meter at {self.url} asks for an authentication "
                                   "this client does not support") from None
        try:
            body: Any = json.loads(response.content)
        except ValueError:  # also UnicodeDecodeError
            body = not_json(response.content)
        return Answer(response.status_code, body, response.headers.get("retry-after"))

    def close(self) -> None:
        self._http.close()


def not_json(content: bytes) -> NotJson:
    """A body that is not JSON, with its text when it is UTF-8 text."""
    try:
        return NotJson(len(content), content.decode("utf-8"))
    except UnicodeDecodeError:
        return NotJson(len(content))


def timeout(url: str, cause: str) -> ShellyTimeout:
    return ShellyTimeout(f"the meter at {url} did not answer {cause}", cause)


def unreachable(url: str, cause: str) -> ShellyUnreachable:
    return ShellyUnreachable(f"cannot reach the meter at {url} ({cause})", cause)


class AnswerTransport:
    """Answers from a function `answer(path) -> (status, JSON body)` in this process: the
    simulated meter, or a recording. The function raises ConnectionError (or TimeoutError)
    with the cause as its message when the meter does not answer at all. A `str` body is
    a text answer (the Gen1 3EM's em_data.csv), held to the same size limit as over HTTP."""

    def __init__(self, answer: Callable[[str], tuple[int, Any]], url: str = "simulated"):
        self._answer = answer
        self.url = url

    def get(self, path: str, auth: httpx.Auth | None) -> Answer:
        try:
            status, body = self._answer(path)
        except TimeoutError as exc:
            raise timeout(self.url, str(exc) or "in time") from None
        except ConnectionError as exc:
            raise unreachable(self.url, str(exc) or type(exc).__name__) from None
        if isinstance(body, str):
            content = body.encode("utf-8")
            if len(content) > answer_limit(path):
                raise ShellyBadResponse(f"the meter at {self.url} sent an answer larger than "
                                        f"{answer_limit(path) // 1024} KB; refused")
            body = NotJson(len(content), body)
        return _new_answer(Answer, (status, body, None))  # Answer(status, body), at a third

    def close(self) -> None:
        return None
