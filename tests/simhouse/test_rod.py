"""The simulated heating rod (simhouse.house.HeatingRod): when the controller switches it on,
where its heat goes, what the simulated Vitocal reports of it, and a rod stuck on."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from collector.vicare.mapping import map_sample
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill
from simhouse.house import DEFAULT_ROD, DHW, HEAT, HeatingRod, RodStuck, Simulator
from simhouse.scenarios import build_setup
from simhouse.vitocal import SimulatedVitocal, VitocalQuirks
from tests.simhouse.clock import BERLIN, Clock, local

SEED = 1
COLD = (local(2026, 1, 10), local(2026, 1, 15))  # seed 1: below -7 °C on Jan 12-14
MILD = (local(2025, 10, 13), local(2025, 11, 10))  # four weeks from a Monday


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SEED, local(2025, 10, 1), BERLIN)


@pytest.fixture(scope="module")
def cold_sim() -> Simulator:
    """The weather of a seed depends on the start: this one has cold days in COLD."""
    return Simulator(SEED, local(2025, 12, 15), BERLIN)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist(), strict=True))


def test_the_rod_helps_the_heating_only_below_the_bivalence_point(cold_sim):
    sim = cold_sim
    m = sim.minutes(*COLD)
    on = m["rod_heating_w"] > 0
    assert on.sum() > 60  # it works a little on the coldest days
    # only below the bivalence temperature, while the heat pump heats the house
    assert (m["outdoor_c"][on] < DEFAULT_ROD.bivalence_c).all()
    assert (m["mode"][on] == HEAT).all()
    # at one of its levels: 3 or 6 kW, its electricity is its heat
    assert set(m["rod_heating_w"][on].tolist()) <= {3000.0, 6000.0}
    assert set(np.unique(m["rod_level"][on]).tolist()) <= {1, 2}
    truth = sim.truth(*COLD)
    level = m["rod_level"]
    assert truth.rod_electricity_heating_wh == pytest.approx(
        (3000 * np.sum(on & (level == 1)) + 6000 * np.sum(on & (level == 2))) / 60, abs=1e-6)
    # level one first; level two only after level_up_min minutes of it
    for start, length in runs(on):
        assert level[start] == 1
        two = np.flatnonzero(level[start:start + length] == 2)
        assert len(two) == 0 or two[0] >= DEFAULT_ROD.level_up_min
    # the H3 figure is lower than the heat pump's own
    assert truth.system_cop is not None and truth.cop is not None
    assert truth.system_cop < truth.cop
    assert truth.system_heat_wh == truth.heat_wh + truth.rod_electricity_wh


def test_a_lower_bivalence_point_keeps_the_rod_off():
    never = Simulator(SEED, local(2025, 12, 15), BERLIN,
                      heating_rod=HeatingRod(bivalence_c=-30.0))
    truth = never.truth(*COLD)
    assert truth.rod_electricity_heating_wh == 0.0
    assert truth.rod_electricity_dhw_wh > 0  # the hygiene runs go on


def test_in_a_mild_month_the_rod_only_runs_the_weekly_hygiene(sim):
    m = sim.minutes(*MILD)
    assert not (m["rod_heating_w"] > 0).any()
    hygiene = runs(m["rod_dhw_w"] > 0)
    assert len(hygiene) == 4  # one a week
    local_starts = [datetime.fromtimestamp(int(m["time_s"][s]), UTC).astimezone(BERLIN)
                    for s, _ in hygiene]
    # on Wednesdays, at 13:00 or once the heat pump has brought the cylinder to 49 °C
    assert [t.date().isoformat() for t in local_starts] == [
        "2025-10-15", "2025-10-22", "2025-10-29", "2025-11-05"]
    assert all(13 <= t.hour < 15 for t in local_starts)
    for start, length in hygiene:
        assert m["dhw_c"][start] >= DEFAULT_ROD.hygiene_target_c - 11.0
        assert m["dhw_c"][start + length] >= DEFAULT_ROD.hygiene_target_c  # 60 °C reached
        kwh = m["rod_dhw_w"][start:start + length].sum() / 60_000
        assert 2.0 < kwh < 3.0  # 200 l from ~50 to 60 °C
        assert (m["rod_dhw_w"][start:start + length] == 3000.0).all()  # level one
        assert not (m["mode"][start:start + length] == DHW).any()  # the heat pump is done
    truth = sim.truth(*MILD)
    assert truth.rod_electricity_dhw_wh == pytest.approx(
        3000 * np.sum(m["rod_dhw_w"] > 0) / 60, abs=1e-6)
    assert truth.rod_starts == 4 and truth.rod_running_s == 60 * np.sum(m["rod_level"] > 0)


def test_the_hygiene_heat_goes_into_the_cylinder_not_the_heating_water():
    plain = Simulator(SEED, local(2025, 10, 1), BERLIN, heating_rod=None)
    rod = Simulator(SEED, local(2025, 10, 1), BERLIN)
    day = (local(2025, 10, 1), local(2025, 10, 2))  # a Wednesday: a hygiene run
    a, b = plain.minutes(*day), rod.minutes(*day)
    assert a["dhw_c"].max() < 53 and b["dhw_c"].max() >= 60
    assert a["rod_level"].max() == 0 and plain.truth(*day).rod_electricity_wh == 0
    # the rod does what the heat pump would otherwise do later: its hot-water heat is less
    assert rod.truth(*day).heat_dhw_wh < plain.truth(*day).heat_dhw_wh
    # before the run, the two houses are the same
    before = b["time_s"] < int(local(2025, 10, 1, 13).timestamp())
    assert np.array_equal(a["water_c"][before], b["water_c"][before])


def test_a_stuck_rod_heats_the_heating_water_all_day(sim):
    start = local(2026, 1, 5, 9, 30)
    stuck = Simulator(SEED, local(2025, 12, 15), BERLIN, scenarios=[RodStuck(start)])
    day = (local(2026, 1, 6), local(2026, 1, 7))
    truth = stuck.truth(*day)
    assert truth.rod_electricity_heating_wh == 72_000.0  # 3 kW for 24 h: exact
    assert truth.rod_running_s == 86_400 and truth.rod_starts == 0
    m = stuck.minutes(start - timedelta(minutes=2), start + timedelta(minutes=2))
    assert m["rod_heating_w"].tolist() == [0.0, 0.0, 3000.0, 3000.0]
    # the heat pump has less to do, and does it at hotter water: a lower COP
    plain = Simulator(SEED, local(2025, 12, 15), BERLIN).truth(*day)
    assert truth.heat_wh < plain.heat_wh - 30_000
    assert truth.cop is not None and plain.cop is not None and truth.cop < plain.cop
    assert truth.system_cop is not None and truth.system_cop < 1.5
    two = Simulator(SEED, local(2025, 12, 15), BERLIN, scenarios=[RodStuck(start, 2)])
    assert two.truth(*day).rod_electricity_heating_wh == 144_000.0


def test_the_safety_limiter_cuts_a_stuck_rod():
    hot = Simulator(SEED, local(2025, 7, 1), BERLIN,  # summer: no heating to take it away
                    heating_rod=HeatingRod(max_water_c=40.0),
                    scenarios=[RodStuck(local(2025, 7, 2))])
    m = hot.minutes(local(2025, 7, 3), local(2025, 7, 4))
    assert m["water_c"].max() < 40.0 + 0.2
    assert 0 < (m["rod_level"] > 0).sum() < 1440


def test_rod_stuck_needs_a_rod_and_a_level():
    with pytest.raises(ValueError, match="needs a heating rod"):
        Simulator(SEED, local(2026, 1, 1), BERLIN, heating_rod=None,
                  scenarios=[RodStuck(local(2026, 1, 2))])
    with pytest.raises(ValueError, match=r"level must be 1\.\.2"):
        Simulator(SEED, local(2026, 1, 1), BERLIN, scenarios=[RodStuck(local(2026, 1, 2), 3)])
    now = datetime(2026, 1, 15, 12, tzinfo=UTC)
    setup = build_setup(["rod-stuck@-2d,level=2"], now)
    assert setup.scenarios == (RodStuck(now - timedelta(days=2), 2, None),)
    assert build_setup(["rod-stuck"], now).scenarios == (
        RodStuck(now - timedelta(days=3), 1, None),)
    for bad in ("rod-stuck,level=3", "rod-stuck,level=1.5", "rod-stuck,level=x"):
        with pytest.raises(ValueError, match="rod-stuck: level"):
            build_setup([bad], now)
    assert build_setup(["rod-runtime"], now).vitocal.heating_rod == "runtime"
    with pytest.raises(ValueError, match="heating_rod must be one of"):
        VitocalQuirks(heating_rod="arrays")


# --- what the simulated device reports ---------------------------------------------------


def features(v: SimulatedVitocal, now: datetime) -> dict[str, dict]:
    body = v.features(now)
    assert body is not None
    return {f["feature"]: f["properties"] for f in body["data"]}


def test_the_device_reports_the_rod_like_a_vitocal_250a():
    start = local(2026, 1, 5, 9, 30)
    sim = Simulator(SEED, local(2025, 12, 15), BERLIN, scenarios=[RodStuck(start)])
    now = local(2026, 1, 6, 10, 2, 30)
    v = SimulatedVitocal(sim, Clock(now))
    f = features(v, now)
    assert f["heating.heatingRod"] == {"active": {"type": "boolean", "value": True}}
    state = sim.pump_state(now)
    assert state is not None
    stats = f["heating.heatingRod.statistics"]
    assert stats["hours"]["value"] == int(state.values["heating_rod_hours_h"])
    assert stats["starts"]["value"] == state.values["heating_rod_starts"]
    # from 31 h and 314 starts (the 250-A dump's) on, counting every run
    ran = sim.truth(local(2025, 12, 15), now)
    assert stats["hours"]["value"] == int(31 + ran.rod_running_s / 3600) >= 31 + 24
    assert stats["starts"]["value"] == 314 + ran.rod_starts
    day = f["heating.heatingRod.power.consumption.summary.heating"]
    assert day["currentDay"] == {"type": "number", "unit": "kilowattHour",
                                 "value": 30.1}  # 3 kW since midnight (10:02), truncated
    assert set(day) == {"currentDay", "currentMonth", "currentYear", "lastMonth",
                        "lastSevenDays", "lastYear"}
    assert "heating.heatingRod.power.consumption.summary.dhw" in f
    assert "heating.heatingRod.runtime" not in f
    # the product's mapping reads them as it reads the real dumps
    s = map_sample(v.features(now)["data"], "sim", now)  # type: ignore[index]
    assert s.values["heating_rod_active"] is True
    assert s.values["heating_rod_hours_h"] == stats["hours"]["value"]
    assert s.counters["heating_rod.heating.day"] == 30.1


def test_the_device_reports_running_time_per_level_like_a_vitocal_333g():
    start = local(2026, 1, 5, 9, 30)
    sim = Simulator(SEED, local(2025, 12, 15), BERLIN, scenarios=[RodStuck(start, 2)])
    now = local(2026, 1, 6, 10, 2, 30)
    v = SimulatedVitocal(sim, Clock(now), quirks=VitocalQuirks(heating_rod="runtime"))
    f = features(v, now)
    assert f["heating.heatingRod.status"]["level2"]["value"] is True
    assert f["heating.heatingRod.status"]["level1"]["value"] is False
    assert f["heating.heatingRod.status"]["overall"]["value"] is True
    before = features(v, start - timedelta(minutes=1))["heating.heatingRod.runtime"]
    runtime = f["heating.heatingRod.runtime"]
    assert runtime["levelTwo"]["value"] - before["levelTwo"]["value"] == 60 * (24 * 60 + 32)
    assert runtime["levelOne"]["value"] == before["levelOne"]["value"]
    assert not any(k.startswith("heating.heatingRod.power") for k in f)
    assert "heating.heatingRod" not in f and "heating.heatingRod.statistics" not in f
    s = map_sample(v.features(now)["data"], "sim", now)  # type: ignore[index]
    assert s.values["heating_rod_level2_active"] is True
    assert s.values["heating_rod_runtime_level2_s"] == runtime["levelTwo"]["value"]
    assert not any(k.startswith("heating_rod.") for k in s.counters)


def test_a_device_without_a_rod_reports_none():
    now = local(2026, 1, 6, 10)
    plain = Simulator(SEED, local(2026, 1, 1), BERLIN, heating_rod=None)
    state = plain.pump_state(now)
    assert state is not None and not any(k.startswith("heating_rod") for k in state.values)
    for sim, quirks in ((plain, VitocalQuirks()),
                        (Simulator(SEED, local(2026, 1, 1), BERLIN),
                         VitocalQuirks(heating_rod="none"))):
        f = features(SimulatedVitocal(sim, Clock(now), quirks=quirks), now)
        assert not any("heatingRod" in k for k in f)


# --- through the real collector ------------------------------------------------------------

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                  "HEATPUMP_TZ": "Europe/Berlin", **env})


@pytest.mark.parametrize(("quirk", "env"), [
    ((), {}),
    (("rod-runtime",), {"HEATPUMP_HEATING_ROD_KW": "3,6"}),
])
def test_the_rods_electricity_is_stored_as_the_device_counts_it(tmp_path, quirk, env):
    s = settings(tmp_path, **env)
    summary, house = backfill(s, 1.0, SEED, [*quirk, "rod-stuck@-6h"], now=NOW,
                              out=io.StringIO())
    with open_store(s, demo=True) as store:
        rod = store.points("electricity", summary.start, summary.end,
                           tags={"source": "heating_rod", "circuit": "total"})
        polls = store.points("heatpump", summary.start, summary.end)
    stored = sum(float(p.fields["energy_wh"]) for p in rod)
    truth = house.sim.truth(polls[0].time, polls[-1].time)
    assert truth.rod_electricity_heating_wh == pytest.approx(6 * 3000, abs=3000 * 5 / 60)
    # the counters' 0.1 kWh at both ends, per circuit; running time is exact to the second
    assert stored == pytest.approx(truth.rod_electricity_wh, abs=50 if quirk else 400)
    estimated = sum(float(p.fields.get("estimated_wh", 0.0)) for p in rod)
    assert estimated == (stored if quirk else 0.0)
    # the rod's state as the device reports it: on at every poll since it stuck
    stuck = [p for p in polls if p.time > NOW - timedelta(hours=6) + timedelta(minutes=1)]
    assert stuck and all(p.fields["heating_rod_active"] for p in stuck)
    assert not polls[0].fields["heating_rod_active"]


ROD_TEXT = ("Every kWh of rod heat costs about three times what the heat pump needs for it. "
            "Check whether the rod was switched on by hand or by a screed-drying or hygiene "
            "program, the bivalence temperature, and whether the heat pump itself reports a "
            "fault.")


def test_the_rod_stuck_demo_ends_with_the_rod_alert_and_a_lower_h3_figure(tmp_path):
    """`heatpump demo --days 3 --scenario rod-stuck`: the alerts a subscriber would have got
    (the replay the demo prints), and /jaz with the rod's share and the whole system's
    lower figure."""
    from bot.alerts.replay import print_replay
    from bot.commands import Context, answer

    s = settings(tmp_path)
    summary, house = backfill(s, 3.0, SEED, ["rod-stuck"], now=NOW, out=io.StringIO())
    out = io.StringIO()
    with open_store(s, demo=True) as store:
        print_replay(store, s, out, end=summary.end)
        jaz = answer("/jaz 2d", Context(store, s, lambda: NOW)).text
    rod_alerts = [block for block in out.getvalue().split("\n\n") if "Heating rod" in block]
    assert rod_alerts == [
        "[2026-01-13 00:00] 🔥 Heating rod on Mon 12 Jan: 32.7 kWh of electricity; more than "
        f"5 kWh a day (ALERT_ROD_KWH_PER_DAY). {ROD_TEXT}",
        "[2026-01-14 00:00] 🔥 Heating rod still running on Tue 13 Jan: 72.0 kWh of "
        f"electricity; more than 5 kWh a day (ALERT_ROD_KWH_PER_DAY). {ROD_TEXT}",
        "[2026-01-15 00:00] 🔥 Heating rod still running on Wed 14 Jan: 72.0 kWh of "
        f"electricity; more than 5 kWh a day (ALERT_ROD_KWH_PER_DAY). {ROD_TEXT}",
    ]
    lines = jaz.splitlines()
    assert "COP 2.40 = 56.9 kWh heat / 23.7 kWh electricity (meter)" in lines
    assert ("whole system COP 1.25 = 168 kWh heat / 135 kWh electricity; boundary H3 "
            "(SEPEMO: heat pump and heating rod)") in lines
    assert ("heating rod: 111 kWh electricity = 82% of the system's electricity and 66% of "
            "its heat (heating 111 kWh, hot water 0.0 kWh)") in lines
    # the truth agrees: the rod 3 kW since it stuck, the whole system's COP far lower
    truth = house.sim.truth(summary.start, summary.end)
    assert truth.rod_electricity_heating_wh == 72 * 3000.0
    assert truth.system_cop is not None and truth.cop is not None
    assert truth.system_cop < 0.55 * truth.cop
