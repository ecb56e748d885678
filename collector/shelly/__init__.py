"""Shelly meter source: `ShellyClient.poll()` -> `MeterReading` (see docs/shelly.md)."""

from collector.shelly.client import ShellyClient, ShellyDevice
from collector.shelly.errors import (
    ShellyAuthFailed,
    ShellyBadResponse,
    ShellyError,
    ShellyRateLimited,
    ShellyTimeout,
    ShellyUnreachable,
    ShellyUnsupported,
)
from collector.shelly.parse import FAMILIES

__all__ = [
    "FAMILIES",
    "ShellyAuthFailed",
    "ShellyBadResponse",
    "ShellyClient",
    "ShellyDevice",
    "ShellyError",
    "ShellyRateLimited",
    "ShellyTimeout",
    "ShellyUnreachable",
    "ShellyUnsupported",
]
