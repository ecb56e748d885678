"""Seams between the collector and its readers: the real collector (the service on a
virtual clock over the simulated house's devices, with the real readers, meter and heat
accounting and health book) fills a real SQLite store, and the real /status, /jaz, alert
engine and demo summary read it. Nothing here is hand-written data that merely agrees with
the reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import store_reads
from bot.alerts.service import AlertService
from bot.alerts.texts import reason_text
from bot.analytics import daily_stats, performance
from bot.commands import Context, answer
from bot.store_reads import hour_pairs
from collector.service import VirtualClock
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from simhouse.demo_cmd import measured_summary, run_service, simulated_house
from simhouse.house import Fault, Outage
from simhouse.scenarios import Setup

T0 = datetime(2026, 1, 11, 23, 0, tzinfo=UTC)  # local midnight, Europe/Berlin
DAY = (T0, T0 + timedelta(days=1))  # Monday 12 January, a complete local day
END = T0 + timedelta(hours=30)
HP_DOWN = T0 + timedelta(hours=27)  # the heat pump is still offline at END
METER_OUT = (T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=30))
PUMP, METER = "7571381681420106-0", "shellypro3em-aabbccddee01"  # the simulated devices' ids


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("house")
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp / "data"),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    setup = Setup(scenarios=(
        Outage("meter", *METER_OUT), Outage("heatpump", HP_DOWN, END + timedelta(hours=5)),
        Fault(HP_DOWN - timedelta(hours=1), code="F.1100")))
    clock = VirtualClock(T0)
    house = simulated_house(settings, T0, setup, 11, clock.now)
    db = tmp / "data" / "heatpump.sqlite3"  # where `heatpump chat` finds it
    db.parent.mkdir()
    store = SQLiteStore(db, settings.tz)
    run_service(settings, house, store, clock=clock, data_dir=tmp / "data", threaded=False,
                until=lambda: clock.now() >= END, install_signals=False)
    store = SQLiteStore(db, settings.tz)
    yield settings, store, house.sim, tmp
    store.close()


def _sum(store, measurement, tags, start, end) -> float:
    return sum(p.fields["energy_wh"] for p in store.points(measurement, start, end, tags))


def test_status_and_alerts_explain_an_outage_with_the_collectors_health(house):
    settings, store, _sim, _ = house
    written = {(p.tags["source"], p.tags["device"]) for p in store.points("health", T0, END)}
    assert ("vicare", PUMP) in written  # what the producer writes
    assert ("meter", METER) in written

    status = answer("/status", Context(store, settings, lambda: END)).text
    assert f"heat pump {PUMP}: DOWN since" in status, status
    assert "device_offline" in status
    assert f"meter {METER}: up since" in status
    assert "  vicare " not in status  # no raw source tag next to "heat pump ... last data"

    h = store_reads.latest_health(store, "heatpump", PUMP, END)
    assert h is not None and (h.status, h.reason) == ("down", "device_offline")
    notes = AlertService(settings, store, apprise=False).check(END)
    stale = [n for n in notes if n.kind == "stale"]
    assert len(stale) == 1, [n.text for n in notes]  # the heat pump; the meter is back
    assert "heat pump" in stale[0].text and reason_text("device_offline") in stale[0].text
    # the fault the heat pump reported at its last poll, through the collector's messages
    (fault,) = [n for n in notes if n.kind == "fault"]
    assert "F.1100" in fault.text and "criticalError" in fault.text


def test_circuits_are_split_never_added_to_the_total(house):
    settings, store, sim, _ = house
    start, end = DAY
    total = _sum(store, "heat", {"circuit": "total"}, start, end)
    circuits = {c: _sum(store, "heat", {"circuit": c}, start, end)
                for c in ("heating", "dhw", "cooling")}
    # the accounting writes both: the total and each circuit, which add up to it
    assert total > 0 and circuits["heating"] > 0 and circuits["dhw"] > 0
    assert sum(circuits.values()) == pytest.approx(total, rel=1e-9)
    dev_total = _sum(store, "electricity", {"source": "heatpump", "circuit": "total"},
                     start, end)
    meter = _sum(store, "electricity", {"source": "meter"}, start, end)

    pairs = hour_pairs(store, start, end, settings.tz)
    perf = performance(pairs, start, end)
    assert perf.heat_wh_all == pytest.approx(total, rel=1e-9)
    assert perf.elec_wh_all == pytest.approx(meter, rel=1e-9)
    # the meter's counter bridges its 30-minute outage: every hour counts
    assert perf.hours_counted == 24
    assert perf.heat_wh == pytest.approx(total, rel=1e-9)
    assert perf.heat_by_circuit == pytest.approx(
        {c: wh for c, wh in circuits.items() if wh > 0}, rel=1e-9)
    assert perf.device_elec_wh == pytest.approx(dev_total, rel=1e-9)

    # /jaz says the same, with the split by circuit
    text = answer("/jaz 2026-01", Context(store, settings, lambda: end)).text
    assert "heat split: heating" in text and "hot water" in text
    # its COPs per use are said to divide by the device's own electricity (issue 19)
    lines = text.splitlines()
    split = next(i for i, line in enumerate(lines) if line.startswith("heat split:"))
    assert "COP" in lines[split] and lines[split + 1].startswith("(the COPs per use divide")

    # the alerts' daily COP: the same hour pairing, one day, no double counting
    (day,) = [d for d in store_reads.complete_days(store, end + timedelta(hours=1), settings.tz,
                                                   1)]
    (stats,) = daily_stats(pairs, settings.tz)
    assert day.heat_wh == pytest.approx(stats.heat_wh, rel=1e-9)
    assert day.heat_wh == pytest.approx(perf.heat_wh, rel=1e-9)

    # the demo summary: totals only
    summary = measured_summary(store, sim, start, end)
    assert summary.heat_kwh * 1000 == pytest.approx(total, rel=1e-9)
    assert summary.device_electricity_kwh * 1000 == pytest.approx(dev_total, rel=1e-9)
    assert summary.electricity_kwh * 1000 == pytest.approx(meter, rel=1e-9)


ROLE_FILTER = """"role" != 'heating_rod' AND "role" != 'circulation_pumps'"""


def test_grafana_sums_only_the_total_circuit():
    """The dashboard's energy panels sum `energy_wh` of the `heat` and `electricity` points
    (or their rollups) the accounting writes for circuit total AND each circuit: each query
    must pick one; and a meter's electricity leaves out the meters of the heating rod and
    circulation pumps (SHELLY_METERS roles outside the heat pump's own figure)."""
    import json
    import re

    from tests.deploy.files import ROOT

    board = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "heatpump.json")
                       .read_text())
    queries: list[str] = []

    def walk(o):
        if isinstance(o, dict):
            q = o.get("query")
            if isinstance(q, str) and "SELECT" in q:
                queries.append(q)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(board)
    energy = [q for q in queries if re.search(r'FROM "(heat|electricity)(_1h|_1d)?"', q)]
    assert energy
    for q in energy:
        assert "sum(" in q and """"circuit" = 'total'""" in q, q
        if "'meter'" in q:
            assert ROLE_FILTER in q, q


def test_chat_answers_alerts_from_the_alert_checks_state(house):
    """`heatpump chat /alerts` shows what the bot's alert check keeps active (the same state
    file); the subscription commands say they need Telegram."""
    import argparse
    import io

    from bot import chat

    settings, store, _sim, tmp = house
    AlertService(settings, store, apprise=False).check(END)  # what the bot's job runs

    def console(*words: str) -> str:
        out = io.StringIO()
        args = argparse.Namespace(demo=False, out=str(tmp), words=list(words))
        assert chat.run(args, settings, out=out) == 0
        return out.getvalue()

    text = console("/alerts")
    assert "Active alerts (2):" in text and "F.1100" in text, text
    assert "send /subscribe to the bot" in text
    for name in ("subscribe", "unsubscribe", "mute"):
        assert "works in Telegram only" in console(f"/{name}")
    assert "/alerts – " in console("/help")
