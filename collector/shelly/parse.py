"""Pure mapping from Shelly response bodies to power (W), import counter (Wh) and uptime (s).

Every supported family is one row of `FAMILIES`: which requests to make, where power and
the cumulative import counter sit in the answers, the counter's unit, and whether the
counter survives a reboot. No I/O here, so every real payload in the fixtures is checked
without a network. Paths are dotted strings; `{n}` is the channel number and `{p}` the phase
letter (a, b, c) chosen by SHELLY_CHANNEL. Several power/energy paths are summed (Gen1 3EM).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector.shelly.errors import ShellyBadResponse, ShellyUnsupported

PHASES = ("a", "b", "c")


@dataclass(frozen=True)
class Request:
    """One HTTP GET of a poll; `component` names its body inside a full status answer."""

    key: str  # name the read paths start with
    path: str  # URL path and query, `{n}` = channel number
    component: str | None  # key in Shelly.GetStatus ("switch:{n}"); None = the whole body


@dataclass(frozen=True)
class Family:
    """How one device family is read. `all`/`one`: summed phases vs. one channel/phase."""

    key: str
    title: str
    examples: str
    gen1: bool
    requests: tuple[Request, ...]
    power: Mapping[str, tuple[str, ...]]
    energy: Mapping[str, tuple[str, ...]]
    uptime: str
    energy_divisor: float = 1.0  # raw counter unit per Wh (60 for watt-minutes)
    counter_survives_reboot: bool = True
    phases: bool = False  # 3-phase meter: empty SHELLY_CHANNEL sums all phases
    letters: bool = False  # SHELLY_CHANNEL may be a phase letter a/b/c (= channel 0/1/2)
    valid: Mapping[str, tuple[str, ...]] | None = None  # Gen1 `is_valid` flags
    channels_hint: str = ""


_GEN1_STATUS = (Request("status", "/status", None),)
_SYS = Request("sys", "/rpc/Sys.GetStatus", "sys")

FAMILIES: dict[str, Family] = {
    f.key: f
    for f in (
        Family(
            key="gen1_meter", title="Gen1 plug/switch with meter",
            examples="Plug S (SHPLG-S), Plug (SHPLG-1), 1PM (SHSW-PM), 2.5 (SHSW-25)",
            gen1=True, requests=_GEN1_STATUS,
            power={"one": ("status.meters.{n}.power",)},
            energy={"one": ("status.meters.{n}.total",)},
            valid={"one": ("status.meters.{n}.is_valid",)},
            uptime="status.uptime", energy_divisor=60.0, counter_survives_reboot=False,
            channels_hint="meters[n]",
        ),
        Family(
            key="gen1_em", title="Gen1 EM (2 channels)", examples="Shelly EM (SHEM)",
            gen1=True, requests=_GEN1_STATUS,
            power={"one": ("status.emeters.{n}.power",)},
            energy={"one": ("status.emeters.{n}.total",)},
            valid={"one": ("status.emeters.{n}.is_valid",)},
            uptime="status.uptime", channels_hint="emeters[n]",
        ),
        Family(
            key="gen1_3em", title="Gen1 3EM (3 phases)", examples="Shelly 3EM (SHEM-3)",
            gen1=True, requests=_GEN1_STATUS, phases=True, letters=True,
            power={"all": tuple(f"status.emeters.{i}.power" for i in range(3)),
                   "one": ("status.emeters.{n}.power",)},
            energy={"all": tuple(f"status.emeters.{i}.total" for i in range(3)),
                    "one": ("status.emeters.{n}.total",)},
            valid={"all": tuple(f"status.emeters.{i}.is_valid" for i in range(3)),
                   "one": ("status.emeters.{n}.is_valid",)},
            uptime="status.uptime", channels_hint="emeters[0..2]",
        ),
        Family(
            key="switch", title="Gen2+ switch with metering",
            examples="Plus 1PM, Plus Plug S, Pro 1PM, Pro 4PM, 2PM Gen3",
            gen1=False,
            requests=(Request("switch", "/rpc/Switch.GetStatus?id={n}", "switch:{n}"), _SYS),
            power={"one": ("switch.apower",)}, energy={"one": ("switch.aenergy.total",)},
            uptime="sys.uptime", channels_hint="switch:n",
        ),
        Family(
            key="pm1", title="Gen2+ power meter (PM1)", examples="Plus PM Mini, Mini PM Gen3",
            gen1=False,
            requests=(Request("pm1", "/rpc/PM1.GetStatus?id={n}", "pm1:{n}"), _SYS),
            power={"one": ("pm1.apower",)}, energy={"one": ("pm1.aenergy.total",)},
            uptime="sys.uptime", channels_hint="pm1:n",
        ),
        Family(
            key="em", title="Pro 3EM, triphase profile", examples="Pro 3EM (SPEM-003CEBEU)",
            gen1=False, phases=True, letters=True,
            requests=(Request("em", "/rpc/EM.GetStatus?id=0", "em:0"),
                      Request("emdata", "/rpc/EMData.GetStatus?id=0", "emdata:0"), _SYS),
            power={"all": ("em.total_act_power",), "one": ("em.{p}_act_power",)},
            energy={"all": ("emdata.total_act",), "one": ("emdata.{p}_total_act_energy",)},
            uptime="sys.uptime", channels_hint="phases a, b, c",
        ),
        Family(
            key="em1", title="Gen2+ energy meter (EM1 channels)",
            examples="Pro EM, EM Gen3, Pro 3EM in monophase profile",
            gen1=False, letters=True,
            requests=(Request("em1", "/rpc/EM1.GetStatus?id={n}", "em1:{n}"),
                      Request("em1data", "/rpc/EM1Data.GetStatus?id={n}", "em1data:{n}"), _SYS),
            power={"one": ("em1.act_power",)}, energy={"one": ("em1data.total_act_energy",)},
            uptime="sys.uptime", channels_hint="em1:n",
        ),
    )
}

# Gen1 `/shelly` `type` -> family. Unknown Gen1 types fall back to the shape of /status.
GEN1_TYPES: dict[str, str] = {
    "SHPLG-S": "gen1_meter", "SHPLG-1": "gen1_meter", "SHPLG2-1": "gen1_meter",
    "SHPLG-U1": "gen1_meter", "SHPLG-IT1": "gen1_meter", "SHSW-PM": "gen1_meter",
    "SHSW-25": "gen1_meter", "SHEM": "gen1_em", "SHEM-3": "gen1_3em",
}

# Gen2+ components in Shelly.GetStatus, best first: the first present (and metering) wins.
GEN2_COMPONENTS: tuple[tuple[str, str, str], ...] = (
    # (component prefix, family, key that proves it meters)
    ("em", "em", "total_act_power"),
    ("em1", "em1", "act_power"),
    ("pm1", "pm1", "apower"),
    ("switch", "switch", "apower"),
)


@dataclass(frozen=True)
class DeviceInfo:
    """What `GET /shelly` says (no password needed)."""

    device_id: str  # stable tag: Gen2+ `id`, Gen1 `<type>-<mac>`
    gen: int
    model: str
    app: str | None
    auth_required: bool
    profile: str | None = None
    firmware: str | None = None


@dataclass(frozen=True)
class Channel:
    """Which channel/phase is read; `index=None` sums all phases of a 3-phase meter."""

    index: int | None

    @property
    def mode(self) -> str:
        return "all" if self.index is None else "one"

    @property
    def letter(self) -> str:
        return PHASES[self.index] if self.index is not None and self.index < 3 else ""

    def describe(self) -> str:
        return "all phases" if self.index is None else f"channel {self.index}"


@dataclass(frozen=True)
class Values:
    """One poll's values; None where the device says the value is not valid right now."""

    power_w: float | None
    energy_import_wh: float | None
    uptime_s: int | None
    # False when the answer holds no energy counter at all (Pro 3EM firmware before 1.0:
    # `emdata:0` is only its id); the collector then integrates power, as an estimate
    has_counter: bool = True


def identify(body: Any) -> DeviceInfo:
    """Map a `GET /shelly` body to DeviceInfo; Gen1 has no `gen` field."""
    if not isinstance(body, Mapping):
        raise ShellyBadResponse("/shelly did not answer a JSON object; is this a Shelly?")
    gen = body.get("gen")
    if gen is None:
        kind, mac = body.get("type"), body.get("mac")
        if not isinstance(kind, str) or not isinstance(mac, str):
            raise ShellyBadResponse("/shelly answer has neither `gen` nor Gen1 `type`/`mac`")
        return DeviceInfo(
            device_id=f"{kind}-{mac}".lower(), gen=1, model=kind, app=None,
            auth_required=bool(body.get("auth")), firmware=_opt_str(body.get("fw")))
    if not isinstance(gen, int) or isinstance(gen, bool) or gen < 2:
        raise ShellyBadResponse(f"/shelly answer has an unknown generation {gen!r}")
    model, mac = body.get("model"), body.get("mac")
    device_id = body.get("id")
    if not isinstance(device_id, str) or not device_id:
        if not isinstance(mac, str):
            raise ShellyBadResponse("/shelly answer has neither `id` nor `mac`")
        device_id = f"{body.get('app') or model or 'shelly'}-{mac}".lower()
    return DeviceInfo(
        device_id=device_id, gen=gen, model=str(model or ""), app=_opt_str(body.get("app")),
        auth_required=bool(body.get("auth_en")), profile=_opt_str(body.get("profile")),
        firmware=_opt_str(body.get("ver")))


def gen1_family(info: DeviceInfo, status: Any) -> Family:
    """The family of a Gen1 device: by `type`, else by what /status holds."""
    key = GEN1_TYPES.get(info.model)
    if key is None and isinstance(status, Mapping):
        emeters, meters = status.get("emeters"), status.get("meters")
        if isinstance(emeters, list) and emeters:
            key = "gen1_3em" if len(emeters) == 3 else "gen1_em"
        elif isinstance(meters, list) and meters:
            key = "gen1_meter"
    if key is None:
        raise ShellyUnsupported(f"Gen1 device type {info.model!r} has no power meter")
    return FAMILIES[key]


def gen2_family(status: Any) -> Family:
    """The family of a Gen2+ device from the components in its Shelly.GetStatus answer."""
    if not isinstance(status, Mapping):
        raise ShellyBadResponse("Shelly.GetStatus did not answer a JSON object")
    for prefix, key, proof in GEN2_COMPONENTS:
        comps = [v for k, v in status.items() if k.split(":")[0] == prefix and ":" in k]
        if any(isinstance(c, Mapping) and proof in c for c in comps):
            return FAMILIES[key]
    raise ShellyUnsupported("this Shelly has no power meter component "
                            "(em, em1, pm1 or a switch with apower)")


def resolve_channel(family: Family, setting: str | None) -> Channel:
    """SHELLY_CHANNEL -> Channel for this family (empty: sum phases, else channel 0)."""
    raw = (setting or "").strip().lower()
    if not raw:
        return Channel(None if family.phases else 0)
    if raw in PHASES:
        if not family.letters:
            raise ShellyUnsupported(
                f"SHELLY_CHANNEL={raw} is a phase, but a {family.title} has numbered "
                f"channels ({family.channels_hint}); use a number such as 0")
        return Channel(PHASES.index(raw))
    if not raw.isdigit():
        raise ShellyUnsupported(f"SHELLY_CHANNEL={raw!r}: use a number or a, b, c")
    index = int(raw)
    if family.phases and index > 2:
        raise ShellyUnsupported(f"SHELLY_CHANNEL={index}: a {family.title} has phases 0-2 "
                                "(a, b, c)")
    return Channel(index)


def request_paths(family: Family, channel: Channel) -> list[tuple[str, str]]:
    """(key, URL path) of every request of one poll, in order."""
    n = channel.index or 0
    return [(r.key, r.path.format(n=n)) for r in family.requests]


def responses_from_status(family: Family, channel: Channel, status: Any) -> dict[str, Any]:
    """The per-request bodies as found inside one full status (Gen1 /status, Shelly.GetStatus).

    A component answer (e.g. Switch.GetStatus) is the same object as its `switch:N` entry."""
    if not isinstance(status, Mapping):
        raise ShellyBadResponse("status answer is not a JSON object")
    n = channel.index or 0
    out: dict[str, Any] = {}
    for r in family.requests:
        if r.component is None:
            out[r.key] = status
            continue
        name = _component_name(r.component, n)
        if name not in status:
            raise ShellyUnsupported(f"{family.title}: no component {name!r} in the status "
                                    f"({family.channels_hint}); check SHELLY_CHANNEL")
        out[r.key] = status[name]
    return out


@functools.lru_cache(maxsize=128)
def _component_name(component: str, n: int) -> str:
    """`switch:{n}` -> `switch:0` (asked every poll: kept)."""
    return component.format(n=n)


def read_values(family: Family, channel: Channel, responses: Mapping[str, Any]) -> Values:
    """Power, import counter (Wh) and uptime from the bodies of one poll.

    A missing field is a ShellyBadResponse; a field that is null, or flagged `is_valid:
    false`, becomes None (the accountant skips it) — never a zero."""
    mode = channel.mode
    if mode not in family.power:
        raise ShellyUnsupported(f"a {family.title} has no phase sum; set SHELLY_CHANNEL")
    valid = True
    if family.valid:
        valid = all(_get(responses, p, channel, required=False) is not False
                    for p in family.valid[mode])
    power = _sum(responses, family.power[mode], channel)
    uptime = _get(responses, family.uptime, channel, required=False)
    uptime_s = int(uptime) if _is_number(uptime) and uptime >= 0 else None
    if no_counters(family, channel, responses):
        return Values(power if valid else None, None, uptime_s, has_counter=False)
    energy = _sum(responses, family.energy[mode], channel)
    if energy is not None:
        energy = energy / family.energy_divisor
    if not valid:
        return Values(None, None, uptime_s)
    return Values(power, energy, uptime_s)


def no_counters(family: Family, channel: Channel, responses: Mapping[str, Any]) -> bool:
    """True when the object that should hold the energy counters is there but has none of
    them (early Pro 3EM firmware answers `emdata:0` with only its id): a meter without
    counters, not a missing channel."""
    for path in family.energy[channel.mode]:
        parent, leaf = _parent_and_leaf(path, channel)
        node = _get(responses, parent, channel, required=False) if parent else responses
        if not isinstance(node, Mapping) or leaf in node:
            return False
        if any(_is_number(v) for k, v in node.items() if k != "id"):
            return False  # other numbers there: a different layout, not an empty one
    return True


def _sum(responses: Mapping[str, Any], paths: tuple[str, ...], channel: Channel
         ) -> float | None:
    total = 0.0
    for path in paths:
        value = _get(responses, path, channel, required=True)
        if value is None:
            return None
        if not _is_number(value):
            raise ShellyBadResponse(f"field {_fmt(path, channel)} is {value!r}, not a number")
        if not math.isfinite(value):
            return None
        total += float(value)
    return total


def _get(responses: Mapping[str, Any], path: str, channel: Channel, required: bool) -> Any:
    node: Any = responses
    for part in _parts(path, channel):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif required:
            raise ShellyBadResponse(f"the answer lacks {_fmt(path, channel)}")
        else:
            return None
    return node


def _fmt(path: str, channel: Channel) -> str:
    return path.format(n=channel.index or 0, p=channel.letter)


@functools.lru_cache(maxsize=512)
def _parent_and_leaf(path: str, channel: Channel) -> tuple[str, str]:
    """A read path for a channel split at its last step (asked every poll: kept)."""
    parent, _, leaf = _fmt(path, channel).rpartition(".")
    return parent, leaf


@functools.lru_cache(maxsize=512)
def _parts(path: str, channel: Channel) -> tuple[str, ...]:
    """The steps of a read path for a channel (asked several times every poll: kept)."""
    return tuple(_fmt(path, channel).split("."))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
