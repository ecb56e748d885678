"""The user-facing settings documents, generated from `heatpump.settings.SPECS`.

`docs/settings.md` (the README's settings table) and `.env.example` (what users copy to
`.env`) are rendered here from each setting's one declaration (`heatpump.settings.SPECS`)
so they can never drift from the code: a test compares the committed files with this
output, and `python scripts/gen_settings_docs.py` rewrites them. Variables that only
docker-compose.yml reads (InfluxDB first-start setup, Grafana, the container user) are
declared in `COMPOSE_VARS` below.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from heatpump.settings import SPECS, Spec

# Settings are grouped by their prefix, in this order (a new prefix needs a heading here).
GROUPS: tuple[tuple[str, str], ...] = (
    ("HEATPUMP_", "General"),
    ("INFLUX_", "Store: InfluxDB"),
    ("SHELLY_", "Shelly power meter"),
    ("VICARE_", "Viessmann heat pump (ViCare API)"),
    ("TELEGRAM_", "Telegram bot"),
    ("ALERT_", "Alerts"),
    ("APPRISE_", "Alerts"),
    ("COST_", "Costs (your tariff; unset: no costs shown)"),
)

# Settings written uncommented into .env.example: what a new installation must fill in
# (declared by `env_example` on the setting itself).
ACTIVE: frozenset[str] = frozenset(s.env for s in SPECS if s.env_example is not None)


@dataclass(frozen=True)
class ComposeVar:
    """A variable only docker-compose.yml reads (interpolated there, never by the code)."""

    env: str
    default: str  # what compose uses when the variable is unset ("" = nothing)
    help: str
    value: str | None = None  # written uncommented with this value; None = commented default
    secret: bool = False


COMPOSE_VARS: tuple[ComposeVar, ...] = (
    ComposeVar("TZ", "Etc/UTC",
               "Time zone of the containers (log times) and of everything shown to a person "
               "unless HEATPUMP_TZ says otherwise.", value="Europe/Berlin"),
    ComposeVar("PUID", "1000",
               "User id the collector and bot run as; must own the ./data folder "
               "(`id -u` shows yours).",),
    ComposeVar("PGID", "1000", "Group id the collector and bot run as (`id -g`)."),
    ComposeVar("DOCKER_INFLUXDB_INIT_USERNAME", "admin",
               "Bundled InfluxDB: admin user created on the first start (web UI login).",
               value="admin"),
    ComposeVar("DOCKER_INFLUXDB_INIT_PASSWORD", "",
               "Bundled InfluxDB: password of that user, at least 8 characters. Used only on "
               "the first start.", value="change-me-please", secret=True),
    ComposeVar("DOCKER_INFLUXDB_INIT_ADMIN_TOKEN", "",
               "Bundled InfluxDB: its admin token, set on the first start (changing it later "
               "does not change InfluxDB's). Only InfluxDB and the one-shot influxdb-tokens "
               "service see it; that service gives the collector a token that reads and "
               "writes the bucket, the bot and Grafana tokens that only read it. Make one "
               "with: openssl rand -hex 32", value="change-me", secret=True),
    ComposeVar("DOCKER_INFLUXDB_INIT_ORG", "heatpump",
               "Bundled InfluxDB: organization created on the first start.", value="heatpump"),
    ComposeVar("DOCKER_INFLUXDB_INIT_RETENTION", "",
               "Bundled InfluxDB: bucket retention (e.g. 400d); empty keeps data forever. It "
               "would also delete the hourly and daily sums: prefer "
               "HEATPUMP_RAW_RETENTION_DAYS."),
    ComposeVar("GRAFANA_PORT", "3000",
               "Optional Grafana (start with `docker compose --profile grafana up -d`): port "
               "on this machine."),
    ComposeVar("GRAFANA_BIND", "127.0.0.1",
               "Optional Grafana: the address it listens on. The default reaches it from this "
               "machine only; to open it to your network, put this machine's address there "
               "(docs/deployment.md)."),
    ComposeVar("GRAFANA_ADMIN_USER", "admin", "Optional Grafana: admin user."),
    ComposeVar("GRAFANA_ADMIN_PASSWORD", "",
               "Optional Grafana: admin password. docker compose needs it set even without "
               "Grafana (it reads every service); Grafana refuses to start with a placeholder "
               "or 'admin'.", value="change-me", secret=True),
)


def group_of(spec: Spec) -> str:
    for prefix, title in GROUPS:
        if spec.env.startswith(prefix):
            return title
    raise ValueError(f"{spec.env}: no group for its prefix; add one to GROUPS")


def grouped(specs: Iterable[Spec]) -> list[tuple[str, list[Spec]]]:
    groups: dict[str, list[Spec]] = {title: [] for _, title in GROUPS}
    for spec in specs:
        groups[group_of(spec)].append(spec)
    return [(title, members) for title, members in groups.items() if members]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else "(empty)"


def render_markdown(specs: Iterable[Spec] = SPECS) -> str:
    """docs/settings.md: one table per group, every setting with default, meaning, example."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated from heatpump/settings.py by `python scripts/gen_settings_docs.py`; "
        "do not edit by hand. -->",
        "",
        "Every setting is an environment variable; `heatpump` also reads them from a `.env` "
        "file in the working directory (variables in the environment win). Empty means the "
        "default. All problems are reported together at start, one line each. Secrets are "
        "never logged or shown in a chat. `.env.example` lists the same variables with the "
        "ones docker compose uses; see docs/deployment.md.",
        "",
        "Mistakes are caught at start. A value still a placeholder from `.env.example` "
        "(`change-me`, `your-...`) is refused, naming the variable. A rejected URL is shown "
        "without the password inside it (`http://admin:***@...`). A variable that looks like a "
        "misspelt setting (prefix `HEATPUMP_`, `SHELLY_`, `VICARE_`, `TELEGRAM_`, `INFLUX_`, "
        "`ALERT_`, `APPRISE_` or a near miss such as `SHELY_`; or the wrong case) is ignored "
        "with a warning naming the setting it probably means, e.g. `SHELY_URL is not a setting "
        "and is ignored; did you mean SHELLY_URL?`; a `.env` other users may read gives a "
        "warning with the fix, `chmod 600 .env`. Every `heatpump` command logs these warnings "
        "when it starts, `heatpump doctor` included. With docker compose only the variables "
        "docker-compose.yml lists reach the containers, so a misspelt name in `.env` is not "
        "seen there; a local install's `heatpump doctor`, run in the folder with the `.env`, "
        "finds it.",
        "",
    ]
    for title, members in grouped(specs):
        lines += [f"## {title}", "",
                  "| Variable | Default | Meaning | Example |",
                  "| --- | --- | --- | --- |"]
        for s in members:
            meaning = s.help
            if s.minimum is not None:
                meaning += f" At least {s.minimum:g}."
            if s.secret:
                meaning += " Secret: never logged."
            lines.append(f"| `{s.env}` | {_cell(_code(s.default))} | {_cell(meaning)} | "
                         f"{_cell(_code(s.example))} |")
        lines.append("")
    return "\n".join(lines)


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, width=92)]


def active_value(spec: Spec) -> str:
    """The value .env.example writes for `spec`: its placeholder, or its example."""
    return spec.env_example if spec.env_example is not None else spec.example


def render_env_example(specs: Iterable[Spec] = SPECS,
                       compose_vars: Iterable[ComposeVar] = COMPOSE_VARS) -> str:
    """.env.example: every setting and compose variable, explained, with a usable value."""
    lines = [
        "# heatpump-monitor configuration. Copy this file to .env and fill it in:",
        "#   cp .env.example .env && chmod 600 .env",
        "# Generated by `python scripts/gen_settings_docs.py` from heatpump/settings.py; the "
        "full",
        "# table is docs/settings.md, the docker compose guide docs/deployment.md.",
        "#",
        "# A line NAME=value is in force. A commented line '# NAME=value' shows the default and",
        "# changes nothing until you remove the '# '. Values with a $ must be in single quotes",
        "# ('pa$word'), otherwise docker compose and python-dotenv expand them. A value left as",
        "# a placeholder (change-me, your-...) is refused at start, naming the variable.",
    ]
    for title, members in grouped(specs):
        lines += ["", f"# ===== {title} " + "=" * max(3, 80 - len(title)), ""]
        for s in members:
            lines += _comment(s.help)
            extras = []
            if s.minimum is not None:
                extras.append(f"At least {s.minimum:g}.")
            if s.env not in ACTIVE or active_value(s) != s.example:
                extras.append(f"Example: {s.example}")
            if extras:
                lines += _comment(" ".join(extras))
            if s.compose_note:
                lines += _comment(s.compose_note)
            if s.env in ACTIVE:
                lines.append(f"{s.env}={active_value(s)}")
            else:
                lines.append(f"# {s.env}={s.default}")
            lines.append("")
    title = "docker compose only"
    lines += ["", f"# ===== {title} " + "=" * max(3, 80 - len(title)), "",
              "# Read by docker-compose.yml (docs/deployment.md); heatpump itself reads only TZ,",
              "# as the fallback of HEATPUMP_TZ.", ""]
    for v in compose_vars:
        lines += _comment(v.help)
        lines.append(f"{v.env}={v.value}" if v.value is not None else f"# {v.env}={v.default}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
