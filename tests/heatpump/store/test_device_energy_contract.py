"""The `device_energy` measurement on both backends (SQLite and a real influxd): the
heat pump's memory imported again overwrites its periods, and retention keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.points import device_energy_points
from collector.vicare.history import device_history
from tests.conftest import BERLIN
from tests.fakes.vicare_cloud import fixture

FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def test_imports_overwrite_their_periods_and_survive_retention(store):
    records = device_history(fixture("Vitocal222S.json")["data"], "hp", BERLIN)
    points = device_energy_points(records, BERLIN)
    store.write(points)
    store.flush()
    store.write(points)  # imported again: the same keys
    store.flush()
    got = store.points("device_energy", *FAR)
    assert len(got) == len(points) == 89
    year = [p for p in got if p.tags["period"] == "year" and p.tags["kind"] == "heat"
            and p.tags["circuit"] == "heating"]
    assert [(p.fields["period_start"], p.fields["energy_wh"], p.fields["complete"])
            for p in year] == [("2024-01-01", 7938800.0, True), ("2025-01-01", 5603100.0, False)]
    # the current year, imported later with a larger value, replaces the earlier import
    current = next(p for p in points if p.tags == year[1].tags and p.time == year[1].time)
    store.write([type(current)(current.measurement, current.time,
                               {**current.fields, "energy_wh": 6000000.0}, current.tags)])
    store.flush()
    again = store.points("device_energy", year[1].time, year[1].time + timedelta(seconds=1),
                         dict(year[1].tags))
    assert [p.fields["energy_wh"] for p in again] == [6000000.0]
    store.apply_retention(timedelta(days=1), datetime(2030, 1, 1, tzinfo=UTC))
    store.flush()
    assert len(store.points("device_energy", *FAR, {"basis": "device"})) == 89
