"""The simulated Shelly (simhouse.shelly): its HTTP answers, read by the real Shelly client.

Every model's answer is polled with `collector.shelly.client.ShellyClient` over an
`AnswerTransport`, the path the collector takes for the simulated meter; power and counter
must be what the physics' meter measured (`Simulator.meter_step`), up to the model's own
counter resolution.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from collector.readings import MeterReading
from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyUnreachable
from collector.shelly.transport import AnswerTransport
from simhouse.house import MeterReboot, MeterStep, Outage, Simulator
from simhouse.meters import ShareMeter
from simhouse.shelly import (
    MODELS,
    PHASE_SHARE,
    ROWS_BLOCK,
    MeterOffline,
    ShellyQuirks,
    SimulatedShelly,
    round_each,
)
from tests.simhouse.clock import BERLIN, Clock, local

START = datetime(2025, 1, 5, tzinfo=BERLIN)
SEED = 9
# How far a model's counter may read below the meter's (its wire resolution, in Wh):
# Gen2 counters in 0.01 Wh, Gen1 plugs in watt-minutes, the Gen1 3EM per phase in 0.1 Wh.
COUNTER_RESOLUTION_WH = {"pro3em": 1e-6, "plus1pm": 1e-6, "plugs": 1 / 60, "3em": 0.3}
POWER_RESOLUTION_W = {"pro3em": 1e-9, "plus1pm": 1e-9, "plugs": 1e-9, "3em": 0.015}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SEED, START, BERLIN)


def meter(sim: Simulator, model: str = "pro3em", at: datetime | None = None,
          **quirks: object) -> tuple[SimulatedShelly, ShellyClient, Clock]:
    clock = Clock(at or local(2025, 1, 6, 12))
    shelly = SimulatedShelly(sim, clock, model=model,
                             quirks=ShellyQuirks(**quirks))  # type: ignore[arg-type]
    client = ShellyClient("http://127.0.0.1", transport=AnswerTransport(shelly.answer),
                          clock=clock)
    return shelly, client, clock


def step_at(sim: Simulator, t: datetime) -> MeterStep:
    step = sim.meter_step(t)
    assert step is not None
    return step


def assert_reads(reading: MeterReading, step: MeterStep, model: str,
                 offset_wh: float = 0.0) -> None:
    """The reading is the meter's step (its counter `offset_wh` off), at the model's
    resolution: truncated, never ahead."""
    assert reading.power_w is not None and reading.energy_import_wh is not None
    assert reading.power_w == pytest.approx(step.power_w, abs=POWER_RESOLUTION_W[model])
    expected = step.energy_import_wh + offset_wh
    assert expected - COUNTER_RESOLUTION_WH[model] < reading.energy_import_wh \
        <= expected + 1e-6
    assert reading.uptime_s == step.uptime_s


# --- every model, read by the real client ---------------------------------------------------


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_real_client_reads_every_model(sim, model):
    shelly, client, clock = meter(sim, model)
    device = client.identify()
    assert device.device_id == shelly.device_id
    assert device.info.gen == MODELS[model].gen
    assert device.counter_survives_reboot == (not MODELS[model].counter_resets_on_reboot)
    previous = None
    for i in range(40):  # polls every 10 s, a little off the steps
        clock.now = local(2025, 1, 6, 12) + timedelta(seconds=10 * i + 3)
        reading = client.poll()
        assert reading.time == clock.now and reading.device == shelly.device_id
        assert_reads(reading, step_at(sim, clock.now), model)
        if previous is not None:
            assert reading.energy_import_wh >= previous
        previous = reading.energy_import_wh


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_counter_adds_up_to_the_truth(sim, model):
    _, client, clock = meter(sim, model)
    a, b = local(2025, 1, 6, 6), local(2025, 1, 6, 18)
    clock.now = a
    first = client.poll().energy_import_wh
    clock.now = b
    last = client.poll().energy_import_wh
    assert first is not None and last is not None
    assert last - first == pytest.approx(sim.truth(a, b).electricity_wh,
                                         abs=COUNTER_RESOLUTION_WH[model] + 0.02)


def test_pro3em_phases_add_up(sim):
    shelly, _, _ = meter(sim, "pro3em")
    status = shelly.status()
    em, data = status["em:0"], status["emdata:0"]
    assert sum(em[f"{p}_act_power"] for p in "abc") == pytest.approx(
        em["total_act_power"], abs=0.15)
    assert sum(data[f"{p}_total_act_energy"] for p in "abc") == pytest.approx(
        data["total_act"], abs=0.03)
    assert status["sys"]["unixtime"] == step_at(sim, local(2025, 1, 6, 12)).time_s


def truncated(value: float, digits: int) -> float:
    """A counter at the model's resolution, computed float by float."""
    return math.floor(value * 10.0 ** digits + 1e-6) / 10.0 ** digits


# The values of each model's answer that move with its power and counter, as the firmware
# rounds them, from one step (what the answer held when it rounded field by field).
PER_STEP = {
    "pro3em": lambda s: {"em:0": {
        **{f"{p}_{k}": v for p, share in zip("abc", PHASE_SHARE, strict=True)
           for k, v in (("act_power", round(s.power_w * share, 1)),
                        ("aprt_power", round(round(s.power_w * share, 1) * 1.03, 1)),
                        ("current", round(round(s.power_w * share, 1) / 230.0, 3)))},
        "total_act_power": round(s.power_w, 3),
        "total_aprt_power": round(s.power_w * 1.03, 3),
        "total_current": round(s.power_w / 230.0, 3)}, "emdata:0": {
        **{f"{p}_total_act_energy": truncated(s.energy_import_wh * share, 2)
           for p, share in zip("abc", PHASE_SHARE, strict=True)},
        "total_act": truncated(s.energy_import_wh, 2)}},
    "plus1pm": lambda s: {"switch:0": {"apower": round(s.power_w, 1),
                                       "current": round(s.power_w / 230.0, 3),
                                       "aenergy": {"total": truncated(s.energy_import_wh, 3)}}},
    "plugs": lambda s: {"meters": {0: {"power": round(s.power_w, 2),
                                       "total": math.floor(s.energy_import_wh * 60 + 1e-6)}}},
    "3em": lambda s: {"total_power": round(s.power_w, 2), "emeters": {
        i: {"power": round(s.power_w * share, 2),
            "current": round(round(s.power_w * share, 2) / 230.0, 2),
            "total": truncated(s.energy_import_wh * share, 1)}
        for i, share in enumerate(PHASE_SHARE)}},
}


def assert_holds(answer, expected, where=""):
    """Every value of `expected` (nested; int keys index lists) is in `answer`, the same
    float to the bit."""
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_holds(answer[key], value, f"{where}.{key}")
        else:  # the same type (a float, the plug's integer watt-minutes), the same bits
            got = answer[key]
            assert type(got) is type(value) and float(got).hex() == float(value).hex(), (
                f"{where}.{key}", got, value)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_moving_values_are_rounded_per_step_as_the_firmware_does(sim, model):
    """The answers' powers and counters come from a table rounded a day at a time
    (round_each, floor_each): every step, across a day's boundary, holds what rounding its
    own power and counter float by float gives."""
    shelly, _, clock = meter(sim, model)
    first = local(2025, 1, 6, 23, 30)
    for i in range(0, 360, 7):  # an hour around the table's (the simulated day's) end
        clock.now = first + timedelta(seconds=10 * i)
        assert_holds(shelly.status(), PER_STEP[model](step_at(sim, clock.now)))


@pytest.mark.parametrize("model", ["pro3em", "plugs"])
def test_the_tables_rows_are_python_values_an_hour_at_a_time(sim, model):
    """The day's table becomes Python values a block of steps at a time (a day's lists
    at once made the garbage collector sweep the whole heap): the steps on both sides of
    a block's edge, asked in any order, hold their own step's values."""
    shelly, _, clock = meter(sim, model)
    edge = datetime.fromtimestamp(sim.origin_s + 5 * ROWS_BLOCK * 10, UTC)
    for offset_s in (-10, 0, 10, -3590, 3600, -10, 0):
        clock.now = edge + timedelta(seconds=offset_s)
        assert_holds(shelly.status(), PER_STEP[model](step_at(sim, clock.now)))
        assert len(shelly._rows) == ROWS_BLOCK


def test_round_each_is_round_to_the_bit():
    rng = np.random.default_rng(5)
    halves = np.concatenate([(np.arange(-2000, 2000) + 0.5) / 10.0 ** d for d in (1, 2, 3)])
    values = np.concatenate([
        rng.uniform(0.0, 12_000.0, 20_000), rng.uniform(-5.0, 5.0, 5_000),
        halves, halves * 1.03, halves / 230.0,  # ties and near-ties, as the answers build
        [2.675, 0.125, 1.005, -0.0, 0.0, 4.35, 1e17, 3.3e300, np.inf, -np.inf, np.nan]])
    for digits in (1, 2, 3):
        got = round_each(values, digits)
        for v, g in zip(values.tolist(), got.tolist(), strict=True):
            want = round(v, digits)
            assert g.hex() == want.hex() or (math.isnan(g) and math.isnan(want)), (v, digits)


# --- the wire -------------------------------------------------------------------------------


def test_gen2_routes(sim):
    shelly, _, clock = meter(sim, "pro3em")
    status = shelly.status()
    assert shelly.answer("/shelly") == (200, MODELS["pro3em"].shelly)
    assert shelly.answer("/rpc/Shelly.GetStatus") == (200, status)
    assert shelly.answer("/rpc/EM.GetStatus?id=0") == (200, status["em:0"])
    assert shelly.answer("/rpc/EMData.GetStatus?id=0") == (200, status["emdata:0"])
    assert shelly.answer("/rpc/Sys.GetStatus") == (200, status["sys"])
    code, body = shelly.answer("/rpc/EM.GetStatus?id=1")
    assert code == 400 and body["code"] == -105
    code, body = shelly.answer("/rpc/Switch.GetStatus?id=0")  # a Pro 3EM has no switch
    assert code == 400
    assert shelly.answer("/rpc/Nothing.GetStatus")[0] == 404
    assert shelly.answer("/status")[0] == 404
    clock.now += timedelta(seconds=5)  # the same 10-s step: the same answer
    assert shelly.status() == status
    clock.now += timedelta(seconds=5)
    assert shelly.status()["sys"]["unixtime"] == status["sys"]["unixtime"] + 10


def test_plus1pm_switch_route(sim):
    shelly, _, _ = meter(sim, "plus1pm")
    code, body = shelly.answer("/rpc/Switch.GetStatus?id=0")
    assert code == 200 and body == shelly.status()["switch:0"]
    assert body["apower"] == step_at(sim, local(2025, 1, 6, 12)).power_w


@pytest.mark.parametrize("model", ["plugs", "3em"])
def test_gen1_routes(sim, model):
    shelly, _, _ = meter(sim, model)
    assert shelly.answer("/shelly") == (200, MODELS[model].shelly)
    assert shelly.answer("/status") == (200, shelly.status())
    assert shelly.answer("/rpc/Shelly.GetStatus")[0] == 404


def test_plug_counts_watt_minutes(sim):
    shelly, _, _ = meter(sim, "plugs")
    total = shelly.status()["meters"][0]["total"]
    assert isinstance(total, int)
    step = step_at(sim, local(2025, 1, 6, 12))
    assert total <= step.energy_import_wh * 60 < total + 1


def test_unknown_model_is_refused(sim):
    with pytest.raises(ValueError, match="pro3em"):
        SimulatedShelly(sim, Clock(START), model="pro4em")


# --- offline and reboots --------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(MODELS))
def test_offline_during_a_meter_outage(model):
    gap = (local(2025, 1, 5, 8), local(2025, 1, 5, 11))
    sim = Simulator(SEED, START, BERLIN, scenarios=[Outage("meter", *gap)])
    shelly, client, clock = meter(sim, model, at=gap[0] - timedelta(seconds=10))
    before = client.poll()
    clock.now = gap[0] + timedelta(minutes=30)
    with pytest.raises(MeterOffline):
        shelly.answer("/shelly")
    assert issubclass(MeterOffline, ConnectionError)
    with pytest.raises(ShellyUnreachable):
        client.poll()
    clock.now = gap[1]
    after = client.poll()
    assert_reads(after, step_at(sim, gap[1]), model)
    assert before.energy_import_wh is not None and after.energy_import_wh is not None
    assert after.energy_import_wh - before.energy_import_wh > 1000  # it kept counting


@pytest.mark.parametrize("share", [None, "outdoor_unit"])
def test_the_answer_is_the_meters_step_or_offline_to_the_second(share):
    """The answer comes from a day's table, not from `meter_step`: it holds the step
    `meter_step` gives at every time, and the meter is offline exactly when `meter_step`
    is None (an outage and a reboot, their edges to a millisecond; a ShareMeter as the
    house's meter)."""
    gap = (local(2025, 1, 5, 8, 0, 4, 250_000), local(2025, 1, 5, 8, 1, 2, 500_000))
    boot = local(2025, 1, 5, 9, 0, 3)
    sim = Simulator(SEED, START, BERLIN, scenarios=[Outage("meter", *gap),
                                                    MeterReboot(boot, 30.0, False)])
    source = sim if share is None else ShareMeter(sim, share)
    assert source.meter_offline_spans() == ((gap[0].timestamp(), gap[1].timestamp()),
                                            (boot.timestamp(), boot.timestamp() + 30.0))
    clock = Clock(START - timedelta(seconds=1))
    shelly = SimulatedShelly(source, clock, model="plus1pm")  # type: ignore[arg-type]
    times = [START - timedelta(seconds=1), START, gap[1] - timedelta(days=2)]
    for edge in (*gap, boot, boot + timedelta(seconds=30)):
        times += [edge + timedelta(milliseconds=ms) for ms in (-1001, -1, 0, 1, 9999)]
    for clock.now in sorted(times):
        step = source.meter_step(clock.now)
        if step is None:
            with pytest.raises(MeterOffline):
                shelly.status()
            continue
        status = shelly.status()
        assert status["sys"]["unixtime"] == step.time_s
        assert status["sys"]["uptime"] == step.uptime_s
        assert status["switch:0"]["apower"] == round(step.power_w, 1)
        assert status["switch:0"]["aenergy"]["total"] == truncated(step.energy_import_wh, 3)


@pytest.mark.parametrize(("model", "resets"), [("plugs", True), ("pro3em", False)])
def test_reboot_as_the_model_does_it(model, resets):
    """A Gen1 plug counts from 0 after a reboot, a Pro 3EM keeps its counter; both are
    offline while they boot and their uptime starts again."""
    at = local(2025, 1, 5, 9, 0, 3)
    sim = Simulator(SEED, START, BERLIN, scenarios=[MeterReboot(at, 30.0, resets)])
    _, client, clock = meter(sim, model, at=at - timedelta(seconds=5))
    before = client.poll()
    clock.now = at + timedelta(seconds=20)
    with pytest.raises(ShellyUnreachable):
        client.poll()
    clock.now = at + timedelta(seconds=40)
    after = client.poll()
    assert after.uptime_s is not None and after.uptime_s < 45
    assert before.uptime_s is not None and before.uptime_s > 1000
    step = step_at(sim, clock.now)
    assert_reads(after, step, model)
    assert before.energy_import_wh is not None and after.energy_import_wh is not None
    if resets:
        assert after.energy_import_wh < 50  # 40 s since the boot
    else:
        assert after.energy_import_wh > before.energy_import_wh > 1e6


# --- quirks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(MODELS))
def test_dips_read_lower_then_recover(sim, model):
    span = (local(2025, 1, 6, 12), local(2025, 1, 6, 12, 0, 30))
    _, client, clock = meter(sim, model, dips=((span[0], span[1], 100.0),))
    for offset_s, dip in ((-10, 0.0), (0, -100.0), (25, -100.0), (30, 0.0)):
        clock.now = span[0] + timedelta(seconds=offset_s)
        assert_reads(client.poll(), step_at(sim, clock.now), model, dip)


def test_a_spike_is_one_reading(sim):
    at = local(2025, 1, 6, 12, 0, 14)  # inside the step that starts at 12:00:10
    _, client, clock = meter(sim, spikes=((at, 50.0),))
    for offset_s, spike in ((-10, 0.0), (-4, 50.0), (0, 50.0), (5, 50.0), (6, 0.0)):
        clock.now = at + timedelta(seconds=offset_s)
        assert_reads(client.poll(), step_at(sim, clock.now), "pro3em", spike)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_zero_counters_while_power_flows(sim, model):
    span = (local(2025, 1, 6, 12), local(2025, 1, 6, 13))
    _, client, clock = meter(sim, model, zero_counters=(span,))
    clock.now = span[0] + timedelta(minutes=20)
    reading = client.poll()
    assert reading.energy_import_wh == 0.0
    step = step_at(sim, clock.now)
    assert step.power_w > 100  # a winter noon: the heat pump runs
    assert reading.power_w == pytest.approx(step.power_w, abs=POWER_RESOLUTION_W[model])
    clock.now = span[1]
    assert_reads(client.poll(), step_at(sim, span[1]), model)


def test_no_counters_in_early_pro3em_firmware(sim):
    shelly, client, _ = meter(sim, "pro3em", no_counters=True)
    assert shelly.answer("/rpc/EMData.GetStatus?id=0") == (200, {"id": 0})
    code, em = shelly.answer("/rpc/EM.GetStatus?id=0")
    assert code == 200 and em["total_act_power"] == step_at(sim, local(2025, 1, 6, 12)).power_w
    assert shelly.answer("/shelly")[1]["ver"] == "0.14.1"  # early firmware
    reading = client.poll()  # the real client reads power and says it has no counter
    assert not reading.has_counter and reading.energy_import_wh is None
    assert reading.power_w == pytest.approx(step_at(sim, local(2025, 1, 6, 12)).power_w,
                                            abs=POWER_RESOLUTION_W["pro3em"])
    assert client.device is not None and not client.device.has_counter


def test_quirk_times_are_the_steps_times(sim):
    """A quirk span is judged by the time of the meter's step, in any zone."""
    begin = datetime(2025, 1, 6, 11, 0, 0, tzinfo=UTC)  # 12:00 in Berlin
    _, client, clock = meter(sim, zero_counters=((begin, begin + timedelta(seconds=10)),))
    clock.now = local(2025, 1, 6, 12, 0, 9)
    assert client.poll().energy_import_wh == 0.0
    clock.now = local(2025, 1, 6, 12, 0, 10)
    assert client.poll().energy_import_wh != 0.0
