"""Settings: defaults serve one home, every problem is reported clearly, secrets never shown."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from heatpump.settings import SPECS, Settings, SettingsError
from tests.paths import ROOT


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
    env.write_text("SHELLY_URL=http://127.0.0.1:8080\nHEATPUMP_RUNNING_W=300\n")
    s = Settings.from_env({"HEATPUMP_RUNNING_W": "400"}, env_file=env)
    assert s.shelly_url == "http://127.0.0.1:8080" and s.running_w == 400


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
        "SHELLY_URL": "http://admin:shelly-pw-3@127.0.0.1",
        "INFLUX_URL": "http://user:influx-pw-4@influxdb:8086",
        "TELEGRAM_API_BASE_URL": "http://bot:api-pw-5@127.0.0.1:8081"})
    line = ("sending to ntfys://ntfy.sh/topic-secret-1 failed; mailtos://me:mail-pw-2@example.com;"
            " shelly-pw-3 influx-pw-4 api-pw-5")
    masked = redact(line, sorted(s.secrets(), key=len, reverse=True))
    for part in ("topic-secret-1", "mail-pw-2", "shelly-pw-3", "influx-pw-4", "api-pw-5"):
        assert part not in masked, masked


# --- mistakes the settings catch -------------------------------------------------------------

def test_a_misspelt_variable_is_a_warning_naming_the_setting_meant():
    s = Settings.from_mapping({
        "SHELY_URL": "http://127.0.0.1", "VICARE_USER": "someone", "shelly_password": "typo-pw-1",
        "ALERTS_REPEAT_H": "12", "HEATPUMP_TZ": "UTC",
        # not typos: other programs' variables, and the test suite's own switch
        "PATH": "/usr/bin", "SHELL_SESSION_ID": "x", "INFLUXDB_DB": "x",
        "HEATPUMP_REQUIRE_INFLUX": "1"})
    assert s.warnings == (
        "ALERTS_REPEAT_H is not a setting and is ignored; did you mean ALERT_REPEAT_H?",
        "SHELY_URL is not a setting and is ignored; did you mean SHELLY_URL?",
        "VICARE_USER is not a setting and is ignored; did you mean VICARE_USERNAME?",
        "shelly_password is not a setting and is ignored; did you mean SHELLY_PASSWORD?",
    )
    assert s.shelly_url is None  # ignored, not guessed
    assert Settings.from_mapping({"HEATPUMP_TZ": "UTC"}).warnings == ()


def test_a_misspelt_variable_is_named_beside_the_problem_it_causes():
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({"VICARE_USERNAME": "owner@example.org", "VICARE_CLIENT_ID": "c1",
                               "VICARE_PASWORD": "typo-pw-2"})
    assert err.value.problems == ["VICARE_USERNAME is set but VICARE_PASSWORD is empty; set "
                                  "VICARE_PASSWORD too (see README: Set up your system)"]
    assert "VICARE_PASWORD is not a setting and is ignored; did you mean VICARE_PASSWORD?" \
        in str(err.value)
    assert "typo-pw-2" not in str(err.value)


def test_a_misspelt_variable_in_the_env_file_is_found_too(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SHELY_URL=http://127.0.0.1\n")
    env.chmod(0o600)
    s = Settings.from_env({}, env_file=env)
    assert s.warnings == ("SHELY_URL is not a setting and is ignored; did you mean SHELLY_URL?",)


@pytest.mark.parametrize(("name", "value"), [
    ("VICARE_PASSWORD", "change-me"),
    ("INFLUX_TOKEN", "CHANGEME"),
    ("TELEGRAM_BOT_TOKEN", "123456:ABC-DEF..."),
    ("SHELLY_PASSWORD", "<your password>"),
    ("VICARE_CLIENT_ID", "your-client-id"),
    ("SHELLY_URL", "http://your-shelly-address"),
    ("TELEGRAM_ALLOWED_CHAT_IDS", "your_chat_id"),
])
def test_a_placeholder_is_refused_naming_the_variable(name, value):
    values = {"SHELLY_USERNAME": "admin", "VICARE_USERNAME": "owner@example.org",
              "VICARE_PASSWORD": "pw-real-1", "VICARE_CLIENT_ID": "c1", name: value}
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(values)
    # one line, no follow-on "VICARE_PASSWORD is empty" for a value that was refused
    assert len(err.value.problems) == 1
    problem = err.value.problems[0]
    assert problem.startswith(f"{name}=") and "placeholder from .env.example" in problem
    spec = next(s for s in SPECS if s.env == name)
    assert (value not in problem) == spec.secret


def test_values_that_only_resemble_a_placeholder_are_accepted():
    s = Settings.from_mapping({"VICARE_USERNAME": "yourself@example.org",
                               "VICARE_PASSWORD": "my-change-of-heart", "VICARE_CLIENT_ID": "c1",
                               "SHELLY_URL": "http://127.0.0.1/yours"})
    assert s.vicare_password == "my-change-of-heart" and s.shelly_url == "http://127.0.0.1/yours"


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("SHELLY_URL", "htp://admin:url-pw-1@127.0.0.1", "'htp://admin:***@127.0.0.1'"),
    ("INFLUX_URL", "http://user:url-pw-2@127.0.0.1:80a", "'http://user:***@127.0.0.1:80a'"),
    ("INFLUX_URL", "http://user:url-pw-3@", "'http://user:***@'"),
    ("TELEGRAM_API_BASE_URL", "bot:url-pw-4@127.0.0.1:8081", "'bot:***@127.0.0.1:8081'"),
    ("SHELLY_URL", "http://admin:url pw 5@127.0.0.1", "'http://admin:***@127.0.0.1'"),
])
def test_a_rejected_url_is_shown_without_its_password(name, value, shown):
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping({name: value})
    (problem,) = err.value.problems
    assert problem.startswith(f"{name}={shown}: "), problem
    assert "url-pw" not in str(err.value) and "pw 5" not in str(err.value)


def test_a_url_without_a_valid_host_or_port_is_refused():
    for bad in ("http://", "http://127.0.0.1:port", "http://127.0.0.1 :80"):
        with pytest.raises(SettingsError):
            Settings.from_mapping({"SHELLY_URL": bad})
    s = Settings.from_mapping({"SHELLY_URL": "http://admin:pw@127.0.0.1:8080/"})
    assert s.shelly_url == "http://admin:pw@127.0.0.1:8080"


def test_an_env_file_others_can_read_gives_a_warning_with_the_fix(tmp_path):
    env = tmp_path / ".env"
    env.write_text("HEATPUMP_RUNNING_W=300\n")
    env.chmod(0o644)
    (warning,) = Settings.from_env({}, env_file=env).warnings
    assert warning == (f"{env} can be read by other users (mode 644) and holds your passwords "
                       f"and tokens; fix: chmod 600 {env}")
    env.chmod(0o640)
    assert "mode 640" in Settings.from_env({}, env_file=env).warnings[0]
    env.chmod(0o600)
    assert Settings.from_env({}, env_file=env).warnings == ()


def test_every_command_shows_the_warnings_so_doctor_does(tmp_path):
    """`heatpump doctor` (like collect and bot) logs each warning before it starts."""
    env = tmp_path / ".env"
    env.write_text("VICARE_USERNAME=owner@example.org\nSHELY_URL=http://127.0.0.1\n")
    env.chmod(0o644)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("VICARE", "SHELLY", "INFLUX", "HEATPUMP", "TELEGRAM"))}
    r = subprocess.run(
        [sys.executable, "-m", "heatpump.cli", "--env-file", str(env), "doctor", "--no-vicare"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**clean, "PYTHONPATH": str(ROOT), "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
             "HEATPUMP_TZ": "UTC", "VICARE_PASSWORD": "pw-real-2", "VICARE_CLIENT_ID": "c1"})
    assert "SHELY_URL is not a setting and is ignored; did you mean SHELLY_URL?" in r.stderr
    assert f"fix: chmod 600 {env}" in r.stderr
    assert "[FAIL]" in r.stdout or "[warn]" in r.stdout  # doctor itself ran too
    assert "pw-real-2" not in r.stdout + r.stderr


def test_warnings_are_english_in_logs_and_german_when_shown() -> None:
    """Issue 19: warnings are built at parse time, but worded for a person when shown."""
    from heatpump.i18n import shown, using

    (w,) = Settings.from_mapping({"HEATPUMP_TZ": "UTC", "SHELY_URL": "x"}).warnings
    assert w == "SHELY_URL is not a setting and is ignored; did you mean SHELLY_URL?"
    with using("de"):
        assert str(w) == "SHELY_URL is not a setting and is ignored; did you mean SHELLY_URL?"
        assert shown(w) == ("SHELY_URL ist keine Einstellung und wird nicht beachtet; meintest "
                            "du SHELLY_URL?")
        assert shown("plain") == "plain"
