"""The SEPEMO boundary of each figure (heatpump/boundary.py), derived from the loads the
meter sees and whether the heat pump reports its heating rod."""

from __future__ import annotations

import pytest

from heatpump.boundary import (
    CIRCULATION_PUMPS,
    COMPRESSOR,
    HEATING_ROD,
    ROLE_LOADS,
    SOURCE,
    boundaries,
    boundary_of,
)


@pytest.mark.parametrize(("loads", "label"), [
    ({COMPRESSOR}, "H1"),
    ({COMPRESSOR, SOURCE}, "H2"),
    ({COMPRESSOR, SOURCE, HEATING_ROD}, "H3"),
    ({COMPRESSOR, SOURCE, HEATING_ROD, CIRCULATION_PUMPS}, "H4"),
    ({COMPRESSOR, SOURCE, CIRCULATION_PUMPS}, "H2 + circulation pumps"),
    ({COMPRESSOR, HEATING_ROD}, "H1 + heating rod"),
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
    metered = {COMPRESSOR, SOURCE, HEATING_ROD, CIRCULATION_PUMPS}
    b = boundaries(metered, rod_reported=True)
    assert (b.heat_pump.label, b.system and b.system.label, b.rod_in_meter) == \
        ("H2 + circulation pumps", "H4", True)
    unknown = boundaries(metered, rod_reported=False)
    assert (unknown.heat_pump.label, unknown.system) == ("H4", None)
