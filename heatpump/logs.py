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


# Libraries that log every request with its URL (a bot token, a webhook path, an InfluxDB
# query) at INFO or DEBUG, or that flood DEBUG with their internals (matplotlib scores
# every font for every text it draws: thousands of lines per chart): held at WARNING
# whatever HEATPUMP_LOG_LEVEL says. Apprise's own logger stays (its DEBUG lines help set a
# channel up): the filter masks its URLs' secrets.
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "requests_oauthlib", "oauthlib",
                 "telegram.ext.Application", "apscheduler", "matplotlib", "PIL")


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """One handler on the root logger, masking `secrets` in every record of every logger
    (Settings.secrets(): tokens, passwords, the parts of each Apprise URL)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def url_secrets(url: str) -> list[str]:
    """Every part of a notification URL that can be a secret, as a URL holds it and as a
    library prints it (decoded): user and password, each path segment and the whole path
    (webhook ids and tokens: `discord://id/token`, `json://host/hook/<secret>`), each query
    value (`?token=`, Apprise's `+header=` and `-param=`), and a host that is no host name
    (`tgram://<bot token>/...`). Short pieces (< 4 characters) are left, as the filter does."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url.strip())
        user, password = parts.username, parts.password
        host = parts.hostname or ""
    except ValueError:
        return [url]
    found = [url, user or "", password or ""]
    if host and "." not in host and host != "localhost":
        found.append(host)
    path = parts.path.strip("/")
    found += [path, *path.split("/")]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        found += [value, f"{name}={value}"]
    pieces = {p for piece in found if piece for p in (piece, unquote(piece))}
    return sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)


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
