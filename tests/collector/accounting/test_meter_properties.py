"""Property-based accounting tests over long random traces (hypothesis).

Energy: whatever the gaps, invalid values, reboots and counter resets (each followed by a
few minutes of normal operation, so a reset is told from a glitch), the summed energy
equals the counter's advance plus the value after each reset, is never negative, and a
restart of the collector (flush + resume from the stored points) changes nothing.
Running/starts: exact counts on clean on/off blocks, unchanged by gaps inside runs.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.accounting.meter import MeterConfig, MeterState, flush, resume_state, step
from collector.readings import MeterReading

T0 = datetime(2026, 3, 1, 0, 0, 3, tzinfo=UTC)
DEV = "dev"

step_kind = st.sampled_from(["advance"] * 12 + ["gap", "invalid", "reboot", "reset_counters",
                                                "reboot_keep"])
steps = st.lists(st.tuples(step_kind, st.floats(0, 5000), st.floats(0.05, 1.0),
                           st.floats(7.0, 13.0)), min_size=2, max_size=400)


SETTLE = 20  # normal 10-s polls after a reset: longer than MeterConfig.hold_s (180 s)


def settled(draw_steps):
    """The drawn steps with SETTLE normal polls after every reset and reboot, and at the
    end: a counter that went down is a reset once its new level has lasted, not before."""
    out = []
    for kind, power, frac, dt in draw_steps:
        out.append((kind, power, frac, dt))
        if kind in ("reboot", "reset_counters", "reboot_keep"):
            out += [("advance", power, frac, 10.0)] * SETTLE
    return out + [("advance", 500.0, 0.5, 10.0)] * SETTLE


def build_trace(draw_steps, survives: bool):
    """Readings plus the energy a perfect observer would count. The meter reads the power
    of each step (held constant over it) and counts it in its counter."""
    t = 0.0
    counter = 1000.0
    uptime = 50_000
    readings = [MeterReading(T0, DEV, 100.0, counter, uptime)]
    expected = 0.0
    last_valid = counter
    for kind, power, frac, dt in settled(draw_steps):
        if kind == "gap":
            dt = 30 + frac * 20_000
        t += dt
        uptime += round(dt)
        inc = power * dt / 3600.0
        if kind == "invalid":
            bad = [None, math.nan, -1.0, math.inf][int(frac * 3.99)]
            readings.append(MeterReading(T0 + timedelta(seconds=t), DEV, None, bad, uptime))
            counter += inc  # the device keeps counting while the value is unusable
            continue
        reset = False
        if kind == "reboot":
            # Up for at most half the interval: booting takes seconds, so a reboot always
            # leaves uptime clearly behind the wall clock.
            uptime = max(1, int(frac * 0.5 * min(dt, 600)))
            if survives:
                counter += inc  # persistent counter: a reboot is not a reset
            else:
                counter = power * uptime / 3600.0
                reset = True
        elif kind == "reset_counters" and last_valid > 10 + power * 360 / 3600:
            # Told from a dip once its new level has lasted: then the old level is more than
            # a few minutes' energy (a real counter's kWh; not one that restarted moments
            # ago, whose new count could pass the old one while held).
            counter = frac * min(power * dt / 3600.0, last_valid - 5)  # clearly lower
            reset = True
        elif kind == "reboot_keep" and survives:
            uptime = max(1, int(frac * 0.5 * min(dt, 600)))
            counter += inc
        else:
            counter += inc
        readings.append(MeterReading(T0 + timedelta(seconds=t), DEV, power, counter, uptime))
        expected += counter if reset else counter - last_valid
        last_valid = counter
    return readings, expected, last_valid


def account(readings, cfg, state=None):
    state = state or MeterState()
    points, events = [], []
    for r in readings:
        state, update = step(state, r, cfg)
        points += update.points
        events += update.events
    state, tail = flush(state, cfg)
    return points + tail, events


def el(points):
    return [p for p in points if p.measurement == "electricity"]


def stored(points):
    """What the store keeps: one point per (measurement, time); a point written again
    overwrites the fields it carries."""
    merged: dict[tuple[str, datetime], MeterReading | object] = {}
    for p in points:
        key = (p.measurement, p.time)
        old = merged.get(key)
        merged[key] = p if old is None else replace(p, fields={**old.fields, **p.fields})
    return [merged[k] for k in sorted(merged, key=lambda k: (k[1], k[0]))]


@settings(max_examples=150, deadline=None)
@given(steps, st.booleans())
def test_energy_equals_counter_advance_plus_values_after_resets(draw_steps, survives):
    readings, expected, last_counter = build_trace(draw_steps, survives)
    cfg = MeterConfig(DEV, counter_survives_reboot=survives)
    points, events = account(readings, cfg)
    minutes = el(stored(points))
    energy = sum(p.fields.get("energy_wh", 0.0) for p in minutes)
    assert math.isclose(energy, expected, rel_tol=1e-9, abs_tol=1e-6)
    for p in minutes:
        assert p.time.second == 0 and p.time.microsecond == 0
        assert p.fields.get("energy_wh", 0.0) >= 0
        assert p.fields.get("duration_s", 1.0) > 0
        assert p.fields.get("running_s", 0.0) >= 0
        assert p.fields.get("bridged_wh", 0.0) <= p.fields.get("energy_wh", 0.0) + 1e-9
        assert p.fields.get("running_wh", 0.0) <= p.fields.get("energy_wh", 0.0) + 1e-9
    span = (readings[-1].time - readings[0].time).total_seconds()
    assert sum(p.fields.get("duration_s", 0.0) for p in minutes) <= span + 1e-6
    with_counter = [p for p in minutes if "counter_wh" in p.fields]
    if with_counter:
        assert math.isclose(with_counter[-1].fields["counter_wh"], last_counter, rel_tol=1e-12)
    # held readings that settle (a sample missed, the power in between unknown) are only
    # logged; a fault would have dropped energy
    assert all(e.kind in ("rejected", "counter_reset", "reversed_clamp", "counter_glitch",
                          "counter_late") for e in events)


@settings(max_examples=100, deadline=None)
@given(steps, st.booleans(), st.floats(0.0, 1.0))
def test_restart_with_resume_loses_and_doubles_nothing(draw_steps, survives, where):
    readings, expected, _ = build_trace(draw_steps, survives)
    cfg = MeterConfig(DEV, counter_survives_reboot=survives)
    cut = max(1, int(where * len(readings)))
    first, _ = account(readings[:cut], cfg)  # stops cleanly: the open minute is flushed
    # as stored_state reads it: the newest electricity point with a counter value
    counted = [p for p in el(stored(first)) if "counter_wh" in p.fields]
    last_el = counted[-1] if counted else None
    meters = [p for p in first if p.measurement == "meter" and "energy_import_wh" in p.fields]
    state = resume_state(cfg, last_el, meters[-1] if meters else None)
    second, _ = account(readings[cut:], cfg, state)
    energy = sum(p.fields.get("energy_wh", 0.0) for p in el(stored(first + second)))
    assert math.isclose(energy, expected, rel_tol=1e-9, abs_tol=1e-6)


# --- running / starts ---------------------------------------------------------------

RUNNING_W = 250.0
blocks = st.lists(st.tuples(st.integers(4, 20), st.floats(0, 1)), min_size=1, max_size=30)


def block_trace(draw_blocks, gap_positions=()):
    """Alternating off/on runs (first off) of clean powers; returns powers, times, on-flags."""
    powers, on_flags = [], []
    for i, (length, x) in enumerate(draw_blocks + draw_blocks[:1]):
        on = i % 2 == 1
        for _ in range(length):
            powers.append(RUNNING_W + 1 + x * 4000 if on else x * (0.8 * RUNNING_W - 1))
            on_flags.append(on)
    times, t = [], 0.0
    for i in range(len(powers)):
        times.append(t)
        t += 600.0 if i in gap_positions else 10.0
    return powers, times, on_flags


def run_power(powers, times):
    cfg = MeterConfig(DEV, running_w=RUNNING_W)
    rs = [MeterReading(T0 + timedelta(seconds=t), DEV, p, None)
          for p, t in zip(powers, times, strict=True)]
    points, _events = account(rs, cfg)
    return (sum(p.fields.get("starts", 0) for p in el(points)),
            sum(p.fields.get("running_s", 0.0) for p in el(points)))


@settings(max_examples=150, deadline=None)
@given(blocks, st.lists(st.integers(0, 10_000), max_size=8))
def test_starts_count_runs_and_gaps_inside_runs_change_nothing(draw_blocks, gap_seeds):
    powers, times, on_flags = block_trace(draw_blocks)
    n = len(powers)
    # Gaps only strictly inside a run: two samples of the same run on each side.
    gaps = {g % n for g in gap_seeds
            if 2 <= g % n < n - 2 and len(set(on_flags[g % n - 1:g % n + 3])) == 1}
    _, gapped_times, _ = block_trace(draw_blocks, gaps)
    on_runs = sum(1 for i in range(1, n) if on_flags[i] and not on_flags[i - 1])
    starts, running = run_power(powers, gapped_times)
    assert starts == on_runs
    expected_running = sum(10.0 for i in range(n - 1) if on_flags[i] and i not in gaps)
    assert math.isclose(running, expected_running)
    assert run_power(powers, times)[0] == on_runs


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.8 * RUNNING_W + 0.01, RUNNING_W), min_size=1, max_size=100),
       st.lists(st.floats(0, 0.8 * RUNNING_W - 0.01), min_size=3, max_size=20))
def test_noise_in_the_hysteresis_band_never_starts_or_stops(band, idle):
    # Idle, a clean start, then power wandering in the band: exactly one start, and the
    # compressor counts as running the whole time after it started.
    powers = [*idle, 1500.0, 1500.0, *band]
    starts, running = run_power(powers, [10.0 * i for i in range(len(powers))])
    assert starts == 1
    assert math.isclose(running, 10.0 * (len(band) + 1))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=3, max_size=200))
def test_isolated_spikes_never_count(spike_at):
    # No two consecutive samples above the threshold: never a start, never running.
    powers, prev = [], False
    for s in spike_at:
        spike = s and not prev
        powers.append(2000.0 if spike else 30.0)
        prev = spike
    powers = [30.0, 30.0, *powers]
    assert run_power(powers, [10.0 * i for i in range(len(powers))]) == (0, 0.0)
