"""Meter accounting: counter energy, resets, gaps, rejections, running/starts, resume."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from collector.accounting.meter import (
    MeterAccountant,
    MeterConfig,
    MeterState,
    flush,
    resume_state,
    step,
    stored_state,
)
from collector.points import health_point
from collector.readings import MeterReading
from heatpump.schema import ELECTRICITY, HEALTH, METER, METER_ROLE_TAG
from heatpump.store.base import Point

T0 = datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC)
DEV = "shellypro3em-aabbccddeeff"


def reading(i: float, power: float | None, counter: float | None, uptime: int | None = None,
            t0: datetime = T0) -> MeterReading:
    return MeterReading(t0 + timedelta(seconds=10 * i), DEV, power, counter, uptime)


def following(powers, counter, t0: datetime = T0):
    """Readings every 10 s whose counter follows the power (trapezoid), uptime going up."""
    out = []
    for i, p in enumerate(powers):
        if i:
            counter += (powers[i - 1] + p) / 2 * 10 / 3600
        out.append(reading(i, p, round(counter, 3), 500 + 10 * i, t0))
    return out


def run(readings, cfg=None, state=None):
    cfg = cfg or MeterConfig(DEV, running_w=250)
    state = state or MeterState()
    points, events = [], []
    for r in readings:
        state, update = step(state, r, cfg)
        points += update.points
        events += update.events
    state, tail = flush(state, cfg)
    return state, points, tail, events


def electricity(points):
    """The electricity minutes as the store keeps them: a minute written again (a later
    reading added energy to it) overwrites the fields it carries (upsert)."""
    merged: dict[datetime, Point] = {}
    for p in points:
        if p.measurement != "electricity":
            continue
        old = merged.get(p.time)
        merged[p.time] = p if old is None else Point(p.measurement, p.time,
                                                     {**old.fields, **p.fields}, p.tags)
    return sorted(merged.values(), key=lambda p: p.time)


def total(points, name):
    return sum(p.fields.get(name, 0) for p in electricity(points))


def test_energy_is_the_counter_advance_never_integrated_power():
    # Power says 450 W, the counter says 1 Wh per 10 s (360 W): the counter wins (the two
    # agree within what sampling allows, see test_meter_glitches for when they do not).
    _, points, tail, _ = run([reading(i, 450.0, 1000.0 + i) for i in range(13)])
    assert total(points + tail, "energy_wh") == pytest.approx(12.0)
    minute0 = electricity(points)[0]
    assert minute0.time == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    # Readings at :05 .. :55 -> intervals ending :15 .. :55 (5 x 10 s) in the first minute.
    assert dict(minute0.fields) == {"energy_wh": 5.0, "duration_s": 50.0, "counter_wh": 1005.0,
                                    "running_s": 50.0, "starts": 0, "running_wh": 5.0}
    assert minute0.tags == {"device": DEV, "source": "meter", "circuit": "total"}


def test_points_follow_the_stored_schema():
    _, points, tail, events = run(
        [reading(0, 5.0, 10.0, 100), reading(1, -40.0, 10.0, 110)]
        + [reading(i, -40.0, 10.0, 100 + 10 * i) for i in range(2, 12)])
    for p in points + tail:
        m = {"meter": METER, "electricity": ELECTRICITY}[p.measurement]
        # the role tag is optional: absent for the one meter (role heatpump)
        assert set(p.fields) <= set(m.field_names)
        assert set(m.tags) - {METER_ROLE_TAG} <= set(p.tags) <= set(m.tags)
        assert p.time.tzinfo is UTC
    for e in events:
        if e.health_status is not None:
            hp = health_point(e.time, "meter", e.device, e.health_status, e.kind, e.detail)
            assert set(hp.fields) <= set(HEALTH.field_names) and set(hp.tags) == set(HEALTH.tags)


def test_raw_meter_point_per_reading_keeps_only_valid_values():
    _, points, _, events = run([reading(0, 120.5, 10.0, 7), reading(1, None, -1.0, 8)])
    raws = [p for p in points if p.measurement == "meter"]
    assert [dict(p.fields) for p in raws] == [
        {"power_w": 120.5, "energy_import_wh": 10.0, "uptime_s": 7}, {"uptime_s": 8}]
    assert [e.kind for e in events] == ["rejected", "rejected"]
    assert "negative" in events[1].detail


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -1.0, -0.5, True, "12"])
def test_invalid_counters_are_skipped_and_the_next_valid_one_closes_the_interval(bad):
    _, points, tail, events = run([reading(0, 540.0, 100.0), reading(1, 540.0, bad),
                                   reading(2, 540.0, 103.0)])
    assert total(points + tail, "energy_wh") == pytest.approx(3.0)
    assert total(points + tail, "duration_s") == pytest.approx(20.0)
    assert [e.kind for e in events] == ["rejected"]


def test_gen1_minus_one_after_boot_is_not_a_reset():
    # A 3EM says -1 right after boot, then its (surviving) counter again.
    _, points, tail, events = run([reading(0, 270.0, 5000.0, 900), reading(1, 270.0, -1.0, 3),
                                   reading(2, 270.0, 5001.5, 13)])
    assert total(points + tail, "energy_wh") == pytest.approx(1.5)
    assert [e.kind for e in events] == ["rejected"]


def test_counter_going_down_and_staying_there_is_a_reset_counting_the_new_value():
    # ResetCounters at 720 W: the counter restarts near 0 and goes on with the power. The
    # low level is held until it has lasted `hold_s` (a dip that recovers is a glitch).
    rs = [reading(0, 720.0, 500.0), reading(1, 720.0, 502.0)]
    rs += [reading(2 + i, 720.0, 1.0 + 2.0 * i) for i in range(25)]  # 250 s from 1 Wh
    _, points, tail, events = run(rs)
    assert total(points + tail, "energy_wh") == pytest.approx(2 + 1 + 2 * 24)
    assert [e.kind for e in events] == ["counter_reset"]
    assert events[0].health_status == "up" and "went down" in events[0].detail


def test_gen1_plug_reboot_is_seen_in_uptime_even_when_the_counter_is_higher():
    # Plug counter restarts at 0 on boot; after a long gap it already exceeds the old value.
    cfg = MeterConfig(DEV, counter_survives_reboot=False)
    _, points, tail, events = run([reading(0, 360.0, 50.0, 5000), reading(1, 0.0, 51.0, 5010),
                                   reading(400, 240.0, 80.0, 1200)], cfg)
    # 1 Wh, then 80 Wh since the reboot (not 29) over the 1200 s uptime, not the 3990 s gap.
    assert total(points + tail, "energy_wh") == pytest.approx(81.0)
    assert total(points + tail, "duration_s") == pytest.approx(10 + 1200)
    assert [e.kind for e in events] == ["counter_reset"]


def test_reboot_of_a_device_whose_counter_survives_is_not_a_reset():
    _, points, tail, events = run([reading(0, 720.0, 50.0, 5000), reading(1, 720.0, 52.0, 2)])
    assert total(points + tail, "energy_wh") == pytest.approx(2.0)
    assert events == []


def test_a_counter_jump_that_stays_is_followed_but_not_counted():
    # At 360 W the counter jumps by 9 MWh and goes on with the power from there: after
    # `hold_s` (180 s) of agreement the new level is followed; the jump is never energy.
    rs = [reading(0, 360.0, 100.0), reading(1, 360.0, 101.0)]
    rs += [reading(2 + i, 360.0, 9e6 + i) for i in range(25)]
    _, points, tail, events = run(rs)
    assert total(points + tail, "energy_wh") == pytest.approx(1 + 24)
    assert total(points + tail, "duration_s") == pytest.approx(250.0)  # not the jump's 10 s
    assert [e.kind for e in events] == ["counter_reset"]
    assert "not counted" in events[0].detail and "jumped" in events[0].detail


def test_collector_clock_step_forward_is_no_reboot():
    # Gen1 plug (counter restarts at boot): our clock jumps 1 h, the device's uptime does not.
    cfg = MeterConfig(DEV, counter_survives_reboot=False)
    _, points, tail, events = run([reading(0, 360.0, 107875.0, 17284290),
                                   reading(361, 360.0, 107876.0, 17284300)], cfg)
    assert total(points + tail, "energy_wh") == pytest.approx(1.0)
    assert events == []


def test_float_jitter_down_is_not_a_reset():
    _, points, tail, events = run([reading(0, 180.0, 5415414.19),
                                   reading(1, 180.0, 5415413.9), reading(2, 180.0, 5415415.19)])
    assert total(points + tail, "energy_wh") == pytest.approx(1.0)
    assert events == []


def test_implausible_jump_for_one_reading_is_a_glitch():
    _, points, tail, events = run([reading(0, 180.0, 100.0), reading(1, 180.0, 9e6),
                                   reading(2, 180.0, 101.0)])
    assert total(points + tail, "energy_wh") == pytest.approx(1.0)
    assert total(points + tail, "duration_s") == pytest.approx(20.0)
    assert [e.kind for e in events] == ["counter_glitch"]
    assert "faster than the power allows" in events[0].detail


def test_without_power_only_the_hard_cap_judges_a_jump():
    # No valid power: the counter cannot be checked against it, so only a mean above
    # max_power_w (100 kW) is held as a glitch.
    _, points, tail, events = run([reading(0, None, 100.0), reading(1, None, 9e6),
                                   reading(2, None, 150.0)])
    assert total(points + tail, "energy_wh") == pytest.approx(50.0)
    assert [e.kind for e in events if e.kind != "rejected"] == ["counter_glitch"]


def test_a_gap_stays_a_gap_and_its_energy_goes_to_the_minute_where_it_ends():
    rs = [reading(i, 1000.0, 100.0 + i) for i in range(3)]  # 12:00:05 .. :25
    rs += [reading(i, 1000.0, 100.0 + i) for i in range(60, 63)]  # 12:10:05 .. :25
    _, points, tail, _ = run(rs)
    el = electricity(points + tail)
    assert [p.time.minute for p in el] == [0, 10]  # no points for the silent minutes
    assert el[1].fields["energy_wh"] == pytest.approx(60.0)  # 58 Wh across the gap + 2
    assert el[1].fields["duration_s"] == pytest.approx(580 + 20)  # the gap is covered
    # Running time is only counted where power was observed; the gap is no run and no stop.
    assert el[1].fields["running_s"] == pytest.approx(20)
    assert total(el, "starts") == 0


def test_reversed_clamp_is_reported_once():
    cfg = MeterConfig(DEV, running_w=250)
    rs = [reading(i, -1500.0, 100.0) for i in range(30)]
    _, _, _, events = run(rs, cfg)
    clamp = [e for e in events if e.kind == "reversed_clamp"]
    assert len(clamp) == 1 and "reversed" in clamp[0].detail
    assert clamp[0].time == rs[6].time  # after 60 s of sustained negative power
    assert clamp[0].health_status == "degraded"
    # Brief negative blips (meter noise, -1.3 W phases) are no reversed clamp.
    blips = [reading(i, -300.0 if i % 5 == 0 else 800.0, 100.0) for i in range(60)]
    assert not [e for e in run(blips, cfg)[3] if e.kind == "reversed_clamp"]


def test_clock_going_back_is_rejected_without_losing_energy():
    _, points, tail, events = run([reading(0, 360.0, 10.0), reading(1, 360.0, 11.0),
                                   reading(0.5, 360.0, 11.5), reading(2, 360.0, 12.0)])
    assert total(points + tail, "energy_wh") == pytest.approx(2.0)
    assert [e.kind for e in events] == ["rejected"]


# --- running and starts -------------------------------------------------------------


def starts_and_running(powers, times=None, cfg=None):
    cfg = cfg or MeterConfig(DEV, running_w=250)
    times = times if times is not None else [10.0 * i for i in range(len(powers))]
    rs = [MeterReading(T0 + timedelta(seconds=t), DEV, p, None) for t, p in zip(times, powers,
                                                                                   strict=True)]
    _, points, tail, _ = run(rs, cfg)
    return total(points + tail, "starts"), total(points + tail, "running_s")


def test_one_clean_cycle():
    assert starts_and_running([20] * 5 + [1800] * 10 + [20] * 5) == (1, 100.0)


def test_noise_around_the_threshold_is_one_run():
    # 240..300 W wobble during a low-modulation run never drops below 0.8 * 250 W.
    wobble = [1500, 1500, 240, 300, 245, 260, 240, 1500, 240, 1500]
    assert starts_and_running([20] * 3 + wobble + [20] * 3)[0] == 1


def test_single_spikes_are_no_starts_and_single_dips_are_no_stops():
    assert starts_and_running([20, 20, 900, 20, 20, 900, 20, 20]) == (0, 0.0)
    assert starts_and_running([20, 20, 900, 900, 20, 900, 900, 20, 20])[0] == 1


def test_already_running_at_start_is_no_start():
    assert starts_and_running([1500] * 6) == (0, 50.0)


def test_no_counter_source_integrates_power_and_leaves_gaps_empty():
    cfg = MeterConfig(DEV, running_w=250, has_counter=False)
    rs = [MeterReading(T0 + timedelta(seconds=t), DEV, p, None)
          for t, p in [(0, 360.0), (10, 360.0), (20, 720.0), (500, 720.0), (510, -50.0)]]
    _, points, tail, events = run(rs, cfg)
    # 1 Wh + 1.5 Wh, nothing for the 480 s gap, then (720 + 0) / 2 W for 10 s = 1 Wh.
    assert total(points + tail, "energy_wh") == pytest.approx(3.5)
    assert total(points + tail, "duration_s") == pytest.approx(30.0)
    assert electricity(points + tail)[-1].fields["counter_wh"] == pytest.approx(3.5)
    assert not [e for e in events if e.kind == "rejected"]


# --- resume after a restart ------------------------------------------------------------


def test_resume_from_flushed_minute_and_its_meter_point_is_exact():
    rs = [reading(i, 1000.0, 200.0 + i, 500 + 10 * i) for i in range(8)]  # :05 .. 1:15
    whole = run(rs)
    # Stop after reading 6 (12:01:05), flush, then restart and continue.
    _, points, tail, _ = run(rs[:7])
    stored = points + tail
    last_el = electricity(stored)[-1]
    last_meter = [p for p in stored if p.measurement == "meter"][-1]
    cfg = MeterConfig(DEV, running_w=250)
    _, more, more_tail, _ = run(rs[7:], cfg, resume_state(cfg, last_el, last_meter))
    merged = {(p.measurement, p.time): p for p in stored + more + more_tail}  # store upsert
    assert total(merged.values(), "energy_wh") == pytest.approx(
        total(whole[1] + whole[2], "energy_wh"))
    assert total(merged.values(), "duration_s") == pytest.approx(70.0)


def test_resume_after_a_crash_counts_what_was_never_accounted():
    # Stored: minute 12:00 (counter 205); raw meter points went on to 209 before the crash.
    last_el = Point("electricity", datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
                    {"energy_wh": 5.0, "duration_s": 50.0, "counter_wh": 205.0},
                    {"device": DEV, "source": "meter", "circuit": "total"})
    last_meter = Point("meter", T0 + timedelta(seconds=90), {"energy_import_wh": 209.0},
                       {"device": DEV})
    cfg = MeterConfig(DEV)
    state = resume_state(cfg, last_el, last_meter)
    assert state.baseline.counter_wh == 205.0
    acc = MeterAccountant(cfg, state)
    acc.add(reading(30, 0.0, 215.0))  # 12:05:05
    (point,) = acc.flush()
    assert point.fields["energy_wh"] == pytest.approx(10.0)
    assert point.fields["duration_s"] == pytest.approx(245.0)  # from 12:01:00


def test_resume_from_meter_point_only_and_from_nothing():
    cfg = MeterConfig(DEV)
    meter = Point("meter", T0, {"energy_import_wh": 50.0, "uptime_s": 100}, {"device": DEV})
    state = resume_state(cfg, None, meter)
    assert (state.baseline.counter_wh, state.baseline.uptime_s) == (50.0, 100)
    assert resume_state(cfg) == MeterState()


def test_accountant_logs_one_warning_per_streak(caplog):
    caplog.set_level(logging.DEBUG, logger="collector.meter")
    acc = MeterAccountant(MeterConfig(DEV))
    for i in range(5):
        acc.add(reading(i, 0.0, -1.0))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "negative" in warnings[0].getMessage()


def test_config_from_settings():
    from heatpump.settings import Settings

    settings = Settings.from_mapping({"HEATPUMP_RUNNING_W": "400", "SHELLY_POLL_SECONDS": "5"})
    cfg = MeterConfig.from_settings(settings, DEV, counter_survives_reboot=False)
    assert (cfg.running_w, cfg.off_w, cfg.poll_s, cfg.gap_limit_s) == (400.0, 320.0, 5.0, 25.0)
    assert not cfg.counter_survives_reboot


class LatestOnlyStore:
    """Just enough of the Store contract for resuming: upserting writes and `latest`."""

    def __init__(self) -> None:
        self.rows: dict[tuple, Point] = {}

    def write(self, points) -> None:
        for p in points:
            self.rows[(p.measurement, tuple(sorted(p.tags.items())), p.time)] = p

    def latest(self, measurement, fields=None, tags=None):
        from heatpump.store.base import Latest

        out = {}
        for p in sorted(self.rows.values(), key=lambda p: p.time):
            if p.measurement != measurement or any(p.tags.get(k) != v
                                                   for k, v in (tags or {}).items()):
                continue
            for name, value in p.fields.items():
                if fields is None or name in fields:
                    out[name] = Latest(p.time, value, dict(p.tags))
        return out


@pytest.mark.parametrize("cut", [3, 7, 9])
def test_accountant_from_store_resumes_exactly(cut):
    rs = following([720.0 if i % 7 < 4 else 20.0 for i in range(20)], 200.0)
    cfg = MeterConfig(DEV, running_w=250)
    whole = run(rs, cfg)
    store = LatestOnlyStore()
    acc = MeterAccountant(cfg, stored_state(cfg, store))
    assert acc.state == MeterState()
    for r in rs[:cut]:
        store.write(acc.add(r).points)
    store.write(acc.flush())  # clean shutdown
    acc = MeterAccountant(cfg, stored_state(cfg, store))
    for r in rs[cut:]:
        store.write(acc.add(r).points)
    store.write(acc.flush())
    el = [p for p in store.rows.values() if p.measurement == "electricity"]
    assert total(el, "energy_wh") == pytest.approx(total(whole[1] + whole[2], "energy_wh"))
    assert total(el, "duration_s") == pytest.approx(190.0)


def test_step_never_changes_the_state_it_is_given():
    """`step` updates a private working copy in place (meter.py `_set`): every state it was
    handed stays as it was, through plain readings, a dip that is held and settled, a gap
    and a reboot, so a caller may keep and reuse an old state."""
    cfg = MeterConfig(DEV, running_w=250, counter_survives_reboot=False)
    readings = following([2000.0] * 30, 1000.0)
    readings[12] = reading(12, 2000.0, readings[12].energy_import_wh - 50.0, 620)  # a dip
    readings[20:] = [reading(i + 30, r.power_w, r.energy_import_wh + 40.0, 800 + 10 * i)
                     for i, r in enumerate(readings[20:])]  # a gap of 100 s
    readings.append(reading(60, 2000.0, 5.0, 3))  # a reboot: the counter restarts
    state = MeterState()
    for r in readings:
        before = repr(state.__dict__)
        new, _ = step(state, r, cfg)
        assert repr(state.__dict__) == before
        assert new is not state
        state = new
