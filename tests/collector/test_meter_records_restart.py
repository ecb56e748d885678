"""The collector stopped for 6 hours and started again (a restart, a host down): the gap in
its readings is filled from the meter's own records (a Pro 3EM's EMData, a Gen1 3EM's
em_data.csv) at the first poll after the start,
through the same wiring, state file, collector and store as `heatpump collect`; a meter
without records leaves the gap bridged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.analytics import performance
from bot.store_reads import hour_pairs
from collector.collect_cmd import build_collector
from collector.drive import every, merged, run_polls
from collector.pipeline import MeterPipeline
from collector.service import VirtualClock
from collector.shelly.client import ShellyClient
from collector.shelly.transport import AnswerTransport
from collector.state import StateFile
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.store.base import StoreError
from simhouse.demo_cmd import ANSWER_DELAY, devices_of, simulated_house
from simhouse.scenarios import build_setup

START = datetime(2026, 1, 15, 0, 0, tzinfo=UTC)
STOP = START + timedelta(hours=4, minutes=20)  # the collector stops ...
# ... and starts again 6 h later, 35 s into a minute: the meter has no record of that
# minute yet (its 35 s get the counter's rest, collector/accounting/gapfill.py)
AGAIN = STOP + timedelta(hours=6, seconds=35)
END = START + timedelta(hours=16)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
# Wh an hour may differ from the truth by rounding alone: a Pro 3EM's records have 4
# decimals per phase, a Gen1 3EM's 2 and its counter (`total`) 1 decimal per phase.
ROUNDING_WH = {"pro3em": 0.05, "3em": 0.1}


def collect_with_downtime(tmp_path, meter_model: str):
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    data_dir = settings.data_dir / "demo"
    data_dir.mkdir(parents=True)
    clock = VirtualClock(START)
    house = simulated_house(settings, START, build_setup([], END, meter_model), 5, clock.now,
                            meter_model)
    for a, b in ((START, STOP), (AGAIN, END)):  # two runs of the collector, state kept
        sources, state = build_sources(settings, clock, data_dir=data_dir,
                                       devices=devices_of(house))
        collector = build_collector(settings, sources, open_store(settings, demo=True),
                                    clock=clock, threaded=False, data_dir=data_dir,
                                    state=state)
        meter, pump = sources
        run_polls(collector, merged(every(meter, a, b), every(pump, a, b, ANSWER_DELAY)),
                  clock)
    with open_store(settings, demo=True) as store:
        minutes = {p.time: p for p in store.points("electricity", *FAR, {"source": "meter"})}
        pairs = hour_pairs(store, START, END, settings.tz)
    return house, minutes, pairs


@pytest.mark.parametrize("model", ["pro3em", "3em"])
def test_a_restart_after_6_hours_fills_the_downtime_from_the_meters_records(tmp_path, model):
    house, minutes, pairs = collect_with_downtime(tmp_path, model)
    filled = sorted(m for m, p in minutes.items() if "filled_wh" in p.fields and m >= START)
    # from the minute of the last poll before the stop to the one before the first after
    running = AGAIN.replace(second=0)
    assert filled[0] == STOP - timedelta(minutes=1) and filled[-1] == running - timedelta(
        minutes=1)
    assert minutes[running].fields["energy_wh"] > 0  # the 35 s before the first reading
    assert "bridged_wh" not in minutes[running].fields
    for h in range(5, 10):  # the whole hours of the downtime: the meter's truth
        a = START + timedelta(hours=h)
        stored = sum(p.fields["energy_wh"] for m, p in minutes.items()
                     if a <= m < a + timedelta(hours=1))
        assert stored == pytest.approx(house.sim.truth(a, a + timedelta(hours=1)
                                                       ).electricity_wh,
                                       abs=ROUNDING_WH[model])
    # nothing lost, nothing doubled: all the meter measured from the first poll to the last
    total = sum(p.fields.get("energy_wh", 0.0) for m, p in minutes.items() if m >= START)
    assert total == pytest.approx(house.sim.truth(START, END - timedelta(seconds=10)
                                                  ).electricity_wh, abs=ROUNDING_WH[model])
    meter_cover = [p.elec_cover for p in pairs]
    assert min(meter_cover) >= 0.99  # the meter's side covers every hour again
    perf = performance(pairs, START, END)
    assert perf.elec_bridged_wh == 0.0


@pytest.mark.parametrize("model", ["pro3em", "3em"])
def test_the_first_start_imports_the_day_the_meter_recorded_before_it(tmp_path, model):
    """The simulated meter measured since a day before START; the collector's first start
    imported that day from its records, one 6-hour span per poll (the first 4 polls)."""
    house, minutes, _ = collect_with_downtime(tmp_path, model)
    before = {m: p for m, p in minutes.items() if m < START}
    assert min(before) == START - timedelta(days=1) and len(before) == 1440
    assert all(p.fields["filled_wh"] == p.fields["energy_wh"] for p in before.values())
    # unscaled records: a day of their rounding (Gen1 3EM: 1440 x 3 rows of 2 decimals)
    assert sum(p.fields["energy_wh"] for p in before.values()) == pytest.approx(
        house.sim.truth(START - timedelta(days=1), START).electricity_wh,
        abs={"pro3em": 0.5, "3em": 1.5}[model])


def test_without_records_the_downtime_stays_a_bridged_gap(tmp_path):
    _, minutes, pairs = collect_with_downtime(tmp_path, "plus1pm")
    assert not [p for p in minutes.values() if "filled_wh" in p.fields]
    assert sum(p.fields.get("bridged_s", 0.0) for p in minutes.values()) > 5 * 3600
    assert sum(1 for p in pairs if p.elec_cover < 0.5) >= 5


class _Lookup:
    """The store as the meter pipeline reads it at start: empty, or not answering."""

    def __init__(self, fails: bool):
        self.fails = fails

    def latest(self, *args, **kwargs):
        if self.fails:
            raise StoreError("the store does not answer")
        return {}


@pytest.mark.parametrize("store_fails, imports", [(False, True), (True, False)])
def test_no_first_start_import_when_the_store_could_not_be_read(tmp_path, store_fails,
                                                                 imports):
    """A store that cannot be read at start may hold the meter's minutes already: the
    records are not imported over them (`heatpump backfill` can, later)."""
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC"})
    house = simulated_house(settings, START, build_setup([], END, "pro3em"), 5, lambda: START,
                            "pro3em")
    client = ShellyClient("sim://meter", channel="",
                          transport=AnswerTransport(house.shelly.answer, "sim://meter"))
    pipeline = MeterPipeline(client, settings, state=StateFile(tmp_path))
    pipeline.resume(_Lookup(store_fails))  # type: ignore[arg-type]
    batch = pipeline.poll()
    imported = [p for p in batch.points if p.time < START]
    assert bool(imported) is imports
    assert (len(imported) == 360) is imports  # the first 6-hour span
