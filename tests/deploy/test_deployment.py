"""The docker deployment (Dockerfile, docker-compose.yml) checked offline.

No Docker engine is needed: the compose file is validated against the Compose
specification, and every promise a user relies on (pinned images, data on the host,
InfluxDB healthy before the apps start, restarts, bounded logs, real commands) is read out
of the files themselves.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from heatpump.settings import SPECS
from tests.deploy.files import (
    COMPOSE_FILE,
    ROOT,
    compose,
    dockerfile_instructions,
    exec_form,
    final_stage,
)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
APP_SERVICES = ("collector", "bot")
# `heatpump <subcommand>` -> heartbeat process name (the contract in docs/deployment.md)
HEARTBEAT_OF = {"collect": "collector", "bot": "bot"}


def services() -> dict:
    return compose()["services"]


def image_tag(image: str) -> tuple[str, str | None]:
    name = image.partition("@")[0]
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:  # "host:5000/img" has no tag
        return name, None
    return repo, tag


# --- the compose file is valid Compose -----------------------------------------------------

def run_validator(path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                 os.environ.get("PATH", "")]))
    return subprocess.run(["bash", str(ROOT / "scripts" / "validate_compose.sh"), str(path)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_compose_file_matches_the_compose_specification():
    if not Path(sys.executable).with_name("check-jsonschema").exists() and not shutil.which(
            "check-jsonschema"):
        pytest.fail("check-jsonschema is not installed: pip install -e '.[test]'")
    r = run_validator(COMPOSE_FILE)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_validator_rejects_a_broken_compose_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("restart: unless-stopped",
                                                       "restart: unless-stopped\n    rstart: no",
                                                       1))
    r = run_validator(broken)
    assert r.returncode != 0
    assert "rstart" in r.stdout + r.stderr


# --- images --------------------------------------------------------------------------------

def test_every_image_is_pinned_to_a_version():
    for name, svc in services().items():
        assert "image" in svc, f"{name}: no image name"
        tag = image_tag(svc["image"])[1]
        assert tag, f"{name}: untagged image {svc['image']!r}"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), (
            f"{name}: {svc['image']!r} is not pinned to a version")


def test_influxdb_is_a_2x_release():
    repo, tag = image_tag(services()["influxdb"]["image"])
    assert repo == "influxdb"
    assert re.fullmatch(r"2\.\d+\.\d+", tag), "pin a full 2.x release: latest is InfluxDB 3"


def test_our_image_is_built_here_and_tagged_with_the_project_version():
    for name in APP_SERVICES:
        svc = services()[name]
        assert svc.get("build") in (".", {"context": "."}), name
        assert svc["image"] == f"heatpump-monitor:{PYPROJECT['project']['version']}", name


def test_base_image_is_a_pinned_slim_python_the_project_supports():
    instructions = dockerfile_instructions()
    args = dict(a.split("=", 1) for w, a in instructions if w == "ARG" and "=" in a)
    base = args["PYTHON_IMAGE"]
    repo, tag = image_tag(base)
    assert repo == "python"
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)-slim-(bookworm|trixie)", tag or "")
    assert m, f"pin a full version and Debian release: {base!r}"
    required = Requirement("x" + PYPROJECT["project"]["requires-python"]).specifier
    assert required.contains(".".join(m.groups()[:3]))
    froms = [a.split()[0] for w, a in instructions if w == "FROM"]
    assert froms and all(f == "${PYTHON_IMAGE}" for f in froms), froms


def test_the_image_installs_only_pinned_wheels_of_every_dependency():
    lock = {}
    for line in (ROOT / "deploy" / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"not an exact pin: {line!r}"
            lock[name.lower().replace("_", "-")] = version
    wanted = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"][
        "optional-dependencies"]["alerts"]
    for text in wanted:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert name in lock, f"{name} is not in deploy/requirements.lock"
        assert req.specifier.contains(lock[name]), f"{name}=={lock[name]} breaks {text!r}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--only-binary=:all: -r /tmp/requirements.lock" in dockerfile
    assert "pip check" in dockerfile  # a dependency missing from the lock fails the build


# --- processes, users, state ----------------------------------------------------------------

def test_the_image_runs_as_a_non_root_user_with_the_data_dir_as_volume():
    stage = final_stage(dockerfile_instructions())
    users = [a for w, a in stage if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in stage
    env = " ".join(a for w, a in stage if w == "ENV")
    assert "HEATPUMP_DATA_DIR=/data" in env
    for name in APP_SERVICES:
        user = services()[name]["user"]
        assert not user.startswith(("0", "root")), f"{name} runs as root"


def test_the_data_dir_is_on_the_host_so_a_new_container_keeps_the_viessmann_token():
    for name in APP_SERVICES:
        svc = services()[name]
        assert "./data:/data" in svc["volumes"], name
        assert svc["environment"]["HEATPUMP_DATA_DIR"] == "/data", name
    for name in ("influxdb", "grafana"):
        for volume in services()[name]["volumes"]:
            source = volume.split(":")[0]
            assert source.startswith("./") or source in compose()["volumes"], volume
    assert {"influxdb-data", "influxdb-config"} <= set(compose()["volumes"])
    assert any(v.endswith(":/var/lib/influxdb2") for v in services()["influxdb"]["volumes"])


def test_influxdb_is_set_up_on_first_start_from_env():
    env = services()["influxdb"]["environment"]
    assert env["DOCKER_INFLUXDB_INIT_MODE"] == "setup"
    for key in ("USERNAME", "PASSWORD", "ORG", "BUCKET", "RETENTION", "ADMIN_TOKEN"):
        assert "${" in env[f"DOCKER_INFLUXDB_INIT_{key}"], f"{key} must come from .env"
    # the apps use the bucket the bundled InfluxDB is set up with, and never its admin
    # token: INFLUX_TOKEN only for an InfluxDB of your own (tests/deploy/test_privilege.py)
    app_env = services()["collector"]["environment"]
    token_var = re.match(r"\$\{(\w+)", env["DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"])[1]
    bucket_var = re.match(r"\$\{(\w+)", env["DOCKER_INFLUXDB_INIT_BUCKET"])[1]
    assert token_var == "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"
    assert app_env["INFLUX_TOKEN"] == "${INFLUX_TOKEN:-}"
    assert app_env["INFLUX_BUCKET"].startswith("${" + bucket_var)
    assert app_env["INFLUX_URL"] == "${INFLUX_URL-http://influxdb:8086}"


def test_influxdb_has_a_healthcheck_and_the_apps_wait_for_it():
    check = services()["influxdb"]["healthcheck"]["test"]
    assert check[0] == "CMD" and check[1:] == ["influx", "ping"]
    for name in (*APP_SERVICES, "grafana", "influxdb-tokens"):
        assert services()[name]["depends_on"]["influxdb"]["condition"] == "service_healthy", name
    for name in (*APP_SERVICES, "grafana"):  # and for their tokens
        assert services()[name]["depends_on"]["influxdb-tokens"]["condition"] == (
            "service_completed_successfully"), name


ONE_SHOT = ("influxdb-tokens",)  # runs once per `up`; restarted only when it failed


def test_every_service_restarts_and_rotates_its_logs():
    for name, svc in services().items():
        wanted = ("on-failure",) if name in ONE_SHOT else ("unless-stopped", "always")
        assert svc["restart"] in wanted, name
        logging = svc["logging"]
        assert logging["driver"] == "json-file", name
        assert re.fullmatch(r"\d+[km]", logging["options"]["max-size"]), name
        assert int(logging["options"]["max-file"]) >= 1, name
        assert "TZ" in svc["environment"], f"{name}: no TZ"


def test_every_setting_reaches_the_apps():
    for name in APP_SERVICES:
        env = services()[name]["environment"]
        missing = [s.env for s in SPECS if s.env not in env]
        assert not missing, f"{name} does not pass {missing}"


def test_heartbeat_healthchecks_match_the_command_they_watch():
    for name in APP_SERVICES:
        svc = services()[name]
        sub = svc["command"][0]
        assert svc["healthcheck"]["test"] == ["CMD", "python", "/app/healthcheck.py",
                                              HEARTBEAT_OF[sub]], name
        assert svc["healthcheck"]["start_period"], name
    stage = final_stage(dockerfile_instructions())
    assert ("COPY", "deploy/healthcheck.py /app/healthcheck.py") in stage
    healthchecks = [a for w, a in stage if w == "HEALTHCHECK"]
    assert healthchecks and '"/app/healthcheck.py"' in healthchecks[0]


def test_the_build_context_leaves_out_secrets_and_state_but_keeps_what_is_copied():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    assert ".env" in patterns and "data/" in patterns
    ignored = [p.rstrip("/") for p in patterns if not p.startswith(("!", "*"))]
    for word, args in dockerfile_instructions():
        if word == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert Path(ROOT / source).exists(), f"COPY {source}: missing"
                assert not any(source == p or source.startswith(p + "/") for p in ignored), (
                    f"COPY {source} is excluded by .dockerignore")


# --- every command that is run exists ------------------------------------------------------

def commands_run() -> list[list[str]]:
    """Argument lists given to the `heatpump` console script by the files users run."""
    stage = final_stage(dockerfile_instructions())
    entry = exec_form(next(a for w, a in stage if w == "ENTRYPOINT"))
    assert entry == ["/bin/sh", "/app/entrypoint.sh"], entry
    assert ("COPY", "deploy/entrypoint.sh /app/entrypoint.sh") in stage
    # the entrypoint ends by running `heatpump` with the container's arguments
    script = (ROOT / "deploy" / "entrypoint.sh").read_text().strip().splitlines()
    assert script[-1] == 'exec heatpump "$@"'
    runs = [exec_form(next(a for w, a in stage if w == "CMD"))]
    runs += [services()[name]["command"] for name in APP_SERVICES]
    # `docker compose run --rm collector <subcommand>` in the deployment guide
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    runs += [m.split() for m in re.findall(
        r"docker compose run --rm (?:collector|bot) ([a-z][a-z-]*(?: --?[a-z-]+)*)", guide)]
    return runs


def test_the_console_script_is_a_real_entry_point():
    target = PYPROJECT["project"]["scripts"]["heatpump"]
    module, func = target.split(":")
    assert callable(getattr(importlib.import_module(module), func))


@pytest.mark.parametrize("argv", commands_run(), ids=" ".join)
def test_every_command_the_deployment_runs_answers_help(argv, tmp_path):
    sub = [a for a in argv if not a.startswith("-")]
    r = subprocess.run([sys.executable, "-m", "heatpump.cli", *sub[:1], "--help"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, f"heatpump {' '.join(sub[:1])} --help: {r.stderr}"


# --- optional Grafana ----------------------------------------------------------------------

def test_grafana_is_optional_and_provisioned_from_the_repository():
    svc = services()["grafana"]
    assert svc["profiles"] == ["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/heatpump.yml")
                              .read_text())
    dashboards_in_container = provider["providers"][0]["options"]["path"]
    assert mounts[dashboards_in_container] == "./deploy/grafana/dashboards"
    source = (ROOT / "deploy/grafana/provisioning/datasources/influxdb.yml").read_text()
    start = (ROOT / "deploy/grafana/start.sh").read_text()
    for var in re.findall(r"\$\{(\w+)\}", source):
        # INFLUX_TOKEN: exported by deploy/grafana/start.sh from its provisioned token
        given = var in svc["environment"] or f"export {var}" in start
        assert given, f"the data source needs {var}"


def test_dashboard_queries_use_only_stored_measurements_and_fields():
    from heatpump.schema import MEASUREMENTS

    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/heatpump.json").read_text())
    datasource = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/influxdb.yml")
                                .read_text())["datasources"][0]
    queries = [t["query"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(queries) >= 4
    for p in dashboard["panels"]:
        assert p["datasource"]["uid"] == datasource["uid"]
    for q in queries:
        name = re.search(r'FROM "(\w+)"', q)[1]
        base = re.sub(r"_1[hd]$", "", name)
        measurement = MEASUREMENTS[base]
        fields = set(measurement.field_names)
        tags = set(measurement.tags)
        if name != base:  # a rollup (docs/schema.md): <field>_sum and _count; _1d adds tz
            rolled = [f.name for f in measurement.fields if f.rollup]
            fields = {f"{f}_{part}" for f in rolled for part in ("sum", "count")}
            tags |= {"tz"} if name.endswith("_1d") else set()
        aliases = set(re.findall(r'AS "(\w+)"', q))  # of subqueries: not stored fields
        used = re.findall(r'(?:mean|sum)\("(\w+)"\)', q) + re.findall(
            r'SELECT (?:-1 \* )?"(\w+)" AS', q)
        for field in [f for f in used if f not in aliases or f in fields]:
            assert field in fields, f"{name} has no field {field}"
        grouped = [t for g in re.findall(r"GROUP BY ([^()]*(?:\([^)]*\)[^()]*)*)", q)
                   for t in re.findall(r'"(\w+)"', g)]
        for tag in re.findall(r'"(\w+)" = \'', q) + grouped:
            assert tag in tags, f"{name} has no tag {tag}"
