"""What `heatpump demo --scenario` accepts: problems of the house and quirks of its devices.

`KIND[@START][/DURATION][,key=value...]`, START relative to now (`-3d`, `-12h`, `now`) or
ISO 8601 with a zone, DURATION like `30s`, `30m`, `6h`, `2d`. Two families:

- the house (simhouse.house): `fault`, `meter-outage`, `heatpump-outage`, `cop-drop`,
  `meter-reboot`, `rod-stuck`: what really happens;
- the devices (simhouse.vitocal, simhouse.shelly): how the heat pump's counters and the
  meter's counter get it wrong, as real devices do in the field: `late-reset`,
  `early-reset`, `other-zone`, `stale-arrays`, `zero-counters`, `counter-dip`,
  `stuck-counters`, `decimal-hours`, `no-heat-counters`, `meter-dip`, `meter-spike`,
  `meter-zero-counters`, `meter-no-counters`; and what the heat pump reports at all:
  `no-flow-sensor`, `modulation-sensor`, `rated-output`, `no-power-summary` (so each heat
  method can be run), `rod-runtime` (the heating rod as running time per level only).

`build_setup(specs, now)` turns a list of specs into a `Setup`: the house's scenarios and
the quirks of each device. Every mistake is a ValueError with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from simhouse.house import (
    DEFAULT_ROD,
    CopDrop,
    CurveChange,
    Fault,
    MeterReboot,
    Outage,
    RodStuck,
    Scenario,
    check_scenario,
)
from simhouse.shelly import MODELS, ShellyQuirks
from simhouse.vitocal import VitocalQuirks

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Kind:
    default_start: str | None  # relative to "now"; None: the whole run (no @START)
    default_duration: str | None  # None: open-ended, or a moment when `moment`
    options: tuple[str, ...]
    help: str
    moment: bool = False  # happens at START only: no /DURATION


KINDS: dict[str, Kind] = {
    # the house
    "fault": Kind("-1d", "6h", ("code", "priority", "stops"),
                  "an active error message; the compressor is locked out"),
    "meter-outage": Kind("-6h", "2h", (), "the meter does not answer"),
    "heatpump-outage": Kind("-6h", "2h", (), "the Viessmann cloud cannot reach the heat pump"),
    "cop-drop": Kind("-7d", None, ("factor",), "efficiency x factor (refrigerant loss)"),
    "curve-change": Kind("-14d", None, ("slope",), "the owner sets the heating curve's slope "
                         "from 0.6 to SLOPE (default 0.5): lower flow temperatures",
                         moment=True),
    "meter-reboot": Kind("-1d", "30s", ("counter",),
                         "the meter restarts; offline for DURATION"),
    "rod-stuck": Kind("-3d", None, ("level",), "the heating rod stays on at LEVEL (default "
                      "1: 3 kW; 2: 6 kW) from START, heating the heating water"),
    # the heat pump's counters
    "late-reset": Kind(None, None, ("lag",), "the device resets its counters LAG after "
                       "local midnight (default 2h)"),
    "early-reset": Kind(None, None, ("lag",), "the device resets its counters LAG before "
                        "local midnight (default 5m)"),
    "other-zone": Kind(None, None, ("tz",), "the device's clock runs in another zone "
                       "(default UTC)"),
    "stale-arrays": Kind("-10d", None, (), "the day/week/month arrays stop being updated",
                         moment=True),
    "zero-counters": Kind("-1d", "10m", (), "answers report every counter as 0"),
    "counter-dip": Kind("-1d", "30m", ("kwh",), "the current counters read KWH lower "
                        "(default 1), then recover"),
    "stuck-counters": Kind("-1d", "6h", (), "the counters keep their value, then catch up"),
    "decimal-hours": Kind(None, None, (), "compressor hours in tenths (Vitotronic) instead "
                          "of whole hours (E3)"),
    "no-heat-counters": Kind(None, None, (), "no heat production summary (heat by flow x "
                             "spread)"),
    "no-flow-sensor": Kind(None, None, (), "no flow sensor (without heat counters, heat can "
                           "only be estimated)"),
    "modulation-sensor": Kind(None, None, (), "reports the compressor's modulation (%), "
                              "like the Vitocal 200-S"),
    "rated-output": Kind(None, None, ("kw",), "reports its rated heat output "
                         "(heating.compressors.0.power, default 7 kW)"),
    "no-power-summary": Kind(None, None, (), "no electricity summary: the day/week/month/"
                             "year arrays are the device's electricity counters"),
    "rod-runtime": Kind(None, None, (), "the heating rod reported as running time per level "
                        "only, like the Vitocal 333-G (its energy needs "
                        "HEATPUMP_HEATING_ROD_KW=3,6)"),
    # the meter's counter
    "meter-dip": Kind("-1d", "30s", ("wh",), "the meter's counter reads WH lower (default "
                      "100), then recovers"),
    "meter-spike": Kind("-1d", None, ("wh",), "one reading of the counter is WH higher "
                        "(default 50)", moment=True),
    "meter-zero-counters": Kind("-1d", "1h", (), "the meter's counters read 0 while power "
                                "flows (Pro 3EM)"),
    "meter-no-counters": Kind(None, None, (), "the meter has no energy counters (Pro 3EM "
                              "before firmware 1.0)"),
    # the meters
    "two-meters": Kind(None, None, (), "two meters with roles instead of one: the outdoor "
                       "unit (compressor, fan, crankcase heater) and the indoor unit "
                       "(controller, circulation pump), as SHELLY_METERS declares them"),
}


@dataclass(frozen=True)
class Setup:
    """The demo's house scenarios and device quirks."""

    scenarios: tuple[Scenario, ...] = ()
    vitocal: VitocalQuirks = field(default_factory=VitocalQuirks)
    shelly: ShellyQuirks = field(default_factory=ShellyQuirks)
    # several meters with roles (simhouse.meters.ROLE_SHARES) instead of the one meter
    meter_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    kind: str
    start: datetime | None
    end: datetime | None
    options: dict[str, str]


def parse(text: str, now: datetime) -> Spec:
    """One scenario spec, times relative to `now` unless absolute."""
    if now.tzinfo is None:
        raise ValueError("now must carry a zone")
    head, _, opts = text.strip().partition(",")
    kind_name, _, when = head.partition("@")
    kind = KINDS.get(kind_name)
    if kind is None:
        raise ValueError(f"unknown scenario {kind_name!r}; choose from " + ", ".join(KINDS))
    start_text, _, duration_text = when.partition("/")
    if kind.default_start is None and when:
        raise ValueError(f"{kind_name} applies to the whole run; it takes no @START or "
                         "/DURATION")
    if kind.moment and duration_text:
        raise ValueError(f"{kind_name} happens at one moment; it takes no /DURATION")
    start_text = start_text or (kind.default_start or "")
    start = _parse_when(start_text, now) if start_text else None
    duration = duration_text or kind.default_duration
    if duration and start is None:
        raise ValueError(f"{kind_name} applies to the whole run; it takes no time span")
    end = start + timedelta(seconds=_parse_duration(duration)) if duration and start else None
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in opts.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key not in kind.options:
            raise ValueError(f"{kind_name}: unknown option {part!r}; options: "
                             + (", ".join(kind.options) or "none"))
        if not value.strip():
            raise ValueError(f"{kind_name}: option {key} needs a value")
        options[key] = value
    return Spec(kind_name, start, end, options)


def build_setup(texts: Sequence[str], now: datetime, meter_model: str = "pro3em") -> Setup:
    """The Setup of every `--scenario` given; ValueError names the first bad one."""
    if meter_model not in MODELS:
        raise ValueError(f"unknown meter model {meter_model!r}; one of {', '.join(MODELS)}")
    setup = Setup()
    for text in texts:
        spec = parse(text, now)
        setup = _APPLY[spec.kind](setup, spec, meter_model)
    for s in setup.scenarios:
        check_scenario(s)
    return setup


# --- each kind -----------------------------------------------------------------------------


def _house(setup: Setup, scenario: Scenario) -> Setup:
    return replace(setup, scenarios=(*setup.scenarios, scenario))


def _fault(setup: Setup, s: Spec, _: str) -> Setup:
    stops = s.options.get("stops", "yes").lower()
    if stops not in ("yes", "no"):
        raise ValueError("fault: stops must be yes or no")
    assert s.start is not None
    return _house(setup, Fault(s.start, s.end, code=s.options.get("code", "F.1100"),
                               priority=s.options.get("priority", "criticalError"),
                               stops_compressor=stops == "yes"))


def _outage(source: str) -> Callable[[Setup, Spec, str], Setup]:
    def apply(setup: Setup, s: Spec, _: str) -> Setup:
        if s.start is None or s.end is None:
            raise ValueError(f"{s.kind}: needs a duration")
        return _house(setup, Outage(source, s.start, s.end))  # type: ignore[arg-type]
    return apply


def _cop_drop(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None
    return _house(setup, CopDrop(s.start, _number(s, "factor", 0.75), s.end))


def _curve_change(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None
    return _house(setup, CurveChange(s.start, _number(s, "slope", 0.5)))


def _rod_stuck(setup: Setup, s: Spec, _: str) -> Setup:
    level = _number(s, "level", 1.0)
    if level != int(level) or not 1 <= level <= len(DEFAULT_ROD.level_kw):
        raise ValueError(f"rod-stuck: level must be 1 to {len(DEFAULT_ROD.level_kw)}")
    assert s.start is not None
    return _house(setup, RodStuck(s.start, int(level), s.end))


def _reboot(setup: Setup, s: Spec, meter_model: str) -> Setup:
    # like the real devices: Gen1 plugs count from 0 after a reboot, the others keep it
    default = "reset" if MODELS[meter_model].counter_resets_on_reboot else "keep"
    counter = s.options.get("counter", default)
    if counter not in ("reset", "keep"):
        raise ValueError("meter-reboot: counter must be reset or keep")
    assert s.start is not None
    offline = (s.end - s.start).total_seconds() if s.end else 0.0
    return _house(setup, MeterReboot(s.start, offline, resets_counter=counter == "reset"))


def _lag(sign: int, default: str) -> Callable[[Setup, Spec, str], Setup]:
    def apply(setup: Setup, s: Spec, _: str) -> Setup:
        lag = timedelta(seconds=_parse_duration(s.options.get("lag", default)))
        return replace(setup, vitocal=replace(setup.vitocal, reset_lag=sign * lag))
    return apply


def _other_zone(setup: Setup, s: Spec, _: str) -> Setup:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    tz = s.options.get("tz", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"other-zone: unknown time zone {tz!r}") from None
    return replace(setup, vitocal=replace(setup.vitocal, counter_tz=tz))


def _span(field_name: str) -> Callable[[Setup, Spec, str], Setup]:
    def apply(setup: Setup, s: Spec, _: str) -> Setup:
        assert s.start is not None and s.end is not None
        q = setup.vitocal
        return replace(setup, vitocal=replace(q, **{field_name: (*getattr(q, field_name),
                                                                 (s.start, s.end))}))
    return apply


def _stale(setup: Setup, s: Spec, _: str) -> Setup:
    return replace(setup, vitocal=replace(setup.vitocal, stale_arrays_from=s.start))


def _dip(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None and s.end is not None
    q = setup.vitocal
    return replace(setup, vitocal=replace(q, counter_dips=(
        *q.counter_dips, (s.start, s.end, _number(s, "kwh", 1.0)))))


def _flag(**values: object) -> Callable[[Setup, Spec, str], Setup]:
    def apply(setup: Setup, s: Spec, _: str) -> Setup:
        return replace(setup, vitocal=replace(setup.vitocal, **values))  # type: ignore[arg-type]
    return apply


def _rated(setup: Setup, s: Spec, _: str) -> Setup:
    return replace(setup, vitocal=replace(setup.vitocal,
                                          rated_output_kw=_number(s, "kw", 7.0)))


def _meter_dip(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None and s.end is not None
    q = setup.shelly
    return replace(setup, shelly=replace(q, dips=(*q.dips,
                                                  (s.start, s.end, _number(s, "wh", 100.0)))))


def _meter_spike(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None
    q = setup.shelly
    return replace(setup, shelly=replace(q, spikes=(*q.spikes,
                                                    (s.start, _number(s, "wh", 50.0)))))


def _meter_zero(setup: Setup, s: Spec, _: str) -> Setup:
    assert s.start is not None and s.end is not None
    q = setup.shelly
    return replace(setup, shelly=replace(q, zero_counters=(*q.zero_counters,
                                                           (s.start, s.end))))


def _meter_no_counters(setup: Setup, s: Spec, _: str) -> Setup:
    return replace(setup, shelly=replace(setup.shelly, no_counters=True))


_APPLY: dict[str, Callable[[Setup, Spec, str], Setup]] = {
    "fault": _fault, "meter-outage": _outage("meter"), "curve-change": _curve_change,
    "heatpump-outage": _outage("heatpump"), "cop-drop": _cop_drop, "meter-reboot": _reboot,
    "late-reset": _lag(1, "2h"), "early-reset": _lag(-1, "5m"), "other-zone": _other_zone,
    "stale-arrays": _stale, "zero-counters": _span("zero_answers"), "counter-dip": _dip,
    "stuck-counters": _span("stuck"), "decimal-hours": _flag(hours_resolution_h=0.1),
    "no-heat-counters": _flag(heat_counters=False),
    "no-flow-sensor": _flag(flow_sensor=False), "modulation-sensor": _flag(modulation_sensor=True),
    "rated-output": _rated, "no-power-summary": _flag(power_summary=False),
    "rod-stuck": _rod_stuck, "rod-runtime": _flag(heating_rod="runtime"),
    "meter-dip": _meter_dip,
    "meter-spike": _meter_spike, "meter-zero-counters": _meter_zero,
    "meter-no-counters": _meter_no_counters,
    "two-meters": lambda setup, s, _: replace(setup,
                                              meter_roles=("outdoor_unit", "indoor_unit")),
}


# --- times -------------------------------------------------------------------------------


def _number(s: Spec, key: str, default: float) -> float:
    """A positive, finite number option (factors, energies)."""
    try:
        value = float(s.options.get(key, default))
    except ValueError:
        raise ValueError(f"{s.kind}: {key} must be a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{s.kind}: {key} must be a number above 0")
    return value


def _parse_duration(text: str) -> float:
    text = text.strip()
    if len(text) >= 2 and text[-1] in _UNITS_S:
        try:
            value = float(text[:-1])
        except ValueError:
            value = -1.0
        if value > 0:
            return value * _UNITS_S[text[-1]]
    raise ValueError(f"bad duration {text!r}: use e.g. 30s, 30m, 6h or 2d")


def _parse_when(text: str, now: datetime) -> datetime:
    text = text.strip()
    if text == "now":
        return now
    if text.startswith(("-", "+")):
        sign = -1 if text[0] == "-" else 1
        return now + sign * timedelta(seconds=_parse_duration(text[1:]))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad start {text!r}: use ISO 8601 with a zone or e.g. -3d") from None
    if when.tzinfo is None:
        raise ValueError(f"start {text!r} must carry a zone (e.g. +01:00 or Z)")
    return when
