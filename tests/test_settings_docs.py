"""docs/settings.md and .env.example say exactly what the code reads.

Every setting in heatpump.settings.SPECS, every other environment variable the code reads,
and every variable docker-compose.yml interpolates is documented in .env.example; nothing
is documented that nobody reads; and the example file is a valid configuration.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from heatpump.settings import PLACEHOLDER, SPECS, Settings
from heatpump.settings_docs import (
    ACTIVE,
    COMPOSE_VARS,
    render_env_example,
    render_markdown,
)
from tests.deploy_files import ENV_EXAMPLE, ROOT, compose_variables, env_example_lines

SPEC_NAMES = {s.env for s in SPECS}
SOURCE_DIRS = ("heatpump", "collector", "bot")
# Variables the code reads that are not settings and need no entry in .env.example.
# Test-only switches (read only under tests/) are not scanned; if product code ever reads
# one, list it here with the reason.
NOT_SETTINGS: dict[str, str] = {
    "TZ": "fallback zone of HEATPUMP_TZ; documented as a compose variable",
    "HOME": "system", "PATH": "system", "TMPDIR": "system", "TERM": "system",
    "NO_COLOR": "terminal convention", "MPLBACKEND": "matplotlib", "MPLCONFIGDIR": "matplotlib",
}


# --- the generated documents are current ---------------------------------------------------

def test_settings_table_is_generated_from_specs():
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "run: python scripts/gen_settings_docs.py"


def test_env_example_is_generated_from_specs():
    assert ENV_EXAMPLE.read_text(encoding="utf-8") == render_env_example(), (
        "run: python scripts/gen_settings_docs.py")


def test_regeneration_script_agrees():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_settings_docs.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def table_rows(markdown: str) -> dict[str, tuple[str, str, str]]:
    rows = {}
    for line in markdown.splitlines():
        m = re.match(r"^\| `([A-Z0-9_]+)` \| (.*?) \| (.*) \| (.*?) \|$", line)
        if m:
            rows[m[1]] = (m[2], m[3], m[4])
    return rows


def test_settings_table_lists_every_spec_with_its_default_and_example():
    rows = table_rows((ROOT / "docs" / "settings.md").read_text(encoding="utf-8"))
    assert list(rows) == [s.env for s in SPECS]
    for s in SPECS:
        default, meaning, example = rows[s.env]
        assert default == (f"`{s.default}`" if s.default else "(empty)"), s.env
        assert example == f"`{s.example}`", s.env
        assert meaning.startswith(s.help.replace("|", "\\|")), s.env
        assert ("Secret" in meaning) == s.secret, s.env


# --- .env.example covers what is read, and only that -----------------------------------------

def env_reads_in_source(tree: ast.AST) -> set[str]:
    """Literal names read through os.environ / os.getenv / os.putenv in a module."""

    def is_environ(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
            isinstance(node, ast.Name) and node.id == "environ")

    def literal(node: ast.AST) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
            else None

    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = literal(node.args[0])
            if name is None:
                continue
            reads_env = (
                (isinstance(func, ast.Attribute)
                 and func.attr in ("getenv", "putenv", "unsetenv"))
                or (isinstance(func, ast.Name) and func.id == "getenv")
                or (isinstance(func, ast.Attribute) and is_environ(func.value)
                    and func.attr in ("get", "pop", "setdefault")))
            if reads_env:
                names.add(name)
        elif isinstance(node, ast.Subscript) and is_environ(node.value):
            name = literal(node.slice)
            if name:
                names.add(name)
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            name = literal(node.left)
            if name:
                names.add(name)
    return names


def test_the_source_scan_finds_every_way_of_reading_the_environment():
    code = ("import os\nfrom os import environ, getenv\n"
            "a = os.environ['A']\nb = os.environ.get('B', '')\nc = os.getenv('C')\n"
            "d = environ.get('D')\ne = getenv('E')\nf = 'F' in os.environ\n"
            "os.environ.setdefault('G', '1')\nh = os.environ.pop('H', None)\n"
            "x = {}.get('NOT_ENV')\n")
    assert env_reads_in_source(ast.parse(code)) == set("ABCDEFGH")


def source_env_reads() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in env_reads_in_source(ast.parse(path.read_text(encoding="utf-8"))):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def documented() -> set[str]:
    return {name for name, _, _ in env_example_lines()}


def test_every_setting_and_compose_variable_is_in_env_example():
    names = [name for name, _, _ in env_example_lines()]
    assert len(names) == len(set(names)), "a variable is listed twice"
    missing = (SPEC_NAMES | {v.env for v in COMPOSE_VARS}) - set(names)
    assert not missing, f"missing from .env.example: {sorted(missing)}"


def test_every_variable_the_code_reads_is_documented():
    undocumented = {name: where for name, where in source_env_reads().items()
                    if name not in documented() and name not in NOT_SETTINGS}
    assert not undocumented, (
        f"read by the code but not in .env.example (add a Spec): {undocumented}")


def test_every_variable_compose_reads_is_documented():
    assert compose_variables() - documented() == set()


def test_every_documented_variable_is_read_by_someone():
    unused = documented() - SPEC_NAMES - compose_variables()
    assert not unused, f"in .env.example but read by nothing: {sorted(unused)}"


# --- .env.example is a valid configuration -------------------------------------------------

def test_env_example_is_a_valid_configuration_as_shipped():
    settings = Settings.from_env(environ={}, env_file=ENV_EXAMPLE)
    for name, value, in_force in env_example_lines():
        spec = next((s for s in SPECS if s.env == name), None)
        if spec is None or not in_force:
            continue
        assert getattr(settings, spec.attr) == spec.parse(value), name
    assert settings.tz_name == dict((n, v) for n, v, _ in env_example_lines())["TZ"]
    assert settings.vicare_enabled and settings.shelly_enabled
    assert settings.telegram_bot_token and settings.telegram_allowed_chat_ids


def test_uncommenting_the_documented_defaults_changes_nothing(tmp_path):
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    uncommented = re.sub(r"(?m)^# ([A-Z][A-Z0-9_]*=)", r"\1", text)
    assert uncommented.count("\n# ") < text.count("\n# ")
    path = tmp_path / ".env"
    path.write_text(uncommented, encoding="utf-8")
    assert Settings.from_env(environ={}, env_file=path) == Settings.from_env(
        environ={}, env_file=ENV_EXAMPLE)


def test_secrets_in_env_example_are_obvious_placeholders():
    secret_names = {s.env for s in SPECS if s.secret} | {v.env for v in COMPOSE_VARS
                                                        if v.secret}
    for name, value, in_force in env_example_lines():
        if name in secret_names:
            assert value == "" or "change-me" in value or value == "admin", (
                f"{name}={value!r} looks like a real secret")
            if in_force:
                assert PLACEHOLDER in value, name


@pytest.mark.parametrize("name", sorted(ACTIVE))
def test_what_a_user_must_fill_in_is_not_commented_out(name):
    assert (name, True) in {(n, f) for n, _, f in env_example_lines()}


def test_every_spec_has_a_group_in_the_documents():
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for s in SPECS:
        assert re.search(rf"(?m)^(# )?{s.env}=", text)
    assert Path(ROOT / "docs" / "settings.md").read_text().count("## ") >= 5
