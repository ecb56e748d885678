"""Alerts on the simulator's scenarios (fault, outage, COP drop) and on its normal weather.

The simulator's readings are written into a real SQLite store: heat pump polls and messages
as they come, meter samples (every 5 min of the last days), and hourly electricity and heat
from the simulator's exact truth, standing in for the collector's accounting, which is
tested on its own. Hours a source was out are left out, as the accounting leaves gaps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.alerts.replay import replay
from bot.alerts.service import AlertService
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from heatpump.store.sqlite import SQLiteStore
from simhouse.house import CopDrop, Fault, Outage, Scenario, Simulator

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2025, 12, 1, tzinfo=TZ).astimezone(UTC)
METER_DAYS = 2
METER, PUMP = "sim-meter", "sim-heatpump"  # device tags


def _overlaps(a: datetime, b: datetime, spans: list[tuple[datetime, datetime]]) -> bool:
    return any(s < b and a < e for s, e in spans)


def fill(store: Store, sim: Simulator, end: datetime,
         scenarios: list[Scenario]) -> None:
    out = {src: [(s.start, s.end) for s in scenarios
                 if isinstance(s, Outage) and s.source == src] for src in ("meter", "heatpump")}
    pts: list[Point] = []
    m = sim.minutes(START, end)
    hours = len(m["time_s"]) // 60
    for h in range(hours):
        a = START + timedelta(hours=h)
        b = a + timedelta(hours=1)
        sl = slice(60 * h, 60 * h + 60)
        truth = Simulator.truth_of({k: v[sl] for k, v in m.items()})
        if not _overlaps(a, b, out["meter"]):
            pts.append(Point("electricity", a, {
                "energy_wh": truth.electricity_wh, "duration_s": 3600.0,
                "running_s": truth.compressor_running_s,
                "starts": truth.compressor_starts},
                {"device": METER, "source": "meter", "circuit": "total"}))
        if not _overlaps(a, b, out["heatpump"]):
            pts.append(Point("heat", a, {"energy_wh": truth.heat_wh, "duration_s": 3600.0,
                                         "estimate": False},
                             {"device": PUMP, "method": "counter",
                              "circuit": "total"}))
    for s in sim.pump_states(START + timedelta(seconds=2), end):  # a poll every 5 minutes
        values = dict(s.values, error_count=len(s.messages))
        pts.append(Point("heatpump", s.time, values, {"device": PUMP}))
        for msg in s.messages:
            fields = {"priority": msg.priority, "text": ""}
            if msg.since is not None:
                fields["since"] = msg.since.isoformat()
            pts.append(Point("message", s.time, fields,
                             {"device": PUMP, "kind": msg.kind, "code": msg.code}))
    arr = sim.meter_arrays(end - timedelta(days=METER_DAYS), end)
    for i in np.arange(0, len(arr), 30):
        t = datetime.fromtimestamp(int(arr.time_s[i]), UTC)
        pts.append(Point("meter", t, {"power_w": float(arr.power_w[i]),
                                      "energy_import_wh": float(arr.energy_import_wh[i])},
                         {"device": METER}))
    store.write(pts)
    store.flush()


def make(tmp_path, days: int, scenarios: list[Scenario]) -> tuple[Store, Settings, datetime]:
    end = START + timedelta(days=days)
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", TZ)
    sim = Simulator(7, START, TZ, scenarios=scenarios)
    fill(store, sim, end, scenarios)
    settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    return store, settings, end


def daily_checks(store: Store, settings: Settings, end: datetime, days: int):
    """What a bot checking every morning over the last `days` days would have sent."""
    first = end - timedelta(days=days) + timedelta(hours=6)
    return replay(store, settings, first, end - timedelta(hours=1), timedelta(days=1))


def test_normal_weather_over_six_weeks_raises_nothing(tmp_path):
    """Cold fronts down to −6 °C, defrosts, hot water: the COP rule must stay quiet."""
    store, settings, end = make(tmp_path, 46, [])
    sent = daily_checks(store, settings, end, 30)
    assert [n.text for _, n in sent] == []
    store.close()


def test_cop_drop_scenario(tmp_path):
    drop = datetime(2026, 1, 12, tzinfo=TZ).astimezone(UTC)
    store, settings, end = make(tmp_path, 46, [CopDrop(drop, factor=0.7)])
    sent = daily_checks(store, settings, end, 12)
    raised = [(t, n) for t, n in sent if n.kind == "cop_drop" and n.event == "raised"]
    assert len(raised) == 1, [n.text for _, n in sent]
    t, n = raised[0]
    # the third day with a full day of data after the drop began (12, 13, 14 Jan)
    assert t.astimezone(TZ).date() == datetime(2026, 1, 15).date()
    assert "Mon 12 Jan" in n.text and "Wed 14 Jan" in n.text
    store.close()


def test_fault_scenario(tmp_path):
    a = START + timedelta(days=3, hours=5)
    store, settings, _ = make(tmp_path, 4, [Fault(a, a + timedelta(hours=2))])
    sent = replay(store, settings, a - timedelta(hours=1), a + timedelta(hours=4),
                  timedelta(minutes=5))
    assert [(n.kind, n.event) for _, n in sent] == [("fault", "raised"), ("fault", "resolved")]
    assert "F.1100" in sent[0][1].text and "criticalError" in sent[0][1].text
    store.close()


@pytest.mark.parametrize("source", ["meter", "heatpump"])
def test_outage_scenario(tmp_path, source):
    a = START + timedelta(days=3, hours=5)
    store, settings, _ = make(tmp_path, 4, [Outage(source, a, a + timedelta(hours=2))])
    sent = replay(store, settings, a - timedelta(hours=1), a + timedelta(hours=4),
                  timedelta(minutes=5))
    assert [(n.kind, n.event) for _, n in sent] == [("stale", "raised"), ("stale", "resolved")]
    label = "electricity meter" if source == "meter" else "heat pump (Viessmann cloud)"
    assert label in sent[0][1].text
    assert sent[0][0] - a <= timedelta(minutes=65)
    store.close()


def test_service_check_on_the_fault_scenario_today(tmp_path):
    a = START + timedelta(days=3, hours=22)
    store, settings, end = make(tmp_path, 4, [Fault(a)])
    notes = AlertService(settings, store, now=lambda: end - timedelta(minutes=1)).check()
    assert [n.kind for n in notes] == ["fault"]
    store.close()


@pytest.mark.parametrize("source", ["meter", "heatpump"])
def test_recovery_gives_the_time_data_came_back_not_the_check(tmp_path, source):
    """Checks every 15 minutes (at :00, :15, :30, :45); data comes back at 06:05 local: the
    recovery says 06:05, not 06:15, the check that saw it."""
    a = START + timedelta(days=3, hours=5)  # 05:00 local
    back = a + timedelta(hours=1, minutes=5)
    store, settings, _ = make(tmp_path, 4, [Outage(source, a, back)])
    sent = replay(store, settings, a - timedelta(hours=1), a + timedelta(hours=4),
                  timedelta(minutes=15))
    assert [(n.kind, n.event) for _, n in sent] == [("stale", "raised"), ("stale", "resolved")]
    first_after = min(p.time for p in store.points(source, back, back + timedelta(hours=1)))
    assert first_after - back < timedelta(minutes=5)  # the first poll after the outage
    text = sent[1][1].text
    assert f"to {first_after.astimezone(TZ):%H:%M}," in text, text
    assert "to 06:15," not in text
    store.close()
