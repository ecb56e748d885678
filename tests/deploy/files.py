"""Readers for the deployment files, shared by the deployment and settings-docs tests."""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from typing import Any

import yaml

from tests.paths import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

# `NAME=value` or `# NAME=value` (a documented default) in .env.example
_ENV_LINE = re.compile(r"^(?P<commented>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
# ${NAME}, ${NAME:-x}, ${NAME-x}, ${NAME:?msg} in docker-compose.yml
_COMPOSE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose_variables() -> set[str]:
    """Every variable docker-compose.yml interpolates."""
    return set(_COMPOSE_VAR.findall(COMPOSE_FILE.read_text(encoding="utf-8")))


def env_example_lines() -> list[tuple[str, str, bool]]:
    """(name, value, in_force) for every variable line of .env.example."""
    out = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        m = _ENV_LINE.match(line)
        if m:
            out.append((m["name"], m["value"], m["commented"] is None))
    return out


def dockerfile_instructions(text: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8") if text is None else text
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and not pending):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    """A Dockerfile ENTRYPOINT/CMD argument list (JSON exec form or shell words)."""
    args = args.strip()
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1]:]
