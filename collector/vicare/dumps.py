"""Saved Viessmann API answers: replay them through the real PyViCare, save redacted ones.

A dump is the body of one "all features" response, `{"data": [feature, ...]}` (the files in
tests/fixtures/vicare), optionally with a `"device"` header as written by `save_dump`. A
dump may hold several devices: features carry their `gatewayId`/`deviceId`. VICARE_DUMP
is a file (replayed on every poll) or a folder of them (one per poll, in name order; the
last one repeats once the folder is used up).

`DumpAnswers` answers PyViCare's GETs from the dump instead of the network (through
collector/vicare/offline.py), so the same PyViCare code paths (installation listing, device
configs, feature fetch, error handling) run as live.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collector.redact import Redactor

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


class DumpAnswers:
    """The Viessmann API answered from dumps (VICARE_DUMP): the listing from the devices
    the dump holds, the features from the current dump file; `begin_poll()` moves to the
    next file (a single file is replayed on every poll)."""

    def __init__(self, files: Sequence[Path], model: str):
        self.files = list(files)
        self.model = model
        self.index = 0
        self._body: dict[str, Any] | None = None  # read when first needed: a bad dump is
        # a poll's error (health), not a crash at start

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = load_dump(self.files[0])
        return self._body

    @property
    def devices(self) -> list[tuple[str, str]]:
        return device_ids(self.body)

    def begin_poll(self) -> bool:
        """Load the dump for the next poll; False once a folder of dumps is used up."""
        if self.index >= len(self.files) and len(self.files) > 1:
            return False
        self._body = load_dump(self.files[min(self.index, len(self.files) - 1)])
        self.index += 1
        return True

    def answer(self, path: str) -> tuple[int, Any]:
        if path.startswith("/equipment/installations"):
            return 200, {"data": [{
                "id": REPLAY_INSTALLATION,
                "gateways": [{
                    "serial": gw,
                    "devices": [{"id": dev, "modelId": self.model, "status": "Online",
                                 "deviceType": "heating", "roles": ["type:heatpump"]}
                                for g, dev in self.devices if g == gw],
                } for gw in dict.fromkeys(g for g, _ in self.devices)],
            }]}
        match = re.search(r"/gateways/([^/]+)/devices/([^/]+)/features/?$", path)
        if match:
            gw, dev = match.groups()
            return 200, {"data": [f for f in self.body["data"]
                                  if str(f.get("gatewayId", "0")) == gw
                                  and str(f.get("deviceId", "0")) == dev]}
        return 404, {"statusCode": 404, "errorType": "NOT_FOUND",
                     "message": f"the dump has no answer for {path}"}


# --- saving a redacted dump ----------------------------------------------------------------

def redact_features(features: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Features with serials, installation/gateway ids and e-mail addresses replaced
    (collector/redact.py): each distinct identifier gets a stable placeholder
    ("gateway-1", "serial-1", ...), so a multi-device dump still tells its devices apart;
    deviceId (0, 1, ...) is kept."""
    redactor = Redactor()
    return [redactor.json(f) for f in features]


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
