"""The SEPEMO boundary of each figure (heatpump/boundary.py), derived from the loads the
meters see (their roles) and whether the heat pump reports its heating rod."""

from __future__ import annotations

import pytest

from heatpump.boundary import (
    CIRCULATION_PUMPS,
    COMPRESSOR,
    CONTROLS,
    HEATING_ROD,
    ROLE_LOADS,
    SOURCE,
    boundaries,
    boundary_of,
    is_heat_pump_role,
    meter_figures,
    overlapping_roles,
    role_loads,
)

UNIT = {COMPRESSOR, CONTROLS}


@pytest.mark.parametrize(("loads", "label"), [
    (UNIT, "H1"),
    ({*UNIT, SOURCE}, "H2"),
    ({*UNIT, SOURCE, HEATING_ROD}, "H3"),
    ({*UNIT, SOURCE, HEATING_ROD, CIRCULATION_PUMPS}, "H4"),
    ({*UNIT, SOURCE, CIRCULATION_PUMPS}, "H2 + circulation pumps"),
    ({*UNIT, HEATING_ROD}, "H1 + heating rod"),
    ({COMPRESSOR, SOURCE}, "no SEPEMO level"),  # the outdoor unit alone lacks the controls
    ({HEATING_ROD}, "no SEPEMO level"),
])
def test_the_highest_complete_level_and_what_is_beyond_it(loads: set, label: str) -> None:
    assert boundary_of(loads).label == label


def test_one_meter_at_the_heat_pump_is_h2_and_the_reported_rod_makes_h3() -> None:
    b = boundaries(ROLE_LOADS["heatpump"], rod_reported=True)
    assert b.heat_pump.describe() == "H2 (SEPEMO: the heat pump with its fan/source pump)"
    assert b.system is not None
    assert b.system.describe() == "H3 (SEPEMO: heat pump and heating rod)"
    assert not b.rod_in_meter
    assert boundaries(ROLE_LOADS["heatpump"], rod_reported=False).system is None


def test_a_meter_that_sees_the_rod_never_counts_it_twice() -> None:
    metered = {*UNIT, SOURCE, HEATING_ROD, CIRCULATION_PUMPS}
    b = boundaries(metered, rod_reported=True)
    assert (b.heat_pump.label, b.system and b.system.label, b.rod_in_meter) == \
        ("H2 + circulation pumps", "H4", True)
    unknown = boundaries(metered, rod_reported=False)
    assert (unknown.heat_pump.label, unknown.system) == ("H4", None)


def test_data_without_a_role_tag_is_the_one_meters() -> None:
    assert role_loads("") == role_loads("heatpump") == role_loads("a-role-of-later")
    assert is_heat_pump_role("indoor_unit") and is_heat_pump_role("outdoor_unit")
    assert not is_heat_pump_role("heating_rod") and not is_heat_pump_role("circulation_pumps")


def test_roles_that_see_the_same_load_are_named_with_it() -> None:
    assert overlapping_roles(["outdoor_unit", "indoor_unit", "heating_rod"]) == []
    assert overlapping_roles(["heatpump", "outdoor_unit"]) == [
        ("heatpump", "outdoor_unit", COMPRESSOR), ("heatpump", "outdoor_unit", SOURCE)]
    assert overlapping_roles(["indoor_unit", "circulation_pumps"]) == [
        ("indoor_unit", "circulation_pumps", CIRCULATION_PUMPS)]


@pytest.mark.parametrize(("roles", "rod_reported", "heat_pump", "system", "rod_metered"), [
    # the one meter
    (["heatpump"], False, "H2", None, False),
    (["heatpump"], True, "H2", "H3", False),
    # outdoor and indoor unit: the heat pump with its internal pump
    (["outdoor_unit", "indoor_unit"], False, "H2 + circulation pumps",
     None, False),
    (["outdoor_unit", "indoor_unit"], True, "H2 + circulation pumps", "H4", False),
    # a rod meter: the system figure has it whether the device reports it or not
    (["heatpump", "heating_rod"], False, "H2", "H3", True),
    (["heatpump", "heating_rod"], True, "H2", "H3", True),
    (["heatpump", "heating_rod", "circulation_pumps"], False, "H2", "H4", True),
    # pumps metered, rod not known: beyond H2, not H4
    (["heatpump", "circulation_pumps"], False, "H2", "H2 + circulation pumps", False),
    # one meter for everything: one figure, H4 with the rod's heat from the device
    (["system"], True, "H4", "H4", False),
    (["system"], False, "H4", None, False),
])
def test_the_figures_of_several_meters(roles: list[str], rod_reported: bool, heat_pump: str,
                                       system: str | None, rod_metered: bool) -> None:
    f = meter_figures(roles, rod_reported)
    assert (f.heat_pump.label, f.system and f.system.label, f.rod_metered) == \
        (heat_pump, system, rod_metered)
