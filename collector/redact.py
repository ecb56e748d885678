"""Identifiers out of device answers, so a dump or a recording can be attached to a report.

`Redactor` replaces, anywhere in a JSON answer of the Viessmann API or a Shelly: serial
numbers, installation and gateway ids (also inside URLs), e-mail addresses, MAC addresses
(and the Shelly device ids built from them), Wi-Fi names, IP addresses and geographic
positions. Each distinct identifier gets a stable placeholder for the Redactor's lifetime
("gateway-1", "serial-1", a MAC "00000000000A"), so a recording still tells its devices
apart and its device tags stay the same from the first answer to the last. Energy
values, times and everything else are kept: they are what a replay needs.
"""

from __future__ import annotations

import re
from typing import Any

# serial numbers (16 digits on Viessmann); not the UNIX times a meter's records are asked
# for (`EMData.GetData?id=0&ts=...&end_ts=...`), which a replay must ask the same way
_LONG_NUMBER = re.compile(r"(?<!ts=)\b\d{10,}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MAC = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{12}(?![0-9A-Fa-f])")
_PATH_IDS = re.compile(r"/(installations|gateways)/([^/?]+)")
_DROP = frozenset({"ssid", "sta_ip", "ip", "ip6", "sta_ip6", "lat", "lon", "latitude",
                   "longitude", "server", "user"})  # Wi-Fi, addresses, position, MQTT
_GATEWAY_KEYS = frozenset({"gatewayId", "gatewaySerial"})
_SERIAL_FEATURES = ("device.serial", "heating.controller.serial", "heating.boiler.serial")


class Redactor:
    """Stable placeholders for identifiers across every answer it is given."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}

    def alias(self, value: str, label: str) -> str:
        key = (label, value.lower() if label == "mac" else value)
        if key not in self._names:
            self._counts[label] = self._counts.get(label, 0) + 1
            n = self._counts[label]
            self._names[key] = f"{n:012X}" if label == "mac" else f"{label}-{n}"
        name = self._names[key]
        return name.lower() if label == "mac" and value.islower() else name

    def text(self, text: str) -> str:
        """Identifiers in free text and URLs."""
        text = _PATH_IDS.sub(lambda m: f"/{m.group(1)}/"
                             + self.alias(m.group(2), m.group(1)[:-1]), text)
        text = _EMAIL.sub("redacted@example.invalid", text)
        text = _LONG_NUMBER.sub(lambda m: self.alias(m.group(0), "serial"), text)
        return _MAC.sub(lambda m: self.alias(m.group(0), "mac") if not m.group(0).isdigit()
                        else m.group(0), text)

    def json(self, node: Any, key: str | None = None) -> Any:
        """A JSON value with its identifiers replaced (a new object; the input is kept)."""
        if isinstance(node, dict):
            out = {k: self.json(v, k) for k, v in node.items()}
            if out.get("feature") in _SERIAL_FEATURES:
                value = out.get("properties", {}).get("value", {})
                if isinstance(value, dict) and isinstance(value.get("value"), str):
                    value["value"] = self.alias(value["value"], "serial")
            return out
        if isinstance(node, list):
            return [self.json(v, key) for v in node]
        if key in _DROP and node not in (None, "", []):
            return "redacted"
        if key in _GATEWAY_KEYS and isinstance(node, str | int):
            return self.alias(str(node), "gateway")
        if key == "installationId" and isinstance(node, str | int):
            return self.alias(str(node), "installation")
        if isinstance(node, str):
            return self.text(node)
        return node

    def listing(self, body: Any) -> Any:
        """The installation listing: its installation ids and gateway serials aliased the
        same way as inside feature URLs, so PyViCare builds the same (redacted) paths."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            return self.json(body)
        data = []
        for inst in body["data"]:
            if isinstance(inst, dict):
                inst = dict(inst)
                if "id" in inst:
                    inst["id"] = self.alias(str(inst["id"]), "installation")
                gateways = []
                for gw in inst.get("gateways") or []:
                    if isinstance(gw, dict) and "serial" in gw:
                        gw = dict(gw, serial=self.alias(str(gw["serial"]), "gateway"))
                    gateways.append(gw)
                if "gateways" in inst:
                    inst["gateways"] = gateways
            data.append(inst)
        return self.json(dict(body, data=data))
