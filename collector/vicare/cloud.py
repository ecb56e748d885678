"""The real PyViCare, wrapped so every call and every login passes the guard.

`GuardedOAuthManager` is PyViCare's own `ViCareOAuthManager` with three additions:
- every API GET first asks the guard (budget, 429 block) and is written to the ledger
  with its HTTP status (a requests response hook sees the real status code);
- the password login (first start and every expired token: there is no refresh token)
  goes through the login backoff, is recorded before it is made, and leaves the token file
  at mode 0600;
- the installation/device listing is kept in the data dir for a day, so a restart does
  not spend a call on it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import PyViCare.PyViCareAbstractOAuthManager as _pyvicare_api
import PyViCare.PyViCareOAuthManager as _pyvicare_oauth
import requests
from authlib.integrations.requests_client import OAuth2Session
from PyViCare.PyViCareOAuthManager import ViCareOAuthManager
from PyViCare.PyViCareUtils import PyViCareInternalServerError

from collector.vicare.guard import Guard
from heatpump.fsutil import write_atomic

log = logging.getLogger(__name__)

LISTING_URL = "/equipment/installations?includeGateways=true"
LISTING_FILE = "vicare_installations.json"
LISTING_MAX_AGE = timedelta(hours=24)

# PyViCare logs the OAuth token and every response body at DEBUG; those lines must never
# reach a log, whatever HEATPUMP_LOG_LEVEL says (an explicit level is not overridden by
# the root logger's). Our own log lines say which devices are polled.
for _name in ("PyViCare", "authlib"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# PyViCare's login (authorize POST and token exchange) is made without a timeout: a hanging
# identity server would block the source, and with it the collector's loop, for ever. Its
# OAuth module gets a `requests` and an `OAuth2Session` that default to a timeout (explicit
# timeouts, like the 31 s of its API GETs, are kept).
LOGIN_TIMEOUT_S = 30.0


class _TimeoutOAuth2Session(OAuth2Session):
    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", LOGIN_TIMEOUT_S)
        return super().request(method, url, *args, **kwargs)


class _RequestsWithTimeout:
    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", LOGIN_TIMEOUT_S)
        return requests.post(*args, **kwargs)


_pyvicare_oauth.OAuth2Session = _TimeoutOAuth2Session  # type: ignore[misc]
_pyvicare_oauth.requests = _RequestsWithTimeout()  # type: ignore[assignment]

CallListener = Callable[[datetime, str, int, int], None]
# (path relative to the API root, HTTP status, JSON body or text): one API answer, for
# `heatpump collect --record` (collector/recording.py). Login and token answers never
# reach it: they do not go to the API root.
Recorder = Callable[[str, int, Any], None]


def call_kind(url: str) -> str:
    """Ledger kind of a request path or full URL."""
    if "/equipment/installations" in url:
        return "devices"
    if "/features/" in url:
        return "features"
    return "other"


def secure_token_file(path: Path) -> None:
    """Mode 0600 on an existing token file; move an unreadable one aside.

    PyViCare would crash on an empty or truncated pickle (only UnpicklingError is caught);
    a bad file is renamed `<name>.bad` so the next start logs in cleanly.
    """
    if not path.exists():
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)
    try:
        with open(path, "rb") as f:
            token = pickle.load(f)
        if isinstance(token, dict) and token.get("access_token"):
            return
    except Exception:  # any unreadable pickle is unusable
        pass
    log.warning("Viessmann token file %s is unreadable; it was moved aside and a new "
                "login will be made", path)
    os.replace(path, path.with_name(path.name + ".bad"))


class GuardedOAuthManager(ViCareOAuthManager):
    """PyViCare's password OAuth manager, with the guard in front of every call."""

    def __init__(self, username: str, password: str, client_id: str, token_file: Path,
                 guard: Guard, clock: Callable[[], datetime], on_call: CallListener,
                 listing_path: Path | None = None, recorder: Recorder | None = None):
        self._guard = guard
        self._recorder = recorder
        self._clock = clock
        self._on_call = on_call
        self._responses = 0
        self._listing_path = listing_path
        # Set when the server refused the token and no new login could be made yet: until
        # one succeeds, a GET would only spend quota on another 401.
        self._token_dead = False
        token_file = Path(token_file)
        token_file.parent.mkdir(parents=True, exist_ok=True)
        secure_token_file(token_file)
        super().__init__(username, password, client_id, str(token_file))
        self._attach(self.oauth_session)

    def _attach(self, session: Any) -> None:
        hooks = session.hooks.setdefault("response", [])
        if self._on_response not in hooks:
            hooks.append(self._on_response)

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._responses += 1
        kind = call_kind(str(response.url))
        now = self._clock()
        self._guard.record(now, kind, int(response.status_code))
        self._on_call(now, kind, int(response.status_code), 1)
        url, root = str(response.url), _pyvicare_api.API_BASE_URL  # read now: tests move it
        if self._recorder is not None and url.startswith(root):
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:2000]
            self._recorder(url[len(root):], int(response.status_code), body)

    def replace_session(self, new_session: Any) -> None:
        super().replace_session(new_session)
        self._attach(new_session)

    # PyViCare's single place for a password login (name-mangled private method of
    # ViCareOAuthManager; overriding it catches the first login and every renewal).
    def _ViCareOAuthManager__create_new_session(self, username: str, password: str,
                                                token_file: str | None = None) -> Any:
        now = self._clock()
        self._guard.check_login(now)  # raises QuotaBlocked during backoff / without quota
        self._guard.start_login(now)
        created = False
        if token_file and not os.path.exists(token_file):
            # Create it 0600 first: PyViCare's open(..., "wb") keeps an existing mode, so
            # the token is never world-readable, not even for a moment.
            os.close(os.open(token_file, os.O_CREAT | os.O_WRONLY, 0o600))
            created = True
        try:
            session = ViCareOAuthManager._ViCareOAuthManager__create_new_session(  # type: ignore[attr-defined]
                self, username, password, token_file)
        except BaseException as exc:
            self._guard.finish_login(False)
            # 401: refused by the identity server; 0: no answer at all.
            self._on_call(now, "login", 0 if isinstance(exc, OSError) else 401, 2)
            if created and token_file and os.path.getsize(token_file) == 0:
                os.unlink(token_file)
            raise
        self._guard.finish_login(True)
        self._on_call(now, "login", 200, 2)
        if token_file:
            os.chmod(token_file, 0o600)
        self._attach(session)
        log.info("Viessmann login succeeded; token kept in %s", token_file)
        return session

    def renewToken(self) -> None:
        self._token_dead = True
        super().renewToken()  # the guarded login below; raises QuotaBlocked during backoff
        self._token_dead = False

    def get(self, url: str) -> Any:
        if url == LISTING_URL and self._listing_path is not None:
            cached = self._cached_listing()
            if cached is not None:
                if self._recorder is not None:  # a recording must be replayable on its own
                    self._recorder(url, 200, cached)
                return cached
        if self._token_dead:
            self.renewToken()
        self._guard.check_call(self._clock())
        seen = self._responses
        try:
            response = super().get(url)
        except PyViCareInternalServerError:
            if self._responses == seen:  # no answer at all (connection refused, timeout)
                now = self._clock()
                self._guard.record(now, call_kind(url), 0)
                self._on_call(now, call_kind(url), 0, 1)
            raise
        if url == LISTING_URL and self._listing_path is not None and "data" in response:
            self._store_listing(response)
        return response

    def _cached_listing(self) -> Any | None:
        assert self._listing_path is not None
        try:
            raw = json.loads(self._listing_path.read_text())
            fetched = datetime.fromisoformat(raw["fetched"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not timedelta(0) <= self._clock() - fetched < LISTING_MAX_AGE:
            return None
        return raw["response"]

    def _store_listing(self, response: Any) -> None:
        assert self._listing_path is not None
        write_atomic(self._listing_path, json.dumps(
            {"fetched": self._clock().isoformat(), "response": response}))

