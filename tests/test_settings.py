"""Settings: defaults serve one home, every problem is reported clearly, secrets never shown."""

import dataclasses
from pathlib import Path

import pytest

from heatpump.settings import SPECS, Settings, SettingsError


def test_defaults_need_nothing():
    s = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin"})
    assert s.data_dir == Path("./data")
    assert s.influx_url is None and s.influx_bucket == "heatpump_raw"
    assert s.vicare_poll_seconds == 300 and s.vicare_daily_budget == 1400
    assert s.shelly_poll_seconds == 10
    assert s.token_file == Path("data/vicare_token.save")
    assert not s.vicare_enabled and not s.shelly_enabled


def test_tz_falls_back_to_TZ():
    assert Settings.from_mapping({"TZ": "Europe/Vienna"}).tz_name == "Europe/Vienna"
    assert Settings.from_mapping({"TZ": "Europe/Vienna",
                                  "HEATPUMP_TZ": "Europe/Berlin"}).tz_name == "Europe/Berlin"


def test_every_problem_reported_once_with_example():
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({
            "HEATPUMP_TZ": "Mars/Olympus",
            "VICARE_POLL_SECONDS": "30",
            "SHELLY_POLL_SECONDS": "often",
            "INFLUX_URL": "influxdb:8086",
            "TELEGRAM_ALLOWED_CHAT_IDS": "123,abc",
        })
    problems = err.value.problems
    assert len(problems) == 5
    text = "\n".join(problems)
    for name in ("HEATPUMP_TZ", "VICARE_POLL_SECONDS", "SHELLY_POLL_SECONDS", "INFLUX_URL",
                 "TELEGRAM_ALLOWED_CHAT_IDS"):
        assert text.count(name + "=") >= 1
    assert "at least 60" in text
    assert "http://" in text


def test_secret_values_never_in_messages():
    secret = "hunter2-very-secret"
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({"SHELLY_PASSWORD": secret, "VICARE_USERNAME": "me@example.com",
                               "VICARE_PASSWORD": secret})
    assert secret not in str(err.value)
    s = Settings.from_mapping({"TELEGRAM_BOT_TOKEN": "123:" + secret})
    assert secret not in repr(s)
    assert "123:" + secret in s.secrets()


def test_vicare_needs_password_and_client_id():
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({"VICARE_USERNAME": "me@example.com"})
    assert {p.split(" ")[0] for p in err.value.problems} == {"VICARE_USERNAME"}
    assert any("VICARE_PASSWORD" in p for p in err.value.problems)
    assert any("VICARE_CLIENT_ID" in p for p in err.value.problems)


def test_chat_ids_and_channel():
    s = Settings.from_mapping({"TELEGRAM_ALLOWED_CHAT_IDS": " 123, -1001234567890 ,",
                               "SHELLY_CHANNEL": "b"})
    assert s.telegram_allowed_chat_ids == (123, -1001234567890)
    with pytest.raises(SettingsError):
        Settings.from_mapping({"SHELLY_CHANNEL": "left"})


def test_env_file_read_and_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SHELLY_URL=http://10.0.0.5\nHEATPUMP_RUNNING_W=300\n")
    s = Settings.from_env({"HEATPUMP_RUNNING_W": "400"}, env_file=env)
    assert s.shelly_url == "http://10.0.0.5" and s.running_w == 400


def test_specs_are_unique_and_map_to_fields():
    names = [s.env for s in SPECS]
    assert len(names) == len(set(names))
    fields = set(Settings.__dataclass_fields__)
    assert {s.attr for s in SPECS} <= fields


def test_each_setting_is_declared_once_on_its_field():
    """Every field but `warnings` is a setting, in declaration order, and a Settings built
    directly has the same defaults as one read from an empty environment."""
    names = [f.name for f in dataclasses.fields(Settings)]
    assert [s.attr for s in SPECS] == [n for n in names if n != "warnings"]
    assert Settings() == Settings.from_mapping({"HEATPUMP_TZ": "UTC"})
    secret = {s.attr for s in SPECS if s.secret}
    assert {f.name for f in dataclasses.fields(Settings) if not f.repr} == secret | {"warnings"}


def test_log_redaction_knows_each_apprise_url_and_passwords_inside_urls():
    """A library logging one Apprise URL of several, or a URL with user:password@, must be
    masked too: the filter gets each URL and each password component."""
    from heatpump.logs import redact

    s = Settings.from_mapping({
        "APPRISE_URLS": "ntfys://ntfy.sh/topic-secret-1,mailtos://me:mail-pw-2@example.com",
        "SHELLY_URL": "http://admin:shelly-pw-3@192.168.1.50",
        "INFLUX_URL": "http://user:influx-pw-4@influxdb:8086"})
    line = ("sending to ntfys://ntfy.sh/topic-secret-1 failed; mailtos://me:mail-pw-2@example.com;"
            " shelly-pw-3 influx-pw-4")
    masked = redact(line, sorted(s.secrets(), key=len, reverse=True))
    for part in ("topic-secret-1", "mail-pw-2", "shelly-pw-3", "influx-pw-4"):
        assert part not in masked, masked
