"""Logging set-up that can never print a secret."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class RedactingFilter(logging.Filter):
    """Replaces every known secret value in a record's final message with '***'."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = redact(message, self._secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log every request (with URLs that can carry a bot token) stay quiet.
    for noisy in ("httpx", "httpcore", "telegram.ext.Application", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def error_line(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """What an error says, on one line, for a command that stops with it: an OSError is its
    reason and file; anything else its message (a StoreError names no secret by contract;
    `secrets` are masked all the same)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    masked = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
    return redact(" ".join(text.split()), masked)


def store_error_line(exc: BaseException) -> str:
    """`error_line` for an error met opening or reading the store: a StoreError says what
    failed itself; an OSError (a data dir that cannot be made, no permission) gets the
    context."""
    from heatpump.store.base import StoreError

    line = error_line(exc)
    return line if isinstance(exc, StoreError) else f"cannot open the store: {line}"


def without_credentials(url: str | None) -> str:
    """The URL as it may be shown: `http://user:pw@host` -> `http://host` (both the Shelly
    and the InfluxDB client accept credentials inside their URL setting)."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return ""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def hide_url_password(text: str) -> str:
    """`text` with the password of a `user:password@host` part replaced by `***`.

    Unlike `without_credentials` it needs no valid URL (it is for showing a URL setting
    that was rejected: a missing scheme, a bad port), keeps the user name, and takes the
    last '@' as the end of the credentials, so a password holding '@', '/' or '#' is
    hidden whole: `htp://admin:p@ss@host` -> `htp://admin:***@host`."""
    head, at, host = text.rpartition("@")
    if not at:
        return text
    scheme, slashes, userinfo = head.partition("//")
    if not slashes:
        scheme, userinfo = "", head
    user, colon, _password = userinfo.partition(":")
    if not colon:
        return text
    return f"{scheme}{slashes}{user}:***@{host}"
