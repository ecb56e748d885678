"""The field cases of tests/fixtures/vicare/cases (README there): real answers the product
got wrong, replayed through PyViCare, the mapping, accounting and the service's health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from heatpump.settings import Settings
from tests.collector.vicare.conftest import Clock
from tests.collector.vicare.harness import PollResult, ViCareHarness
from tests.fakes.vicare_cloud import FIXTURES

CASES = FIXTURES / "cases"


def replay(name: str, tmp_path: Path, clock: Clock, tz: str = "Europe/Berlin"):
    return ViCareHarness(Settings.from_mapping({
        "VICARE_DUMP": str(CASES / name), "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
        "HEATPUMP_TZ": tz}), clock)


def energy_wh(result: PollResult, measurement: str) -> dict[str, float]:
    return {p.tags["circuit"]: p.fields["energy_wh"] for p in result.points
            if p.measurement == measurement}


@pytest.mark.parametrize(("name", "measurement"), [
    ("vicare_summary_month_rollover_lag.json", "electricity"),
    ("vicare_heat_summary_month_rollover_lag.json", "heat"),
])
@pytest.mark.parametrize("tz", ["Europe/Berlin", "UTC"])
def test_a_month_end_before_the_device_rolls_over_is_0_kwh(name, measurement, tz, tmp_path):
    """Polled at 23:55 and 00:05 across the month end of the zone HEATPUMP_TZ names, the
    answer unchanged: 0 kWh (it was 400 kWh: lastMonth booked once more)."""
    month_end = datetime(2024, 12, 1, tzinfo=ZoneInfo(tz))
    clock = Clock((month_end - timedelta(minutes=5)).astimezone(UTC))
    case = replay(name, tmp_path, clock, tz)
    first = case.poll()
    assert first.samples and energy_wh(first, measurement) == {}
    clock.advance(600)
    assert clock().astimezone(ZoneInfo(tz)).month == 12  # the zone's month did end
    second = case.poll()
    assert energy_wh(second, measurement) == {"heating": 0.0, "total": 0.0}
    assert [(h.status, h.reason) for h in second.health] == []  # nothing to report


def test_stale_arrays_book_nothing_and_say_since_when(tmp_path):
    """The arrays' dayValueReadAt is ten days old; polled before and after local midnight:
    nothing is booked (it was 3.6 kWh in 10 minutes), and health says the counters are
    stale since 2024-10-31 22:58 UTC."""
    clock = Clock(datetime(2024, 11, 10, 22, 55, tzinfo=UTC))
    case = replay("vicare_stale_day_array_ha130273.json", tmp_path, clock)
    first = case.poll()
    (sample,) = first.samples
    assert sample.counters["electricity.heating.last_day"] == 3.6
    read = datetime(2024, 10, 31, 22, 58, 23, 426000, tzinfo=UTC)
    assert sample.counters_read_at["electricity.heating.day"] == read
    # the month array has no stamp of its own: it is as old as the feature's
    assert sample.counters_read_at["electricity.heating.last_month"] == read
    stale = [h for h in first.health if h.reason == "counters_stale"]
    assert len(stale) == 1 and stale[0].status == "up"
    assert "since 2024-10-31 22:58 UTC (10.0 days before this poll)" in stale[0].detail
    assert "electricity.heating" in stale[0].detail
    clock.advance(600)
    second = case.poll()
    assert energy_wh(second, "electricity") == {}
    assert [h.reason for h in second.health] == []  # reported once
