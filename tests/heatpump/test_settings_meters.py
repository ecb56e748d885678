"""SHELLY_METERS: several meters with roles in one setting (heatpump/settings.py); SHELLY_URL
stays the one meter of role heatpump."""

from __future__ import annotations

import pytest

from heatpump.settings import MeterSpec, Settings, SettingsError


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as exc:
        Settings.from_mapping(env)
    return exc.value.problems


def test_shelly_url_is_one_meter_of_role_heatpump() -> None:
    s = Settings.from_mapping({"SHELLY_URL": "http://127.0.0.1:8081", "SHELLY_CHANNEL": "b"})
    assert s.meters == (MeterSpec("heatpump", "http://127.0.0.1:8081", "b"),)
    assert s.shelly_enabled
    assert Settings.from_mapping({}).meters == ()
    assert not Settings.from_mapping({}).shelly_enabled


def test_several_meters_with_roles_and_channels() -> None:
    s = Settings.from_mapping({"SHELLY_METERS": (
        " outdoor_unit=http://127.0.0.1:8081/ ;\nindoor_unit:A=http://127.0.0.1:8082;"
        "heating_rod:1=http://127.0.0.1:8083;")})
    assert s.meters == (MeterSpec("outdoor_unit", "http://127.0.0.1:8081"),
                        MeterSpec("indoor_unit", "http://127.0.0.1:8082", "a"),
                        MeterSpec("heating_rod", "http://127.0.0.1:8083", "1"))


@pytest.mark.parametrize(("value", "reason"), [
    ("pump=http://127.0.0.1:8081", "unknown role 'pump'; the roles are heatpump, "
     "heatpump_with_rod, outdoor_unit, indoor_unit, heating_rod, circulation_pumps, system"),
    ("http://127.0.0.1:8081", "'http://127.0.0.1:8081' is not role=URL"),
    ("heatpump=127.0.0.1:8081", "heatpump: the URL must start with http:// or https://"),
    ("heatpump:x=http://127.0.0.1:8081", "channel 'x' must be a number or a phase a, b or c"),
    ("heatpump=http://127.0.0.1:8081;heating_rod=http://127.0.0.1:8081",
     "the meter http://127.0.0.1:8081 is given twice; one device is one meter"),
    ("heating_rod=http://127.0.0.1:8081;heating_rod=http://127.0.0.1:8082",
     "the role heating_rod is given twice; one meter per role"),
    ("outdoor_unit=http://127.0.0.1:8081;heatpump=http://127.0.0.1:8082",
     "outdoor_unit and heatpump both see the compressor, which would be counted twice; give "
     "each load to one meter"),
    ("indoor_unit=http://127.0.0.1:8081;circulation_pumps=http://127.0.0.1:8082",
     "indoor_unit and circulation_pumps both see the circulation pumps, which would be "
     "counted twice; give each load to one meter"),
])
def test_one_clear_error_per_bad_value(value: str, reason: str) -> None:
    assert problems({"SHELLY_METERS": value}) == [
        f"SHELLY_METERS={value!r}: {reason}; for example SHELLY_METERS=outdoor_unit="
        "http://127.0.0.1:8081;indoor_unit=http://127.0.0.1:8082"]


def test_shelly_url_and_shelly_meters_together_say_which_to_use() -> None:
    assert problems({"SHELLY_URL": "http://127.0.0.1:8081",
                     "SHELLY_METERS": "outdoor_unit=http://127.0.0.1:8082",
                     "SHELLY_CHANNEL": "a"}) == [
        "SHELLY_URL and SHELLY_METERS are both set; use SHELLY_URL for one meter, or "
        "SHELLY_METERS (with your meter as heatpump=URL) for several",
        "SHELLY_CHANNEL is for the one meter at SHELLY_URL; with SHELLY_METERS give each "
        "meter's channel as role:channel=URL, for example "
        "SHELLY_METERS=outdoor_unit:a=http://127.0.0.1:8081"]


def test_passwords_in_the_meters_urls_are_never_shown_and_are_masked() -> None:
    value = ("heating_rod=http://admin:first-secret@127.0.0.1:8081;"
             "heating_rod=http://admin:second-secret@127.0.0.1:8082")
    text = "\n".join(problems({"SHELLY_METERS": value}))
    assert "first-secret" not in text and "second-secret" not in text
    s = Settings.from_mapping({"SHELLY_METERS": "outdoor_unit=http://admin:s3cret-one@"
                                                "127.0.0.1:8081;indoor_unit=http://admin:"
                                                "s3cret-two@127.0.0.1:8082"})
    assert {"s3cret-one", "s3cret-two"} <= set(s.secrets())
