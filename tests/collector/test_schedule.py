"""The poll grid: no drift, no burst after a slow poll, missed slots coalesced into one."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.schedule import Grid


def test_runs_on_the_grid_without_drift():
    g = Grid(10.0, origin=100.0)
    starts = []
    now = 100.0
    while len(starts) < 1000:
        if g.due(now):
            starts.append(now)
            g.take(now)
            now += 0.37  # every poll takes a bit of time; the grid must not shift
        now = max(now, g.next_due) if not g.due(now) else now
    assert starts[-1] == pytest.approx(100.0 + 999 * 10.0)
    assert g.skipped == 0


def test_slow_poll_coalesces_missed_slots_into_one_run():
    g = Grid(10.0, origin=0.0)
    assert g.take(0.0) == 0
    # the poll started at 0 lasts 35 s: slots 10, 20, 30 pass while it runs
    assert g.due(35.0)
    assert g.take(35.0) == 2  # one catch-up run at 35 stands for slots 10, 20 and 30
    assert g.next_due == 40.0  # back on the grid, no burst
    assert not g.due(39.999)
    assert g.take(40.0) == 0
    assert g.skipped == 2


def test_not_due_refuses():
    g = Grid(5.0, origin=0.0)
    g.take(0.0)
    assert not g.due(4.9)
    with pytest.raises(ValueError):
        g.take(4.9)


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        Grid(0.0, origin=0.0)


@given(st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=1, max_size=200))
def test_never_two_runs_in_one_slot_and_always_on_or_after_a_slot(durations):
    interval = 10.0
    g = Grid(interval, origin=0.0)
    now = 0.0
    slots = []
    for d in durations:
        now = max(now, g.next_due)
        slot = g.next_slot
        coalesced = g.take(now)
        slots.append(int(now // interval))
        assert slot + coalesced == int(now // interval)
        now += d  # the poll's duration; the next run starts only after it (no overlap)
    assert slots == sorted(set(slots))  # strictly increasing: no slot runs twice
