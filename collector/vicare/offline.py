"""PyViCare without the Viessmann cloud: its own OAuth manager over answers from this process.

PyViCare's `AbstractViCareOAuthManager.get` sends a GET through an OAuth session and turns
the answer into data or into its exceptions (rate limit, device offline, server errors,
expired token). `OfflineOAuthManager` keeps that code and swaps only the session: the
answers come from a function `answer(path) -> (HTTP status, JSON body)`, which is a dump
(collector/vicare/dumps.py), a recording (collector/recording.py) or the simulated heat
pump (simhouse.vitocal). So offline runs take exactly the path of a live poll.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import PyViCare.PyViCareAbstractOAuthManager as _pyvicare_api
from PyViCare.PyViCareAbstractOAuthManager import AbstractViCareOAuthManager

Answer = Callable[[str], tuple[int, Any]]


class _Response:
    """The part of a `requests.Response` PyViCare reads."""

    def __init__(self, status: int, body: Any):
        self.status_code = status
        self._body = body
        self.headers = {"content-type": "application/json"} if not isinstance(body, str) \
            else {"content-type": "text/html"}

    def json(self) -> Any:
        if isinstance(self._body, str):
            raise ValueError("not JSON")
        return self._body


class AnswerSession:
    """Stands in for PyViCare's OAuth session. A function that raises ConnectionError or
    TimeoutError means no answer came (PyViCare reports that as status 0)."""

    def __init__(self, answer: Answer):
        self._answer = answer

    def get(self, url: str, timeout: float | None = None) -> _Response:
        root = _pyvicare_api.API_BASE_URL
        path = url[len(root):] if url.startswith(root) else url
        try:
            status, body = self._answer(path)
        except (ConnectionError, TimeoutError) as exc:
            raise OSError(f"no answer: {exc}") from None
        return _Response(status, body)

    def post(self, url: str, data: Any, headers: Any = None) -> _Response:
        raise OSError("offline answers are read-only")


class OfflineOAuthManager(AbstractViCareOAuthManager):
    """PyViCare's OAuth manager over `answer`; never logs in, never renews a token."""

    def __init__(self, answer: Answer):
        super().__init__(AnswerSession(answer))  # type: ignore[arg-type]

    def renewToken(self) -> None:
        raise OSError("offline answers have no token to renew")
