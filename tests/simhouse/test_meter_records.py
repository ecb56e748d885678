"""Issue 18, the meter's side: a 6-hour outage filled from the simulated Pro 3EM's own
per-minute records, through the real client, records reader, meter accounting, collector
and store, checked against the simulator's truth; and the simulated records themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.analytics import performance
from collector.shelly.records import parse_data, parse_first_record
from simhouse.demo_cmd import simulated_house
from simhouse.scenarios import build_setup
from simhouse.shelly_records import KEYS, PER_PAGE
from tests.collector.shelly.test_records import ALL
from tests.simhouse.test_meter_scenarios import (
    NOW,
    Run,
    assert_jaz_is_the_truth_of_its_hours,
    assert_no_phantom_and_nothing_lost,
    demo,
)

OUT = (NOW - timedelta(hours=12), NOW - timedelta(hours=6))  # 00:00 - 06:00 UTC


def _meter_minutes(run: Run):
    return {p.time: p for p in run.points("electricity", source="meter")}


def test_a_six_hour_outage_is_filled_from_the_meters_records_and_coverage_is_back(tmp_path):
    run = demo(tmp_path, 1, "meter-outage@-12h/6h")
    assert_no_phantom_and_nothing_lost(run)
    minutes = _meter_minutes(run)
    # the gap runs from the last poll before the outage (23:59:50) to the first after it
    filled = {m: p for m, p in minutes.items()
              if "filled_wh" in p.fields and m >= run.summary.start}
    assert min(filled) == OUT[0] - timedelta(minutes=1) and max(filled) == OUT[1] - timedelta(
        minutes=1)
    assert len(filled) == 361
    assert not [p for p in minutes.values() if "bridged_wh" in p.fields]
    # every whole minute of the outage holds what the meter measured in it: the simulator's
    # truth, to the records' rounding (4 decimals per phase) and the counter's (0.01 Wh)
    sim = run.house.sim  # type: ignore[attr-defined]
    for m in (m for m in filled if OUT[0] <= m < OUT[1] - timedelta(minutes=1)):
        truth = sim.truth(m, m + timedelta(minutes=1)).electricity_wh
        assert minutes[m].fields["energy_wh"] == pytest.approx(truth, abs=0.01)
        assert minutes[m].fields["filled_wh"] == minutes[m].fields["energy_wh"]
        assert minutes[m].fields["duration_s"] == 60.0
        assert "running_s" not in minutes[m].fields  # running time unknown, not invented
    # each hour of the outage: the truth of the hour
    for h in range(6):
        a = OUT[0] + timedelta(hours=h)
        stored = sum(p.fields["energy_wh"] for m, p in minutes.items()
                     if a <= m < a + timedelta(hours=1))
        assert stored == pytest.approx(sim.truth(a, a + timedelta(hours=1)).electricity_wh,
                                       abs=0.05)
    # the pairing counts those hours again: /jaz covers the whole day
    assert all(p.counted for p in run.pairs)
    perf = performance(run.pairs, run.summary.start, run.summary.end)
    assert perf.coverage == 1.0 and perf.hours_counted == perf.hours_elapsed == 24
    assert_jaz_is_the_truth_of_its_hours(run)
    jaz = run.ask("/jaz today")  # since local midnight, 23:00 UTC: 13 h
    assert "covers 100% of the period (13 of 13 h with both meter and heat data)" in jaz
    assert "left out:" not in jaz


def test_the_same_outage_on_a_meter_without_records_stays_a_gap(tmp_path):
    """The Plus 1PM keeps no records: today's behaviour (bridged, not counted)."""
    run = demo(tmp_path, 1, "meter-outage@-12h/6h", meter="plus1pm")
    minutes = _meter_minutes(run)
    assert not [p for p in minutes.values() if "filled_wh" in p.fields]
    assert sum(p.fields.get("bridged_s", 0.0) for p in minutes.values()) == pytest.approx(
        6 * 3600, abs=30)
    assert sum(1 for p in run.pairs if not p.counted) == 6


def test_the_simulated_pro3em_answers_its_records_in_the_wire_format():
    now = [NOW]
    setup = build_setup(["meter-outage@-3h/1h"], NOW, "pro3em")
    house = simulated_house(_settings(), NOW - timedelta(days=2), setup, 5, lambda: now[0],
                            "pro3em")
    meter = house.shelly
    status, body = meter.answer("/rpc/EMData.GetRecords?id=0")
    assert status == 200
    first = parse_first_record(body, ALL, "sim")
    assert first == NOW - timedelta(days=3)  # the simulator starts a day before the house
    # paged: PER_PAGE records an answer, next_record_ts where the next page starts
    a = int((NOW - timedelta(hours=4)).timestamp())
    status, page = meter.answer(f"/rpc/EMData.GetData?id=0&ts={a}&end_ts={a + 7200}")
    assert status == 200 and page["keys"] == KEYS and len(KEYS) == 51
    got, nxt = parse_data(page, ALL, "sim")
    assert len(got) == PER_PAGE and nxt == a + 60 * PER_PAGE
    # the outage's minutes are recorded (the meter kept measuring) and agree with the truth
    sim = house.sim
    m = NOW - timedelta(hours=2, minutes=30)
    _, body = meter.answer(f"/rpc/EMData.GetData?id=0&ts={int(m.timestamp())}"
                           f"&end_ts={int(m.timestamp())}")
    one, nxt = parse_data(body, ALL, "sim")
    assert nxt is None
    assert one[m] == pytest.approx(sim.truth(m, m + timedelta(minutes=1)).electricity_wh,
                                   abs=0.011)  # the counter steps in 0.01 Wh
    # the minute still running has no record yet
    now[0] = NOW + timedelta(seconds=30)
    _, body = meter.answer(f"/rpc/EMData.GetData?id=0&ts={int(NOW.timestamp()) - 120}")
    assert sorted(parse_data(body, ALL, "sim")[0]) == [NOW - timedelta(minutes=2),
                                                       NOW - timedelta(minutes=1)]
    # while the meter is unreachable, it answers nothing
    now[0] = NOW - timedelta(hours=2, minutes=30)
    with pytest.raises(ConnectionError):
        meter.answer("/rpc/EMData.GetData?id=0&ts=0")


def _settings():
    from heatpump.settings import Settings
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin"})


def test_only_the_pro3em_keeps_records():
    for model in ("plus1pm", "plugs", "3em"):
        house = simulated_house(_settings(), NOW - timedelta(days=1), build_setup([], NOW, model),
                                5, lambda: NOW, model)
        assert house.shelly.records is None
    setup = build_setup(["meter-no-counters"], NOW, "pro3em")
    house = simulated_house(_settings(), NOW - timedelta(days=1), setup, 5, lambda: NOW,
                            "pro3em")
    assert house.shelly.records is None  # firmware before 1.0: no EMData at all


def _record_by_record(sim, share, a: int, b: int) -> list[dict]:
    """GetData blocks of the minutes [a, b) computed a minute at a time, float by float:
    what the records are (simhouse/shelly_records.py), written out plainly."""
    import numpy as np

    trace = sim.meter_trace(datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b + 1, UTC))
    t, counter, power = trace.time_s, trace.energy_import_wh, trace.power_w
    blocks, rows = [], []
    for m in range(a, b, 60):
        i, j = np.searchsorted(t, m), np.searchsorted(t, m + 60)
        if i >= len(t) or j >= len(t) or t[i] != m or t[j] != m + 60:
            if rows:
                blocks.append({"ts": m - 60 * len(rows), "period": 60, "values": rows})
            rows = []
            continue
        wh = max(float(counter[j] - counter[i]), 0.0)
        p = power[i:j]
        row = []
        for s in share:
            e = round(wh * s, 4)
            hi, lo = round(float(p.max()) * s, 1), round(float(p.min()) * s, 1)
            row += [e, e, 0.0, 0.0, 0.0, 0.0, hi, lo, round(hi * 1.03, 1), round(lo * 1.03, 1),
                    231.0, 229.0, 230.0, round(hi / 230.0, 3), round(lo / 230.0, 3),
                    round(wh * s * 60 / 230.0, 3)]
        rows.append([*row, 0.0, 0.0, 0.0])
    if rows:
        blocks.append({"ts": b - 60 * len(rows), "period": 60, "values": rows})
    return blocks


def test_records_computed_at_once_are_those_of_each_minute() -> None:
    """A page's records are computed as arrays: every value is, to the bit, what the
    minute's own float-by-float rounding gives; the minutes before the meter's first step
    end a block (the next starts after them); an outage does not (the meter kept
    measuring)."""
    from simhouse.house import MeterReboot, Outage, Simulator
    from simhouse.shelly import PHASE_SHARE
    from simhouse.shelly_records import EMDataRecords

    start = datetime(2025, 1, 6, 21, 7, 30, tzinfo=UTC)  # (the first whole minute: 21:08)
    sim = Simulator(3, start, "Europe/Berlin", scenarios=[
        Outage("meter", start + timedelta(hours=1), start + timedelta(hours=2)),
        MeterReboot(start + timedelta(hours=3, seconds=13))])
    records = EMDataRecords(sim, lambda: start + timedelta(days=1), PHASE_SHARE)
    origin = int(start.timestamp()) // 60 * 60
    for a, b in ((origin - 600, origin + 3 * 3600), (origin + 7200 - 60, origin + 7200 + 60),
                 (origin + 23 * 3600, origin + 26 * 3600)):  # (over the day's table end)
        assert repr(records._blocks(a, b)) == repr(_record_by_record(sim, PHASE_SHARE, a, b))
