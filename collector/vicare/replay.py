"""Replay saved API responses through the real PyViCare classes, and save redacted dumps.

A dump is the body of one "all features" response, `{"data": [feature, ...]}` (the files in
tests/fixtures/vicare), optionally with a `"device"` header as written by `save_dump`. A
dump may hold several devices: features carry their `gatewayId`/`deviceId`. VICARE_DUMP
is a file (replayed on every poll) or a folder of them (one per poll, in name order; the
last one repeats once the folder is used up).

`OfflineOAuthManager` answers PyViCare's GETs from the dump instead of the network, so the
same PyViCare code paths (installation listing, device configs, feature fetch) run as live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PyViCare.PyViCareAbstractOAuthManager import AbstractViCareOAuthManager

REPLAY_INSTALLATION = 1


def dump_files(path: Path) -> list[Path]:
    """The dump file itself, or the folder's *.json files in name order."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise ValueError(f"VICARE_DUMP folder {path} holds no .json files")
        return files
    return [path]


def load_dump(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read Viessmann dump {path}: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ValueError(f"{path} is not a Viessmann features response (no \"data\" list)")
    return body


def device_ids(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(gatewayId, deviceId) of every device in a dump, in first-seen order."""
    seen: dict[tuple[str, str], None] = {}
    for f in body["data"]:
        seen.setdefault((str(f.get("gatewayId", "0")), str(f.get("deviceId", "0"))), None)
    return list(seen)


class OfflineOAuthManager(AbstractViCareOAuthManager):
    """Serves PyViCare's GET requests from a dump (no network, no token)."""

    def __init__(self, files: Sequence[Path], model: str):
        super().__init__(None)  # type: ignore[arg-type]
        self.files = list(files)
        self.model = model
        self.index = 0
        self.body = load_dump(self.files[0])
        self.devices = device_ids(self.body)

    def advance(self) -> Path:
        """Load the dump for the next poll and return its path."""
        path = self.files[min(self.index, len(self.files) - 1)]
        self.body = load_dump(path)
        self.index += 1
        return path

    @property
    def exhausted(self) -> bool:
        return self.index >= len(self.files) and len(self.files) > 1

    def renewToken(self) -> None:  # nothing to renew offline
        return None

    def get(self, url: str) -> Any:
        if url.startswith("/equipment/installations"):
            return {"data": [{
                "id": REPLAY_INSTALLATION,
                "gateways": [{
                    "serial": gw,
                    "devices": [{"id": dev, "modelId": self.model, "status": "Online",
                                 "deviceType": "heating", "roles": ["type:heatpump"]}
                                for g, dev in self.devices if g == gw],
                } for gw in dict.fromkeys(g for g, _ in self.devices)],
            }]}
        match = re.search(r"/gateways/([^/]+)/devices/([^/]+)/features/?$", url)
        if match:
            gw, dev = match.groups()
            return {"data": [f for f in self.body["data"]
                             if str(f.get("gatewayId", "0")) == gw
                             and str(f.get("deviceId", "0")) == dev]}
        raise ValueError(f"replay has no answer for {url}")

    def post(self, url: str, data: Any) -> Any:
        raise ValueError("replay is read-only")


# --- saving a redacted dump ----------------------------------------------------------------

_LONG_NUMBER = re.compile(r"\b\d{10,}\b")  # serial numbers (16 digits on Viessmann)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def redact_features(features: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Features with serials, installation/gateway ids and e-mail addresses replaced.

    Each distinct identifier gets a stable placeholder ("gateway-1", "serial-1", ...), so a
    multi-device dump still tells its devices apart; deviceId (0, 1, ...) is kept.
    """
    names: dict[str, str] = {}
    counters: dict[str, int] = {}

    def alias(value: str, label: str) -> str:
        if value not in names:
            counters[label] = counters.get(label, 0) + 1
            names[value] = f"{label}-{counters[label]}"
        return names[value]

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str):
            if key == "gatewayId":
                return alias(node, "gateway")
            if key == "installationId":
                return alias(node, "installation")
            text = re.sub(r"/(installations|gateways)/([^/]+)",
                          lambda m: f"/{m.group(1)}/" + alias(m.group(2), m.group(1)[:-1]),
                          node)
            text = _EMAIL.sub("redacted@example.invalid", text)
            text = _LONG_NUMBER.sub(lambda m: alias(m.group(0), "serial"), text)
            return text
        return node

    redacted = [walk(f) for f in features]
    for f in redacted:
        if f.get("feature") in ("device.serial", "heating.controller.serial",
                                "heating.boiler.serial"):
            value = f.get("properties", {}).get("value", {})
            if isinstance(value.get("value"), str):
                value["value"] = alias(value["value"], "serial")
    return redacted


def save_dump(path: Path, devices: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]]) -> int:
    """Write one replayable, redacted dump of (device info, features) pairs; returns the
    number of features written. Device info keeps model, type and roles only."""
    data: list[dict[str, Any]] = []
    models = []
    for info, features in devices:
        models.append({k: info[k] for k in ("modelId", "deviceType", "roles", "id")
                       if k in info})
        data.extend(features)
    body = {"device": models[0] if len(models) == 1 else models,
            "data": redact_features(data)}
    Path(path).write_text(json.dumps(body, indent=1, sort_keys=True))
    return len(data)
