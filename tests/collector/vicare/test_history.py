"""The heat pump's own memory (collector/vicare/history.py) read from the real dumps: which
periods, dated how, and which figure wins where a device reports two."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collector.points import device_energy_points
from collector.vicare.history import DeviceEnergy, device_history
from tests.fakes.vicare_cloud import fixture

BERLIN = ZoneInfo("Europe/Berlin")


def history(dump: str, tz: ZoneInfo = BERLIN) -> list[DeviceEnergy]:
    return device_history(fixture(dump)["data"], "hp", tz)


def pick(records: list[DeviceEnergy], kind: str, circuit: str, period: str
         ) -> dict[date, float]:
    return {r.start: r.energy_kwh for r in records
            if (r.kind, r.circuit, r.period) == (kind, circuit, period)}


def test_month_arrays_are_dated_back_from_their_read_at():
    # Vitocal 250-A: monthValueReadAt 2025-10-05T05:14Z, so month[0] is October 2025
    months = pick(history("Vitocal250A.json"), "electricity", "total", "month")
    assert months == {
        date(2025, 10, 1): 48.3, date(2025, 9, 1): 121.8, date(2025, 8, 1): 28.1,
        date(2025, 7, 1): 41.7, date(2025, 6, 1): 31.5, date(2025, 5, 1): 65.3,
        date(2025, 4, 1): 282.0, date(2025, 3, 1): 683.0, date(2025, 2, 1): 1008.9,
        date(2025, 1, 1): 1130.2, date(2024, 12, 1): 1049.5, date(2024, 11, 1): 739.1,
        date(2024, 10, 1): 337.0}


def test_each_array_is_dated_by_its_own_read_at():
    # Vitocal 222-S: heating was read on 28.09., dhw on 02.10. (the poll's answer holds both)
    records = history("Vitocal222S.json")
    heating = pick(records, "electricity", "heating", "month")
    dhw = pick(records, "electricity", "dhw", "month")
    assert max(heating) == date(2025, 9, 1) and heating[date(2025, 9, 1)] == 12.6
    assert max(dhw) == date(2025, 10, 1) and dhw[date(2025, 10, 1)] == 5.5
    assert dhw[date(2025, 9, 1)] == 52.9 and min(dhw) == date(2024, 10, 1)
    # the years too: dhw's yearValueReadAt is 04.10., its year[1] is 2024
    assert pick(records, "electricity", "dhw", "year") == {date(2025, 1, 1): 542.0,
                                                           date(2024, 1, 1): 746.6}


def test_index_zero_is_the_current_and_incomplete_period():
    records = history("Vitocal200S_E8NEV.json")  # read 2023-03-16T15:29Z
    days = sorted((r for r in records if (r.kind, r.circuit, r.period)
                   == ("electricity", "heating", "day")), key=lambda r: r.start)
    assert [r.start for r in days] == [date(2023, 3, d) for d in range(9, 17)]
    assert [r.energy_kwh for r in days] == [7.1, 10.6, 11.7, 11.1, 2.3, 7.3, 10.1, 6.3]
    assert [r.complete for r in days] == [True] * 7 + [False]
    assert days[-1].read_at == datetime(2023, 3, 16, 15, 29, 33, 527000, tzinfo=UTC)
    assert days[-1].feature == "heating.power.consumption.heating.day[0]"
    # the device's own summary agrees: lastSevenDays = day[0] + ... + day[6]
    assert round(sum(r.energy_kwh for r in days[1:]), 1) == 59.4


def test_a_read_at_after_local_midnight_is_the_next_local_day():
    data = copy.deepcopy(fixture("Vitocal250A.json")["data"])
    for f in data:
        if f["feature"] == "heating.power.consumption.total":
            f["properties"]["monthValueReadAt"]["value"] = "2025-09-30T22:30:00.000Z"
    records = device_history(data, "hp", BERLIN)
    months = pick(records, "electricity", "total", "month")
    assert max(months) == date(2025, 10, 1)  # 00:30 on 1 October in Berlin
    in_utc = pick(device_history(data, "hp", ZoneInfo("UTC")), "electricity", "total", "month")
    assert max(in_utc) == date(2025, 9, 1)


def test_heat_comes_from_the_summaries_where_there_are_no_arrays():
    records = history("Vitocal222S.json")
    assert pick(records, "heat", "heating", "month") == {date(2025, 10, 1): 109.1,
                                                         date(2025, 9, 1): 124.9}
    assert pick(records, "heat", "dhw", "year") == {date(2025, 1, 1): 1612.9,
                                                    date(2024, 1, 1): 1886.6}
    last_month = next(r for r in records if (r.kind, r.circuit, r.period, r.start)
                      == ("heat", "dhw", "month", date(2025, 9, 1)))
    assert last_month.complete and last_month.feature == (
        "heating.heat.production.summary.dhw.lastMonth")
    assert last_month.read_at == datetime(2025, 10, 5, 9, 40, 10, 11000, tzinfo=UTC)
    current = next(r for r in records if (r.kind, r.circuit, r.period, r.start)
                   == ("heat", "dhw", "day", date(2025, 10, 5)))
    assert current.energy_kwh == 6.8 and not current.complete


def test_arrays_win_over_the_summary_of_the_same_circuit():
    # The 222-S electricity summary for heating is stamped 05.10. but holds what the array
    # read on 28.09. (currentMonth 12.6 = September's month[0]); dated by its stamp it would
    # put September's 12.6 into October.
    records = history("Vitocal222S.json")
    heating = [r for r in records if (r.kind, r.circuit) == ("electricity", "heating")]
    assert all(".summary." not in r.feature for r in heating)
    assert date(2025, 10, 1) not in pick(records, "electricity", "heating", "month")


def test_weeks_and_rolling_windows_are_not_imported():
    records = history("Vitocal222S.json")
    assert {r.period for r in records} == {"day", "month", "year"}
    assert not any("week" in r.feature or "lastSevenDays" in r.feature for r in records)


@pytest.mark.parametrize("dump", ["Vitocal111S.json", "Vitocal200.json"])
def test_a_device_without_memory_gives_nothing(dump):
    assert history(dump) == []


def test_values_that_are_not_energy_are_skipped_never_replaced():
    data: list[dict[str, Any]] = copy.deepcopy(fixture("Vitocal252.json")["data"])
    for f in data:
        if f["feature"] == "heating.power.consumption.total":
            f["properties"]["month"]["value"][1] = None
            f["properties"]["month"]["value"][2] = -4.0
            f["properties"]["year"]["unit"] = "liter"
    records = device_history(data, "hp", BERLIN)
    months = pick(records, "electricity", "total", "month")
    assert date(2024, 8, 1) not in months and date(2024, 7, 1) not in months
    assert months[date(2024, 6, 1)] == 149.7 and len(months) == 11
    assert pick(records, "electricity", "total", "year") == {}


def test_points_are_keyed_by_the_period_start():
    records = [r for r in history("Vitocal250A.json")
               if (r.kind, r.circuit, r.period) == ("electricity", "total", "month")]
    points = device_energy_points(records, BERLIN)
    october = next(p for p in points if p.fields["period_start"] == "2025-10-01")
    assert october.measurement == "device_energy"
    assert october.time == datetime(2025, 9, 30, 22, 0, tzinfo=UTC)  # local midnight (CEST)
    assert october.tags == {"device": "hp", "basis": "device", "period": "month",
                            "kind": "electricity", "circuit": "total"}
    assert october.fields == {"energy_wh": 48300.0, "complete": False,
                              "read_at": "2025-10-05T05:14:16.233000Z",
                              "period_start": "2025-10-01",
                              "feature": "heating.power.consumption.total.month[0]"}
    january = next(p for p in points if p.fields["period_start"] == "2025-01-01")
    assert january.time == datetime(2024, 12, 31, 23, 0, tzinfo=UTC)  # CET
