"""Daily rules judge a day only once the store holds it whole (bot.store_reads
`complete_days_end`, AlertService._days).

The collector commits the embedded store every HEATPUMP_FLUSH_MINUTES (an hour): at the
first check after midnight yesterday's last hour may still wait in its memory. A heating
rod day of 6 kWh (limit 5) was judged at 00:05 on the 4.6 kWh then stored, "back within
limits", and raised again an hour later. Now a day counts as complete only once a sample at
or after its end is stored (evidence, not the clock), or a day after its end (the collector
is gone); nothing read before that evidence is kept after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import store_reads
from bot.alerts import persist
from bot.alerts.service import AlertService
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from heatpump.store.sqlite import SQLiteStore
from tests.bot.alerts.house import House

TZ = ZoneInfo("Europe/Berlin")
A0 = datetime(2026, 1, 10, tzinfo=TZ).astimezone(UTC)  # Saturday: the rod ran 12 kWh
B0 = A0 + timedelta(days=1)  # Sunday: 0.2 kWh an hour, then 1.4 kWh in its last hour
C0 = B0 + timedelta(days=1)  # Monday 00:00 local
HELD_FROM = C0 - timedelta(hours=1)  # the collector's last commit before midnight: 23:00


def write_until(store: Store, end: datetime) -> None:
    """The house up to `end`: what the collector has committed by then."""
    parts = [House(A0 - timedelta(days=2), A0, rod_from=A0, rod_wh_per_h=0.0),
             House(A0, B0, rod_from=A0, rod_wh_per_h=500.0),
             House(B0, HELD_FROM, rod_from=B0, rod_wh_per_h=200.0),
             House(HELD_FROM, C0 + timedelta(minutes=30), rod_from=HELD_FROM,
                   rod_wh_per_h=1400.0)]
    for part in parts:
        if part.start < end:
            part.end = min(part.end, end)
            part.write(store)


def service(tmp_path, store: Store) -> AlertService:
    cfg = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                 "HEATPUMP_DATA_DIR": str(tmp_path), "ALERT_ROD_MILD_C": "off"})
    return AlertService(cfg, store, apprise=False, data_dir=tmp_path)


def rod(tmp_path) -> dict:
    return persist.load_state(tmp_path)["alerts"]["heating_rod"]


def test_the_day_is_judged_once_its_last_hour_is_committed(tmp_path):
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", TZ)
    write_until(store, HELD_FROM)
    svc = service(tmp_path, store)
    raised = svc.check(B0 + timedelta(hours=1))  # Saturday judged: 12 kWh
    assert [(n.kind, n.event) for n in raised if n.kind == "heating_rod"] == [
        ("heating_rod", "raised")]
    assert rod(tmp_path)["facts"]["day"] == "2026-01-10"
    # 00:05: Sunday's last hour waits in the collector; its 4.6 kWh stored must not clear
    assert [n for n in svc.check(C0 + timedelta(minutes=5)) if n.kind == "heating_rod"] == []
    assert rod(tmp_path)["status"] == "active"
    assert store_reads.complete_days_end(store, C0 + timedelta(minutes=5), TZ) == B0
    # 00:40: the collector commits (its samples after midnight with it) ...
    write_until(store, C0 + timedelta(minutes=30))
    assert store_reads.complete_days_end(store, C0 + timedelta(minutes=45), TZ) == C0
    # ... 00:45: Sunday is judged whole, 6.0 kWh, at once (not an hour later from a cache)
    assert [n for n in svc.check(C0 + timedelta(minutes=45)) if n.kind == "heating_rod"] == []
    facts = rod(tmp_path)["facts"]
    assert (rod(tmp_path)["status"], facts["day"], facts["rod_wh"]) == (
        "active", "2026-01-11", 6000.0)


def test_a_day_without_evidence_is_judged_as_it_is_a_day_after_its_end(tmp_path):
    """The collector is gone after 23:00: Sunday waits for evidence for a day, then
    counts with what the store holds (4.6 kWh: back within limits)."""
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", TZ)
    write_until(store, HELD_FROM)
    svc = service(tmp_path, store)
    svc.check(B0 + timedelta(hours=1))
    held = [n.event for n in svc.check(C0 + timedelta(hours=23)) if n.kind == "heating_rod"]
    assert "resolved" not in held and rod(tmp_path)["facts"]["day"] == "2026-01-10"
    assert store_reads.complete_days_end(store, C0 + timedelta(hours=23), TZ) == B0
    later = C0 + timedelta(days=1, minutes=5)
    assert store_reads.complete_days_end(store, later, TZ) == C0
    notes = [n for n in svc.check(later) if n.kind == "heating_rod"]
    assert [(n.event, n.text) for n in notes] == [
        ("resolved", "✅ The heating rod is back within limits: Sun 11 Jan 4.6 kWh.")]


def test_a_sample_of_any_source_is_evidence(tmp_path):
    """A Viessmann-only house: its first poll after midnight proves the day committed."""
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", TZ)
    now = C0 + timedelta(minutes=10)
    store.write([Point("heatpump", C0 - timedelta(minutes=5), {"outside_temp_c": 1.0},
                       {"device": "7571381681420106"})])
    store.flush()
    assert store_reads.complete_days_end(store, now, TZ) == B0
    store.write([Point("heatpump", C0, {"outside_temp_c": 1.0},
                       {"device": "7571381681420106"})])
    store.flush()
    assert store_reads.complete_days_end(store, now, TZ) == C0
