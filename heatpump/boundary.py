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

What each figure includes is derived, never assumed from a wish: from the loads the meter
sees (its role, `ROLE_LOADS`; one meter at SHELLY_URL has the role "heatpump") and whether
the device reports the rod's electricity (`source=heating_rod`). A load counted by the
meter is never added again from the device's figure, and taken out of the heat pump's own
figure where the device reports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from heatpump.i18n import _

# The loads of a heating system, in SEPEMO order.
COMPRESSOR = "compressor"  # the refrigerant cycle and the unit's controls
SOURCE = "source"  # the outdoor unit's fan, a brine or well pump
HEATING_ROD = "heating_rod"  # the backup heater
CIRCULATION_PUMPS = "circulation_pumps"  # pumps on the heating/hot-water side
LOADS = (COMPRESSOR, SOURCE, HEATING_ROD, CIRCULATION_PUMPS)


def load_label(load: str) -> str:
    """What a person calls a load, in the current language (heatpump.i18n)."""
    return {COMPRESSOR: _("compressor"), SOURCE: _("fan/source pump"),
            HEATING_ROD: _("heating rod"), CIRCULATION_PUMPS: _("circulation pumps")}[load]


# Which loads a meter of each role sees. "heatpump" is the one meter at SHELLY_URL: the
# heat pump's supply (outdoor unit and, if separate, its controller), which on Viessmann
# units is separate from the rod's own supply.
ROLE_LOADS: dict[str, frozenset[str]] = {
    "heatpump": frozenset({COMPRESSOR, SOURCE}),
}
DEFAULT_ROLE = "heatpump"

LEVELS = (("H1", frozenset({COMPRESSOR})),
          ("H2", frozenset({COMPRESSOR, SOURCE})),
          ("H3", frozenset({COMPRESSOR, SOURCE, HEATING_ROD})),
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
