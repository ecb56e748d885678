"""The system boundary of a performance figure: which electric loads its electricity
includes, named by the SEPEMO levels H1–H4.

Source: the SEPEMO-Build project (IEE, 2009–2012; Zottl, Nordman et al., "Concept for
evaluation of the SPF", deliverable D4.2), the boundaries heatpumpmonitor.org states for
every system it lists:

- H1: the heat pump's refrigerant cycle (the compressor) only;
- H2: H1 + what makes the source available (the outdoor unit's fan, a brine or well pump);
- H3: H2 + the backup heater (heating rod);
- H4: H3 + the pumps on the heating side (circulation pumps, buffer and hot-water pumps).

The heat is always the heat the heat pump delivers, plus the rod's heat where the rod is
inside the boundary (a resistance heater turns its electricity into heat in the water:
heat = electricity). The heat pump's own heat counters are taken to exclude the rod (the
Viessmann API reports the rod's electricity separately, heating.heatingRod.power.*).

What each figure includes is derived, never assumed from a wish: from the loads each meter
sees (its role, `ROLE_LOADS`; one meter at SHELLY_URL has the role "heatpump", several are
declared in SHELLY_METERS) and whether the device reports the rod's electricity
(`source=heating_rod`). No two meters may see the same load (`overlapping_roles`), so
summing meters never counts a load twice; a load counted by a meter is never added again
from the device's figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from heatpump.i18n import _

# The loads of a heating system, in SEPEMO order. The heat pump unit (H1) is its refrigerant
# cycle with the controls that run it; on a split unit the controls sit in the indoor unit,
# on another supply than the compressor, so they are a load of their own.
COMPRESSOR = "compressor"  # the refrigerant cycle (compressor, its crankcase heater)
CONTROLS = "controls"  # the heat pump's controller and electronics (its standby)
SOURCE = "source"  # the outdoor unit's fan, a brine or well pump
HEATING_ROD = "heating_rod"  # the backup heater
CIRCULATION_PUMPS = "circulation_pumps"  # pumps on the heating/hot-water side
LOADS = (COMPRESSOR, CONTROLS, SOURCE, HEATING_ROD, CIRCULATION_PUMPS)
LOAD_LABELS = {COMPRESSOR: "compressor", CONTROLS: "controls", SOURCE: "fan/source pump",
               HEATING_ROD: "heating rod", CIRCULATION_PUMPS: "circulation pumps"}
# The loads that make up the heat pump: a meter that sees any of them is one of the heat
# pump's meters (its figure); the others (rod, pumps) only join the whole system's figure.
HEAT_PUMP_LOADS = frozenset({COMPRESSOR, CONTROLS, SOURCE})


def load_label(load: str) -> str:
    """What a person calls a load, in the current language (heatpump.i18n); LOAD_LABELS
    holds the English names that settings errors use."""
    return {COMPRESSOR: _("compressor"), CONTROLS: _("controls"),
            SOURCE: _("fan/source pump"), HEATING_ROD: _("heating rod"),
            CIRCULATION_PUMPS: _("circulation pumps")}[load]

# Which loads a meter of each role sees (the role names are the values of SHELLY_METERS and
# of the `role` tag of the meter's data). "heatpump" is the one meter at SHELLY_URL: the
# heat pump's supply (outdoor unit and, if separate, its controller), which on Viessmann
# units is separate from the rod's own supply.
ROLE_LOADS: dict[str, frozenset[str]] = {
    "heatpump": frozenset({COMPRESSOR, CONTROLS, SOURCE}),
    "heatpump_with_rod": frozenset({COMPRESSOR, CONTROLS, SOURCE, HEATING_ROD}),
    "outdoor_unit": frozenset({COMPRESSOR, SOURCE}),
    "indoor_unit": frozenset({CONTROLS, CIRCULATION_PUMPS}),
    "heating_rod": frozenset({HEATING_ROD}),
    "circulation_pumps": frozenset({CIRCULATION_PUMPS}),
    "system": frozenset(LOADS),
}
ROLE_TEXT = {
    "heatpump": "the heat pump's supply (outdoor unit and controller, without the rod)",
    "heatpump_with_rod": "the heat pump's supply with its built-in heating rod",
    "outdoor_unit": "the outdoor unit (compressor, fan)",
    "indoor_unit": "the indoor unit (controller and its circulation pump)",
    "heating_rod": "the heating rod's own supply",
    "circulation_pumps": "circulation pumps outside the heat pump",
    "system": "the whole heating system (heat pump, rod, pumps)",
}
DEFAULT_ROLE = "heatpump"

LEVELS = (("H1", frozenset({COMPRESSOR, CONTROLS})),
          ("H2", frozenset({COMPRESSOR, CONTROLS, SOURCE})),
          ("H3", frozenset({COMPRESSOR, CONTROLS, SOURCE, HEATING_ROD})),
          ("H4", frozenset(LOADS)))


def level_text(level: str) -> str:
    """What a SEPEMO level includes, in the current language (heatpump.i18n)."""
    return {"H1": _("the compressor only"),
            "H2": _("the heat pump with its fan/source pump"),
            "H3": _("heat pump and heating rod"),
            "H4": _("heat pump, heating rod and circulation pumps")}[level]


@dataclass(frozen=True, slots=True)
class Boundary:
    """The SEPEMO level a set of loads reaches (None below H1), the loads beyond it
    (e.g. circulation pumps metered while the rod is not known: "H2 + circulation
    pumps"), and the loads it includes."""

    level: str | None
    extra: tuple[str, ...]
    loads: frozenset[str]

    @property
    def label(self) -> str:
        """"H2", "H2 + circulation pumps", or "no SEPEMO level" (no compressor)."""
        if self.level is None:
            return _("no SEPEMO level")
        return " + ".join((self.level, *(load_label(x) for x in self.extra)))

    def describe(self) -> str:
        """"H3 (SEPEMO: heat pump and heating rod)"."""
        if self.level is None:
            return _("no SEPEMO level") + " (" + ", ".join(
                load_label(x) for x in LOADS if x in self.loads) + ")"
        text = f"{self.level} (SEPEMO: {level_text(self.level)}"
        if self.extra:
            text += " + " + ", ".join(load_label(x) for x in self.extra)
        return text + ")"


def boundary_of(loads: Iterable[str]) -> Boundary:
    """The highest SEPEMO level whose loads are all in `loads`, and the rest."""
    have = frozenset(loads)
    level = None
    covered: frozenset[str] = frozenset()
    for name, needs in LEVELS:
        if needs <= have:
            level, covered = name, needs
    return Boundary(level, tuple(x for x in LOADS if x in have - covered), have)


@dataclass(frozen=True, slots=True)
class Boundaries:
    """The two figures /jaz gives: the heat pump's (its electricity without the rod) and,
    where the rod's electricity is known, the whole system's (with it)."""

    heat_pump: Boundary
    system: Boundary | None
    rod_in_meter: bool  # the meter counts the rod (its figure is taken out of the heat pump's)


def boundaries(meter_loads: Iterable[str], rod_reported: bool) -> Boundaries:
    """The boundary of each figure, from the loads the meter sees and whether the device
    reports the rod's electricity. A meter that sees the rod while the device does not
    report it gives one figure, whose electricity includes the rod (its heat is not known:
    the text says so) and no system figure."""
    metered = frozenset(meter_loads)
    rod_in_meter = HEATING_ROD in metered
    if rod_in_meter and not rod_reported:
        return Boundaries(boundary_of(metered), None, True)
    heat_pump = boundary_of(metered - {HEATING_ROD})
    system = boundary_of(metered | {HEATING_ROD}) if rod_reported else None
    return Boundaries(heat_pump, system, rod_in_meter)


def role_loads(role: str) -> frozenset[str]:
    """The loads a meter of `role` sees; an empty or unknown role tag (data written before
    roles existed) is the one meter's role, "heatpump"."""
    return ROLE_LOADS.get(role or DEFAULT_ROLE, ROLE_LOADS[DEFAULT_ROLE])


def is_heat_pump_role(role: str) -> bool:
    """Whether a meter of `role` is one of the heat pump's meters (sees part of the heat
    pump unit), not only the rod or pumps."""
    return bool(role_loads(role) & HEAT_PUMP_LOADS)


def overlapping_roles(roles: Iterable[str]) -> list[tuple[str, str, str]]:
    """(first role, second role, load) for each load two of `roles` both see: such meters
    would count that load twice (their sum is then no figure of anything)."""
    seen: dict[str, str] = {}
    out = []
    for role in roles:
        for load in LOADS:
            if load in ROLE_LOADS[role]:
                if load in seen:
                    out.append((seen[load], role, load))
                else:
                    seen[load] = role
    return out


@dataclass(frozen=True, slots=True)
class MeterFigures:
    """The figures several meters with roles make (see `meter_figures`).

    `heat_pump`: the boundary of the heat pump's meters together (the first figure);
    `system`: the whole system's boundary (None when there is nothing beyond the heat pump's
    figure, or the rod's heat is not known); `rod_in_meter`: a heat pump meter counts the
    rod (the device's rod figure gives only its heat); `rod_metered`: a meter of its own
    counts the rod, whose electricity is then the rod's figure (the device's rod counters
    are not used: never both)."""

    heat_pump: Boundary
    system: Boundary | None
    rod_in_meter: bool
    rod_metered: bool


def meter_figures(roles: Iterable[str], rod_reported: bool) -> MeterFigures:
    """The boundary of each figure from the meters' roles and whether the device reports
    the rod's electricity. The heat pump's figure sums the meters of heat pump roles; the
    system figure adds the others (a rod meter, a pumps meter) and, when no meter sees the
    rod, the rod as the device reports it."""
    roles = set(roles) or {DEFAULT_ROLE}
    hp = frozenset().union(*(role_loads(r) for r in roles if is_heat_pump_role(r)))
    extra = frozenset().union(*(role_loads(r) for r in roles if not is_heat_pump_role(r)))
    rod_in_meter = HEATING_ROD in hp
    rod_metered = HEATING_ROD in extra
    if rod_in_meter and not rod_reported:  # the rod's electricity is in, its heat unknown
        return MeterFigures(boundary_of(hp), None, True, False)
    rod = frozenset({HEATING_ROD}) if rod_reported or rod_metered else frozenset()
    system = boundary_of(hp | extra | rod) if (extra or rod) else None
    return MeterFigures(boundary_of(hp), system, rod_in_meter, rod_metered)
