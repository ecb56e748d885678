"""A gap in the readings filled from the meter's own per-minute records (gapfill.py), through
the meter accounting's `step`: where the counter's advance goes, what marks it, and when
the records are not used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.accounting.gapfill import fill_gap
from collector.accounting.meter import (
    Bucket,
    MeterAccountant,
    MeterConfig,
    MeterState,
    _Minutes,
    flush,
    step,
)
from collector.readings import MeterReading
from tests.collector.accounting.test_meter import electricity as merged


def electricity(points):
    """The electricity minutes as the store keeps them, by minute."""
    return {p.time: p for p in merged(points)}

DEV = "shellypro3em-aabbccddeeff"
T0 = datetime(2026, 1, 15, 9, 50, 5, tzinfo=UTC)
GAP_END = datetime(2026, 1, 15, 12, 20, 5, tzinfo=UTC)  # 2.5 h later, across two hours
MIN = timedelta(minutes=1)


def records_over(a: datetime, b: datetime, wh_of=lambda m: 20.0 + (m.minute % 7)
                 ) -> dict[datetime, float]:
    """Per-minute records of every minute overlapping [a, b): 20-26 Wh (1.2-1.6 kW)."""
    out, m = {}, a.replace(second=0)
    while m < b:
        out[m] = wh_of(m)
        m += MIN
    return out


def readings_around_gap(records: dict[datetime, float]) -> tuple[list[MeterReading], float]:
    """Three polls before the gap, one after (1200 W), the counter after the gap advanced by
    what the records say of the gap (5/60 of the first minute, 5/60 of the last)."""
    counter = 1000.0
    out = [MeterReading(T0 + timedelta(seconds=10 * i), DEV, 1200.0,
                        counter + i * 10 / 3600 * 1200.0, 500 + 10 * i) for i in range(3)]
    start = out[-1].time  # 09:50:25
    gap_wh = sum(wh * (min(m + MIN, GAP_END) - max(m, start)).total_seconds() / 60
                 for m, wh in records.items() if m + MIN > start and m < GAP_END)
    after = out[-1].energy_import_wh + gap_wh
    out.append(MeterReading(GAP_END, DEV, 1200.0, after, 500 + 9020))
    return out, gap_wh


def run(readings, records, cfg=None):
    cfg = cfg or MeterConfig(DEV, running_w=250)
    acc = MeterAccountant(cfg, MeterState())
    points, events = [], []
    for r in readings:
        update = acc.add(r, records if r.time == GAP_END else None)
        points += update.points
        events += update.events
    _, tail = flush(acc.state, cfg)
    return points + tail, events, acc.state


def test_the_gap_is_placed_minute_by_minute_as_the_meter_recorded_it():
    records = records_over(T0, GAP_END)
    readings, gap_wh = readings_around_gap(records)
    points, events, state = run(readings, records)
    minutes = electricity(points)
    inside = {m: p for m, p in minutes.items()
              if datetime(2026, 1, 15, 9, 51, tzinfo=UTC) <= m < datetime(2026, 1, 15, 12, 20,
                                                                         tzinfo=UTC)}
    assert len(inside) == 149
    for m, p in inside.items():  # every whole minute: exactly its record, 60 s, not bridged
        assert p.fields["energy_wh"] == pytest.approx(records[m], abs=1e-9)
        assert p.fields["filled_wh"] == pytest.approx(records[m], abs=1e-9)
        assert p.fields["duration_s"] == 60.0
        assert "bridged_wh" not in p.fields and "bridged_s" not in p.fields
        # a minute's energy cannot show a 10-s start: running time and starts unknown
        assert "running_s" not in p.fields and "starts" not in p.fields
        assert p.fields["running_wh"] == 0.0
    # the edges: the part of 09:50 after the last poll, the 5 s of 12:20 before the next one
    first = minutes[datetime(2026, 1, 15, 9, 50, tzinfo=UTC)].fields
    assert first["filled_wh"] == pytest.approx(records[T0.replace(second=0)] * 35 / 60)
    last = minutes[datetime(2026, 1, 15, 12, 20, tzinfo=UTC)].fields
    assert last["filled_wh"] == pytest.approx(records[GAP_END.replace(second=0)] * 5 / 60)
    assert last["counter_wh"] == pytest.approx(readings[-1].energy_import_wh)
    # the counter's advance, all of it, nothing else
    assert sum(p.fields.get("filled_wh", 0.0) for p in minutes.values()) == pytest.approx(
        gap_wh, abs=1e-9)
    assert [e.kind for e in events] == ["records_filled"]
    assert "from the meter's own per-minute records" in events[0].detail
    assert state.records is None and state.records_note is None  # for one reading only


def test_the_running_minute_has_no_record_yet_and_gets_the_counters_rest():
    """The reading that ends the gap comes 5 s into 12:20: the meter has recorded up to
    12:19 only. The 5 s of 12:20 get what the counter advanced beyond the records."""
    records = records_over(T0, GAP_END)
    readings, gap_wh = readings_around_gap(records)
    running = GAP_END.replace(second=0)
    tail_wh = records.pop(running) * 5 / 60  # what the counter moved in those 5 s
    points, events, _ = run(readings, records)
    minutes = electricity(points)
    last = minutes[running].fields
    assert last["energy_wh"] == pytest.approx(tail_wh, abs=1e-9)
    assert last["duration_s"] == 5.0 and "filled_wh" not in last and "bridged_wh" not in last
    filled = sum(p.fields.get("filled_wh", 0.0) for p in minutes.values())
    assert filled == pytest.approx(gap_wh - tail_wh, abs=1e-9)
    assert minutes[datetime(2026, 1, 15, 11, 0, tzinfo=UTC)].fields["filled_wh"] == (
        pytest.approx(records[datetime(2026, 1, 15, 11, 0, tzinfo=UTC)], abs=1e-9))
    assert [e.kind for e in events] == ["records_filled"]


def test_records_are_scaled_to_the_counter_when_they_differ_by_their_rounding():
    records = records_over(T0, GAP_END)
    readings, gap_wh = readings_around_gap(records)
    readings[-1] = MeterReading(GAP_END, DEV, 1200.0, readings[-1].energy_import_wh + 1.5,
                                9520)
    points, events, _ = run(readings, records)
    filled = [p.fields["filled_wh"] for p in electricity(points).values()
              if "filled_wh" in p.fields]
    assert sum(filled) == pytest.approx(gap_wh + 1.5, abs=1e-9)  # the counter is the total
    minute = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    assert electricity(points)[minute].fields["energy_wh"] == pytest.approx(
        records[minute] * (gap_wh + 1.5) / gap_wh)
    assert [e.kind for e in events] == ["records_filled"]


@pytest.mark.parametrize("damage, why", [
    ("missing", "the meter's records miss 1 minute of the gap"),
    ("disagree", "the meter's records hold"),
])
def test_records_that_do_not_fit_the_counter_are_not_used_and_the_gap_is_bridged(damage, why):
    records = records_over(T0, GAP_END)
    readings, _ = readings_around_gap(records)
    if damage == "missing":
        del records[datetime(2026, 1, 15, 11, 0, tzinfo=UTC)]
    else:  # the records hold 10 % less than the counter advanced: deleted, a reset ...
        records = {m: wh * 0.9 for m, wh in records.items()}
    points, events, _ = run(readings, records)
    minutes = electricity(points)
    assert not [p for p in minutes.values() if "filled_wh" in p.fields]
    # as without records: spread, the parts in the hours it does not fill bridged
    assert sum(p.fields.get("bridged_wh", 0.0) for p in minutes.values()) > 0
    assert sum(p.fields.get("energy_wh", 0.0) for p in minutes.values()) == pytest.approx(
        readings[-1].energy_import_wh - readings[0].energy_import_wh, abs=1e-6)
    assert [e.kind for e in events] == ["records_unused"]
    assert why in events[0].detail and "bridged as without them" in events[0].detail


def test_without_records_a_gap_is_bridged_as_before():
    records = records_over(T0, GAP_END)
    readings, _ = readings_around_gap(records)
    with_none, events, _ = run(readings, None)
    cfg = MeterConfig(DEV, running_w=250)
    state, plain = MeterState(), []
    for r in readings:
        state, update = step(state, r, cfg)
        plain += update.points
    plain += flush(state, cfg)[1]
    assert electricity(with_none) == electricity(plain)
    assert not events


def test_records_never_touch_a_short_interval():
    """Records passed with a reading that ends no gap are ignored (and dropped)."""
    records = records_over(T0, T0 + timedelta(minutes=2))
    cfg = MeterConfig(DEV, running_w=250)
    acc = MeterAccountant(cfg, MeterState())
    acc.add(MeterReading(T0, DEV, 1200.0, 1000.0, 500))
    update = acc.add(MeterReading(T0 + timedelta(seconds=10), DEV, 1200.0, 1003.33, 510),
                     records)
    assert not update.events
    assert acc.state.records is None
    assert not any("filled_wh" in p.fields for p in update.points)


def test_fill_gap_books_nothing_when_it_refuses():
    start = datetime(2026, 1, 15, 10, 0, 30, tzinfo=UTC)
    end = start + timedelta(minutes=5)
    minutes = _Minutes(Bucket(end.replace(second=0)), ())
    why = fill_gap(minutes, start, end, 100.0, {})
    # 10:00 ... 10:04 (the running minute 10:05 is not expected to have a record yet)
    assert why == "the meter's records miss 5 minutes of the gap"
    assert not minutes.dirty and not minutes.open.has_energy
