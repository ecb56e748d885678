"""`heatpump doctor`'s Viessmann section on replayed devices: heat method, the rated output
and its source, the estimate's measured band, stale counters, and hints that point at
documentation that exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.check import OK, WARN
from collector.vicare_doctor import COUNTERS_DOC, HEAT_METHODS_DOC, check_vicare
from heatpump.estimates import band_text
from heatpump.settings import Settings
from tests.fakes.vicare_cloud import FIXTURES
from tests.paths import ROOT


def doctor(dump: Path, tmp_path: Path, **env: str):
    settings = Settings.from_mapping({"VICARE_DUMP": str(dump), "HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "data"), **env})
    check = check_vicare(settings, datetime.now(UTC))
    return check, "\n".join(check.lines), "\n".join(check.fixes)


@pytest.mark.parametrize("doc", [HEAT_METHODS_DOC, COUNTERS_DOC])
def test_the_documents_the_hints_name_exist(doc) -> None:
    path, heading = doc
    text = (ROOT / path).read_text()
    assert re.search(rf"^#+ {re.escape(heading)}$", text, re.MULTILINE), (path, heading)


def test_a_device_without_heat_counters_is_sent_to_the_methods(tmp_path) -> None:
    check, lines, fixes = doctor(FIXTURES / "Vitocal111S.json", tmp_path)
    assert check.verdict == WARN
    assert "heat cannot be measured" in lines
    assert f"{HEAT_METHODS_DOC[0]}, section '{HEAT_METHODS_DOC[1]}'" in fixes
    assert "no rated output known (HEATPUMP_RATED_HEAT_KW unset)" in lines


def test_the_devices_own_rated_output_and_the_estimates_band(tmp_path) -> None:
    _, lines, _ = doctor(FIXTURES / "Vitocal200S_AWB-M-E-AC-201.D10.json", tmp_path)
    assert "heat method modulation (ESTIMATE)" in lines
    assert ("rated output 10 kW (the heat pump's own figure, heating.compressors.0.power); "
            "energy deltas above 20 kW are rejected") in lines
    assert band_text("modulation") in lines
    assert f"section '{HEAT_METHODS_DOC[1]}'" in lines


def test_the_setting_is_named_as_the_source(tmp_path) -> None:
    _, lines, _ = doctor(FIXTURES / "Vitocal200.json", tmp_path,
                         HEATPUMP_RATED_HEAT_KW="6")
    assert "heat method runtime (ESTIMATE)" in lines and band_text("runtime") in lines
    assert "rated output 6 kW (HEATPUMP_RATED_HEAT_KW)" in lines


def test_stale_counters_are_a_warning_with_since_when(tmp_path) -> None:
    check, lines, fixes = doctor(FIXTURES / "cases" / "vicare_stale_day_array_ha130273.json",
                                 tmp_path)
    assert check.verdict == WARN
    assert ("has not updated its electricity.heating counters since 2024-10-31 22:58 UTC"
            in lines)
    assert f"section '{COUNTERS_DOC[1]}'" in fixes


def test_a_device_with_heat_counters_is_measured(tmp_path) -> None:
    check, lines, _ = doctor(FIXTURES / "Vitocal250A.json", tmp_path)
    assert check.verdict == OK
    assert "heat method counter: the device reports its own heat production counters" in lines


@pytest.mark.parametrize(("dump", "env", "line"), [
    ("Vitocal222S", {}, "heating rod: its own electricity counters (dhw, heating)"),
    ("Vitocal333G-with-Vitovent300F", {"HEATPUMP_HEATING_ROD_KW": "3,6"},
     "heating rod: running time per level × HEATPUMP_HEATING_ROD_KW (3 kW, 6 kW): its "
     "electricity is an ESTIMATE"),
    ("Vitocal252", {}, "heating rod: the device reports none"),
])
def test_what_the_device_reports_of_its_heating_rod(dump: str, env: dict, line: str,
                                                    tmp_path) -> None:
    _, lines, _ = doctor(FIXTURES / f"{dump}.json", tmp_path, **env)
    assert line in lines


def test_a_rod_with_only_its_running_time_needs_its_power(tmp_path) -> None:
    check, lines, fixes = doctor(FIXTURES / "Vitocal333G-with-Vitovent300F.json", tmp_path)
    assert check.verdict == WARN
    assert "heating rod: the device reports only its running time per level (levels 1, 2); " \
        "its electricity is not known" in lines
    assert "set HEATPUMP_HEATING_ROD_KW to the rod's power per level" in fixes
