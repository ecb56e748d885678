"""Pure mapping from Shelly response bodies to power (W), import counter (Wh) and uptime (s).

Every supported family is one row of `FAMILIES`: which requests to make, where power and
the cumulative import counter sit in the answers, the counter's unit, and whether the
counter survives a reboot. No I/O here, so every real payload in the fixtures is checked
without a network. Paths are dotted strings; `{n}` is the channel number and `{p}` the phase
letter (a, b, c) chosen by SHELLY_CHANNEL. Several power/energy paths are summed (Gen1 3EM).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from collector.shelly.errors import ShellyBadResponse, ShellyUnsupported

PHASES = ("a", "b", "c")
_new_tuple = tuple.__new__
_NUMBER_TYPES = (int, float)
# A JSON object: a dict (asked first: the general Mapping check costs several times more,
# and every answer's objects are dicts), or any other Mapping a caller hands in
_OBJECT_TYPES = (dict, Mapping)


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


class Values(NamedTuple):
    """One poll's values; None where the device says the value is not valid right now. (A
    named tuple: one is made every poll, at a third of a frozen dataclass's cost.)"""

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
    return channel_reader(family, channel).responses(status)


def read_values(family: Family, channel: Channel, responses: Mapping[str, Any]) -> Values:
    """Power, import counter (Wh) and uptime from the bodies of one poll.

    A missing field is a ShellyBadResponse; a field that is null, or flagged `is_valid:
    false`, becomes None (the accountant skips it) — never a zero."""
    return channel_reader(family, channel).read(responses)


def no_counters(family: Family, channel: Channel, responses: Mapping[str, Any]) -> bool:
    """True when the object that should hold the energy counters is there but has none of
    them (early Pro 3EM firmware answers `emdata:0` with only its id): a meter without
    counters, not a missing channel."""
    return channel_reader(family, channel).no_counters(responses)


@dataclass(frozen=True)
class ReadPath:
    """One dotted read path with the channel filled in, split into its steps once.

    `text` is the path as error messages name it ("status.emeters.1.power"); each step is
    (key, list index): the key for a JSON object, the index (when the key is a number) for
    a JSON array."""

    text: str
    steps: tuple[tuple[str, int | None], ...]

    @classmethod
    def of(cls, path: str, channel: Channel) -> ReadPath:
        text = path.format(n=channel.index or 0, p=channel.letter)
        return cls(text, tuple((part, int(part) if part.isdigit() else None)
                               for part in text.split(".")))

    def parent(self) -> tuple[ReadPath | None, str]:
        """(the path to the object holding the last step, or None at the top; the last key)."""
        *head, (leaf, _) = self.steps
        if not head:
            return None, leaf
        return ReadPath(self.text.rpartition(".")[0], tuple(head)), leaf


class ChannelReader:
    """How one family reads one channel, with every read path resolved once.

    The client asks this every poll (every 10 s, and 8,640 times per simulated day of the
    demo): the paths are formatted and split when the reader is made, not per poll. The
    rules are those of `read_values` (which uses this reader): a missing field is a
    ShellyBadResponse, a null, non-finite or `is_valid: false` value a None."""

    def __init__(self, family: Family, channel: Channel):
        self.family, self.channel = family, channel
        mode = channel.mode
        n = channel.index or 0
        # (response key, component name in a full status; None = the whole status)
        self.components = tuple((r.key, None if r.component is None
                                 else r.component.format(n=n)) for r in family.requests)
        self.has_mode = mode in family.power  # False: a phase sum of a one-channel family
        self.power = tuple(ReadPath.of(p, channel) for p in family.power.get(mode, ()))
        self.energy = tuple(ReadPath.of(p, channel) for p in family.energy.get(mode, ()))
        self.counter_parents = tuple(path.parent() for path in self.energy)
        self.valid = (tuple(ReadPath.of(p, channel) for p in family.valid[mode])
                      if family.valid and self.has_mode else ())
        self.uptime = ReadPath.of(family.uptime, channel)
        self.energy_divisor = family.energy_divisor
        # how `plain` reads the one full status of a poll (None: it never does)
        self.plain_groups = _plain_groups(self) if self.has_mode and self.energy else None

    def responses(self, status: Any) -> dict[str, Any]:
        """See `responses_from_status`."""
        if not isinstance(status, _OBJECT_TYPES):
            raise ShellyBadResponse("status answer is not a JSON object")
        out: dict[str, Any] = {}
        for key, name in self.components:
            if name is None:
                out[key] = status
            elif name in status:
                out[key] = status[name]
            else:
                family = self.family
                raise ShellyUnsupported(f"{family.title}: no component {name!r} in the status "
                                        f"({family.channels_hint}); check SHELLY_CHANNEL")
        return out

    def read(self, responses: Mapping[str, Any]) -> Values:
        """See `read_values`."""
        if not self.has_mode:
            raise ShellyUnsupported(f"a {self.family.title} has no phase sum; set "
                                    "SHELLY_CHANNEL")
        valid = not self.valid or all(_get(responses, p, required=False) is not False
                                      for p in self.valid)  # Gen1 `is_valid` flags
        power = _sum(responses, self.power)
        uptime = _get(responses, self.uptime, required=False)
        uptime_s = int(uptime) if _is_number(uptime) and uptime >= 0 else None
        if self.no_counters(responses):
            return Values(power if valid else None, None, uptime_s, has_counter=False)
        energy = _sum(responses, self.energy)
        if energy is not None:
            energy = energy / self.energy_divisor
        if not valid:
            return Values(None, None, uptime_s)
        return Values(power, energy, uptime_s)

    def plain(self, status: Any) -> Values | None:
        """The values of one full status (Gen1 /status, Gen2+ Shelly.GetStatus) when it is
        plain: every field read is where the family has it, inside JSON objects and arrays
        (dicts, lists), every power and counter a finite number, the uptime a whole number
        of seconds (not negative) and every `is_valid` flag true. Else None: the caller
        reads it with `responses` and `read`, whose rules (a clear error, a None) then
        decide.

        Every poll of a meter that works is plain: its values are read here in one pass
        over the objects that hold them (`_plain_groups`; every 10 s, and 8,640 times per
        simulated day of the demo), the same values `read` gives, to the bit (the same
        sums, in the same order)."""
        groups = self.plain_groups
        if groups is None or type(status) is not dict:
            return None
        power = energy = 0.0
        uptime = None
        try:
            for first, parent, leaves in groups:
                # the status's own key (a Gen2+ component), then the steps below it
                node = status if first is None else status[first]
                for key, index in parent:
                    if type(node) is dict:
                        node = node[key]
                    elif type(node) is list and index is not None:
                        node = node[index]
                    else:
                        return None
                if type(node) is not dict:
                    return None
                for role, leaf in leaves:
                    value = node[leaf]
                    if role == _UPTIME:
                        uptime = value
                        continue
                    if role == _VALID:
                        if value is not True:
                            return None
                        continue
                    # a finite float (inf - inf and nan - nan are nan), or an int, added
                    # as `_sum` adds it (float + int converts the int as float() does)
                    if type(value) is float:
                        if value - value != 0.0:
                            return None
                    elif type(value) is not int:
                        return None
                    if role == _POWER:
                        power += value
                    else:
                        energy += value
        except LookupError:  # a key or an index missing
            return None
        except OverflowError:  # an integer beyond any float: the rules make it None
            return None
        if type(uptime) is not int or uptime < 0:
            return None
        # the energy paths were read from their objects: the answer holds counters
        # (`no_counters`). Made as NamedTuple's own __new__ makes it (a third of its cost)
        return _new_tuple(Values, (power, energy / self.energy_divisor, uptime, True))

    def no_counters(self, responses: Mapping[str, Any]) -> bool:
        """See `no_counters`."""
        for parent, leaf in self.counter_parents:
            node = _get(responses, parent, required=False) if parent else responses
            if not isinstance(node, _OBJECT_TYPES) or leaf in node:
                return False
            if any(_is_number(v) for k, v in node.items() if k != "id"):
                return False  # other numbers there: a different layout, not an empty one
        return True


# Readers made so far, by (family, channel number): a handful per process (one per meter).
_READERS: dict[tuple[int, int | None], ChannelReader] = {}


def channel_reader(family: Family, channel: Channel) -> ChannelReader:
    """The reader of `channel` of `family`, made once (Family holds dicts, so it is not
    hashable: readers are kept by the family's identity; a kept reader holds its family,
    so that identity is not reused)."""
    key = (id(family), channel.index)
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = ChannelReader(family, channel)
    return reader


def _sum(responses: Mapping[str, Any], paths: tuple[ReadPath, ...]) -> float | None:
    total = 0.0
    for path in paths:
        value = _get(responses, path, required=True)
        if value is None:
            return None
        if not _is_number(value):
            raise ShellyBadResponse(f"field {path.text} is {value!r}, not a number")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # a JSON integer beyond any float: no measurement, as inf
            return None
        if not finite:
            return None
        total += float(value)
    return total


def _get(responses: Mapping[str, Any], path: ReadPath, required: bool) -> Any:
    node: Any = responses
    for key, index in path.steps:
        # a JSON object by its key, a JSON array by a numbered step; dicts and lists are
        # asked before the general Mapping check, which costs several times more
        if isinstance(node, dict):
            if key in node:
                node = node[key]
                continue
        elif isinstance(node, list):
            if index is not None and index < len(node):
                node = node[index]
                continue
        elif isinstance(node, Mapping) and key in node:
            node = node[key]
            continue
        if required:
            raise ShellyBadResponse(f"the answer lacks {path.text}")
        return None
    return node


# What a field read by `ChannelReader.plain` is: an `is_valid` flag, a power, a counter,
# the uptime
_VALID, _POWER, _ENERGY, _UPTIME = range(4)
Steps = tuple[tuple[str, int | None], ...]  # ReadPath.steps
PlainGroups = tuple[tuple[str | None, Steps, tuple[tuple[int, str], ...]], ...]


def _plain_groups(reader: ChannelReader) -> PlainGroups:
    """How `ChannelReader.plain` reads a full status: the reader's paths from the status
    (the response key each starts with replaced by its component in the status, or
    dropped where the response is the whole status), grouped by the object holding their
    last key: ((the status's key, the steps from there to that object, ((what, key),
    ...)), ...; no key for the status itself). A Gen1 3EM's phase sum
    reads three objects of three fields each, not nine paths from the top. The objects
    come in the order of their first path, so each sum adds its values in its paths'
    order (a float sum's bits depend on it); where grouping would change that order,
    every path is its own group."""
    names = dict(reader.components)
    fields = [(_VALID, p) for p in reader.valid] + [(_POWER, p) for p in reader.power] + \
        [(_ENERGY, p) for p in reader.energy] + [(_UPTIME, reader.uptime)]
    split: list[tuple[Steps, tuple[int, str]]] = []
    for what, path in fields:
        (key, _), *steps = path.steps
        if names[key] is not None:
            steps.insert(0, (names[key], None))
        *parent, (leaf, _) = steps
        split.append((tuple(parent), (what, leaf)))
    groups: dict[Steps, list[tuple[int, str]]] = {}
    for parent, field in split:
        groups.setdefault(parent, []).append(field)
    grouped = tuple((parent, tuple(leaves)) for parent, leaves in groups.items())
    in_groups = [(parent, field) for parent, leaves in grouped for field in leaves]
    if sorted(in_groups, key=lambda f: f[1][0]) != split:  # a sum's order changed
        grouped = tuple((parent, (field,)) for parent, field in split)
    # the first step is a key of the status (a dict, `plain` checks that once)
    return tuple((parent[0][0], parent[1:], leaves) if parent else (None, (), leaves)
                 for parent, leaves in grouped)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
