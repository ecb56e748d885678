"""The simulated house's physics (simhouse.house): sane, deterministic, exact truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from heatpump.schema import HEATPUMP
from simhouse.house import (
    COUNTER_SERIES,
    DEFROST,
    DHW,
    HEAT,
    IDLE,
    LOCKED,
    MODE_NAMES,
    PRIOR_DAYS,
    CopDrop,
    Fault,
    HeatPumpModel,
    House,
    MeterReboot,
    Outage,
    Simulator,
)

BERLIN = ZoneInfo("Europe/Berlin")
YEAR_START = datetime(2025, 1, 1, tzinfo=BERLIN)
YEAR_END = datetime(2026, 1, 1, tzinfo=BERLIN)
SEED = 7
# Truth field of each device counter series (Wh).
DEVICE_TRUTH = {"heat.heating": "device_heat_heating_wh", "heat.dhw": "device_heat_dhw_wh",
                "electricity.heating": "device_electricity_heating_wh",
                "electricity.dhw": "device_electricity_dhw_wh",
                "heating_rod.heating": "rod_electricity_heating_wh",
                "heating_rod.dhw": "rod_electricity_dhw_wh"}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


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
    assert sim.truth_of(year).compressor_starts == starts


def test_hot_water_runs_and_defrosts(year):
    days = len(year["mode"]) / 1440
    dhw_runs = runs(year["mode"] == DHW)
    # a run interrupted by a defrost counts once
    real = [s for s, _ in dhw_runs if s == 0 or year["mode"][s - 1] != DEFROST]
    assert 1.0 <= len(real) / days <= 2.5
    # the heat pump heats the cylinder to about 50 °C; only the rod's weekly hygiene run
    # takes it to 60 °C (it has cooled below 53 °C two days later)
    idx = np.arange(len(year["dhw_c"]))
    last_rod = np.maximum.accumulate(np.where(year["rod_dhw_w"] > 0, idx, -10_000))
    assert year["dhw_c"][idx - last_rod > 2 * 1440].max() < 53
    assert year["dhw_c"].max() < 60.5 and year["dhw_c"].min() > 30
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


# --- the meter's trace --------------------------------------------------------------------


def test_meter_cadence_counter_and_integral(sim):
    start, end = local(2025, 2, 3), local(2025, 2, 17)
    arr = sim.meter_arrays(start, end)
    assert len(arr) == 14 * 8640
    assert (np.diff(arr.time_s) == 10).all()
    assert arr.time_s[0] == int(start.timestamp())
    assert (np.diff(arr.energy_import_wh) >= 0).all()
    assert (np.diff(arr.uptime_s) == 10).all()
    assert (arr.power_w >= 0).all()
    counted = arr.energy_import_wh[-1] - arr.energy_import_wh[0]
    integral = float(np.sum(arr.power_w[:-1]) * 10 / 3600)
    assert integral == pytest.approx(counted, rel=0.01)
    truth = sim.truth(start, utc(int(arr.time_s[-1])))
    assert counted == pytest.approx(truth.electricity_wh, abs=0.02)
    assert arr.energy_import_wh[0] > 1e6  # a used meter, not a fresh one
    # the counter has the meter's 0.01 Wh resolution
    assert np.allclose(np.round(arr.energy_import_wh * 100), arr.energy_import_wh * 100)


def test_meter_step_matches_the_arrays(sim):
    start = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # across the spring DST change
    end = start + timedelta(hours=2)
    arr = sim.meter_arrays(start, end)
    assert len(arr) == 720
    for i, t in enumerate(arr.time_s.tolist()):
        for within_s in (0, 9.9):  # any time inside a step gives that step
            step = sim.meter_step(utc(t + within_s))
            assert step is not None
            assert (step.time_s, step.power_w, step.energy_import_wh, step.uptime_s) == (
                t, arr.power_w[i], arr.energy_import_wh[i], arr.uptime_s[i])


def test_meter_arrays_are_empty_for_an_empty_range(sim):
    assert len(sim.meter_arrays(local(2025, 2, 3), local(2025, 2, 3))) == 0
    assert len(sim.meter_arrays(local(2025, 2, 3), local(2025, 2, 2))) == 0


# --- the heat pump's observable state -------------------------------------------------------


def test_pump_states_follow_the_schema(sim):
    states = list(sim.pump_states(local(2025, 1, 10), local(2025, 1, 11)))
    assert len(states) == 288
    gaps = np.diff([s.time.timestamp() for s in states])
    assert (gaps == 300).all()
    types = {"float": float, "int": int, "bool": bool, "str": str}
    for s in states:
        assert s.mode in MODE_NAMES
        for name, value in s.values.items():
            assert type(value) is types[HEATPUMP.field(name).type], name
        assert s.messages == ()
        for name in ("outside_temp_c", "supply_temp_c", "return_temp_c", "dhw_temp_c"):
            assert s.values[name] == round(s.values[name], 1)
    assert "heating" in {s.values["compressor_phase"] for s in states}
    hours = [s.values["compressor_hours_h"] for s in states]
    starts = [s.values["compressor_starts"] for s in states]
    assert hours == sorted(hours) and hours[-1] > hours[0]
    assert starts == sorted(starts)
    # the physics keeps exact running time; whole hours are the device's rounding
    truth = sim.truth(states[0].time, states[-1].time)
    assert (hours[-1] - hours[0]) * 3600 == pytest.approx(truth.compressor_running_s)
    assert starts[-1] - starts[0] == truth.compressor_starts


def test_a_repeated_question_gets_the_same_answer(sim):
    """Sensor noise is fixed per minute: any time in a minute gives the same state."""
    t = local(2025, 1, 10, 7, 13)
    first = sim.pump_state(t)
    again = sim.pump_state(t + timedelta(seconds=59))
    assert first is not None and again is not None
    assert first.values == again.values and first.mode == again.mode
    after = sim.pump_state(t + timedelta(minutes=1))
    assert after is not None and after.values != first.values


def test_phases_as_an_e3_device_reports_them(sim):
    cold = [s.values for s in sim.pump_states(local(2025, 1, 8), local(2025, 1, 15))]
    mild = [s.values for s in sim.pump_states(local(2025, 4, 8), local(2025, 4, 12))]
    summer = [s.values for s in sim.pump_states(local(2025, 7, 8), local(2025, 7, 10))]
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


def test_pump_state_mode_matches_the_minutes(sim):
    span = (local(2025, 1, 12), local(2025, 1, 13))
    m = sim.minutes(*span)
    for s in sim.pump_states(*span, step=timedelta(minutes=7)):
        k = int((s.time.timestamp() - m["time_s"][0]) // 60)
        assert s.mode == MODE_NAMES[int(m["mode"][k])]


# --- the device's energy (what its counters accumulate) -------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    (local(2025, 1, 3, 5, 0, 30), local(2025, 1, 3, 5, 0, 47)),  # inside one minute
    (local(2025, 1, 3, 22, 17, 13), local(2025, 1, 5, 1, 2, 59)),  # partial minutes, chunks
    (YEAR_START, local(2025, 2, 1)),
])
def test_device_totals_are_the_truth_of_the_device_columns(sim, a, b):
    """The counters' energy between two times is exactly the device columns' integral."""
    ta, tb = sim.device_totals_kwh(a), sim.device_totals_kwh(b)
    truth = sim.truth(a, b)
    for series, name in DEVICE_TRUTH.items():
        assert tb[series] - ta[series] == pytest.approx(getattr(truth, name) / 1000,
                                                         rel=1e-9, abs=1e-9)
    # an epoch number means the same instant
    assert sim.device_totals_kwh(b.timestamp()) == tb


def test_device_totals_start_at_zero_and_only_grow(sim):
    assert sim.device_totals_kwh(YEAR_START) == dict.fromkeys(COUNTER_SERIES, 0.0)
    times = [YEAR_START + timedelta(hours=7 * i, seconds=13 * i) for i in range(200)]
    totals = [sim.device_totals_kwh(t) for t in times]
    for series in COUNTER_SERIES:
        values = np.array([t[series] for t in totals])
        # float sums: a chunk's start total is summed apart from the running sum inside it
        assert (np.diff(values) >= -1e-9).all()
    assert totals[-1]["heat.heating"] > 1000


def test_prior_totals_look_like_a_used_device(sim):
    """Before the origin: negative, growing towards 0 (continuous at the origin), flat
    beyond PRIOR_DAYS, and a prior year close to a simulated one."""
    before = [sim.device_totals_kwh(YEAR_START - timedelta(hours=5 * i)) for i in range(1, 400)]
    # the mean climate has no cold spells: the rod never helps the heating in it
    rare = "heating_rod.heating"
    for series in COUNTER_SERIES:
        values = [t[series] for t in before]
        assert all(v < 0 or (series == rare and v == 0) for v in values), series
        assert values == sorted(values, reverse=True)  # further back, more negative
        assert -0.05 < sim.device_totals_kwh(YEAR_START - timedelta(seconds=1))[series] <= (
            0 if series == rare else -1e-12)
    far = sim.device_totals_kwh(YEAR_START - timedelta(days=PRIOR_DAYS))
    assert sim.device_totals_kwh(YEAR_START - timedelta(days=PRIOR_DAYS + 30)) == far
    prior_year = sim.device_totals_kwh(local(2024, 1, 1))
    simulated = sim.truth(YEAR_START, YEAR_END)
    for series, name in DEVICE_TRUTH.items():
        assert -prior_year[series] == pytest.approx(getattr(simulated, name) / 1000, rel=0.2,
                                                    abs=20 if series == rare else 0)


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


def test_truth_reports_what_the_device_counts(sim):
    truth = sim.truth(local(2025, 1, 20), local(2025, 1, 21))
    # defrosts: the device counts gross heat, the house got less
    assert truth.device_heat_heating_wh > truth.heat_heating_wh
    assert truth.defrosts > 0
    # the device's electricity leaves out standby and reads low
    assert truth.device_electricity_heating_wh + truth.device_electricity_dhw_wh < \
        truth.electricity_wh


def test_truth_of_partial_minutes_counts_pro_rata(sim):
    a = local(2025, 1, 20, 6, 0, 15)
    whole = sim.truth(local(2025, 1, 20, 6), local(2025, 1, 20, 6, 1))
    part = sim.truth(a, a + timedelta(seconds=30))
    assert part.electricity_wh == pytest.approx(whole.electricity_wh / 2)
    assert part.compressor_starts == 0  # events only count in whole minutes


# --- determinism and live use --------------------------------------------------------------


def test_same_seed_same_data_different_seed_different():
    a = Simulator(3, local(2025, 11, 1), BERLIN)
    b = Simulator(3, local(2025, 11, 1), BERLIN)
    c = Simulator(4, local(2025, 11, 1), BERLIN)
    span = (local(2025, 11, 2), local(2025, 11, 3))
    assert np.array_equal(a.meter_arrays(*span).power_w, b.meter_arrays(*span).power_w)
    assert list(a.pump_states(*span)) == list(b.pump_states(*span))
    assert a.device_totals_kwh(span[1]) == b.device_totals_kwh(span[1])
    assert not np.array_equal(a.meter_arrays(*span).power_w, c.meter_arrays(*span).power_w)
    assert a.device_totals_kwh(span[1]) != c.device_totals_kwh(span[1])


def test_live_queries_equal_one_backfill():
    """Polling every 10 s (live mode, a one-chunk cache evicted and recomputed) gives
    exactly what one query over the whole range gives."""
    start = local(2025, 11, 1)
    whole = Simulator(5, start, BERLIN)
    live = Simulator(5, start, BERLIN, cache_chunks=1)
    t0 = local(2025, 11, 2, 23, 50)
    t1 = t0 + timedelta(minutes=30)  # crosses a chunk boundary
    arr = whole.meter_arrays(t0, t1)
    states = list(whole.pump_states(t0, t1))
    steps, got_states, totals = [], [], []
    t, polls = t0, 0
    while t < t1:
        steps.append(live.meter_step(t))
        if polls % 30 == 0:
            got_states.append(live.pump_state(t))
            totals.append(live.device_totals_kwh(t))
        polls += 1
        if polls % 45 == 0:
            live.meter_step(start)  # evict: the next chunk is recomputed from its state
        t += timedelta(seconds=10)
    assert len(steps) == len(arr) == 180
    assert [(s.time_s, s.power_w, s.energy_import_wh, s.uptime_s) for s in steps] == list(
        zip(arr.time_s.tolist(), arr.power_w.tolist(), arr.energy_import_wh.tolist(),
            arr.uptime_s.tolist(), strict=True))
    assert got_states == states and len(states) == 6
    assert totals == [whole.device_totals_kwh(s.time) for s in states]


def test_a_recomputed_chunk_is_identical():
    start = local(2025, 11, 1)
    sim = Simulator(5, start, BERLIN, cache_chunks=1)
    span = (local(2025, 11, 1, 6), local(2025, 11, 1, 9))
    first = sim.meter_arrays(*span)
    first_minutes = sim.minutes(*span)
    sim.meter_arrays(local(2025, 11, 4), local(2025, 11, 4, 1))  # evicts the first chunk
    again = sim.meter_arrays(*span)
    for name in ("time_s", "power_w", "energy_import_wh", "uptime_s"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    again_minutes = sim.minutes(*span)
    assert all(np.array_equal(first_minutes[k], again_minutes[k]) for k in first_minutes)


def test_start_is_floored_to_the_minute_and_nothing_before_it():
    sim = Simulator(1, datetime(2025, 5, 1, 10, 0, 37, tzinfo=UTC), "Europe/Berlin")
    assert sim.start == datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    assert sim.tz == BERLIN
    hour_before = datetime(2025, 5, 1, 9, tzinfo=UTC)
    assert len(sim.meter_arrays(hour_before, sim.start)) == 0
    assert list(sim.pump_states(hour_before, sim.start)) == []
    assert sim.meter_step(sim.start - timedelta(seconds=1)) is None
    assert sim.pump_state(sim.start - timedelta(seconds=1)) is None
    assert sim.meter_arrays(hour_before, sim.start + timedelta(seconds=10)).time_s.tolist() \
        == [int(sim.start.timestamp())]


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="zone"):
        Simulator(1, datetime(2025, 1, 1), BERLIN)
    sim = Simulator(1, YEAR_START, BERLIN)
    naive = datetime(2025, 1, 1, 12)
    for query in (lambda: sim.meter_arrays(naive, naive + timedelta(hours=1)),
                  lambda: sim.meter_step(naive), lambda: sim.pump_state(naive),
                  lambda: sim.device_totals_kwh(naive)):
        with pytest.raises(ValueError, match="zone"):
            query()
    with pytest.raises(ValueError, match="zone"):
        Simulator(1, YEAR_START, BERLIN, scenarios=[CopDrop(datetime(2025, 1, 2))])


@pytest.mark.parametrize(("scenario", "reason"), [
    (Outage("meter", local(2025, 1, 2), local(2025, 1, 1)), "end after"),
    (Fault(local(2025, 1, 2), local(2025, 1, 2)), "end after"),
    (Outage("bot", local(2025, 1, 1), local(2025, 1, 2)), "source"),  # type: ignore[arg-type]
    (MeterReboot(local(2025, 1, 2), offline_s=-1), "negative"),
    (CopDrop(local(2025, 1, 2), factor=0), "factor"),
    (CopDrop(local(2025, 1, 2), factor=2), "factor"),
])
def test_bad_scenarios_are_refused(scenario, reason):
    with pytest.raises(ValueError, match=reason):
        Simulator(1, YEAR_START, BERLIN, scenarios=[scenario])


# --- scenarios -----------------------------------------------------------------------------


def test_meter_outage_leaves_a_gap_and_the_counter_keeps_counting():
    start = local(2025, 1, 5)
    gap = (local(2025, 1, 5, 8), local(2025, 1, 5, 11))
    sim = Simulator(9, start, BERLIN, scenarios=[Outage("meter", *gap)])
    plain = Simulator(9, start, BERLIN)
    arr = sim.meter_arrays(start, local(2025, 1, 5, 14))
    t = arr.time_s
    assert not ((t >= gap[0].timestamp()) & (t < gap[1].timestamp())).any()
    i = int(np.searchsorted(t, gap[0].timestamp())) - 1
    assert t[i + 1] - t[i] == 3 * 3600 + 10
    jump = arr.energy_import_wh[i + 1] - arr.energy_import_wh[i]
    assert jump == pytest.approx(sim.truth(utc(t[i]), utc(t[i + 1])).electricity_wh, abs=0.02)
    assert jump > 1000  # three winter hours of running
    # offline inside, back at the end; outside the gap the meter is the plain one's
    assert sim.meter_step(gap[0]) is None and sim.meter_step(gap[1] - timedelta(seconds=1)) \
        is None
    assert sim.meter_step(gap[1]) == plain.meter_step(gap[1])
    whole = plain.meter_arrays(start, local(2025, 1, 5, 14))
    keep = (whole.time_s < gap[0].timestamp()) | (whole.time_s >= gap[1].timestamp())
    assert np.array_equal(whole.energy_import_wh[keep], arr.energy_import_wh)
    # the heat pump source is unaffected
    assert len(list(sim.pump_states(*gap))) == 36


def test_heatpump_outage_drops_only_its_states():
    start = local(2025, 1, 5)
    gap = (local(2025, 1, 5, 8), local(2025, 1, 5, 9))
    sim = Simulator(9, start, BERLIN, scenarios=[Outage("heatpump", *gap)])
    plain = Simulator(9, start, BERLIN)
    assert list(sim.pump_states(*gap)) == []
    assert sim.pump_state(gap[0]) is None
    assert sim.pump_state(gap[1]) == plain.pump_state(gap[1])
    assert len(list(sim.pump_states(local(2025, 1, 5, 9), local(2025, 1, 5, 10)))) == 12
    assert len(sim.meter_arrays(*gap)) == 360
    # the device keeps running and counting while unreachable
    assert sim.truth(*gap) == plain.truth(*gap)
    assert sim.device_totals_kwh(gap[1]) == plain.device_totals_kwh(gap[1])


def test_fault_locks_the_compressor_and_is_reported():
    start = local(2025, 1, 20)
    fault = Fault(local(2025, 1, 21, 6), local(2025, 1, 21, 12))
    sim = Simulator(11, start, BERLIN, scenarios=[fault])
    plain = Simulator(11, start, BERLIN)
    during = list(sim.pump_states(fault.start, fault.end))
    assert len(during) == 72
    for s in during:
        assert s.mode == "locked"
        assert s.values["compressor_active"] is False
        assert s.values["compressor_phase"] == "off"
        (msg,) = s.messages
        assert (msg.kind, msg.code, msg.priority, msg.since) == (
            "error", "F.1100", "criticalError", fault.start)
    m = sim.minutes(fault.start, fault.end)
    assert (m["mode"] == LOCKED).all() and (m["heat_heating_w"] == 0).all()
    assert m["fault"].all()
    assert m["room_c"][-1] < plain.minutes(fault.start, fault.end)["room_c"][-1] - 0.3
    assert during[-1].values["supply_temp_c"] < during[0].values["supply_temp_c"] - 3
    after = list(sim.pump_states(fault.end, fault.end + timedelta(hours=1)))
    assert all(not s.messages for s in after)
    assert any(s.values["compressor_active"] for s in after)
    # before the fault both runs are identical
    early = (local(2025, 1, 20, 12), local(2025, 1, 21))
    assert list(sim.pump_states(*early)) == list(plain.pump_states(*early))


def test_fault_can_be_reported_without_stopping():
    start = local(2025, 1, 20)
    fault = Fault(local(2025, 1, 20, 6), None, code="A.11", priority="warning",
                  stops_compressor=False)
    sim = Simulator(11, start, BERLIN, scenarios=[fault])
    states = list(sim.pump_states(local(2025, 1, 20, 12), local(2025, 1, 20, 13)))
    assert all(s.messages[0].code == "A.11" for s in states)
    assert any(s.values["compressor_active"] for s in states)
    before = sim.pump_state(local(2025, 1, 20, 5, 59))
    assert before is not None and before.messages == ()


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


def test_cop_drop_ends():
    start = local(2025, 2, 1)
    drop = CopDrop(local(2025, 2, 3), factor=0.7, end=local(2025, 2, 5))
    sim = Simulator(13, start, BERLIN, scenarios=[drop])
    plain = Simulator(13, start, BERLIN)
    later = (local(2025, 2, 8), local(2025, 2, 15))  # the house has settled again
    assert sim.truth(*later).cop == pytest.approx(plain.truth(*later).cop, rel=0.02)


def test_house_options_scale_the_load():
    span = (local(2025, 1, 10), local(2025, 1, 17))
    small = Simulator(2, local(2025, 1, 3), BERLIN, house=House(design_load_kw=4.0))
    big = Simulator(2, local(2025, 1, 3), BERLIN, house=House(design_load_kw=8.0),
                    heat_pump=HeatPumpModel(rated_heat_kw=9.0))
    ratio = big.truth(*span).heat_heating_wh / small.truth(*span).heat_heating_wh
    assert 1.6 < ratio < 2.4


@pytest.mark.parametrize("resets", [True, False])
@pytest.mark.parametrize("offset_s", [3 * 3600 + 3, 86400 - 5, 86400])  # mid-chunk, edges
def test_meter_reboot(resets, offset_s):
    start = local(2025, 1, 5)
    at = start + timedelta(seconds=offset_s)
    sim = Simulator(9, start, BERLIN, scenarios=[MeterReboot(at, 30.0, resets)])
    arr = sim.meter_arrays(at - timedelta(minutes=5), at + timedelta(minutes=10))
    times = [utc(t) for t in arr.time_s.tolist()]
    k = next(i for i, t in enumerate(times) if t >= at)
    assert (times[k] - at).total_seconds() >= 30  # offline while booting
    assert sim.meter_step(at + timedelta(seconds=29)) is None
    assert arr.uptime_s[k] < 45 < arr.uptime_s[k - 1]
    assert (np.diff(arr.uptime_s[k:]) == 10).all()
    counters = arr.energy_import_wh[k:].tolist()
    assert counters == sorted(counters)
    since_boot = sim.truth(at, times[k]).electricity_wh
    if resets:
        assert arr.energy_import_wh[k] == pytest.approx(since_boot, abs=0.02)
    else:
        gap = sim.truth(times[k - 1], times[k]).electricity_wh
        assert arr.energy_import_wh[k] - arr.energy_import_wh[k - 1] == pytest.approx(
            gap, abs=0.02)
    # the truth is untouched by what the meter shows
    plain = Simulator(9, start, BERLIN)
    span = (at - timedelta(minutes=5), at + timedelta(minutes=10))
    assert sim.truth(*span) == plain.truth(*span)


def test_meter_reboot_counts_on_from_zero_for_days():
    """After a resetting reboot the counter keeps integrating from its new zero (also in
    later chunks, which start from the saved state)."""
    start = local(2025, 1, 5)
    at = local(2025, 1, 5, 12)
    sim = Simulator(9, start, BERLIN, scenarios=[MeterReboot(at, 0.0, True)])
    later = local(2025, 1, 8, 3)
    step = sim.meter_step(later)
    assert step is not None
    assert step.energy_import_wh == pytest.approx(sim.truth(at, utc(step.time_s)).electricity_wh,
                                                  abs=0.02)
    assert step.uptime_s == step.time_s - int(at.timestamp())


def test_minutes_carry_time_mode_and_events(year):
    assert (np.diff(year["time_s"]) == 60).all()
    assert len(year["time_s"]) == 365 * 1440
    assert set(np.unique(year["mode"]).tolist()) <= {IDLE, HEAT, DHW, DEFROST, LOCKED}
    assert year["started"].dtype == bool
    assert not year["fault"].any()


def test_a_pump_report_reads_the_chunks_own_numbers() -> None:
    """`pump_state` reads its minute from per-chunk lists (made once per chunk): the same
    numbers as the chunk's numpy columns, with the minute's own noise, rod included."""
    from simhouse.house import MINUTES_PER_CHUNK

    sim = Simulator(3, datetime(2026, 1, 10, tzinfo=UTC), BERLIN)
    for minutes in (0, 7, 301, 1439, 1440, 2000, 2879):
        when = sim.start + timedelta(minutes=minutes, seconds=2)
        state = sim.pump_state(when)
        assert state is not None
        chunk, k = sim._chunk(minutes // MINUTES_PER_CHUNK), minutes % MINUTES_PER_CHUNK
        m = chunk.minutes
        noise = np.random.default_rng([3, 4, chunk.index, k]).normal(0.0, 0.05, 4)
        v = state.values
        assert [v["outside_temp_c"], v["supply_temp_c"], v["return_temp_c"],
                v["dhw_temp_c"]] == [round(float(m[c][k] + noise[i]), 1) for i, c in
                                     enumerate(("outdoor_c", "supply_c", "return_c", "dhw_c"))]
        assert state.mode == MODE_NAMES[int(chunk.mode[k])]
        assert v["compressor_hours_h"] == float(chunk.run_s[k]) / 3600.0
        assert v["compressor_starts"] == int(chunk.starts[k])
        assert v["compressor_modulation_pct"] == float(round(m["modulation"][k]))
        assert v["flow_l_h"] == float(round(m["flow_l_h"][k]))
        assert v["heating_supply_target_temp_c"] == round(float(m["flow_target_c"][k]), 1)
        assert v["heating_mode"] == ("dhw" if m["dhw_only"][k] else "heating")
        assert v["heating_rod_hours_h"] == float(chunk.rod["run_s"][k]) / 3600.0
        assert v["heating_rod_starts"] == int(chunk.rod["starts"][k])
        assert v["heating_rod_runtime_level1_s"] == float(chunk.rod["level1_s"][k])
        assert v["heating_rod_active"] == (int(m["rod_level"][k]) > 0)


def test_device_totals_read_the_chunks_own_numbers() -> None:
    """`device_totals_kwh` (asked at every heat pump poll) reads per-chunk lists: the same
    floats as the chunk's numpy columns, between minutes too."""
    from simhouse.house import _DEVICE_POWER, MINUTES_PER_CHUNK

    sim = Simulator(3, datetime(2026, 1, 10, tzinfo=UTC), BERLIN)
    for seconds in (0, 61.5, 3600 * 7 + 2, 86399.25, 86400 + 30, 2 * 86400 - 1):
        t_s = sim.origin_s + seconds
        got = sim.device_totals_kwh(t_s)
        minute = int(seconds // 60)
        chunk, k = sim._chunk(minute // MINUTES_PER_CHUNK), minute % MINUTES_PER_CHUNK
        frac = (t_s - chunk.t0_s - 60 * k) / 60.0
        assert list(got) == list(COUNTER_SERIES)
        for series in COUNTER_SERIES:
            want = float(chunk.totals[series][k]
                         + frac * chunk.minutes[_DEVICE_POWER[series]][k] / 60_000.0)
            assert repr(got[series]) == repr(want), (seconds, series)


@pytest.mark.parametrize("seed", [0, 7, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3])
def test_sensor_noise_seed_gives_the_draws_of_the_list(seed):
    """A report's sensor noise comes from numpy's generator seeded with [seed, 4, chunk,
    minute]; handed over as uint32 words (a seed of one word) it is the same stream."""
    sim = Simulator(seed, datetime(2025, 1, 1, tzinfo=UTC), "Europe/Berlin")
    for index, k in ((0, 0), (3, 719), (400, 1439)):
        got = np.random.default_rng(sim._noise_seed(index, k)).normal(0.0, 0.05, 4)
        want = np.random.default_rng([seed, 4, index, k]).normal(0.0, 0.05, 4)
        assert got.tolist() == want.tolist()
    assert isinstance(sim._noise_seed(0, 0), np.ndarray) == (seed < 2 ** 32)
