"""`heatpump demo --scenario two-meters`: the outdoor unit's and the indoor unit's simulated
Shellys see their share of the house's loads (simhouse.meters), their split adds up to the
one meter exactly, and the bot's /jaz states the boundary of the two together."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.analytics import performance
from bot.replies import boundary_lines
from bot.store_reads import period_data
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill
from simhouse.house import Simulator
from simhouse.meters import ShareMeter

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 1, 18, 0, 0, tzinfo=UTC)


def test_the_shares_add_up_to_the_one_meter_and_the_counters_run_on() -> None:
    sim = Simulator(5, T0, "Europe/Berlin")
    out, ind = ShareMeter(sim, "outdoor_unit"), ShareMeter(sim, "indoor_unit")
    end = T0 + timedelta(days=2)
    total = sim.minutes(T0, end)["elec_w"]
    split = out.true_power_w(T0, end) + ind.true_power_w(T0, end)
    assert np.max(np.abs(split - total)) < 1e-9
    assert ind.true_power_w(T0, end).min() >= 14.0  # the controller's standby, always
    # each counter integrates its own loads, across the day (chunk) boundary
    a, b = T0 + timedelta(hours=23), T0 + timedelta(hours=25)
    for meter in (out, ind):
        first, last = meter.meter_step(a), meter.meter_step(b)
        assert first is not None and last is not None
        true_wh = float(meter.true_power_w(a, b).sum()) / 60.0
        assert last.energy_import_wh - first.energy_import_wh == pytest.approx(true_wh, abs=0.02)
    with pytest.raises(ValueError, match="no simulated meter for role 'system'"):
        ShareMeter(sim, "system")


def run(tmp_path: Path, scenarios: list[str]) -> tuple[Settings, float]:
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC"})
    summary, _house = backfill(s, 1, 3, scenarios, now=NOW, out=io.StringIO())
    return s, summary.electricity_kwh


def test_two_meters_in_the_demo_measure_what_one_meter_does(tmp_path: Path) -> None:
    _, one_kwh = run(tmp_path / "one", [])
    s, two_kwh = run(tmp_path / "two", ["two-meters"])
    assert two_kwh == pytest.approx(one_kwh, abs=1e-6)
    start, end = NOW - timedelta(days=1), NOW
    with open_store(s, demo=True) as store:
        rows = store.sums("electricity", ("energy_wh", "running_s"), start, end, "hour",
                          s.tz, tags={"source": "meter", "circuit": "total"},
                          group_by=("role", "device"))
        devices = {(r.tags["role"], r.tags["device"]) for r in rows}
        assert sorted(devices) == [("indoor_unit", "shellypro3em-aabbccddee02"),
                                   ("outdoor_unit", "shellypro3em-aabbccddee01")]

        def total(role: str, name: str) -> float:
            return sum(r.values.get(name, 0.0) for r in rows if r.tags["role"] == role)

        # the indoor unit is never taken for a running compressor
        assert total("indoor_unit", "running_s") == 0
        assert total("outdoor_unit", "running_s") > 3600
        assert (total("indoor_unit", "energy_wh") + total("outdoor_unit", "energy_wh")) / 1000 \
            == pytest.approx(two_kwh)
        perf = performance(period_data(store, start, end, s.tz, end).pairs, start, end)
    # the simulated Vitocal reports its heating rod (idle that day): the whole system's
    # figure adds it, with the indoor unit's pump, as H4
    assert boundary_lines(perf, "COP") == [
        "boundary H2 (SEPEMO: the heat pump with its fan/source pump + circulation pumps): "
        "the electricity the meters count (indoor unit, outdoor unit)",
        "whole system COP 3.20 = 94.7 kWh heat / 29.6 kWh electricity; boundary H4 (SEPEMO: "
        "heat pump, heating rod and circulation pumps)",
        "heating rod: 0.0 kWh electricity = 0% of the system's electricity and 0% of its heat "
        "(heating 0.0 kWh, hot water 0.0 kWh)"]
    assert perf.hours_counted >= 22


def test_a_share_meter_keeps_the_trace_its_records_are_made_of() -> None:
    """A share meter of a Pro 3EM keeps per-minute records like the house's meter
    (simhouse/shelly_records.py reads `meter_trace`): its trace is its own power and counter
    at the house meter's times, across a day (chunk) boundary."""
    sim = Simulator(5, T0, "Europe/Berlin")
    out = ShareMeter(sim, "outdoor_unit")
    a, b = T0 + timedelta(hours=23, minutes=50), T0 + timedelta(hours=24, minutes=10)
    trace = out.meter_trace(a, b)
    assert len(trace.time_s) == 120 and trace.time_s[0] == int(a.timestamp())
    for i in (0, 59, 60, 119):
        step = out.meter_step(datetime.fromtimestamp(int(trace.time_s[i]), UTC))
        assert step is not None
        assert (trace.power_w[i], trace.energy_import_wh[i]) == (step.power_w,
                                                                 step.energy_import_wh)
