"""The simulated Vitocal (simhouse.vitocal): its energy counters and its Viessmann API answers.

The answers are read with the real readers (PyViCare, collector.vicare.mapping); every
counter is checked against the exact energy the physics accumulated
(`Simulator.device_totals_kwh`, itself the integral of the device columns), truncated to
0.1 kWh as the real counters are.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PyViCare.PyViCare import PyViCare
from PyViCare.PyViCareUtils import PyViCareDeviceCommunicationError

from collector.readings import HeatPumpSample
from collector.vicare.mapping import map_sample
from collector.vicare.offline import OfflineOAuthManager
from collector.vicare.reader import HEATPUMP_MODELS
from heatpump.schema import HEATPUMP
from simhouse.house import COUNTER_SERIES, ROD_SERIES, Fault, Outage, Simulator
from simhouse.vitocal import (
    DEVICE_OFFLINE,
    LISTING_PATH,
    NOT_FOUND,
    SimulatedVitocal,
    VitocalQuirks,
)
from tests.simhouse.clock import BERLIN, Clock, local

SEED = 7
START = datetime(2025, 1, 1, tzinfo=BERLIN)
SUMMARY = {"heat": "heating.heat.production.summary",
           "electricity": "heating.power.consumption.summary",
           "heating_rod": "heating.heatingRod.power.consumption.summary"}
SUMMARY_PROPS = ("currentDay", "currentMonth", "currentYear", "lastMonth", "lastSevenDays",
                 "lastYear")
CURRENT_PROPS = ("currentDay", "currentMonth", "currentYear")
ARRAYS = ("day", "week", "month", "year")


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SEED, START, BERLIN)


def vitocal(sim: Simulator, at: datetime | None = None, **quirks: Any) -> SimulatedVitocal:
    return SimulatedVitocal(sim, Clock(at or sim.start), quirks=VitocalQuirks(**quirks))


def data(v: SimulatedVitocal, now: datetime) -> list[dict[str, Any]]:
    body = v.features(now)
    assert body is not None
    return body["data"]


def props(v: SimulatedVitocal, now: datetime, feature: str) -> dict[str, Any]:
    (found,) = [f for f in data(v, now) if f["feature"] == feature]
    return found["properties"]


def values(v: SimulatedVitocal, now: datetime, feature: str) -> dict[str, Any]:
    """Every property's value of one feature."""
    return {k: p["value"] for k, p in props(v, now, feature).items()}


def sample(v: SimulatedVitocal, now: datetime) -> HeatPumpSample:
    return map_sample(data(v, now), "sim", now)


def trunc(kwh: float) -> float:
    """Truncated to the counters' 0.1 kWh (float error of the exact sum aside)."""
    return max(0.0, math.floor(kwh * 10.0 + 1e-6) / 10.0)


def energy(sim: Simulator, series: str, a: datetime, b: datetime) -> float:
    """kWh the device's counters accumulated for `series` in [a, b)."""
    return sim.device_totals_kwh(b)[series] - sim.device_totals_kwh(a)[series]


def midnight(d: date, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=tz)


def expected_summary(sim: Simulator, series: str, now: datetime,
                     tz: ZoneInfo = BERLIN, lag: timedelta = timedelta(0)) -> dict[str, float]:
    """What the summary feature of `series` says at `now` for a device whose periods start
    `lag` after local midnight in `tz`."""
    today = (now - lag).astimezone(tz).date()

    def start(d: date) -> datetime:
        return midnight(d, tz) + lag

    month = start(today.replace(day=1))
    last_month = start((today.replace(day=1) - timedelta(days=1)).replace(day=1))
    year = start(date(today.year, 1, 1))
    return {
        "currentDay": trunc(energy(sim, series, start(today), now)),
        "currentMonth": trunc(energy(sim, series, month, now)),
        "currentYear": trunc(energy(sim, series, year, now)),
        "lastMonth": trunc(energy(sim, series, last_month, month)),
        "lastSevenDays": trunc(energy(sim, series, start(today - timedelta(days=6)), now)),
        "lastYear": trunc(energy(sim, series, start(date(today.year - 1, 1, 1)), year)),
    }


def summary_values(v: SimulatedVitocal, now: datetime, series: str) -> dict[str, float]:
    kind, circuit = series.split(".")
    return values(v, now, f"{SUMMARY[kind]}.{circuit}")


def all_counter_values(v: SimulatedVitocal, now: datetime) -> list[float]:
    """Every energy figure of the answer: the summaries and the arrays."""
    out: list[float] = []
    for f in data(v, now):
        name = f["feature"]
        if name.startswith(tuple(SUMMARY.values())):
            out.extend(p["value"] for p in f["properties"].values())
        elif name.startswith("heating.power.consumption."):
            for a in ARRAYS:
                out.extend(f["properties"][a]["value"])
    return out


# --- the answers, read by the real readers --------------------------------------------------


def test_answers_map_to_the_pump_state(sim):
    now = local(2025, 1, 10, 12, 3, 17)
    v = vitocal(sim)
    s = sample(v, now)
    state = sim.pump_state(now)
    assert state is not None
    for name, value in state.values.items():
        if name in ("compressor_hours_h", "compressor_modulation_pct", "heating_rod_hours_h") \
                or name.startswith(("heating_rod_level", "heating_rod_runtime")):
            continue  # the device rounds hours; the 250-A has no modulation sensor and
            # reports its rod's statistics, not its state or running time per level
        assert s.values[name] == value, name
    assert s.values["compressor_hours_h"] == math.floor(state.values["compressor_hours_h"])
    assert s.values["heating_rod_hours_h"] == math.floor(state.values["heating_rod_hours_h"])
    assert not any(n.startswith(("heating_rod_level", "heating_rod_runtime")) for n in s.values)
    assert s.values["compressor_hours_resolution_h"] == 1.0
    assert "compressor_modulation_pct" not in s.values
    assert s.values["heating_target_temp_c"] == sim.house.room_c
    assert s.values["heating_program"] == "normalHeating"
    assert s.values["error_count"] == 0 and s.messages == ()
    types = {"float": float, "int": int, "bool": bool, "str": str}
    for name, value in s.values.items():
        assert type(value) is types[HEATPUMP.field(name).type], name
    periods = ("day", "month", "year", "last_month", "last_year")
    assert set(s.counters) == {f"{series}.{p}" for series in COUNTER_SERIES for p in periods}
    for value in s.counters.values():
        assert value == round(value, 1) and value >= 0


def test_every_feature_is_stamped_and_addressed(sim):
    now = datetime(2025, 1, 10, 11, 3, 17, 250_000, tzinfo=UTC)
    v = vitocal(sim)
    features = data(v, now)
    names = [f["feature"] for f in features]
    assert len(names) == len(set(names))
    for f in features:
        assert f["timestamp"] == "2025-01-10T11:03:17.250Z"
        assert f["isEnabled"] is True and f["deviceId"] == v.device_id
        assert f["gatewayId"] == v.gateway
        assert f["uri"].endswith(f"/devices/{v.device_id}/features/{f['feature']}")


def test_pyvicare_lists_the_device_and_fetches_its_features(sim):
    clock = Clock(local(2025, 1, 10, 12))
    v = SimulatedVitocal(sim, clock)
    vicare = PyViCare()
    vicare.setCacheDuration(0)
    vicare.initWithExternalOAuth(OfflineOAuthManager(v.answer))
    (config,) = vicare.devices
    assert (config.device_model, config.device_id, config.accessor.serial) == (
        "E3_Vitocal_250A", v.device_id, v.gateway)
    assert HEATPUMP_MODELS.search(config.device_model)
    body = config.service.fetch_all_features(config.accessor)
    assert body == v.features(clock.now)
    # PyViCare's getters, through its cached service (one all-features answer; the
    # simulated cloud, like the collector, has no single-feature requests)
    cached = PyViCare()
    cached.setCacheDuration(60)
    cached.initWithExternalOAuth(OfflineOAuthManager(v.answer))
    device = cached.devices[0].asAutoDetectDevice()
    state = sim.pump_state(clock.now)
    assert state is not None
    assert device.getOutsideTemperature() == state.values["outside_temp_c"]
    # PyViCare's own getters read the counters this project does not map
    heating = summary_values(v, clock.now, "electricity.heating")
    assert device.getPowerSummaryConsumptionHeatingLastSevenDays() == heating["lastSevenDays"]
    assert device.getPowerConsumptionToday() == values(
        v, clock.now, "heating.power.consumption.total")["day"][0]


def test_routes(sim):
    clock = Clock(local(2025, 1, 10, 12))
    v = SimulatedVitocal(sim, clock)
    assert v.answer(LISTING_PATH) == (200, v.listing())
    path = (f"/features/installations/{v.listing()['data'][0]['id']}/gateways/{v.gateway}"
            f"/devices/{v.device_id}/features/")
    assert v.answer(path) == (200, v.features(clock.now))
    assert v.answer(path.rstrip("/")) == (200, v.features(clock.now))
    assert v.answer(path.replace(f"/devices/{v.device_id}/", "/devices/1/")) == NOT_FOUND
    assert v.answer("/somewhere") == NOT_FOUND
    clock.now += timedelta(hours=1)  # the answer is at the clock's time
    assert v.answer(path) == (200, v.features(clock.now))


def test_unreachable_during_a_heatpump_outage():
    gap = (local(2025, 1, 10, 13), local(2025, 1, 10, 14))
    sim = Simulator(SEED, START, BERLIN, scenarios=[Outage("heatpump", *gap)])
    clock = Clock(gap[0])
    v = SimulatedVitocal(sim, clock)
    assert v.features(gap[0]) is None
    vicare = PyViCare()
    vicare.setCacheDuration(0)
    vicare.initWithExternalOAuth(OfflineOAuthManager(v.answer))  # the listing still answers
    (config,) = vicare.devices
    path = (f"/features/installations/{v.listing()['data'][0]['id']}/gateways/{v.gateway}"
            f"/devices/{v.device_id}/features/")
    assert v.answer(path) == DEVICE_OFFLINE
    with pytest.raises(PyViCareDeviceCommunicationError):
        config.service.fetch_all_features(config.accessor)
    clock.now = gap[1]
    assert config.service.fetch_all_features(config.accessor) == v.features(gap[1])


def test_fault_is_reported_as_an_error_message():
    fault = Fault(local(2025, 1, 21, 6), local(2025, 1, 21, 12), code="F.454",
                  priority="warning")
    sim = Simulator(11, local(2025, 1, 20), BERLIN, scenarios=[fault])
    v = vitocal(sim)
    during = sample(v, local(2025, 1, 21, 8))
    assert during.values["error_count"] == 1
    assert during.values["compressor_active"] is False
    assert during.values["compressor_phase"] == "off"
    (msg,) = during.messages
    assert (msg.kind, msg.code, msg.priority, msg.since) == (
        "error", "F.454", "warning", fault.start)
    after = sample(v, fault.end)
    assert after.values["error_count"] == 0 and after.messages == ()


# --- the counters ---------------------------------------------------------------------------


@pytest.mark.parametrize("now", [
    local(2025, 3, 12, 15, 37, 21),  # the last month and year from the prior estimate
    local(2025, 11, 3, 0, 2, 5),  # a Monday just after midnight
    local(2025, 10, 26, 23, 59, 59),  # the 25-hour day
])
def test_summary_counters_are_the_exact_energy_truncated(sim, now):
    v = vitocal(sim)
    for series in COUNTER_SERIES:
        assert summary_values(v, now, series) == expected_summary(sim, series, now), series
    for p in props(v, now, "heating.heat.production.summary.heating").values():
        assert p["unit"] == "kilowattHour" and p["type"] == "number"


def test_day_counter_is_the_truth_of_the_device_columns(sim):
    day = local(2025, 1, 20)
    for hours in (1, 6.5, 23.9):
        now = day + timedelta(hours=hours)
        truth = sim.truth(day, now)
        s = sample(vitocal(sim), now).counters
        assert s["heat.heating.day"] == trunc(truth.device_heat_heating_wh / 1000)
        assert s["heat.dhw.day"] == trunc(truth.device_heat_dhw_wh / 1000)
        assert s["electricity.heating.day"] == trunc(
            truth.device_electricity_heating_wh / 1000)
        assert s["electricity.dhw.day"] == trunc(truth.device_electricity_dhw_wh / 1000)
        # truncated, never ahead, and less than 0.1 kWh behind
        exact = truth.device_heat_heating_wh / 1000
        assert exact - 0.1 < s["heat.heating.day"] <= exact + 1e-9


def period_starts(now: datetime) -> tuple[list[datetime], ...]:
    """The starts of the periods a device's arrays hold at `now`, newest first: 8 days,
    5 weeks (from Mondays), 13 months, 2 years (local midnights)."""
    today = now.date()
    days = [midnight(today - timedelta(days=i)) for i in range(8)]
    monday = today - timedelta(days=today.weekday())
    weeks = [midnight(monday - timedelta(weeks=i)) for i in range(5)]
    months = []
    y, m = today.year, today.month
    for _ in range(13):
        months.append(midnight(date(y, m, 1)))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    years = [midnight(date(today.year - i, 1, 1)) for i in range(2)]
    return days, weeks, months, years


@pytest.mark.parametrize("now", [local(2025, 3, 12, 15, 37, 21), local(2025, 11, 3, 0, 2, 5)])
def test_arrays_are_the_exact_energy_per_period(sim, now):
    v = vitocal(sim)
    days, weeks, months, years = period_starts(now)
    for circuit, parts in (("total", ("heating", "dhw")), ("heating", ("heating",)),
                           ("dhw", ("dhw",))):
        def used(a: datetime, b: datetime, parts: tuple[str, ...] = parts) -> float:
            return sum(energy(sim, f"electricity.{c}", a, b) for c in parts)

        def array(starts: list[datetime]) -> list[float]:
            ends = [now, *starts[:-1]]
            return [trunc(used(a, b)) for a, b in zip(starts, ends, strict=True)]

        got = props(v, now, f"heating.power.consumption.{circuit}")
        assert got["day"]["value"] == array(days)
        assert got["week"]["value"] == array(weeks)
        assert got["month"]["value"] == array(months)
        assert got["year"]["value"] == array(years)
        for name in ARRAYS:
            assert got[name]["unit"] == "kilowattHour"
            assert got[f"{name}ValueReadAt"]["value"] == (
                now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))


@pytest.mark.parametrize(("day", "hours"), [((2025, 3, 30), 23), ((2025, 10, 26), 25),
                                            ((2025, 1, 15), 24)])
def test_day_counters_reset_at_local_midnight(sim, day, hours):
    """Monotonic within a local day (also the 23 h and 25 h DST days), reset at local
    midnight, and equal to the truth of the device's own accounting."""
    d0 = local(*day)
    d1 = (d0 + timedelta(days=1, hours=2)).replace(hour=0)
    assert (d1.astimezone(UTC) - d0.astimezone(UTC)) == timedelta(hours=hours)
    v = vitocal(sim)
    times = [t.astimezone(BERLIN) for t in sim_times(d0 - timedelta(hours=2),
                                                      d1 + timedelta(hours=2))]
    series = [(t, sample(v, t).counters["heat.heating.day"]) for t in times]
    before = [x for t, x in series if t < d0]
    inside = [x for t, x in series if d0 <= t < d1]
    after = [x for t, x in series if t >= d1]
    assert len(inside) == hours * 12
    assert all(b >= a for a, b in itertools.pairwise(inside))
    assert inside[0] < before[-1]  # reset at local midnight, not at UTC midnight
    assert inside[0] <= 0.5 and after[0] <= 0.5
    for t, x in series:
        start = d0 if d0 <= t < d1 else (d1 if t >= d1 else d0 - timedelta(days=1))
        assert x == trunc(sim.truth(start, t).device_heat_heating_wh / 1000)


def sim_times(start: datetime, end: datetime, step: timedelta = timedelta(minutes=5)
              ) -> list[datetime]:
    """Poll times every `step` in UTC (adding to a local time would skip DST hours)."""
    t, out = start.astimezone(UTC), []
    while t < end:
        out.append(t)
        t += step
    return out


def test_month_and_year_counters_reset():
    start = local(2025, 12, 30)
    sim = Simulator(SEED, start, BERLIN)
    v = vitocal(sim)
    new_year = local(2026, 1, 1)
    times = [t.astimezone(BERLIN) for t in sim_times(start, local(2026, 1, 2))]
    samples = [sample(v, t).counters for t in times]
    at = next(i for i, t in enumerate(times) if t >= new_year)
    for period in ("month", "year"):
        for series in COUNTER_SERIES:
            key = f"{series}.{period}"
            assert samples[at][key] == trunc(energy(sim, series, new_year, times[at]))
            values_ = [s[key] for s in samples[:at]]
            assert values_ == sorted(values_)
    last = samples[at - 1]
    assert last["heat.heating.year"] > last["heat.heating.month"] > last["heat.heating.day"] > 20
    # the closed periods move on: December and 2025 (the prior estimate, then simulated)
    first = samples[at]
    for series in COUNTER_SERIES:
        assert first[f"{series}.last_month"] == trunc(
            energy(sim, series, local(2025, 12, 1), new_year))
        assert first[f"{series}.last_year"] == trunc(
            energy(sim, series, local(2025, 1, 1), new_year))
    assert first["heat.heating.last_month"] >= last["heat.heating.month"]


def test_counters_start_like_a_used_device():
    """Started mid-month, the month and year counters already hold a plausible estimate
    (from the mean climate), and the day counter what was used since local midnight."""
    start = local(2025, 3, 15, 14)
    sim = Simulator(SEED, start, BERLIN)
    c = sample(vitocal(sim), start).counters
    assert 15 < c["heat.heating.day"] < 60
    assert 500 < c["heat.heating.month"] < 1500
    assert 3000 < c["heat.heating.year"] < 7000
    assert 60 < c["heat.dhw.month"] < 150
    cop = c["heat.heating.year"] / c["electricity.heating.year"]
    assert 3.0 < cop < 5.0
    assert 8000 < c["heat.heating.last_year"] < 17000
    fresh = Simulator(SEED, START, BERLIN)
    f = sample(vitocal(fresh), START).counters
    for series in COUNTER_SERIES:  # started at the turn of the year
        for period in ("day", "month", "year"):
            assert f[f"{series}.{period}"] == 0.0
        if series == "heating_rod.heating":  # the mean climate never needs the rod
            assert f[f"{series}.last_month"] == 0.0
            continue
        assert f[f"{series}.last_month"] > 0 and f[f"{series}.last_year"] > 0
    # the weekly hygiene heat-ups (200 l from 50 to 60 °C: 2.3 kWh a week)
    assert 100 < f["heating_rod.dhw.last_year"] < 130


def test_compressor_hours_are_whole_hours_by_default(sim):
    v = vitocal(sim)
    times = [local(2025, 1, 10) + timedelta(minutes=5 * i) for i in range(288)]
    hours = []
    for t in times:
        raw = props(v, t, "heating.compressors.0.statistics")["hours"]["value"]
        state = sim.pump_state(t)
        assert state is not None
        assert type(raw) is int and raw == math.floor(state.values["compressor_hours_h"])
        hours.append(raw)
    assert hours == sorted(hours) and hours[-1] > hours[0]


# --- quirks ---------------------------------------------------------------------------------


def test_late_reset_keeps_counting_past_midnight(sim):
    lag = timedelta(hours=2)
    v = vitocal(sim, reset_lag=lag)
    plain = vitocal(sim)
    midnight_ = local(2025, 1, 21)
    before = sample(v, local(2025, 1, 20, 23, 55)).counters["heat.heating.day"]
    late = [sample(v, midnight_ + timedelta(minutes=m)).counters["heat.heating.day"]
            for m in (30, 119)]
    assert before < late[0] < late[1]  # still yesterday's counter
    assert sample(plain, midnight_ + timedelta(minutes=30)).counters["heat.heating.day"] < 5
    dropped = sample(v, local(2025, 1, 21, 2)).counters["heat.heating.day"]
    assert dropped == 0.0 < late[1]
    for now in (local(2025, 1, 21, 1, 59), local(2025, 1, 21, 2, 5),
                local(2025, 2, 1, 1, 30)):  # January still counts until 02:00
        for series in COUNTER_SERIES:
            assert summary_values(v, now, series) == expected_summary(sim, series, now,
                                                                      lag=lag)
    # the arrays follow the same clock
    arrays = values(v, local(2025, 1, 21, 1), "heating.power.consumption.heating")
    assert arrays["day"][0] == trunc(energy(sim, "electricity.heating",
                                            local(2025, 1, 20, 2), local(2025, 1, 21, 1)))


def test_early_reset_drops_before_midnight(sim):
    lag = -timedelta(minutes=5)
    v = vitocal(sim, reset_lag=lag)
    assert sample(v, local(2025, 1, 20, 23, 54)).counters["heat.heating.day"] > 20
    after = sample(v, local(2025, 1, 20, 23, 56)).counters["heat.heating.day"]
    assert after < 1
    for now in (local(2025, 1, 20, 23, 56), local(2025, 1, 21, 0, 10),
                local(2025, 1, 31, 23, 57)):  # February already counts
        for series in COUNTER_SERIES:
            assert summary_values(v, now, series) == expected_summary(sim, series, now,
                                                                      lag=lag)


@pytest.mark.parametrize(("zone", "now"), [
    ("UTC", local(2025, 1, 21, 0, 30)),  # 23:30 UTC: the device is still on the 20th
    ("UTC", local(2025, 1, 21, 1, 5)),
    ("UTC", local(2025, 7, 1, 1, 30)),  # summer: UTC midnight is 02:00 in Berlin
    ("America/New_York", local(2025, 3, 3, 5, 0)),
])
def test_other_zone_resets_at_the_devices_midnight(sim, zone, now):
    tz = ZoneInfo(zone)
    v = vitocal(sim, counter_tz=zone)
    for series in COUNTER_SERIES:
        assert summary_values(v, now, series) == expected_summary(sim, series, now, tz=tz)
    day = values(v, now, "heating.power.consumption.total")["day"]
    device_midnight = midnight(now.astimezone(tz).date(), tz)
    assert day[0] == trunc(energy(sim, "electricity.heating", device_midnight, now)
                           + energy(sim, "electricity.dhw", device_midnight, now))


def test_other_zone_differs_from_the_house(sim):
    now = local(2025, 1, 21, 0, 30)
    house = sample(vitocal(sim), now).counters["heat.heating.day"]
    utc_device = sample(vitocal(sim, counter_tz="UTC"), now).counters["heat.heating.day"]
    assert house < 5 < utc_device


def test_stale_arrays_keep_their_read_at(sim):
    since = local(2025, 1, 12, 9, 30)
    v = vitocal(sim, stale_arrays_from=since)
    plain = vitocal(sim)
    now = local(2025, 1, 15, 18)
    for circuit in ("total", "heating", "dhw"):
        feature = f"heating.power.consumption.{circuit}"
        assert values(v, now, feature) == values(plain, since, feature)
        assert values(v, now, feature)["dayValueReadAt"] == "2025-01-12T08:30:00.000Z"
        (f,) = [f for f in data(v, now) if f["feature"] == feature]
        assert f["timestamp"] == "2025-01-15T17:00:00.000Z"  # the feature itself is fresh
        # before they go stale they are the plain device's
        earlier = local(2025, 1, 11)
        assert values(v, earlier, feature) == values(plain, earlier, feature)
    # the summaries are not affected, so the mapping still reads fresh counters
    assert sample(v, now).counters == sample(plain, now).counters


def test_zero_answers_report_every_counter_as_zero(sim):
    span = (local(2025, 1, 15, 10), local(2025, 1, 15, 10, 10))
    v = vitocal(sim, zero_answers=(span,))
    plain = vitocal(sim)
    inside = span[0] + timedelta(minutes=5)
    counters = all_counter_values(v, inside)
    assert len(counters) > 50 and set(counters) == {0.0}
    s = sample(v, inside)
    assert set(s.counters.values()) == {0.0}
    assert s.values == sample(plain, inside).values  # only the counters glitch
    for now in (span[0] - timedelta(seconds=1), span[1]):
        assert data(v, now) == data(plain, now)
        assert max(all_counter_values(v, now)) > 0


def test_counter_dips_lower_the_current_counters_then_recover(sim):
    span = (local(2025, 1, 15, 10), local(2025, 1, 15, 10, 30))
    v = vitocal(sim, counter_dips=((span[0], span[1], 1.5),))
    plain = vitocal(sim)
    inside = span[0] + timedelta(minutes=10)
    for series in COUNTER_SERIES:
        got, exact = summary_values(v, inside, series), expected_summary(sim, series, inside)
        if series in ROD_SERIES:  # the heat pump's counters dip, not the rod's own
            assert got == exact, series
            continue
        day = local(2025, 1, 15)
        starts = {"currentDay": day, "currentMonth": local(2025, 1, 1),
                  "currentYear": local(2025, 1, 1)}
        for name in SUMMARY_PROPS:
            if name in CURRENT_PROPS:
                assert got[name] == trunc(energy(sim, series, starts[name], inside) - 1.5)
            else:
                assert got[name] == exact[name]
    assert sample(v, inside).counters["heat.heating.day"] < \
        sample(plain, inside).counters["heat.heating.day"] - 1.4
    assert data(v, span[1]) == data(plain, span[1])


def test_stuck_counters_hold_then_catch_up(sim):
    span = (local(2025, 1, 20, 22), local(2025, 1, 21, 4))  # across midnight
    v = vitocal(sim, stuck=(span,))
    plain = vitocal(sim)
    for minutes in (0, 90, 300):
        now = span[0] + timedelta(minutes=minutes)
        for series in COUNTER_SERIES:
            assert summary_values(v, now, series) == summary_values(plain, span[0], series)
        assert sample(v, now).values == sample(plain, now).values
    assert sample(v, span[1]).counters == sample(plain, span[1]).counters


def test_stuck_counters_hold_the_arrays_too(sim):
    span = (local(2025, 1, 20, 22), local(2025, 1, 21, 4))
    v = vitocal(sim, stuck=(span,))
    plain = vitocal(sim)
    now = span[0] + timedelta(minutes=90)
    for circuit in ("total", "heating", "dhw"):
        feature = f"heating.power.consumption.{circuit}"
        assert {a: values(v, now, feature)[a] for a in ARRAYS} == {
            a: values(plain, span[0], feature)[a] for a in ARRAYS}


def test_decimal_hours(sim):
    v = vitocal(sim, hours_resolution_h=0.1)
    hours = []
    for i in range(36):
        now = local(2025, 1, 10, 12) + timedelta(minutes=5 * i)
        state = sim.pump_state(now)
        assert state is not None
        raw = props(v, now, "heating.compressors.0.statistics")["hours"]["value"]
        assert type(raw) is float
        assert raw == math.floor(state.values["compressor_hours_h"] * 10 + 1e-9) / 10
        s = sample(v, now)
        assert s.values["compressor_hours_h"] == raw
        assert s.values["compressor_hours_resolution_h"] == 0.1
        hours.append(raw)
    assert hours == sorted(hours)
    assert len(set(hours)) > 20 and any(h != int(h) for h in hours)  # tenths, not hours


def test_no_heat_counters(sim):
    v = vitocal(sim, heat_counters=False)
    now = local(2025, 1, 10, 12)
    names = {f["feature"] for f in data(v, now)}
    assert not any(n.startswith("heating.heat.production") for n in names)
    counters = sample(v, now).counters
    assert counters and all(k.startswith(("electricity.", "heating_rod.")) for k in counters)
    assert counters == {k: x for k, x in sample(vitocal(sim), now).counters.items()
                        if k.startswith(("electricity.", "heating_rod."))}


def test_no_power_counters(sim):
    v = vitocal(sim, power_counters=False)
    now = local(2025, 1, 10, 12)
    names = {f["feature"] for f in data(v, now)}
    assert not any(n.startswith("heating.power.consumption") for n in names)
    counters = sample(v, now).counters
    assert counters and all(k.startswith("heat.") for k in counters)


def test_modulation_sensor(sim):
    v = vitocal(sim, modulation_sensor=True)
    now = local(2025, 1, 10, 12, 7)
    state = sim.pump_state(now)
    assert state is not None
    found = props(v, now, "heating.compressors.0.sensors.power")["value"]
    assert found["unit"] == "percent"
    s = sample(v, now)
    assert s.values["compressor_modulation_pct"] == state.values["compressor_modulation_pct"]
    assert s.values["compressor_modulation_pct"] > 0  # a cold day: the compressor runs


def test_no_power_summary_leaves_the_arrays_as_the_counters(sim):
    v = vitocal(sim, power_summary=False)
    now = local(2025, 1, 10, 12, 7)
    names = {f["feature"] for f in data(v, now)}
    assert not any(n.startswith("heating.power.consumption.summary") for n in names)
    s = sample(v, now)
    full = sample(vitocal(sim), now)
    # the mapping falls back to the arrays, as of their read-at (here: now)
    assert s.counters["electricity.total.day"] == values(
        v, now, "heating.power.consumption.total")["day"][0]
    assert s.counters_read_at["electricity.heating.year"] == now.astimezone(UTC)
    assert {k for k in s.counters if k.startswith("heat.")} == \
        {k for k in full.counters if k.startswith("heat.")}


def test_stale_arrays_without_a_summary_stay_as_they_were(sim):
    stale = local(2025, 1, 3, 8)
    v = vitocal(sim, power_summary=False, stale_arrays_from=stale)
    a, b = sample(v, local(2025, 1, 10, 12)), sample(v, local(2025, 1, 11, 12))
    assert a.counters_read_at["electricity.heating.day"] == stale.astimezone(UTC)
    assert {k: x for k, x in a.counters.items() if k.startswith("electricity.")} == \
        {k: x for k, x in b.counters.items() if k.startswith("electricity.")}


def test_no_flow_sensor(sim):
    v = vitocal(sim, flow_sensor=False)
    now = local(2025, 1, 10, 12)
    assert "heating.sensors.volumetricFlow.allengra" not in {f["feature"] for f in data(v, now)}
    assert "flow_l_h" not in sample(v, now).values
    assert "flow_l_h" in sample(vitocal(sim), now).values


def test_rated_output(sim):
    now = local(2025, 1, 10, 12)
    v = vitocal(sim, rated_output_kw=7.0)
    assert props(v, now, "heating.compressors.0.power")["value"] == {
        "type": "number", "unit": "kilowatt", "value": 7.0}
    assert sample(v, now).values["device_rated_heat_kw"] == 7.0
    assert "device_rated_heat_kw" not in sample(vitocal(sim), now).values


# --- the device's memory of its heat (heat arrays) -------------------------------------------


@pytest.mark.parametrize("now", [local(2025, 3, 12, 15, 37, 21), local(2025, 11, 3, 0, 2, 5)])
def test_heat_arrays_are_the_exact_heat_per_period(sim, now):
    v = vitocal(sim)
    days, weeks, months, years = period_starts(now)
    for circuit in ("heating", "dhw"):
        def array(starts: list[datetime], circuit: str = circuit) -> list[float]:
            ends = [now, *starts[:-1]]
            return [trunc(energy(sim, f"heat.{circuit}", a, b))
                    for a, b in zip(starts, ends, strict=True)]

        got = props(v, now, f"heating.heat.production.{circuit}")
        assert got["day"]["value"] == array(days)
        assert got["week"]["value"] == array(weeks)
        assert got["month"]["value"] == array(months)
        assert got["year"]["value"] == array(years)
        assert sum(got["month"]["value"][1:]) > 100  # a house in use, also before the origin
        for name in ARRAYS:
            assert got[name]["unit"] == "kilowattHour"
            assert got[f"{name}ValueReadAt"]["value"] == (
                now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def test_heat_arrays_follow_the_quirks(sim):
    now = local(2025, 1, 15, 18)
    since = local(2025, 1, 12, 9, 30)
    names = {f["feature"] for f in data(vitocal(sim, heat_arrays=False), now)}
    assert not {"heating.heat.production.heating", "heating.heat.production.dhw"} & names
    names = {f["feature"] for f in data(vitocal(sim, heat_counters=False), now)}
    assert "heating.heat.production.heating" not in names
    stale = values(vitocal(sim, stale_arrays_from=since), now, "heating.heat.production.dhw")
    assert stale == values(vitocal(sim), since, "heating.heat.production.dhw")
    span = (local(2025, 1, 15, 10), local(2025, 1, 15, 10, 10))
    zero = values(vitocal(sim, zero_answers=(span,)), local(2025, 1, 15, 10, 5),
                  "heating.heat.production.heating")
    assert all(x == 0.0 for a in ARRAYS for x in zero[a])
    # the heat arrays are the device's memory only: the counters the accounting reads stay
    assert sample(vitocal(sim), now).counters == sample(
        vitocal(sim, heat_arrays=False), now).counters


def test_truncation_never_goes_below_zero_and_keeps_the_steps() -> None:
    """The device's truncation to 0.1 kWh (at some sixty values per answer): the step
    below the value (with a 1e-6 guard for values a hair under a step), never negative,
    0.0 (not -0.0) at zero."""
    import random

    from simhouse.vitocal import _trunc

    rng = random.Random(5)
    values = [0.0, -0.0, 0.1, 0.3, 0.7, 1e-9, -1e-9, -0.05, -5.0, 2.9999999, 12345.6,
              *(rng.uniform(-50, 50000) for _ in range(2000))]
    for kwh in values:
        want = max(0.0, math.floor(kwh / 0.1 + 1e-6) / 10)
        assert repr(_trunc(kwh)) == repr(want), kwh


def test_each_answer_has_its_own_features_in_the_wire_order(sim) -> None:
    """A feature's envelope is kept per name and copied into each answer: the keys stay
    in the real API's order, and no answer shares a feature (or its `commands`) with the
    one before, so a caller keeping an answer never sees the next one's values."""
    v = vitocal(sim)
    first_at, second_at = sim.start + timedelta(hours=30), sim.start + timedelta(hours=31)
    first, second = data(v, first_at), data(v, second_at)
    assert [f["feature"] for f in first] == [f["feature"] for f in second]
    for a, b in zip(first, second, strict=True):
        assert a is not b and a["commands"] is not b["commands"]
        assert list(a) == ["apiVersion", "commands", "deviceId", "feature", "gatewayId",
                           "isEnabled", "isReady", "properties", "timestamp", "uri"]
        assert a["uri"].endswith("/features/" + a["feature"]) and a["isEnabled"] is True
        assert (a["timestamp"], b["timestamp"]) == ("2025-01-02T05:00:00.000Z",
                                                    "2025-01-02T06:00:00.000Z")


@pytest.mark.parametrize("quirks", [
    {},
    {"reset_lag": timedelta(minutes=-10), "hours_resolution_h": 0.1},
    {"counter_tz": "America/New_York", "heating_rod": "runtime"},
    {"zero_answers": ((local(2025, 3, 29, 23, 50), local(2025, 3, 30, 0, 20)),),
     "counter_dips": ((local(2025, 3, 30, 1, 0), local(2025, 3, 30, 4, 0), 0.4),),
     "stuck": ((local(2025, 3, 30, 5, 0), local(2025, 3, 30, 6, 30)),),
     "stale_arrays_from": local(2025, 3, 30, 7, 0)},
])
def test_answers_in_sequence_are_those_of_a_fresh_device(quirks) -> None:
    """A device answering poll after poll keeps what holds for a local day and reuses the
    last answer's props where their values did not move (fixed features, counters that
    stood still): every answer is the one a device asked only at that moment gives, over
    local midnight and the spring DST change (30 March 2025, Berlin), through zero
    answers, dips and stuck counters; and no later answer changes a kept one."""
    sim = Simulator(SEED, START, BERLIN, cache_chunks=16)  # (the period starts' days kept)
    v = vitocal(sim, **quirks)
    kept = []
    at = local(2025, 3, 29, 22, 0) + timedelta(seconds=2)
    while at < local(2025, 3, 30, 8, 0):
        answer = data(v, at)
        assert repr(answer) == repr(data(vitocal(sim, **quirks), at)), at
        kept.append((answer, repr(answer)))
        at += timedelta(minutes=10)
    assert all(repr(answer) == text for answer, text in kept)
