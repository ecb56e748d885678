"""The service driven by the simulated house's devices (what `heatpump demo --live` runs),
and an InfluxDB outage in the middle of it: nothing lost, nothing doubled."""

from datetime import UTC, datetime, timedelta

import pytest

from collector.service import VirtualClock
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from simhouse.demo_cmd import run_service, simulated_house
from simhouse.house import Outage
from simhouse.scenarios import Setup

T0 = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def settings(tmp_path):
    return Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path),
                                  "HEATPUMP_TZ": "Europe/Berlin"})


def sums(store, start, end):
    out = {}
    for m in ("heat", "electricity"):
        pts = store.points(m, start, end)
        for source in (("heatpump", "meter") if m == "electricity" else (None,)):
            key = f"{m}_{source}" if source else m
            out[key] = round(sum(p.fields.get("energy_wh", 0.0) for p in pts
                                 if p.tags.get("circuit") == "total"
                                 and p.tags.get("source", source) == source), 3)
        out[m + "_n"] = len(pts)
    out["meter_n"] = len(store.points("meter", start, end))
    out["heatpump_n"] = len(store.points("heatpump", start, end))
    return out


def run(tmp_path, store, hours, scenarios=(), between=None):
    s = settings(tmp_path)
    clock = VirtualClock(T0)
    house = simulated_house(s, T0, Setup(scenarios=tuple(scenarios)), 7, clock.now)
    end = T0 + timedelta(hours=hours)

    def until():
        if between:
            between(clock.now())
        return clock.now() >= end

    col = run_service(s, house, store, clock=clock, data_dir=tmp_path / "demo",
                      threaded=False, until=until, install_signals=False)
    return house, col


def test_simulated_sources_measure_the_simulated_truth(tmp_path):
    outage = Outage("meter", T0 + timedelta(hours=2), T0 + timedelta(hours=2, minutes=30))
    db = tmp_path / "h.sqlite3"
    house, _col = run(tmp_path, SQLiteStore(db, settings(tmp_path).tz), 6, [outage])
    sim = house.sim
    store = SQLiteStore(db, settings(tmp_path).tz)
    # from the start on (before it: the day the collector imported from the Pro 3EM's own
    # records at its first start, tests/collector/test_meter_records_restart.py)
    got = sums(store, T0, FAR[1])
    assert got["heatpump_n"] == 6 * 12
    assert got["meter_n"] == 6 * 360 - 180  # a 30-minute meter outage is a gap, not zeros
    stored = store.points("heatpump", *FAR)
    assert [p.time for p in stored] == [T0 + timedelta(minutes=5 * i) for i in range(72)]

    def day_wh(t, kind):  # the counter accounting differences (the coarsest that did not
        # roll over: the year's), as the simulated device answered it at that time
        feature = {"heat": "heating.heat.production.summary",
                   "electricity": "heating.power.consumption.summary"}[kind]
        body = house.vitocal.features(t)["data"]
        return 1000 * sum(f["properties"]["currentYear"]["value"] for f in body
                          if f["feature"] in (f"{feature}.heating", f"{feature}.dhw"))

    heat = store.points("heat", *FAR)
    assert heat and {p.tags["method"] for p in heat} == {"counter"}
    # what the device's counters moved from the first to the last poll, nothing lost
    first, last = stored[0].time, stored[-1].time
    assert got["heat"] == pytest.approx(day_wh(last, "heat") - day_wh(first, "heat"), abs=1e-6)
    assert got["electricity_heatpump"] == pytest.approx(
        day_wh(last, "electricity") - day_wh(first, "electricity"), abs=1e-6)
    # the meter's electricity: every Wh between its first and last reading, the 30-minute
    # outage included (the counter bridges it), none twice
    readings = store.points("meter", *FAR)
    meter_truth = sim.truth(readings[0].time, readings[-1].time).electricity_wh
    assert got["electricity_meter"] == pytest.approx(meter_truth, abs=0.05)
    # ... and that is close to the simulated physical truth (device counters are rounded)
    truth = sim.truth(stored[0].time, stored[-1].time)
    assert got["heat"] == pytest.approx(truth.heat_wh, rel=0.05)
    health = [(p.tags["source"], p.fields["status"], p.fields["reason"])
              for p in store.points("health", *FAR)]
    assert ("meter", "down", "unreachable") in health
    assert health.count(("meter", "up", "")) == 2  # up, then up again after the outage
    assert ("vicare", "up", "") in health
    store.close()


@pytest.mark.influx
def test_influxd_outage_loses_nothing_and_doubles_nothing(tmp_path, tmp_path_factory):
    from heatpump.store.influx import InfluxStore
    from tests.influxd import Influxd, InfluxdUnavailable, find_influxd

    try:
        binary = find_influxd()
    except InfluxdUnavailable as exc:
        pytest.skip(f"no influxd: {exc}")
    server = Influxd(binary, tmp_path_factory.mktemp("influxd-outage"))
    server.start()
    try:
        tz = settings(tmp_path).tz
        down_at, up_at = T0 + timedelta(hours=1), T0 + timedelta(hours=2, minutes=7)
        state = {"down": False, "up": False}

        def between(now):
            if now >= down_at and not state["down"]:
                server.stop()
                state["down"] = True
            if now >= up_at and not state["up"]:
                server.start()
                state["up"] = True

        _, col = run(tmp_path / "a", InfluxStore(server.url, "outage", tz), 3,
                     between=between)
        assert state["down"] and state["up"]
        assert col.sink.spooled > 0 and not col.sink.spool  # spooled, then all replayed
        # the same three hours without any outage, into SQLite, as the reference
        run(tmp_path / "b", SQLiteStore(tmp_path / "ref.sqlite3", tz), 3)
        ref = SQLiteStore(tmp_path / "ref.sqlite3", tz)
        influx = InfluxStore(server.url, "outage", tz)
        start, end = T0 - timedelta(hours=1), T0 + timedelta(hours=4)
        got, want = sums(influx, start, end), sums(ref, start, end)
        assert got == want
        assert want["meter_n"] == 3 * 360 and want["heat_n"] > 0
        health = [(p.tags["source"], p.fields["status"])
                  for p in influx.points("health", start, end)]
        assert ("store", "down") in health and ("store", "up") in health
        ref.close()
        influx.close()
    finally:
        server.stop()
