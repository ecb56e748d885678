"""The `heatpump` command: help works, bad settings give one clear message and exit 2."""

import subprocess
import sys


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "heatpump.cli", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "heatpump" in r.stdout


def _env(tmp_path, **extra):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEATPUMP_")}
    env.update(HEATPUMP_DATA_DIR=str(tmp_path / "data"), HEATPUMP_TZ="UTC", **extra)
    return env


def test_help_speaks_german_with_heatpump_lang_de(tmp_path):
    """Issue 19: the parsers are built before the settings, so the language is read first."""
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--help"], capture_output=True,
                       text=True, env=_env(tmp_path, HEATPUMP_LANG="de"), timeout=60,
                       cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.startswith("Aufruf: heatpump [-h] [--version] [--env-file ENV_FILE] BEFEHL")
    assert "Messen, wie gut deine Viessmann-Wärmepumpe wirklich arbeitet." in r.stdout
    assert "diese Hilfe zeigen und beenden" in r.stdout
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "doctor", "--help"],
                       capture_output=True, text=True, env=_env(tmp_path, HEATPUMP_LANG="de"),
                       timeout=60, cwd=tmp_path)
    assert "die Viessmann-Prüfung auslassen (spart einen API-Aufruf)" in r.stdout
    assert "Exit-Code 1, wenn etwas nicht stimmt." in r.stdout


def test_the_language_of_the_help_comes_from_the_env_file_too(tmp_path):
    env_file = tmp_path / "my.env"
    env_file.write_text("HEATPUMP_LANG=de\n")
    env_file.chmod(0o600)
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", str(env_file),
                        "export", "--demo"], capture_output=True, text=True,
                       env=_env(tmp_path), timeout=60, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == "heatpump export: Fehler: diese Argumente fehlen: --from"
    # the environment wins over the file, as in Settings
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", str(env_file),
                        "--help"], capture_output=True, text=True,
                       env=_env(tmp_path, HEATPUMP_LANG="en"), timeout=60, cwd=tmp_path)
    assert r.stdout.startswith("usage: heatpump")


def test_early_language_ignores_what_settings_would_refuse(tmp_path):
    from heatpump.cli_texts import early_language

    assert early_language([], {"HEATPUMP_LANG": "DE"}) == "de"
    assert early_language([], {"HEATPUMP_LANG": "fr"}) == "en"  # Settings reports it later
    assert early_language(["--env-file", str(tmp_path / "none.env")], {}) == "en"


def test_the_env_file_is_found_without_a_parser():
    from heatpump.cli_texts import env_file_argument

    assert env_file_argument(["--env-file", "a.env", "doctor"]) == "a.env"
    assert env_file_argument(["--env-file=b.env", "--help"]) == "b.env"
    assert env_file_argument(["--env-file"]) == ".env"  # the parser reports this one
    assert env_file_argument(["chat", "--", "--env-file", "c"]) == ".env"
