"""The runtime estimate over the real path (simulated meter and Vitocal through the
collector): a failed Viessmann poll loses none of the meter's running time, and 0 s of
running is 0 heat."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill

NOW = datetime(2026, 4, 20, 12, 0, tzinfo=UTC)  # mild: the compressor cycles


def test_polls_that_failed_lose_no_running_time(tmp_path) -> None:
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ":
                               "Europe/Berlin", "HEATPUMP_RATED_HEAT_KW": "7"})
    _, house = backfill(s, 0.5, 3, ["no-heat-counters", "no-flow-sensor",
                                    "heatpump-outage@-3h/20m"], now=NOW, out=io.StringIO())
    with open_store(s, demo=True) as store:
        heat = store.points("heat", NOW - timedelta(days=1), NOW, tags={"circuit": "total"})
    assert {p.tags["method"] for p in heat} == {"runtime"}
    assert all(p.fields["estimate"] is True for p in heat)
    # the interval across the outage (four polls failed) is booked whole
    (gap,) = [p for p in heat if p.fields["duration_s"] > 600]
    start = gap.time - timedelta(seconds=gap.fields["duration_s"])
    assert gap.fields["duration_s"] == 1500.0
    running_s = house.sim.truth(start, gap.time).compressor_running_s
    assert running_s > 0
    assert gap.fields["energy_wh"] == pytest.approx(7000 * running_s / 3600, rel=0.05)
    # the meter saw the compressor off: 0 heat, not "unknown"
    off = [p for p in heat if house.sim.truth(
        p.time - timedelta(seconds=p.fields["duration_s"]), p.time).compressor_running_s == 0]
    assert off and all(p.fields["energy_wh"] == 0.0 for p in off)
    assert sum(p.fields["duration_s"] for p in heat) == pytest.approx(
        (heat[-1].time - heat[0].time).total_seconds() + heat[0].fields["duration_s"])
