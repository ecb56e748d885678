"""/jaz states the boundary of its figure and, where the heat pump reports its heating rod,
the whole system's figure with the rod's share of electricity and heat (exact values over
hand-made hourly sums)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.analytics import pair_hours, performance
from bot.replies import boundary_lines
from heatpump.store.base import BucketSum

T0 = datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)


def row(start: datetime, tags: dict, **values: float) -> BucketSum:
    return BucketSum(start, start + H, tags, values)


def meter(t: datetime, wh: float) -> BucketSum:
    return row(t, {"source": "meter", "device": "m", "circuit": "total"},
               energy_wh=wh, duration_s=3600.0)


def rod(t: datetime, circuit: str, wh: float | None, dur: float = 3600.0,
        **more: float) -> BucketSum:
    values = {"duration_s": dur, **more}
    if wh is not None:
        values["energy_wh"] = wh
    return BucketSum(t, t + H, {"source": "heating_rod", "device": "hp", "circuit": circuit},
                     values)


def heat(t: datetime, wh: float) -> BucketSum:
    return row(t, {"device": "hp", "method": "counter", "circuit": "total"},
               energy_wh=wh, duration_s=3600.0)


def lines(elec: list[BucketSum], hours: int = 4, **kw) -> list[str]:
    hs = [T0 + i * H for i in range(hours)]
    pairs = pair_hours([*(meter(t, 1000.0) for t in hs), *elec], [heat(t, 4000.0) for t in hs])
    return boundary_lines(performance(pairs, T0, T0 + hours * H), "JAZ", **kw)


def test_the_rods_counters_make_a_whole_system_figure_with_its_shares() -> None:
    # 4 h: meter 4 kWh, heat 16 kWh; the rod 1 kWh for hot water in hour 2, 0 otherwise
    elec = [r for i in range(4) for r in (
        rod(T0 + i * H, "dhw", 1000.0 if i == 2 else 0.0),
        rod(T0 + i * H, "heating", 0.0),
        rod(T0 + i * H, "total", 1000.0 if i == 2 else 0.0))]
    assert lines(elec) == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "whole system JAZ 3.40 = 17.0 kWh heat / 5.0 kWh electricity; boundary H3 (SEPEMO: "
        "heat pump and heating rod)",
        "heating rod: 1.0 kWh electricity = 20% of the system's electricity and 6% of its "
        "heat (heating 0.0 kWh, hot water 1.0 kWh)"]


def test_hours_the_rods_figure_does_not_cover_are_left_out_of_the_system_figure() -> None:
    elec = [rod(T0 + i * H, "total", 500.0, dur=3600.0 if i else 1200.0) for i in range(4)]
    out = lines(elec)
    # hour 0 is covered for 20 min only: 3 h of heat 12 kWh + rod 1.5 over 3 + 1.5 kWh
    assert out[1] == ("whole system JAZ 3.00 = 13.5 kWh heat / 4.5 kWh electricity over 3 h; "
                      "boundary H3 (SEPEMO: heat pump and heating rod)")


def test_an_estimated_rod_says_so() -> None:
    elec = [rod(T0 + i * H, "total", 600.0, estimated_wh=600.0, running_s=720.0)
            for i in range(4)]
    assert lines(elec)[2] == ("heating rod: 2.4 kWh electricity (ESTIMATED from its running "
                              "time × HEATPUMP_HEATING_ROD_KW) = 38% of the system's "
                              "electricity and 13% of its heat")


def test_a_rod_that_ran_without_a_known_power_gives_no_system_figure() -> None:
    elec = [rod(T0 + i * H, "total", None, running_s=600.0) for i in range(4)]
    assert lines(elec) == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "heating rod: ran 40 min, its electricity is not known (set HEATPUMP_HEATING_ROD_KW, "
        "its power per level, to estimate it)"]


def test_without_a_rod_only_the_boundary_is_stated() -> None:
    assert lines([]) == ["boundary H2 (SEPEMO: the heat pump with its fan/source pump): the "
                         "electricity the meter counts"]


def test_a_meter_that_also_sees_the_rod_does_not_count_it_twice() -> None:
    """A meter of role heatpump_with_rod (one supply for the unit and its rod): its 4 kWh
    already hold the rod's 1 kWh the device reports: the system's electricity stays 4 kWh,
    its heat gains the rod's."""
    hs = [T0 + i * H for i in range(4)]
    elec = [rod(t, "total", 1000.0 if i == 2 else 0.0) for i, t in enumerate(hs)]
    meters = [row(t, {"source": "meter", "device": "m", "circuit": "total",
                      "role": "heatpump_with_rod"}, energy_wh=1000.0, duration_s=3600.0)
              for t in hs]
    pairs = pair_hours([*meters, *elec], [heat(t, 4000.0) for t in hs])
    out = boundary_lines(performance(pairs, T0, T0 + 4 * H), "JAZ")
    assert out[0] == ("boundary H3 (SEPEMO: heat pump and heating rod): the electricity the "
                      "meter counts (heatpump with rod) (with the heating rod; its heat is not "
                      "in this figure)")
    assert out[1].startswith("whole system JAZ 4.25 = 17.0 kWh heat / 4.0 kWh electricity")
