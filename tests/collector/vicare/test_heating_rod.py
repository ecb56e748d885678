"""The heat pump's backup heater (heating rod) and secondary heat generator in every real
dump: the mapping's rows (exact values, the same as PyViCare's own getters), and the rod's
electricity through the collector from two answers of a real device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PyViCare.PyViCare import PyViCare

from collector.vicare.dumps import DumpAnswers
from collector.vicare.offline import OfflineOAuthManager
from heatpump.schema import HEATPUMP
from heatpump.settings import Settings
from tests.collector.vicare.conftest import Clock
from tests.collector.vicare.harness import ViCareHarness
from tests.fakes.vicare_cloud import FIXTURES, fixture

# dump -> the rod/secondary fields it offers (every other heating_rod_*/secondary_* field
# is absent) and its rod counters (kWh)
ROD = {
    "Vitocal222S": (
        {"heating_rod_active": True, "heating_rod_hours_h": 154.0, "heating_rod_starts": 4112,
         "secondary_heat_generator_active": False},
        {"heating_rod.dhw.day": 0.0, "heating_rod.dhw.month": 1.8,
         "heating_rod.dhw.year": 91.3, "heating_rod.dhw.last_month": 13.4,
         "heating_rod.dhw.last_year": 291.7, "heating_rod.heating.day": 0.0,
         "heating_rod.heating.month": 0.0, "heating_rod.heating.year": 1.1,
         "heating_rod.heating.last_month": 0.0, "heating_rod.heating.last_year": 23.6}),
    "Vitocal250A": (
        {"heating_rod_active": True, "heating_rod_hours_h": 31.0, "heating_rod_starts": 314,
         "secondary_heat_generator_active": False},
        {"heating_rod.dhw.day": 0.0, "heating_rod.dhw.month": 0.0,
         "heating_rod.dhw.year": 3.3, "heating_rod.dhw.last_month": 0.0,
         "heating_rod.dhw.last_year": 28.0, "heating_rod.heating.day": 0.0,
         "heating_rod.heating.month": 0.0, "heating_rod.heating.year": 29.5,
         "heating_rod.heating.last_month": 0.0, "heating_rod.heating.last_year": 53.6}),
    "Vitocal333G-with-Vitovent300F": (
        {"heating_rod_active": False, "heating_rod_level1_active": False,
         "heating_rod_level2_active": False, "heating_rod_level3_active": False,
         "heating_rod_runtime_level1_s": 815476.0, "heating_rod_runtime_level2_s": 614313.0,
         "heating_rod_heat_target": "none"}, {}),
    "Vitocal200S_AWB-M-E-AC-201.D10": (
        {"heating_rod_runtime_level1_s": 553.0, "heating_rod_runtime_level2_s": 0.0}, {}),
    **{name: ({}, {}) for name in (
        "Vitocal111S", "Vitocal200", "Vitocal200S-with-Vitovent300W", "Vitocal200S_E8NEV",
        "Vitocal222S-with-Vitovent", "Vitocal252")},
}
ROD_FIELDS = [f for f in HEATPUMP.field_names
              if f.startswith(("heating_rod_", "secondary_heat_generator_"))]


def harness(dump: Path, tmp_path: Path, clock: Clock | None = None, **env: str
            ) -> ViCareHarness:
    settings = Settings.from_mapping({"VICARE_DUMP": str(dump),
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "d"),
                                      "HEATPUMP_TZ": "UTC", **env})
    return ViCareHarness(settings, clock or Clock())


@pytest.mark.parametrize("name", sorted(ROD))
def test_every_rod_feature_of_the_dumps_is_read(name: str, tmp_path: Path) -> None:
    (sample,) = harness(FIXTURES / f"{name}.json", tmp_path).poll().samples
    fields, counters = ROD[name]
    assert {f: sample.values[f] for f in ROD_FIELDS if f in sample.values} == fields
    for f, v in fields.items():
        assert type(sample.values[f]) is type(v), f
    assert {k: v for k, v in sample.counters.items() if k.startswith("heating_rod.")} \
        == counters


@pytest.mark.parametrize("name", ["Vitocal222S", "Vitocal250A",
                                  "Vitocal333G-with-Vitovent300F",
                                  "Vitocal200S_AWB-M-E-AC-201.D10"])
def test_the_rod_rows_agree_with_pyvicare_getters(name: str, tmp_path: Path) -> None:
    vicare = PyViCare()
    vicare.setCacheDuration(3600)
    dump = DumpAnswers([FIXTURES / f"{name}.json"], name)
    vicare.initWithExternalOAuth(OfflineOAuthManager(dump.answer))
    device = vicare.devices[0].asHeatPump()
    (sample,) = harness(FIXTURES / f"{name}.json", tmp_path).poll().samples
    v, c = sample.values, sample.counters
    if "heating_rod_starts" in v:
        assert v["heating_rod_starts"] == device.getHeatingRodStarts()
        assert v["heating_rod_hours_h"] == device.getHeatingRodHours()
        assert c["heating_rod.dhw.year"] == \
            device.getHeatingRodPowerConsumptionSummaryDHWCurrentYear()
        assert c["heating_rod.heating.last_year"] == \
            device.getHeatingRodPowerConsumptionSummaryHeatingLastYear()
        assert c["heating_rod.dhw.month"] == \
            device.getHeatingRodPowerConsumptionSummaryDHWCurrentMonth()
    else:
        assert v["heating_rod_runtime_level1_s"] == device.getHeatingRodRuntimeLevelOne()
        assert v["heating_rod_runtime_level2_s"] == device.getHeatingRodRuntimeLevelTwo()


def _set(body: dict, feature: str, **props: float) -> None:
    f = next(f for f in body["data"] if f["feature"] == feature)
    for prop, value in props.items():
        f["properties"][prop]["value"] = value


def _rod_points(points):
    return sorted(((p.tags["circuit"], dict(p.fields)) for p in points
                   if p.measurement == "electricity" and p.tags["source"] == "heating_rod"),
                  key=lambda e: e[0])


def test_the_rods_own_counters_become_its_electricity(tmp_path: Path) -> None:
    """Vitocal 222-S: 0.4 kWh of hot water by the rod in 5 minutes (a hygiene run), by the
    same counter rules as the heat pump's own electricity; never part of source=heatpump."""
    folder = tmp_path / "polls"
    folder.mkdir()
    first = fixture("Vitocal222S.json")
    second = fixture("Vitocal222S.json")
    _set(second, "heating.heatingRod.power.consumption.summary.dhw",
         currentDay=0.4, currentMonth=2.2, currentYear=91.7)
    for i, body in enumerate((first, second)):
        (folder / f"poll-{i}.json").write_text(json.dumps(body))
    clock = Clock()
    source = harness(folder, tmp_path, clock)
    assert _rod_points(source.poll().points) == []  # the first reading is the reference
    clock.advance(300)
    result = source.poll()
    assert _rod_points(result.points) == [
        ("dhw", {"energy_wh": 400.0, "duration_s": 300.0}),
        ("heating", {"energy_wh": 0.0, "duration_s": 300.0}),
        ("total", {"energy_wh": 400.0, "duration_s": 300.0})]
    own = [p for p in result.points if p.measurement == "electricity"
           and p.tags["source"] == "heatpump" and p.tags["circuit"] == "total"]
    assert [p.fields["energy_wh"] for p in own] == [0.0]


@pytest.mark.parametrize(("env", "expected"), [
    ({"HEATPUMP_HEATING_ROD_KW": "3,6"},
     {"duration_s": 300.0, "running_s": 240.0, "energy_wh": 250.0, "estimated_wh": 250.0}),
    ({}, {"duration_s": 300.0, "running_s": 240.0}),  # no power: the time, no energy
])
def test_rod_runtime_per_level_times_its_power_is_an_estimate(
        env: dict[str, str], expected: dict, tmp_path: Path) -> None:
    """Vitocal 333-G: 180 s at level one and 60 s at level two in 5 minutes; with 3 and 6 kW
    that is 150 + 100 Wh, estimated; without the setting the energy stays unknown."""
    folder = tmp_path / "polls"
    folder.mkdir()
    second = fixture("Vitocal333G-with-Vitovent300F.json")
    _set(second, "heating.heatingRod.runtime", levelOne=815656, levelTwo=614373)
    for i, body in enumerate((fixture("Vitocal333G-with-Vitovent300F.json"), second)):
        (folder / f"poll-{i}.json").write_text(json.dumps(body))
    clock = Clock()
    source = harness(folder, tmp_path, clock, **env)
    source.poll()
    clock.advance(300)
    assert _rod_points(source.poll().points) == [("total", expected)]


def test_the_rod_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="HEATPUMP_HEATING_ROD_KW='3,0': '0' is not a power"):
        Settings.from_mapping({"HEATPUMP_HEATING_ROD_KW": "3,0"})
    assert Settings.from_mapping({"HEATPUMP_HEATING_ROD_KW": "2.5; 5"}).heating_rod_kw \
        == (2.5, 5.0)
