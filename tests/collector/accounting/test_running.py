"""The meter's running time, asked for any interval (collector/accounting/running.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.accounting.running import KEEP, RunningLedger

T0 = datetime(2026, 1, 15, 12, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def meter(ledger: RunningLedger, start: float, end: float, running: bool, step: float = 10):
    t = start
    while t < end:
        ledger.add(s(t + step), step, step if running else 0.0)
        t += step


def test_running_and_covered_seconds_of_an_interval() -> None:
    ledger = RunningLedger()
    meter(ledger, 0, 120, True)
    meter(ledger, 120, 300, False)
    assert ledger.between(s(0), s(300)) == (120.0, 300.0)
    assert ledger.between(s(60), s(180)) == (60.0, 120.0)


def test_zero_running_is_covered_not_unknown() -> None:
    ledger = RunningLedger()
    meter(ledger, 0, 300, False)
    assert ledger.between(s(0), s(300)) == (0.0, 300.0)


def test_a_gap_in_the_meter_is_not_covered() -> None:
    ledger = RunningLedger()
    meter(ledger, 0, 100, True)
    meter(ledger, 200, 300, True)  # nothing from 100 to 200 (the meter was offline)
    assert ledger.between(s(0), s(300)) == (200.0, 200.0)
    assert ledger.between(s(100), s(200)) == (0.0, 0.0)


def test_an_interval_that_overlaps_partly_counts_pro_rata() -> None:
    ledger = RunningLedger()
    ledger.add(s(60), 60.0, 30.0)
    running, covered = ledger.between(s(30), s(90))
    assert (running, covered) == pytest.approx((15.0, 30.0))


def test_out_of_order_and_empty_readings_are_ignored() -> None:
    ledger = RunningLedger()
    ledger.add(s(10), 10.0, 10.0)
    ledger.add(s(5), 5.0, 5.0)  # before the last one: already accounted for
    ledger.add(s(20), 0.0, 0.0)  # covers nothing
    ledger.add(s(30), 10.0, 50.0)  # running is capped at what was covered
    assert ledger.between(s(0), s(30)) == (20.0, 20.0)


def test_old_intervals_are_forgotten_after_keep() -> None:
    ledger = RunningLedger()
    meter(ledger, 0, 60, True)
    late = KEEP.total_seconds() + 120
    meter(ledger, late, late + 60, True)
    assert ledger.between(s(0), s(60)) == (0.0, 0.0)
    assert ledger.between(s(late), s(late + 60)) == (60.0, 60.0)
