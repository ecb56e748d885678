"""Settings changes read off two polls (collector.changes), the Viessmann curve feature
mapped, and a simulated heating-curve change found by the real collector in the demo."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.changes import setting_changes
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill
from tests.collector.vicare.test_mapping import replay
from tests.fakes.vicare_cloud import FIXTURES

BEFORE = {"heating_curve_slope": 0.6, "heating_curve_shift_k": 4.0, "heating_mode": "heating",
          "dhw_mode": "efficient", "dhw_target_temp_c": 50.0, "heating_target_temp_c": 20.0,
          "heating_program": "normal", "outside_temp_c": 3.2}


def test_each_changed_setting_once_in_order():
    after = {**BEFORE, "heating_curve_slope": 0.5, "dhw_target_temp_c": 48.0,
             "heating_mode": "dhwAndHeating", "outside_temp_c": 9.9}
    assert setting_changes(BEFORE, after) == [
        ("heating_curve_slope", "0.6", "0.5"), ("dhw_target_temp_c", "50", "48"),
        ("heating_mode", "heating", "dhwAndHeating")]


def test_what_is_no_change():
    assert setting_changes(BEFORE, dict(BEFORE)) == []
    # the time schedule switched the program: its room target is no setting change
    reduced = {**BEFORE, "heating_program": "reduced", "heating_target_temp_c": 17.0}
    assert setting_changes(BEFORE, reduced) == []
    # the same program with another target is
    assert setting_changes(BEFORE, {**BEFORE, "heating_target_temp_c": 21.0}) == [
        ("heating_target_temp_c", "20", "21")]
    # a feature missing from one poll, a rounding wobble
    missing = {k: v for k, v in BEFORE.items() if k != "heating_curve_slope"}
    assert setting_changes(BEFORE, missing) == [] and setting_changes(missing, BEFORE) == []
    assert setting_changes(BEFORE, {**BEFORE, "heating_curve_shift_k": 4.01}) == []


def test_the_heating_curve_is_mapped(tmp_path: Path):
    (sample,) = replay(FIXTURES / "Vitocal250A.json", tmp_path).poll().samples
    assert sample.values["heating_curve_slope"] == 0.6
    assert sample.values["heating_curve_shift_k"] == 4.0


def test_the_demo_curve_change_is_stored_as_an_event(tmp_path: Path):
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                               "HEATPUMP_TZ": "Europe/Berlin"})
    backfill(s, 0.25, 3, ["curve-change@-3h,slope=0.4"], now=now, out=io.StringIO())
    with open_store(s, demo=True) as store:
        (event,) = store.points("setting_change", now - timedelta(days=1), now)
        polls = store.points("heatpump", now - timedelta(days=1), now)
    changed_at = now - timedelta(hours=3)
    assert event.tags["setting"] == "heating_curve_slope"
    assert (event.fields["old"], event.fields["new"]) == ("0.6", "0.4")
    # stamped with the first poll that showed it; the one before still had the old slope
    assert changed_at < event.time <= changed_at + timedelta(minutes=6)
    prev = datetime.fromisoformat(str(event.fields["previous_poll"]).replace("Z", "+00:00"))
    assert prev < changed_at
    assert {p.fields["heating_curve_slope"] for p in polls if p.time >= event.time} == {0.4}
    # the curve is flatter afterwards: the same weather (seed) without the change asks for
    # a higher flow temperature
    same = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path / "other"),
                                  "HEATPUMP_TZ": "Europe/Berlin"})
    backfill(same, 0.25, 3, [], now=now, out=io.StringIO())
    with open_store(same, demo=True) as store:
        unchanged = store.points("heatpump", event.time, now)

    def target(points):
        return {p.time: p.fields["heating_supply_target_temp_c"] for p in points
                if p.time >= event.time and "heating_supply_target_temp_c" in p.fields}

    lower, higher = target(polls), target(unchanged)
    assert lower.keys() == higher.keys() and len(lower) > 20
    assert all(lower[t] < higher[t] for t in lower)
