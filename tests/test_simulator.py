"""The demo simulator: physically sane, shaped like the real sources, deterministic."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from collector.readings import HeatPumpSample, MeterReading
from collector.simulator import (
    COUNTER_PERIODS,
    COUNTER_SERIES,
    DEFROST,
    DHW,
    HEAT,
    IDLE,
    LOCKED,
    CopDrop,
    Fault,
    HeatPumpModel,
    House,
    MeterReboot,
    Outage,
    Simulator,
    parse_scenario,
)
from heatpump.schema import HEATPUMP

BERLIN = ZoneInfo("Europe/Berlin")
YEAR_START = datetime(2025, 1, 1, tzinfo=BERLIN)
YEAR_END = datetime(2026, 1, 1, tzinfo=BERLIN)
SEED = 7


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SEED, YEAR_START, BERLIN)


@pytest.fixture(scope="module")
def year(sim: Simulator) -> dict[str, np.ndarray]:
    return sim.minutes(YEAR_START, YEAR_END)


def month_mask(year: dict[str, np.ndarray], month: int) -> np.ndarray:
    t = year["time_s"].astype("datetime64[s]").astype("datetime64[M]").astype(int) % 12 + 1
    return t == month


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start index, length) of each stretch of True."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist(), strict=True))


# --- physics over a year ------------------------------------------------------------------


def test_climate_is_german(year):
    t = year["outdoor_c"]
    assert 7.5 < t.mean() < 10.5
    assert -3 < t[month_mask(year, 1)].mean() < 3
    assert 15 < t[month_mask(year, 7)].mean() < 21
    assert t.min() < -6 and t.max() > 25  # fronts and summer afternoons


def test_year_lands_at_a_typical_jaz(sim, year):
    truth = sim.truth(YEAR_START, YEAR_START + timedelta(days=3))
    assert truth.cop == pytest.approx(
        (year["heat_heating_w"][:4320].sum() + year["heat_dhw_w"][:4320].sum())
        / year["elec_w"][:4320].sum())
    truth = sim.truth_of(year)
    assert 3.0 < truth.cop < 4.0
    # A 6 kW house: roughly 1800..2800 full-load hours of space heating plus hot water.
    assert 10e6 < truth.heat_heating_wh < 17e6
    assert 1.5e6 < truth.heat_dhw_wh < 3.5e6
    assert truth.electricity_wh == pytest.approx(
        truth.electricity_heating_wh + truth.electricity_dhw_wh)


def test_cop_is_lower_in_cold_weather(year):
    heat = year["mode"] == HEAT
    cold = heat & (year["outdoor_c"] < -3)
    mild = heat & (year["outdoor_c"] > 5) & (year["outdoor_c"] < 12)
    assert cold.sum() > 1000 and mild.sum() > 1000
    cop_cold = year["heat_heating_w"][cold].sum() / year["elec_w"][cold].sum()
    cop_mild = year["heat_heating_w"][mild].sum() / year["elec_w"][mild].sum()
    assert cop_cold < cop_mild - 0.8
    # hot water needs more lift than floor heating
    dhw = year["mode"] == DHW
    cop_dhw = year["heat_dhw_w"][dhw].sum() / year["elec_w"][dhw].sum()
    cop_heat = year["heat_heating_w"][heat].sum() / year["elec_w"][heat].sum()
    assert cop_dhw < cop_heat


def test_summer_runs_only_for_hot_water(year):
    july, january = month_mask(year, 7), month_mask(year, 1)
    assert year["heat_heating_w"][july].sum() < 0.03 * year["heat_heating_w"][january].sum()
    running = np.isin(year["mode"], (HEAT, DHW, DEFROST))
    dhw_share = (year["mode"][july] == DHW).sum() / running[july].sum()
    assert dhw_share > 0.8
    assert (year["mode"][july] == DEFROST).sum() == 0


def test_modulation_and_cycling(year, sim):
    heat = year["mode"] == HEAT
    mod = year["modulation"][heat]
    assert mod.min() >= 30 - 1e-9 and mod.max() <= 100 + 1e-9
    assert (mod > 99).any() and (mod < 31).any()
    running = np.isin(year["mode"], (HEAT, DHW, DEFROST))
    lengths = [n for _, n in runs(running)]
    # minimum run time respected, but short cycles (< 15 min) happen in mild weather
    assert min(lengths) >= sim.hp.min_run_min
    assert sum(1 for n in lengths if n < 15) > 50
    offs = [n for s, n in runs(~running) if s > 0 and s + n < len(running)]
    assert min(offs) >= sim.hp.min_off_min
    # cold spells: one long run, not cycling
    assert max(lengths) > 24 * 60
    starts = int(year["started"].sum())
    assert 1000 < starts < 8000


def test_hot_water_runs_and_defrosts(year):
    days = len(year["mode"]) / 1440
    dhw_runs = runs(year["mode"] == DHW)
    # a run interrupted by a defrost counts once
    real = [s for s, _ in dhw_runs if s == 0 or year["mode"][s - 1] != DEFROST]
    assert 1.0 <= len(real) / days <= 2.5
    assert year["dhw_c"].max() < 53 and year["dhw_c"].min() > 30
    defrost_starts = [s for s, _ in runs(year["mode"] == DEFROST)]
    assert len(defrost_starts) > 300
    assert (year["outdoor_c"][defrost_starts] < 7).all()
    assert (year["heat_heating_w"][year["mode"] == DEFROST] <= 0).all()
    assert (year["elec_w"][year["mode"] == DEFROST] > 1000).all()


def test_idle_power_is_standby_and_pump(year):
    idle = year["mode"] == IDLE
    assert year["elec_w"][idle].min() >= 10 and year["elec_w"][idle].max() <= 100
    assert (year["heat_heating_w"][idle] == 0).all()


def test_house_stays_warm(year):
    heated = ~year["dhw_only"]
    assert year["room_c"][heated].min() > 19 and year["room_c"][month_mask(year, 1)].max() < 22
    assert year["room_c"].min() > 15  # a cold June week in hot-water-only mode


# --- meter ----------------------------------------------------------------------------------


def test_meter_cadence_counter_and_integral(sim):
    start, end = local(2025, 2, 3), local(2025, 2, 17)
    arr = sim.meter_arrays(start, end)
    assert len(arr) == 14 * 8640
    assert (np.diff(arr.time_s) == 10).all()
    assert arr.time_s[0] == int(start.timestamp())
    assert (np.diff(arr.energy_import_wh) >= 0).all()
    assert (np.diff(arr.uptime_s) == 10).all()
    counted = arr.energy_import_wh[-1] - arr.energy_import_wh[0]
    integral = float(np.sum(arr.power_w[:-1]) * 10 / 3600)
    assert integral == pytest.approx(counted, rel=0.01)
    truth = sim.truth(start, datetime.fromtimestamp(int(arr.time_s[-1]), UTC))
    assert counted == pytest.approx(truth.electricity_wh, abs=0.02)
    assert arr.energy_import_wh[0] > 1e6  # a used meter, not a fresh one


def test_meter_readings_match_the_arrays(sim):
    start = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # across the spring DST change
    end = start + timedelta(hours=2)
    readings = list(sim.meter_readings(start, end))
    arr = sim.meter_arrays(start, end)
    assert len(readings) == len(arr) == 720
    assert all(isinstance(r, MeterReading) and r.device == "sim-meter" for r in readings)
    assert [r.time.timestamp() for r in readings] == arr.time_s.tolist()
    assert readings[5].power_w == arr.power_w[5]
    assert readings[5].energy_import_wh == arr.energy_import_wh[5]
    assert all(r.time.tzinfo is not None for r in readings)


# --- heat pump samples ---------------------------------------------------------------------


def test_samples_follow_the_schema(sim):
    samples = list(sim.heatpump_samples(local(2025, 1, 10), local(2025, 1, 11)))
    assert len(samples) == 288
    gaps = np.diff([s.time.timestamp() for s in samples])
    assert (gaps > 295).all() and (gaps < 305).all()
    expected = {f"{s}.{p}" for s in COUNTER_SERIES for p in COUNTER_PERIODS}
    types = {"float": float, "int": int, "bool": bool, "str": str}
    for s in samples:
        assert isinstance(s, HeatPumpSample)
        assert set(s.counters) == expected
        for name, value in s.values.items():
            assert type(value) is types[HEATPUMP.field(name).type], name
        assert s.values["error_count"] == 0 and s.messages == ()
        for v in s.counters.values():
            assert v == round(v, 1)
    phases = {s.values["compressor_phase"] for s in samples}
    assert "heating" in phases
    hours = [s.values["compressor_hours_h"] for s in samples]
    assert all(h == int(h) for h in hours) and hours[-1] > hours[0]  # E3: whole hours


def day_series(sim, start, end, key):
    samples = list(sim.heatpump_samples(start, end))
    return [(s.time, s.counters[key]) for s in samples]


@pytest.mark.parametrize(("day", "hours"), [((2025, 3, 30), 23), ((2025, 10, 26), 25),
                                            ((2025, 1, 15), 24)])
def test_day_counters_reset_at_local_midnight(sim, day, hours):
    """Monotonic within a local day (also the 23 h and 25 h DST days), reset after local
    midnight, and equal to the truth of the device's own accounting."""
    d0 = local(*day)
    d1 = (d0 + timedelta(days=1, hours=2)).replace(hour=0)
    assert (d1.astimezone(UTC) - d0.astimezone(UTC)) == timedelta(hours=hours)
    series = day_series(sim, d0 - timedelta(hours=2), d1 + timedelta(hours=2),
                        "heat.heating.day")
    before = [v for t, v in series if t < d0]
    inside = [v for t, v in series if d0 <= t < d1]
    after = [v for t, v in series if t >= d1]
    assert all(b >= a for a, b in itertools.pairwise(inside))
    assert inside[0] < before[-1]  # reset at local midnight, not at UTC midnight
    assert inside[0] <= 0.5 and after[0] <= 0.5
    last_t = max(t for t, _ in series if t < d1)
    exact = float(np.sum(sim.minutes(d0, last_t.replace(second=0))["dev_heat_heating_w"])) / 60e3
    assert inside[-1] == pytest.approx(exact, abs=0.11)
    assert inside[-1] <= exact + 1e-9  # truncated, never ahead


def test_month_and_year_counters_reset():
    start = local(2025, 12, 30)
    sim = Simulator(SEED, start, BERLIN)
    samples = list(sim.heatpump_samples(start, local(2026, 1, 2)))
    at = next(i for i, s in enumerate(samples) if s.time >= local(2026, 1, 1))
    for period in ("month", "year"):
        for series in COUNTER_SERIES:
            key = f"{series}.{period}"
            assert samples[at].counters[key] <= 0.5
            values = [s.counters[key] for s in samples[:at]]
            assert values == sorted(values)
    last = samples[at - 1].counters
    assert last["heat.heating.year"] > last["heat.heating.month"] > last["heat.heating.day"] > 20


def test_counters_start_like_a_used_device():
    """Started mid-month, the month and year counters already hold a plausible estimate
    (from the mean climate), and the day counter what was used since local midnight."""
    start = local(2025, 3, 15, 14)
    first = next(Simulator(SEED, start, BERLIN).heatpump_samples(start, local(2025, 3, 16)))
    c = first.counters
    assert 15 < c["heat.heating.day"] < 60
    assert 500 < c["heat.heating.month"] < 1500
    assert 3000 < c["heat.heating.year"] < 7000
    assert 60 < c["heat.dhw.month"] < 150
    cop = c["heat.heating.year"] / c["electricity.heating.year"]
    assert 3.0 < cop < 5.0
    fresh = next(Simulator(SEED, local(2025, 1, 1), BERLIN).heatpump_samples(
        local(2025, 1, 1), local(2025, 1, 2)))
    assert set(fresh.counters.values()) == {0.0}  # started at the turn of the year


def test_device_electricity_reads_low_against_the_meter(sim):
    day = sim.minutes(local(2025, 1, 20), local(2025, 1, 21))
    device = (day["dev_elec_heating_w"].sum() + day["dev_elec_dhw_w"].sum())
    assert device < 0.95 * day["elec_w"].sum()
    exact = Simulator(SEED, YEAR_START, BERLIN,
                      heat_pump=HeatPumpModel(device_electricity_factor=1.0))
    d2 = exact.minutes(local(2025, 1, 1), local(2025, 1, 2))
    d1 = sim.minutes(local(2025, 1, 1), local(2025, 1, 2))
    assert d2["dev_elec_heating_w"].sum() == pytest.approx(
        d1["dev_elec_heating_w"].sum() / sim.hp.device_electricity_factor)


# --- determinism and live use --------------------------------------------------------------


def test_same_seed_same_data_different_seed_different():
    a = Simulator(3, local(2025, 11, 1), BERLIN)
    b = Simulator(3, local(2025, 11, 1), BERLIN)
    c = Simulator(4, local(2025, 11, 1), BERLIN)
    span = (local(2025, 11, 2), local(2025, 11, 3))
    assert np.array_equal(a.meter_arrays(*span).power_w, b.meter_arrays(*span).power_w)
    assert list(a.heatpump_samples(*span)) == list(b.heatpump_samples(*span))
    assert not np.array_equal(a.meter_arrays(*span).power_w, c.meter_arrays(*span).power_w)


def test_live_queries_equal_one_backfill():
    """Polling small windows (live mode, cache evicted) yields exactly the backfill."""
    start = local(2025, 11, 1)
    whole = Simulator(5, start, BERLIN)
    live = Simulator(5, start, BERLIN, cache_chunks=1)
    t0 = local(2025, 11, 2, 23, 50)
    t1 = t0 + timedelta(minutes=30)  # crosses a chunk boundary
    expected = list(whole.events(t0, t1))
    got = []
    t = t0
    polls = 0
    while t < t1:
        got.extend(live.events(t, t + timedelta(seconds=10)))
        polls += 1
        if polls % 30 == 0:
            list(live.events(start, start + timedelta(seconds=10)))  # evict: recompute
        t += timedelta(seconds=10)
    assert got == expected
    kinds = [type(e) for e in got]
    assert kinds.count(HeatPumpSample) == 6 and kinds.count(MeterReading) == 180
    assert [e.time for e in got] == sorted(e.time for e in got)


def test_start_is_floored_to_the_minute_and_nothing_before_it():
    sim = Simulator(1, datetime(2025, 5, 1, 10, 0, 37, tzinfo=UTC), "Europe/Berlin")
    assert sim.start == datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    before = list(sim.events(datetime(2025, 5, 1, 9, tzinfo=UTC), sim.start))
    assert before == []


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="zone"):
        Simulator(1, datetime(2025, 1, 1), BERLIN)
    sim = Simulator(1, YEAR_START, BERLIN)
    with pytest.raises(ValueError, match="zone"):
        list(sim.meter_readings(datetime(2025, 1, 1), datetime(2025, 1, 2)))
    with pytest.raises(ValueError, match="end after"):
        Simulator(1, YEAR_START, BERLIN, scenarios=[
            Outage("meter", local(2025, 1, 2), local(2025, 1, 1))])
    with pytest.raises(ValueError, match="end after"):
        Simulator(1, YEAR_START, BERLIN, scenarios=[Fault(local(2025, 1, 2), local(2025, 1, 2))])
    with pytest.raises(ValueError, match="source"):
        Simulator(1, YEAR_START, BERLIN, scenarios=[
            Outage("bot", local(2025, 1, 1), local(2025, 1, 2))])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="zone"):
        Simulator(1, YEAR_START, BERLIN, scenarios=[CopDrop(datetime(2025, 1, 2))])


# --- scenarios -----------------------------------------------------------------------------


def test_meter_outage_leaves_a_gap_and_the_counter_keeps_counting():
    start = local(2025, 1, 5)
    gap = (local(2025, 1, 5, 8), local(2025, 1, 5, 11))
    sim = Simulator(9, start, BERLIN, scenarios=[Outage("meter", *gap)])
    readings = list(sim.meter_readings(start, local(2025, 1, 5, 14)))
    inside = [r for r in readings if gap[0] <= r.time < gap[1]]
    assert inside == []
    before = [r for r in readings if r.time < gap[0]][-1]
    after = next(r for r in readings if r.time >= gap[1])
    assert (after.time - before.time).total_seconds() == 3 * 3600 + 10
    jump = after.energy_import_wh - before.energy_import_wh
    assert jump == pytest.approx(sim.truth(before.time, after.time).electricity_wh, abs=0.02)
    assert jump > 1000  # three winter hours of running
    # the heat pump source is unaffected
    assert len(list(sim.heatpump_samples(*gap))) == 36


def test_heatpump_outage_drops_only_samples():
    start = local(2025, 1, 5)
    gap = (local(2025, 1, 5, 8), local(2025, 1, 5, 9))
    sim = Simulator(9, start, BERLIN, scenarios=[Outage("heatpump", *gap)])
    assert list(sim.heatpump_samples(*gap)) == []
    assert len(list(sim.heatpump_samples(local(2025, 1, 5, 9), local(2025, 1, 5, 10)))) == 12
    assert len(list(sim.meter_readings(*gap))) == 360


def test_fault_locks_the_compressor_and_is_reported():
    start = local(2025, 1, 20)
    fault = Fault(local(2025, 1, 21, 6), local(2025, 1, 21, 12))
    sim = Simulator(11, start, BERLIN, scenarios=[fault])
    plain = Simulator(11, start, BERLIN)
    during = list(sim.heatpump_samples(fault.start, fault.end))
    assert len(during) == 72
    for s in during:
        assert s.values["error_count"] == 1
        assert s.values["compressor_active"] is False
        assert s.values["compressor_phase"] == "off"
        (msg,) = s.messages
        assert (msg.kind, msg.code, msg.priority, msg.since) == (
            "error", "F.1100", "criticalError", fault.start)
    m = sim.minutes(fault.start, fault.end)
    assert (m["mode"] == LOCKED).all() and (m["heat_heating_w"] == 0).all()
    assert m["room_c"][-1] < plain.minutes(fault.start, fault.end)["room_c"][-1] - 0.3
    assert during[-1].values["supply_temp_c"] < during[0].values["supply_temp_c"] - 3
    after = list(sim.heatpump_samples(fault.end, fault.end + timedelta(hours=1)))
    assert all(s.values["error_count"] == 0 and not s.messages for s in after)
    assert any(s.values["compressor_active"] for s in after)
    # before the fault both runs are identical
    early = (local(2025, 1, 20, 12), local(2025, 1, 21))
    assert list(sim.heatpump_samples(*early)) == list(plain.heatpump_samples(*early))


def test_fault_can_be_reported_without_stopping():
    start = local(2025, 1, 20)
    fault = Fault(local(2025, 1, 20, 6), None, code="A.11", priority="warning",
                  stops_compressor=False)
    sim = Simulator(11, start, BERLIN, scenarios=[fault])
    samples = list(sim.heatpump_samples(local(2025, 1, 20, 12), local(2025, 1, 20, 13)))
    assert all(s.messages[0].code == "A.11" for s in samples)
    assert any(s.values["compressor_active"] for s in samples)


def test_cop_drop_lowers_efficiency_from_its_date():
    start = local(2025, 2, 1)
    drop = CopDrop(local(2025, 2, 8), factor=0.7)
    sim = Simulator(13, start, BERLIN, scenarios=[drop])
    plain = Simulator(13, start, BERLIN)
    before = (start, drop.start)
    after = (drop.start + timedelta(days=1), drop.start + timedelta(days=8))
    assert sim.truth(*before) == plain.truth(*before)
    cop, base = sim.truth(*after).cop, plain.truth(*after).cop
    assert cop < 0.8 * base
    assert cop > 0.6 * base  # heat demand is the house's; only electricity grows


def test_house_options_scale_the_load():
    span = (local(2025, 1, 10), local(2025, 1, 17))
    small = Simulator(2, local(2025, 1, 3), BERLIN, house=House(design_load_kw=4.0))
    big = Simulator(2, local(2025, 1, 3), BERLIN, house=House(design_load_kw=8.0),
                    heat_pump=HeatPumpModel(rated_heat_kw=9.0))
    ratio = big.truth(*span).heat_heating_wh / small.truth(*span).heat_heating_wh
    assert 1.6 < ratio < 2.4


# --- scenario parsing (the demo's --scenario) ----------------------------------------------

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("fault", Fault(NOW - timedelta(days=1), NOW - timedelta(hours=18))),
    ("fault@-3d/12h,code=F.454,stops=no,priority=warning",
     Fault(NOW - timedelta(days=3), NOW - timedelta(days=2, hours=12), code="F.454",
           priority="warning", stops_compressor=False)),
    ("meter-outage@-2h/30m", Outage("meter", NOW - timedelta(hours=2),
                                    NOW - timedelta(hours=1, minutes=30))),
    ("heatpump-outage@2026-01-10T06:00+01:00/3h",
     Outage("heatpump", datetime(2026, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 10, 8,
                                                                       tzinfo=UTC))),
    ("cop-drop@-10d,factor=0.7", CopDrop(NOW - timedelta(days=10), 0.7)),
    ("cop-drop", CopDrop(NOW - timedelta(days=7), 0.75)),
    ("meter-reboot", MeterReboot(NOW - timedelta(days=1), 30.0, True)),
    ("meter-reboot@-3h/1m,counter=keep", MeterReboot(NOW - timedelta(hours=3), 60.0, False)),
])
def test_parse_scenario(text, expected):
    assert parse_scenario(text, NOW) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("flood", "unknown scenario"),
    ("fault@yesterday", "bad start"),
    ("fault@2026-01-10T06:00", "must carry a zone"),
    ("fault@-1d/6x", "bad duration"),
    ("fault@-1d/-6h", "bad duration"),
    ("fault,colour=red", "unknown option"),
    ("meter-outage,factor=2", "unknown option"),
    ("cop-drop,factor=much", "factor must be a number"),
    ("cop-drop,factor=0", "factor"),
    ("fault,stops=maybe", "stops"),
    ("meter-reboot,counter=maybe", "reset or keep"),
])
def test_parse_scenario_refuses_with_a_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_scenario(text, NOW)


def test_truth_reports_what_the_device_counts(sim):
    span = (local(2025, 1, 20), local(2025, 1, 21))
    truth = sim.truth(*span)
    samples = list(sim.heatpump_samples(local(2025, 1, 20, 23, 55), local(2025, 1, 21)))
    assert samples[-1].counters["heat.heating.day"] == pytest.approx(
        truth.device_heat_heating_wh / 1000, abs=0.3)
    # defrosts: the device counts gross heat, the house got less
    assert truth.device_heat_heating_wh > truth.heat_heating_wh
    assert truth.device_electricity_heating_wh + truth.device_electricity_dhw_wh < \
        truth.electricity_wh


def test_phases_as_an_e3_device_reports_them(sim):
    cold = [s.values for s in sim.heatpump_samples(local(2025, 1, 8), local(2025, 1, 15))]
    mild = [s.values for s in sim.heatpump_samples(local(2025, 4, 8), local(2025, 4, 12))]
    summer = [s.values for s in sim.heatpump_samples(local(2025, 7, 8), local(2025, 7, 10))]
    assert {v["compressor_phase"] for v in cold} >= {"heating", "defrost"}
    assert {v["compressor_phase"] for v in mild} >= {"heating", "pause", "ready"}
    for v in cold + mild + summer:
        assert v["compressor_active"] == (v["compressor_phase"] in ("heating", "defrost"))
        if not v["compressor_active"]:
            assert v["compressor_modulation_pct"] == 0
    assert {v["heating_mode"] for v in summer} == {"dhw"}
    assert {v["heating_mode"] for v in cold} == {"heating"}
    # summer: the circuit pump rests except while the cylinder is charged
    assert any(v["flow_l_h"] == 0 for v in summer)
    assert all(v["flow_l_h"] > 0 for v in cold)


@pytest.mark.parametrize("resets", [True, False])
@pytest.mark.parametrize("offset_s", [3 * 3600 + 3, 86400 - 5, 86400])  # mid-chunk, edges
def test_meter_reboot(resets, offset_s):
    start = local(2025, 1, 5)
    at = start + timedelta(seconds=offset_s)
    sim = Simulator(9, start, BERLIN, scenarios=[MeterReboot(at, 30.0, resets)])
    readings = list(sim.meter_readings(at - timedelta(minutes=5), at + timedelta(minutes=10)))
    before = [r for r in readings if r.time < at]
    after = [r for r in readings if r.time >= at]
    assert (after[0].time - at).total_seconds() >= 30  # offline while booting
    assert after[0].uptime_s < 45 < before[-1].uptime_s
    assert all(b.uptime_s - a.uptime_s == 10 for a, b in itertools.pairwise(after))
    counters = [r.energy_import_wh for r in after]
    assert counters == sorted(counters)
    since_boot = sim.truth(at, after[0].time).electricity_wh
    if resets:
        assert after[0].energy_import_wh == pytest.approx(since_boot, abs=0.02)
    else:
        gap = sim.truth(before[-1].time, after[0].time).electricity_wh
        assert after[0].energy_import_wh - before[-1].energy_import_wh == pytest.approx(
            gap, abs=0.02)
    # the truth is untouched by what the meter shows
    plain = Simulator(9, start, BERLIN)
    span = (at - timedelta(minutes=5), at + timedelta(minutes=10))
    assert sim.truth(*span) == plain.truth(*span)
