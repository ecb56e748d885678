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

from heatpump.settings import (
    OTHER_VARIABLES,
    PLACEHOLDER,
    PREFIXES,
    SPECS,
    Settings,
    SettingsError,
    unknown_variable_warnings,
)
from heatpump.settings_docs import (
    ACTIVE,
    COMPOSE_VARS,
    render_env_example,
    render_markdown,
)
from tests.deploy.files import ENV_EXAMPLE, ROOT, compose_variables, env_example_lines

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


def test_variables_with_a_settings_prefix_that_are_no_setting_are_declared():
    """The test suite's own switches (HEATPUMP_REQUIRE_INFLUX in CI) share the settings'
    prefixes; declared in OTHER_VARIABLES, they are not reported as misspelt settings."""
    read = set(source_env_reads())
    for path in sorted((ROOT / "tests").rglob("*.py")):
        read |= env_reads_in_source(ast.parse(path.read_text(encoding="utf-8")))
    prefixed = {n for n in read if n.startswith(PREFIXES)} - SPEC_NAMES
    assert prefixed == set(OTHER_VARIABLES)
    assert unknown_variable_warnings(prefixed) == []


def test_every_variable_compose_reads_is_documented():
    assert compose_variables() - documented() == set()


def test_every_documented_variable_is_read_by_someone():
    unused = documented() - SPEC_NAMES - compose_variables()
    assert not unused, f"in .env.example but read by nothing: {sorted(unused)}"


# --- .env.example is a valid configuration once filled in -----------------------------------

def own_value(spec) -> str:
    """What a user puts in for a fill-in setting: a made-up secret, else the docs example."""
    return f"s3cret-{spec.attr}" if spec.secret else spec.example


def filled_in(text: str) -> str:
    """.env.example text with every fill-in placeholder replaced by an own value."""
    for spec in SPECS:
        if spec.env in ACTIVE:
            text = text.replace(f"\n{spec.env}={spec.env_example}\n",
                                f"\n{spec.env}={own_value(spec)}\n")
    return text


def private_env(tmp_path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_env_example_as_shipped_is_refused_naming_each_placeholder(tmp_path):
    """Copied unchanged, .env.example must not start anything: one line per value the user
    still has to fill in, each naming its variable, none showing a secret."""
    with pytest.raises(SettingsError) as err:
        Settings.from_env(environ={}, env_file=ENV_EXAMPLE)
    problems = err.value.problems
    assert sorted(p.split("=")[0] for p in problems) == sorted(ACTIVE)
    assert all("placeholder from .env.example" in p for p in problems)
    for spec in SPECS:
        if spec.secret and spec.env in ACTIVE:
            assert f"{spec.env}=(hidden):" in str(err.value), spec.env


def test_env_example_is_a_valid_configuration_once_filled_in(tmp_path):
    path = private_env(tmp_path, filled_in(ENV_EXAMPLE.read_text(encoding="utf-8")))
    settings = Settings.from_env(environ={}, env_file=path)
    lines = env_example_lines()
    for name, _, in_force in lines:
        spec = next((s for s in SPECS if s.env == name), None)
        if spec is None or not in_force:
            continue
        assert getattr(settings, spec.attr) == spec.parse(own_value(spec)), name
    assert settings.tz_name == dict((n, v) for n, v, _ in lines)["TZ"]
    assert settings.vicare_enabled and settings.shelly_enabled
    assert settings.telegram_bot_token and settings.telegram_allowed_chat_ids
    assert settings.warnings == ()


def test_uncommenting_the_documented_defaults_changes_nothing(tmp_path):
    text = filled_in(ENV_EXAMPLE.read_text(encoding="utf-8"))
    uncommented = re.sub(r"(?m)^# ([A-Z][A-Z0-9_]*=)", r"\1", text)
    assert uncommented.count("\n# ") < text.count("\n# ")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert Settings.from_env(environ={}, env_file=private_env(tmp_path / "a", uncommented)) == \
        Settings.from_env(environ={}, env_file=private_env(tmp_path / "b", text))


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


# --- README and docs/ name only real settings, with their real defaults ---------------------

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Shown on purpose, as the misspellings the settings check reports.
TYPO_EXAMPLES = {"VICARE_USER", "SHELY_URL"}
_NAME_IN_CODE = re.compile(r"`([A-Z][A-Z0-9_]*[A-Z0-9])(?:=[^`]*)?`")


def test_every_variable_the_docs_name_exists():
    """A typo in the docs (or a renamed setting) would send users to a name that is
    ignored: every `NAME` with a settings prefix in README.md and docs/ is a setting."""
    compose = {v.env for v in COMPOSE_VARS}
    for path in DOC_FILES:
        names = set(_NAME_IN_CODE.findall(path.read_text(encoding="utf-8")))
        wrong = ({n for n in names if n.startswith(PREFIXES)} - SPEC_NAMES - compose
                 - set(OTHER_VARIABLES) - TYPO_EXAMPLES)
        assert not wrong, f"{path.name} names no setting: {sorted(wrong)}"


def test_readme_settings_table_shows_the_real_defaults():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    by_env = {s.env: s for s in SPECS}
    checked = 0
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        names = re.findall(r"`([A-Z][A-Z0-9_]*[A-Z0-9])`", cells[0]) if len(cells) == 3 else []
        for name in names:
            assert name in by_env, name
            default = cells[1]
            if default == "–":
                assert by_env[name].default == "", name
            elif re.fullmatch(r"`[^`]*`", default):
                assert default == f"`{by_env[name].default}`", name
            checked += 1
    assert checked >= 10
