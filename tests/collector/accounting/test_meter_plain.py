"""The meter accounting's direct path for plain readings (`_plain_step`, and `PlainRun` for
many in a row) against its general rules (`_step_rules`): the same state, points and events
bit for bit, reading by reading and over whole runs, over traces with every kind of reading
the general rules know (glitches, resets, reboots, gaps, missed polls, invalid values,
creeping and stuck counters, reversed clamps, meters without counters), and the direct path
really taken for plain readings."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collector.accounting.meter as meter
from collector.accounting.meter import MeterConfig, MeterState, state_to_json
from collector.readings import MeterReading

T0 = datetime(2026, 1, 15, 12, 0, 3, tzinfo=UTC)
DEV = "shellypro3em-aabbccddeeff"


def exact(state: MeterState) -> str:
    """Every field of a state, floats by repr (so 0.0 and -0.0, and every bit, differ)."""
    d = state_to_json(state)
    d["last_reject"] = state.last_reject
    d["records"] = repr(state.records)
    d["records_note"] = state.records_note
    return json.dumps(d, sort_keys=True)


def exact_update(update: meter.MeterUpdate) -> str:
    return repr((update.points, update.events, update.running))


def run_both(readings: list[MeterReading], cfg: MeterConfig,
             state: MeterState | None = None) -> int:
    """Each reading through `step` and through `_step_rules` from the same state; asserts
    they agree; returns how many readings took the direct path."""
    state = state or MeterState()
    direct = 0
    for r in readings:
        before = exact(state)
        general = meter._step_rules(state, r, cfg)
        if meter._plain_step(state, r, cfg) is not None:
            direct += 1
        got = meter.step(state, r, cfg)
        assert exact(state) == before, "step changed the state it was handed"
        assert exact(got[0]) == exact(general[0]), f"state differs after {r}"
        assert exact_update(got[1]) == exact_update(general[1]), f"update differs at {r}"
        state = general[0]
    return direct


def by_rules(readings: list[MeterReading], cfg: MeterConfig
             ) -> tuple[MeterState, list[str]]:
    """Every reading by the general rules: the last state and what each reading yielded."""
    state, out = MeterState(), []
    for r in readings:
        state, update = meter._step_rules(state, r, cfg)
        out.append(exact_update(update))
    return state, out


def in_runs(readings: list[MeterReading], cfg: MeterConfig, ends: set[int]
            ) -> tuple[MeterState, list[str], int]:
    """As the collector's spans account them: plain readings in `PlainRun`s, each ended
    by the first reading that is not plain (which takes `step`) or at an index in `ends`
    (a span's end: the state is asked for there); the last state, what each reading
    yielded, and how many readings a run took."""
    state, out, in_run = MeterState(), [], 0
    run = None
    for i, r in enumerate(readings):
        if i in ends and run is not None:
            state, run = run.state(), None
        if run is None:
            run = meter.PlainRun.of(state, cfg)
        if run is not None:
            before = len(run.points)
            interval = run.add(r)
            if interval is not None:
                in_run += 1
                out.append(exact_update(meter.MeterUpdate(tuple(run.points[before:]), (),
                                                          interval)))
                continue
            assert len(run.points) == before, "a reading that is not plain left points"
            state, run = run.state(), None
        state, update = meter.step(state, r, cfg)
        out.append(exact_update(update))
    if run is not None:
        state = run.state()
    return state, out, in_run


def runs_agree(readings: list[MeterReading], cfg: MeterConfig, seed: int) -> int:
    """`in_runs` (with span ends at random) and `by_rules` agree bit for bit; returns how
    many readings the runs took."""
    rng = random.Random(seed)
    ends = {i for i in range(len(readings)) if rng.random() < 0.03}
    want_state, want = by_rules(readings, cfg)
    got_state, got, in_run = in_runs(readings, cfg, ends)
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a == b, f"reading {i} ({readings[i]}) yields another update in a run"
    assert exact(got_state) == exact(want_state)
    return in_run


def trace(seed: int, n: int, *, faults: bool, poll_s: float = 10.0) -> list[MeterReading]:
    """A heat pump's power (off, starting, running, defrost) with a counter that follows
    it, rounded as Shelly meters round; with `faults`, every kind of bad reading."""
    rng = random.Random(seed)
    t = T0 + timedelta(seconds=rng.uniform(0, 59))
    counter = rng.choice([0.0, 12.5, 4_310_000.0])
    power = 5.0
    uptime = 1000
    creeping = 0  # readings left in which the counter creeps at a third of the power
    out = []
    for _ in range(n):
        dt = poll_s
        if faults and rng.random() < 0.04:
            dt = rng.choice([poll_s * 2, poll_s * 3, 400.0, 3 * 3600.0, 0.0, -5.0])
        dt += rng.uniform(-0.3, 0.3)
        prev = power
        if rng.random() < 0.05:
            power = rng.choice([3.0, 180.0, 260.0, 900.0, 2500.0, -40.0 if faults else 0.0])
        else:
            power = max(power + rng.gauss(0, 30), -5.0)
        if dt > 0:
            factor = 0.3 if creeping > 0 else rng.uniform(0.97, 1.03)
            counter += max((prev + power) / 2, 0.0) * dt / 3600 * factor
            creeping -= 1
            uptime += int(dt)
        t += timedelta(seconds=dt)
        shown: float | None = round(counter, 3)
        shown_power: float | None = round(power, 1)
        up: int | None = uptime
        has_counter = True
        if faults:
            x = rng.random()
            if x < 0.02:
                shown = shown - rng.choice([0.5, 80.0, shown])  # dip / reset to zero
            elif x < 0.03:
                shown = shown + rng.choice([40.0, 5000.0])  # spike
            elif x < 0.04:
                shown = rng.choice([None, math.nan, -1.0, math.inf])
            elif x < 0.05:
                shown_power = rng.choice([None, math.nan])
            elif x < 0.055:
                uptime = rng.randint(1, 20)  # a reboot
                up = uptime
            elif x < 0.06:
                counter = 0.0  # a reset that lasts
            elif x < 0.065:
                up = None
            elif x < 0.07:
                counter -= (prev + power) / 2 * dt / 3600  # a stuck counter
            elif x < 0.072:
                has_counter = False
            elif x < 0.075:
                creeping = rng.randint(20, 300)
        out.append(MeterReading(t, DEV, shown_power, shown, up, has_counter))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_plain_trace_takes_the_direct_path_with_the_same_result(seed):
    readings = trace(seed, 2000, faults=False)
    cfg = MeterConfig(device=DEV)
    direct = run_both(readings, cfg)
    # all but the first two readings (no baseline, no previous power) are plain
    assert direct >= len(readings) - 2


@pytest.mark.parametrize("survives", [True, False])
@pytest.mark.parametrize("seed", range(8))
def test_faulty_trace_gives_the_same_result_both_ways(seed, survives):
    readings = trace(100 + seed, 3000, faults=True)
    cfg = MeterConfig(device=DEV, counter_survives_reboot=survives)
    direct = run_both(readings, cfg)
    assert 0.2 * len(readings) < direct < len(readings)  # both paths exercised


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 400), faults=st.booleans(),
       poll_s=st.sampled_from([5.0, 10.0, 30.0]), running_w=st.sampled_from([50.0, 250.0]),
       survives=st.booleans(), has_counter=st.booleans())
def test_any_trace_gives_the_same_result_both_ways(seed, n, faults, poll_s, running_w,
                                                    survives, has_counter):
    """Reading by reading (`step` and the general rules), and in runs (`PlainRun`)."""
    cfg = MeterConfig(device=DEV, poll_s=poll_s, running_w=running_w,
                      counter_survives_reboot=survives, has_counter=has_counter)
    readings = trace(seed, n, faults=faults, poll_s=poll_s)
    run_both(readings, cfg)
    runs_agree(readings, cfg, seed)


def test_direct_path_declines_what_is_not_plain():
    cfg = MeterConfig(device=DEV)
    first = [MeterReading(T0, DEV, 5000.0, 100.0, 50),
             MeterReading(T0 + timedelta(seconds=10), DEV, 5000.0, 113.89, 60)]
    state = MeterState()
    for r in first:
        state, _ = meter.step(state, r, cfg)
    t = T0 + timedelta(seconds=20)
    plain = MeterReading(t, DEV, 5000.0, 127.78, 70)
    assert meter._plain_step(state, plain, cfg) is not None
    not_plain = [
        MeterReading(t, DEV, 5000.0, 90.0, 70),  # a dip
        MeterReading(t, DEV, 5000.0, 300.0, 70),  # faster than the power allows
        MeterReading(t, DEV, 5000.0, 113.89, 70),  # stood still while power flowed
        MeterReading(t, DEV, None, 127.78, 70),
        MeterReading(t, DEV, 5000.0, None, 70),
        MeterReading(t, DEV, -100.0, 127.78, 70),  # a reversed clamp's power
        MeterReading(t, DEV, 5000.0, 127.78, True),  # type: ignore[arg-type]
        MeterReading(t, DEV, 5000.0, 127.78, 70, has_counter=False),
        MeterReading(T0 + timedelta(seconds=40), DEV, 5000.0, 155.56, 90),  # a missed poll
        MeterReading(T0 + timedelta(seconds=10), DEV, 5000.0, 127.78, 70),  # not after
    ]
    for r in not_plain:
        assert meter._plain_step(state, r, cfg) is None, r
        general = meter._step_rules(state, r, cfg)
        assert exact(meter.step(state, r, cfg)[0]) == exact(general[0])
    rebooting = MeterConfig(device=DEV, counter_survives_reboot=False)
    assert meter._plain_step(state, MeterReading(t, DEV, 5000.0, 127.78, 5), rebooting) is None
    assert meter._plain_step(state, MeterReading(t, DEV, 5000.0, 127.78, 5), cfg) is not None


@pytest.mark.parametrize("seed", range(4))
def test_a_plain_trace_in_runs_gives_the_same_result(seed):
    readings = trace(seed, 3000, faults=False)
    assert runs_agree(readings, MeterConfig(device=DEV), seed) >= len(readings) - 2 - 100


@pytest.mark.parametrize("survives", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_a_faulty_trace_in_runs_gives_the_same_result(seed, survives):
    readings = trace(200 + seed, 3000, faults=True)
    cfg = MeterConfig(device=DEV, counter_survives_reboot=survives)
    assert 0.2 * len(readings) < runs_agree(readings, cfg, seed) < len(readings)


def test_a_run_leaves_the_state_it_began_from_unchanged():
    cfg = MeterConfig(device=DEV)
    readings = trace(7, 55, faults=False)
    state = MeterState()
    for r in readings[:5]:
        state, _ = meter.step(state, r, cfg)
    before = exact(state)
    run = meter.PlainRun.of(state, cfg)
    assert run is not None and run.state() is state  # nothing added: the same state
    assert all(run.add(r) is not None for r in readings[5:])
    assert exact(state) == before
    assert exact(run.state()) != before
    assert meter.PlainRun.of(MeterState(), cfg) is None  # nothing booked yet
