"""Several meters with roles in /jaz (exact values over hand-made hourly sums): the heat
pump's figure sums the meters that make up the heat pump; a rod or pump meter joins only
the whole system's figure; the rod comes from its own meter or else from the device, never
both; an hour counts only where every meter of that boundary has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.analytics import pair_hours, performance
from bot.replies import boundary_lines, performance_lines
from heatpump.store.base import BucketSum

T0 = datetime(2026, 1, 10, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
HOURS = [T0 + i * H for i in range(4)]


def meter(t: datetime, device: str, role: str | None, wh: float,
          dur: float = 3600.0) -> BucketSum:
    tags = {"source": "meter", "device": device, "circuit": "total"}
    if role is not None:
        tags["role"] = role
    return BucketSum(t, t + H, tags, {"energy_wh": wh, "duration_s": dur})


def device_rod(t: datetime, wh: float) -> BucketSum:
    return BucketSum(t, t + H, {"source": "heating_rod", "device": "hp", "circuit": "total"},
                     {"energy_wh": wh, "duration_s": 3600.0})


def heat(t: datetime, wh: float = 4000.0) -> BucketSum:
    return BucketSum(t, t + H, {"device": "hp", "method": "counter", "circuit": "total"},
                     {"energy_wh": wh, "duration_s": 3600.0})


def jaz(elec: list[BucketSum]) -> list[str]:
    perf = performance(pair_hours(elec, [heat(t) for t in HOURS]), T0, T0 + 4 * H)
    return [*performance_lines(perf, "JAZ")[:2], *boundary_lines(perf, "JAZ")]


def test_outdoor_and_indoor_unit_make_the_heat_pumps_figure_together() -> None:
    elec = [m for t in HOURS for m in (meter(t, "out", "outdoor_unit", 900.0),
                                       meter(t, "in", "indoor_unit", 100.0))]
    assert jaz(elec) == [
        "JAZ 4.00 = 16.0 kWh heat / 4.0 kWh electricity (meter)",
        "covers 100% of the period (4 of 4 h with both meter and heat data)",
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump + circulation pumps): "
        "the electricity the meters count (indoor unit, outdoor unit)"]


def test_an_hour_one_of_the_heat_pumps_meters_misses_is_not_counted() -> None:
    elec = [meter(t, "out", "outdoor_unit", 900.0) for t in HOURS]
    elec += [meter(t, "in", "indoor_unit", 100.0) for t in HOURS[1:]]
    assert jaz(elec)[:2] == [
        "JAZ 4.00 = 12.0 kWh heat / 3.0 kWh electricity (meter)",
        "covers 75% of the period (3 of 4 h with both meter and heat data)"]


def test_a_rod_meter_is_the_rods_figure_and_the_devices_is_not_added() -> None:
    # the device also reports 0.9 kWh of rod electricity per hour: never counted with the
    # meter's 0.5 kWh in hour 1
    elec = [meter(t, "hp", None, 1000.0) for t in HOURS]
    elec += [meter(t, "rod", "heating_rod", 500.0 if i == 1 else 0.0)
             for i, t in enumerate(HOURS)]
    elec += [device_rod(t, 900.0) for t in HOURS]
    assert jaz(elec) == [
        "JAZ 4.00 = 16.0 kWh heat / 4.0 kWh electricity (meter)",
        "covers 100% of the period (4 of 4 h with both meter and heat data)",
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "whole system JAZ 3.67 = 16.5 kWh heat / 4.5 kWh electricity; boundary H3 (SEPEMO: "
        "heat pump and heating rod)",
        "heating rod (its own meter): 0.5 kWh electricity = 11% of the system's electricity "
        "and 3% of its heat"]


def test_the_system_figure_counts_only_hours_every_meter_of_it_has() -> None:
    elec = [meter(t, "hp", None, 1000.0) for t in HOURS]
    elec += [meter(t, "rod", "heating_rod", 500.0) for t in HOURS[:3]]
    elec += [meter(t, "pumps", "circulation_pumps", 50.0, dur=3600.0 if i else 1800.0)
             for i, t in enumerate(HOURS)]
    out = jaz(elec)
    # hour 0: the pumps' meter has half of it; hour 3: no rod data: 2 h remain
    assert out[2:] == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "whole system JAZ 2.90 = 9.0 kWh heat / 3.1 kWh electricity over 2 h; boundary H4 "
        "(SEPEMO: heat pump, heating rod and circulation pumps)",
        "heating rod (its own meter): 1.0 kWh electricity = 32% of the system's electricity "
        "and 11% of its heat"]


def test_pumps_metered_without_a_known_rod_are_beyond_h2_not_h4() -> None:
    elec = [m for t in HOURS for m in (meter(t, "hp", "heatpump", 1000.0),
                                       meter(t, "pumps", "circulation_pumps", 250.0))]
    assert jaz(elec)[2:] == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "whole system JAZ 3.20 = 16.0 kWh heat / 5.0 kWh electricity; boundary H2 (SEPEMO: "
        "the heat pump with its fan/source pump + circulation pumps)"]


def test_data_without_a_role_tag_reads_as_before() -> None:
    """An old store: the one meter's rows have no role tag; with the device's rod it is
    H2 and H3 as before roles existed."""
    elec = [meter(t, "m", None, 1000.0) for t in HOURS]
    elec += [device_rod(t, 1000.0 if i == 2 else 0.0) for i, t in enumerate(HOURS)]
    assert jaz(elec)[2:] == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the electricity the "
        "meter counts",
        "whole system JAZ 3.40 = 17.0 kWh heat / 5.0 kWh electricity; boundary H3 (SEPEMO: "
        "heat pump and heating rod)",
        "heating rod: 1.0 kWh electricity = 20% of the system's electricity and 6% of its heat"]


def test_an_old_store_without_role_tags_reads_the_same(tmp_path) -> None:
    """A real SQLite store written before roles existed (no `role` tag on the meter's
    electricity) beside a store whose rod has a meter of its own: the first reads as the
    one meter of role heatpump, as before."""
    from zoneinfo import ZoneInfo

    from bot.store_reads import period_data
    from heatpump.store.base import Point
    from heatpump.store.sqlite import SQLiteStore

    utc = ZoneInfo("UTC")

    def point(t: datetime, tags: dict[str, str], wh: float) -> Point:
        return Point("electricity", t, {"energy_wh": wh, "duration_s": 60.0}, tags)

    for name, rod_role in (("old", None), ("new", "heating_rod")):
        store = SQLiteStore(tmp_path / f"{name}.sqlite3", utc)
        minutes = [T0 + timedelta(minutes=m) for m in range(4 * 60)]
        points = [point(t, {"device": "m", "source": "meter", "circuit": "total"}, 1000 / 60)
                  for t in minutes]
        if rod_role:
            points += [point(t, {"device": "r", "source": "meter", "circuit": "total",
                                 "role": rod_role}, 500 / 60) for t in minutes]
        points += [Point("heat", t + timedelta(minutes=2), {
            "energy_wh": 4000 / 12, "duration_s": 300.0, "estimate": False},
            {"device": "hp", "method": "counter", "circuit": "total"})
            for t in minutes[::5]]
        store.write(points)
        store.flush()
        perf = performance(period_data(store, T0, T0 + 4 * H, utc, T0 + 4 * H).pairs,
                           T0, T0 + 4 * H)
        store.close()
        lines = [*performance_lines(perf, "JAZ")[:1], *boundary_lines(perf, "JAZ")]
        if rod_role is None:
            assert lines == [
                "JAZ 4.00 = 16.0 kWh heat / 4.0 kWh electricity (meter)",
                "boundary H2 (SEPEMO: the heat pump with its fan/source pump): the "
                "electricity the meter counts"]
        else:
            assert lines[0] == "JAZ 4.00 = 16.0 kWh heat / 4.0 kWh electricity (meter)"
            assert lines[2] == ("whole system JAZ 3.00 = 18.0 kWh heat / 6.0 kWh electricity; "
                                "boundary H3 (SEPEMO: heat pump and heating rod)")
