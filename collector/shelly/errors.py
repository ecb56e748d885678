"""Typed failures of the Shelly source, each with a machine `reason` and a human message.

The `reason` values are the ones the `health` measurement documents, so the collector can
store them unchanged. Messages name the device URL without credentials and never carry the
password; nothing here wraps a traceback for the user.
"""

from __future__ import annotations


class ShellyError(Exception):
    """Base class: the meter could not be read this time; nothing was invented."""

    reason = "bad_response"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ShellyUnreachable(ShellyError):
    """No connection (host down, wrong address, network error). `cause` is the short
    reason the message ends with (e.g. "ConnectError"), kept by a recording so a replay
    says the same."""

    reason = "unreachable"

    def __init__(self, message: str, cause: str = ""):
        super().__init__(message)
        self.cause = cause


class ShellyTimeout(ShellyUnreachable):
    """The device did not answer within SHELLY_TIMEOUT_SECONDS."""

    reason = "unreachable"


class ShellyAuthFailed(ShellyError):
    """The device wants a password and ours is missing or wrong."""

    reason = "auth_failed"


class ShellyRateLimited(ShellyError):
    """HTTP 429: the device refuses more requests for now."""

    reason = "rate_limited"

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ShellyBadResponse(ShellyError):
    """The body is not what this device family answers (garbage, missing field, HTTP error)."""

    reason = "bad_response"


class ShellyUnsupported(ShellyBadResponse):
    """The device answered but is not a meter this project can read (or the channel is wrong)."""

    reason = "bad_response"
