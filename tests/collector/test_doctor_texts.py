"""`heatpump doctor`'s lines in German (issue 19): exact renderings of the settings and store
sections and of an age, next to the English ones the other doctor tests check."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.doctor import _ago, check_settings, check_store, render
from heatpump import i18n
from heatpump.settings import Settings
from heatpump.store import open_store

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_the_settings_section_in_german(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with i18n.using("de"):
        assert render(check_settings(s, NOW)).splitlines() == [
            "[FAIL] Einstellungen",
            f"       Datenverzeichnis {tmp_path}, Zeitzone Europe/Berlin",
            "       keine Quelle eingerichtet",
            "    -> SHELLY_URL und/oder VICARE_USERNAME, VICARE_PASSWORD, VICARE_CLIENT_ID "
            "setzen (README: Set up your system), oder `heatpump demo` ausprobieren",
        ]
    meter_only = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                        "HEATPUMP_DATA_DIR": str(tmp_path),
                                        "SHELLY_URL": "http://127.0.0.1:9"})
    with i18n.using("de"):
        assert render(check_settings(meter_only, NOW)).splitlines()[2:] == [
            "       Quellen: Shelly-Stromzähler",
            "       keine Wärmepumpen-Quelle: nur Strom, keine Wärme, also keine JAZ/COP",
            "    -> VICARE_USERNAME, VICARE_PASSWORD und VICARE_CLIENT_ID setzen (README: Set "
            "up your system)",
        ]


def test_the_store_section_in_german(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                               "HEATPUMP_DATA_DIR": str(tmp_path)})
    with open_store(s) as store:
        info = store.info()
    with i18n.using("de"):
        assert render(check_store(s, NOW)).splitlines() == [
            "[  ok] Datenspeicher",
            f"       {info.backend} {info.version} unter {info.location}",
            "       zuletzt Stromzähler: keine",
            "       zuletzt Wärmepumpe: keine",
            "       zuletzt Strom: keine",
            "       zuletzt Wärme: keine",
            "       Collector: läuft hier nicht (kein Lebenszeichen)",
        ]
    assert render(check_store(s, NOW)).splitlines()[-1] == (
        "       collector: not running here (no heartbeat)")


def test_ages_in_both_languages():
    three_hours = datetime(2026, 11, 29, 9, tzinfo=UTC)
    assert _ago(three_hours, NOW) == "2026-11-29 09:00 UTC (3.0 h ago)"
    with i18n.using("de"):
        assert _ago(three_hours, NOW) == "2026-11-29 09:00 UTC (vor 3,0 h)"
        assert _ago(datetime(2026, 11, 29, 11, 30, tzinfo=UTC), NOW) == (
            "2026-11-29 11:30 UTC (vor 30 min)")


def test_the_viessmann_next_steps_in_both_languages():
    from collector.reasons import FIXES, fix_for

    assert fix_for("gateway_offline") == (
        "the Vitoconnect/gateway is offline: check its power and Wi-Fi")
    assert fix_for("no-such-reason") == fix_for("bad_response")
    with i18n.using("de"):
        assert fix_for("gateway_offline") == (
            "Vitoconnect/Gateway ist offline: Stromversorgung und WLAN prüfen")
        assert fix_for("login_spacing") == (
            "nach Fehlschlägen werden Anmeldungen verzögert; bis zur angezeigten Zeit warten")
        german = {reason: fix() for reason, fix in FIXES.items()}
    assert all(german[r] != FIXES[r]() for r in FIXES)  # every step has its German text


def test_what_a_meter_is_and_reads_in_both_languages():
    """The family names of collector/shelly/parse.py are English titles (logs); the doctor
    says them in the owner's language, and a family added later still shows its title."""
    from collector.doctor import FAMILY_NAMES, meter_text
    from collector.shelly.client import ShellyDevice
    from collector.shelly.parse import FAMILIES, Channel, DeviceInfo

    info = DeviceInfo("shellypro3em-0001", 2, "SPEM-003CEBEU", "Pro3EM", False)
    all_phases = ShellyDevice(info, FAMILIES["em"], Channel(None))
    one = ShellyDevice(info, FAMILIES["em1"], Channel(1))
    assert meter_text(all_phases) == all_phases.describe() == (
        "Pro 3EM, triphase profile SPEM-003CEBEU (shellypro3em-0001, gen 2), all phases")
    assert meter_text(one) == one.describe()
    assert set(FAMILY_NAMES) == set(FAMILIES)
    with i18n.using("de"):
        assert meter_text(all_phases) == (
            "Pro 3EM, Dreiphasenprofil SPEM-003CEBEU (shellypro3em-0001, Gen 2), alle Phasen")
        assert meter_text(one) == (
            "Gen2+ Energiezähler (EM1-Kanäle) SPEM-003CEBEU (shellypro3em-0001, Gen 2), Kanal 1")


def test_a_settings_warning_in_german(tmp_path):
    s = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), "HEATPUMP_TZ": "UTC",
                               "SHELLY_URL": "http://127.0.0.1:9", "VICARE_USERNAM": "x"})
    with i18n.using("de"):
        lines = render(check_settings(s, NOW))
    assert ("VICARE_USERNAM ist keine Einstellung und wird nicht beachtet; meintest du "
            "VICARE_USERNAME?") in lines
