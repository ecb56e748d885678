"""Every real dump through the real PyViCare classes (fed offline) and the mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PyViCare.PyViCare import PyViCare
from PyViCare.PyViCareService import readFeature

from collector.accounting.heat import choose_heat_method
from collector.vicare.dumps import DumpAnswers
from collector.vicare.mapping import map_sample
from collector.vicare.offline import OfflineOAuthManager
from heatpump.schema import HEATPUMP
from heatpump.settings import Settings
from tests.collector.vicare.conftest import Clock
from tests.collector.vicare.harness import ViCareHarness
from tests.fakes.vicare_cloud import FIXTURES

A = "absent"
# dump: outside, supply, return, dhw, hours, hours resolution, starts, flow l/h, active,
#       device ratio (field=value), heat counters, electricity counters
EXPECTED = {
    "Vitocal111S": (19.8, 27.8, 27.0, 47.6, 1563.6, 0.1, 981, A, False, A, (), ()),
    "Vitocal200": (11.6, 22.1, 22.7, 47.9, 13651.9, 0.1, 6973, A, False, A, (), ()),
    "Vitocal200S-with-Vitovent300W": (14.7, 41.4, 37.6, 32.1, 55.5, 0.1, 74, A, True, A,
                                      (), ()),
    "Vitocal200S_AWB-M-E-AC-201.D10": (14.1, 29.4, 28.9, A, 12.1, 0.1, 30, A, False,
                                       ("device_cop_total", 5.2), (), ()),
    "Vitocal200S_E8NEV": (12.2, 22.0, 22.0, 50.2, 356.0, 1.0, 659, 1215.0, False, A, (),
                          ("electricity.heating.day", 6.3, "electricity.dhw.year", 180.3)),
    "Vitocal222S-with-Vitovent": (15.6, 26.3, 21.2, 43.2, 1191.3, 0.1, 1244, A, False, A,
                                  (), ()),
    "Vitocal222S": (12.1, 26.6, 25.1, 50.9, 96.0, 1.0, 2651, 1820.0, True,
                    ("device_spf_total", 4.5),
                    ("heat.heating.day", 13.1, "heat.dhw.last_month", 160.9),
                    ("electricity.heating.month", 12.6, "electricity.dhw.year", 540.2)),
    "Vitocal250A": (12.2, 32.9, 34.2, 46.8, 8118.0, 1.0, 1502, 0.0, False,
                    ("device_scop_heating", 3.9),
                    ("heat.heating.year", 10024.2, "heat.dhw.day", 9.6),
                    ("electricity.heating.day", 4.6, "electricity.dhw.last_year", 1536.8)),
    "Vitocal252": (22.4, 26.6, 29.4, 46.7, 1699.0, 1.0, 1068, 0.0, False, A, (),
                   ("electricity.dhw.month", 1.3, "electricity.heating.year", 2003.7)),
    "Vitocal333G-with-Vitovent300F": (6.1, 35.2, 33.2, 45.1, 2394.4, 0.1, 5067, A, False,
                                      ("device_cop_heating", 5.4),
                                      ("heat.heating.week", 36.2, "heat.dhw.week", 10.7),
                                      ("electricity.heating.week", 6.3)),
}
FIELDS = ("outside_temp_c", "supply_temp_c", "return_temp_c", "dhw_temp_c",
          "compressor_hours_h", "compressor_hours_resolution_h", "compressor_starts",
          "flow_l_h", "compressor_active")

# dump: (method without HEATPUMP_RATED_HEAT_KW, words of the reason), method with 8 kW
METHODS = {
    "Vitocal111S": (None, "no heat counter and no flow_l_h", "runtime"),
    "Vitocal200": (None, "set HEATPUMP_RATED_HEAT_KW", "runtime"),
    "Vitocal200S-with-Vitovent300W": (None, "no flow_l_h sensor", "runtime"),
    # reports its own rated output (heating.compressors.0.power, 10 kW): an estimate
    # without the setting
    "Vitocal200S_AWB-M-E-AC-201.D10": (
        "modulation", "rated output 10 kW (the heat pump's own figure, "
        "heating.compressors.0.power)", "modulation"),
    "Vitocal200S_E8NEV": ("flow", "flow, supply and return", "flow"),
    "Vitocal222S-with-Vitovent": (None, "no flow_l_h sensor", "runtime"),
    "Vitocal222S": ("counter", "heat production counters (heating, dhw, cooling)", "counter"),
    "Vitocal250A": ("counter", "heat production counters (heating, dhw, cooling)", "counter"),
    "Vitocal252": ("flow", "flow, supply and return", "flow"),
    "Vitocal333G-with-Vitovent300F": ("counter", "heat production counters", "counter"),
}


def replay(dump: Path, tmp_path: Path, **env: str):
    settings = Settings.from_mapping({"VICARE_DUMP": str(dump),
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "d"),
                                      "HEATPUMP_TZ": "UTC", **env})
    return ViCareHarness(settings, Clock())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dump_maps_to_expected_values(name: str, tmp_path: Path) -> None:
    result = replay(FIXTURES / f"{name}.json", tmp_path).poll()
    assert [(h.status, h.reason) for h in result.health] == [("up", ""), ("up", "")]
    (sample,) = result.samples
    assert sample.device == name
    expected = EXPECTED[name]
    for field, value in zip(FIELDS, expected[:9], strict=True):
        if value == A:
            assert field not in sample.values, field  # absent, never zero
        else:
            assert sample.values[field] == value, field
            assert type(sample.values[field]) is type(value), field
    hours = sample.values["compressor_hours_h"]
    assert (hours == int(hours)) == (sample.values["compressor_hours_resolution_h"] == 1.0)
    ratio = expected[9]
    ratios = {k for k in sample.values if k.startswith("device_")}
    if ratio == A:
        assert not ratios
    else:
        assert sample.values[ratio[0]] == ratio[1]
    for counters, kind in ((expected[10], "heat."), (expected[11], "electricity.")):
        pairs = dict(zip(counters[::2], counters[1::2], strict=True))
        for key, value in pairs.items():
            assert sample.counters[key] == value
        if not pairs:
            assert not [k for k in sample.counters if k.startswith(kind)]
    assert set(sample.values) <= set(HEATPUMP.field_names)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_heat_method_and_reason_per_dump(name: str, tmp_path: Path) -> None:
    (sample,) = replay(FIXTURES / f"{name}.json", tmp_path).poll().samples
    method, words, rated_method = METHODS[name]
    choice = choose_heat_method(sample, None)
    assert choice.method == method
    assert words in choice.reason
    rated = choose_heat_method(sample, 8.0)
    assert rated.method == rated_method
    assert rated.estimate == (rated_method in ("modulation", "runtime"))
    if rated.estimate:  # the setting wins over the device's own figure, and says so
        assert rated.rated is not None and rated.rated.kw == 8.0
        assert "rated output 8 kW (HEATPUMP_RATED_HEAT_KW)" in rated.reason
        assert "of the real heat across the seasons" in rated.reason  # the measured band


@pytest.mark.parametrize(("name", "kw"), [("Vitocal200S_AWB-M-E-AC-201.D10", 10.0),
                                          ("Vitocal333G-with-Vitovent300F", 8.0),
                                          ("Vitocal250A", None)])
def test_the_devices_own_rated_output(name: str, kw: float | None, tmp_path: Path) -> None:
    (sample,) = replay(FIXTURES / f"{name}.json", tmp_path).poll().samples
    assert sample.values.get("device_rated_heat_kw") == kw


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mapping_agrees_with_pyvicare_getters(name: str, tmp_path: Path) -> None:
    """The table reads the same numbers as PyViCare's own HeatPump getters."""
    vicare = PyViCare()
    vicare.setCacheDuration(3600)
    dump = DumpAnswers([FIXTURES / f"{name}.json"], name)
    vicare.initWithExternalOAuth(OfflineOAuthManager(dump.answer))
    device = vicare.devices[0].asHeatPump()
    (sample,) = replay(FIXTURES / f"{name}.json", tmp_path).poll().samples
    compressor = device.getCompressor(0)
    assert sample.values["compressor_hours_h"] == compressor.getHours()
    assert sample.values["compressor_starts"] == compressor.getStarts()
    assert sample.values["outside_temp_c"] == device.getOutsideTemperature()
    assert sample.values["return_temp_c"] == device.getReturnTemperature()
    assert sample.values["compressor_active"] == compressor.getActive()


def test_messages_and_error_count(tmp_path: Path) -> None:
    (errors,) = replay(FIXTURES / "deviceerrors_F.1100.json", tmp_path / "a").poll().samples
    assert errors.values == {"error_count": 1}
    (m,) = errors.messages
    assert (m.kind, m.code, m.priority) == ("error", "F.1100", "criticalError")
    assert m.since == datetime(2000, 7, 22, 20, 37, 44, tzinfo=UTC)
    result = replay(FIXTURES / "Vitocal222S.json", tmp_path / "b").poll()
    (s,) = result.samples
    kinds = [m.kind for m in s.messages]
    assert kinds.count("status") == 8 and kinds.count("info") == 1
    assert "error_count" not in s.values  # this device has no error feature at all
    message_points = [p for p in result.points if p.measurement == "message"]
    assert {p.tags["code"] for p in message_points} >= {"S.125", "I.114"}
    (ok,) = replay(FIXTURES / "Vitocal252.json", tmp_path / "c").poll().samples
    assert ok.values["error_count"] == 0  # has errors.raw, empty: "no fault" recorded


def test_disabled_and_not_connected_features_are_absent(tmp_path: Path) -> None:
    (s,) = replay(FIXTURES / "Vitocal111S.json", tmp_path).poll().samples
    # primaryCircuit return is "notConnected" on this device: absent, not 0.
    assert "primary_return_temp_c" not in s.values
    (e,) = replay(FIXTURES / "Vitocal200S_E8NEV.json", tmp_path / "e").poll().samples
    # heating.circuits.0.temperature is disabled there.
    assert "heating_supply_target_temp_c" not in e.values


def _feature(name: str, value: float) -> dict[str, object]:
    return {"feature": name, "isEnabled": True, "properties": {
        "value": {"type": "number", "unit": "celsius", "value": value}}}


def test_a_name_finds_the_first_feature_of_that_name_as_pyvicare_does() -> None:
    """The mapping indexes the answer once per poll; a name still finds what PyViCare's
    readFeature finds (the first feature of that name), and an entry without a name is
    no feature at all (it costs the poll nothing)."""
    name = "heating.sensors.temperature.outside"
    entities = [{"isEnabled": True}, _feature(name, 3.5), _feature(name, -7.0),
                _feature("heating.sensors.temperature.return", 30.0)]
    sample = map_sample(entities, "d", datetime(2026, 1, 1, tzinfo=UTC))
    assert sample.values["outside_temp_c"] == 3.5
    assert readFeature(entities[1:], name) is entities[1]
    assert sample.values["return_temp_c"] == 30.0


def test_the_same_shape_maps_each_answers_own_values() -> None:
    """What the tables need of an answer is resolved once per shape (its feature names):
    the next answer of the same shape still maps its own values, a feature disabled or
    not connected in it is absent, a later row of a field takes over when the first one's
    feature is gone, and an answer with one more feature maps that one too."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    outside, supply = "heating.sensors.temperature.outside", \
        "heating.secondaryCircuit.sensors.temperature.supply"
    circuit_supply = "heating.circuits.0.sensors.temperature.supply"

    def answer(out_c: float, supply_c: float, *, supply_enabled: bool = True,
               extra: tuple[dict[str, object], ...] = ()) -> list[dict[str, object]]:
        first = _feature(supply, supply_c)
        first["isEnabled"] = supply_enabled
        return [_feature(outside, out_c), first, _feature(circuit_supply, 20.0),
                {"feature": "heating.heat.production.summary.heating", "isEnabled": True,
                 "properties": {"currentDay": {"type": "number", "unit": "kilowattHour",
                                               "value": out_c}}}, *extra]

    a = map_sample(answer(3.5, 30.0), "d", when)
    b = map_sample(answer(-2.0, 31.0), "d", when)
    assert (a.values["outside_temp_c"], a.values["supply_temp_c"]) == (3.5, 30.0)
    assert (b.values["outside_temp_c"], b.values["supply_temp_c"]) == (-2.0, 31.0)
    assert (a.counters, b.counters) == ({"heat.heating.day": 3.5}, {"heat.heating.day": -2.0})
    c = map_sample(answer(1.0, 32.0, supply_enabled=False), "d", when)
    assert c.values["supply_temp_c"] == 20.0  # the circuit's sensor, the next row
    not_connected = answer(1.0, 32.0)
    not_connected[0]["properties"]["status"] = {"type": "string", "value": "notConnected"}
    assert "outside_temp_c" not in map_sample(not_connected, "d", when).values
    d = map_sample(answer(1.0, 32.0, extra=(_feature("heating.sensors.temperature.return",
                                                      27.5),)), "d", when)
    assert d.values["return_temp_c"] == 27.5
    assert "return_temp_c" not in map_sample(answer(1.0, 32.0), "d", when).values
