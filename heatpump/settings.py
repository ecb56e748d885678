"""All configuration, read once from the environment (and an optional `.env` file).

Settings are the public contract users build on: every variable is declared once, as a
field of `Settings` whose metadata (a `Spec`) carries its name, parser, default, help,
example and flags. Parsing, validation, docs/settings.md, .env.example and the tests that
keep README and deployment files true all derive from those declarations (`SPECS`).
Problems are collected and reported together, one clear line each, so a user fixes them in
one go. Secret values are never part of any message.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heatpump.boundary import DEFAULT_ROLE, LOAD_LABELS, ROLE_LOADS, overlapping_roles
from heatpump.i18n import Worded, _, check_language
from heatpump.logs import hide_url_password


class SettingsError(ValueError):
    """Raised with every problem found, one per line; the warnings found on the way (a
    misspelt name often explains a problem) follow them."""

    def __init__(self, problems: list[str], warnings: Iterable[str] = ()):
        self.problems = problems
        self.warnings = list(warnings)
        text = "invalid settings:\n" + "\n".join(f"  - {p}" for p in problems)
        if self.warnings:
            text += "\nalso:\n" + "\n".join(f"  - {w}" for w in self.warnings)
        super().__init__(text)


class SettingsWarning(Worded):
    """A warning about the settings, found while parsing: English as a str (the log line),
    `shown()` in the current language (`heatpump doctor`); see heatpump.i18n.Worded."""


# --- parsers: each raises ValueError with a short reason ----------------------------------


def _str(value: str) -> str:
    return value.strip()


def _path(value: str) -> Path:
    return Path(value.strip())


def _opt_str(value: str) -> str | None:
    value = value.strip()
    return value or None


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("not a whole number") from None


def _float(value: str) -> float:
    try:
        result = float(value.strip())
    except ValueError:
        raise ValueError("not a number") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return result


def _opt_float(value: str) -> float | None:
    return _float(value) if value.strip() else None


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a yes/no value")


def _url(value: str) -> str | None:
    value = value.strip().rstrip("/")
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    if any(c.isspace() for c in value):
        raise ValueError("contains a space")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        raise ValueError("not a valid URL (check the host and the port)") from None
    if not parts.hostname:
        raise ValueError("has no host")
    return value


def _chat_ids(value: str) -> tuple[int, ...]:
    ids: list[int] = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a numeric chat id") from None
    return tuple(ids)


def _float_or_off(value: str) -> float | None:
    """A number, or None for "off" (an empty variable stands for the default)."""
    return None if value.strip().lower() == "off" else _float(value)


def _kw_list(value: str) -> tuple[float, ...]:
    """"3,6" -> (3.0, 6.0): one positive power (kW) per stage, level one first."""
    out: list[float] = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        number = _float(part)
        if number <= 0:
            raise ValueError(f"{part!r} is not a power above 0 kW")
        out.append(number)
    return tuple(out)


def _lang(value: str) -> str:
    return check_language(value)


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One Shelly meter: its role (heatpump.boundary.ROLE_LOADS: which loads it sees), its
    address, and the channel or phase it reads (None: the meter's default)."""

    role: str
    url: str
    channel: str | None = None


def _channel(value: str) -> str:
    """A channel number (0, 1, ...) or a phase (a, b, c)."""
    if not (value.isdigit() or value.lower() in ("a", "b", "c")):
        raise ValueError(f"channel {value!r} must be a number or a phase a, b or c")
    return value.lower()


def _meters(value: str) -> tuple[MeterSpec, ...]:
    """'outdoor_unit=http://127.0.0.1:8081; indoor_unit:a=http://127.0.0.1:8082': one
    `role[:channel]=URL` per meter, separated by ';' (or new lines). Refused: an unknown
    role, a role or an address (with its channel) given twice, and two meters that see the
    same load (heatpump/boundary.py: their sum would count it twice)."""
    meters: list[MeterSpec] = []
    for part in value.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        head, eq, url = part.partition("=")
        if not eq or not head.strip() or not url.strip():
            raise ValueError(f"{hide_url_password(part)!r} is not role=URL")
        role, colon, channel = head.strip().partition(":")
        role = role.strip().lower()
        if role not in ROLE_LOADS:
            raise ValueError(f"unknown role {role!r}; the roles are {', '.join(ROLE_LOADS)}")
        try:
            address = _url(url)
        except ValueError as exc:
            raise ValueError(f"{role}: the URL {exc}") from None
        assert address is not None
        meters.append(MeterSpec(role, address, _channel(channel.strip()) if colon else None))
    roles = [m.role for m in meters]
    for role in roles:
        if roles.count(role) > 1:
            raise ValueError(f"the role {role} is given twice; one meter per role")
    # one device is one meter: its data is tagged with the device's own id (a Pro 3EM whose
    # phases see different loads is not split into meters)
    urls = [m.url.lower() for m in meters]
    for m in meters:
        if urls.count(m.url.lower()) > 1:
            raise ValueError(f"the meter {hide_url_password(m.url)} is given twice; one "
                             "device is one meter")
    for first, second, load in overlapping_roles(roles):
        raise ValueError(f"{first} and {second} both see the {LOAD_LABELS[load]}, which "
                         "would be counted twice; give each load to one meter")
    return tuple(meters)


def _log_level(value: str) -> str:
    v = value.strip().upper()
    if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return v


def _opt_fraction(value: str) -> float | None:
    """An efficiency as a fraction (0.9) or a percentage (90 %); empty is None."""
    v = value.strip().rstrip("%").strip()
    if not v:
        return None
    x = _float(v)
    if value.strip().endswith("%") or x > 1.5:
        x /= 100
    if not 0.1 <= x <= 1.5:
        raise ValueError("must be an efficiency between 0.1 and 1.5 (or 10 % and 150 %)")
    return x


# A time-of-use window: (first local hour, end local hour (exclusive, may wrap past
# midnight), price per kWh).
TouWindow = tuple[int, int, float]


def _tou_windows(value: str) -> tuple[TouWindow, ...]:
    """'22:00-06:00=0.22, 06:00-22:00=0.31': local windows on whole hours (energy is known
    per hour) with their price per kWh; they may wrap past midnight, never overlap."""
    windows: list[TouWindow] = []
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*=\s*(\S+)", part)
        if not m:
            raise ValueError(f"{part!r} is not HH:MM-HH:MM=price")
        h0, m0, h1, m1 = (int(m.group(i)) for i in range(1, 5))
        if m0 or m1 or h0 > 23 or h1 > 24:
            raise ValueError(f"{part!r}: windows start and end on whole hours (00:00-24:00)")
        price = _float(m.group(5))
        if price < 0:
            raise ValueError(f"{part!r}: a price cannot be negative")
        h1 %= 24
        if h0 == h1:
            raise ValueError(f"{part!r} is empty or the whole day; use COST_PRICE_PER_KWH")
        windows.append((h0, h1, price))
    hours: dict[int, int] = {}
    for i, (h0, h1, _p) in enumerate(windows):
        for h in tou_hours(h0, h1):
            if h in hours:
                raise ValueError(f"windows overlap at {h:02d}:00")
            hours[h] = i
    return tuple(windows)


def tou_hours(first: int, end: int) -> list[int]:
    """The local hours of a window [first, end), wrapping past midnight."""
    return list(range(first, end)) if first < end else [*range(first, 24), *range(0, end)]


def _currency(value: str) -> str | None:
    v = value.strip()
    if not v:
        return None
    if len(v) > 8 or any(c.isspace() for c in v):
        raise ValueError("a currency code or sign, e.g. EUR, €, CHF")
    return v


def _fuel(value: str) -> str | None:
    v = value.strip().lower()
    if not v:
        return None
    if v not in ("gas", "oil"):
        raise ValueError("must be gas or oil")
    return v


def _report_time(value: str) -> str:
    v = value.strip()
    m = re.fullmatch(r"(\d{1,2}):(\d\d)", v)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError("a local time HH:MM, e.g. 07:30")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


# What .env.example writes for a secret every installation must fill in.
PLACEHOLDER = "change-me"


@dataclass(frozen=True)
class Spec:
    """One environment variable: how to parse it, its default, and how to explain it.

    Declared once, as the metadata of its `Settings` field (see `setting`); `SPECS` lists
    them in field order with `attr` filled in. `default` is the text an unset or empty
    variable stands for (shown in docs/settings.md); `env_example` is the value
    `.env.example` writes uncommented for a setting every installation fills in (None:
    written commented out, showing the default); `compose_note` says what docker-compose.yml
    does with it."""

    env: str
    parse: Callable[[str], Any]
    default: str
    help: str
    example: str
    secret: bool = False
    minimum: float | None = None
    env_example: str | None = None
    compose_note: str = ""
    attr: str = ""


_UNSET: Any = object()


def setting(env: str, parse: Callable[[str], Any], default: str, *, help: str, example: str,
            secret: bool = False, minimum: float | None = None, env_example: str | None = None,
            compose_note: str = "", value: Any = _UNSET) -> Any:
    """A `Settings` field declaring the environment variable `env` (see `Spec`).

    The field's own default is `parse(default)`, or `value` where a Settings built directly
    (tests) needs another one. Secret fields are left out of repr()."""
    spec = Spec(env, parse, default, help, example, secret, minimum, env_example, compose_note)
    return field(default=parse(default) if value is _UNSET else value, repr=not secret,
                 metadata={"setting": spec})


# The embedded store's commit cadence: the simulated house (a meter, a heat pump with its
# heating rod) writes about 7x the data it keeps, 1.8 GB a year, 1.9 GB with ten
# requests of the bot a day (benchmarks/collector_io_bench.py, docs/performance.md); an hour
# wrote 2.2 GB, over the 2 GB a year an SD card is given (issue "Fit for a Raspberry Pi").
EMBEDDED_FLUSH_S = 90 * 60.0


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with `Settings.from_env()` (or `Settings()` in tests).

    Each field is one environment variable, declared once below; parsing, validation,
    docs/settings.md and .env.example all follow from these declarations. `warnings` holds
    what looks wrong but does not stop the program (a misspelt variable name, a `.env`
    others can read); `heatpump` logs them at start, so `heatpump doctor` shows them."""

    # general
    data_dir: Path = setting(
        "HEATPUMP_DATA_DIR", _path, "./data", example="/data",
        help="Runtime state: embedded database, Viessmann token, spool, alert state.",
        compose_note="docker compose: fixed to /data, which is the ./data folder next to "
                     "docker-compose.yml.")
    tz_name: str = setting(
        "HEATPUMP_TZ", _str, "", example="Europe/Berlin", value="UTC",
        help="Time zone for everything shown to a person and for calendar sums "
             "(falls back to TZ, then the system zone, then UTC).")
    log_level: str = setting(
        "HEATPUMP_LOG_LEVEL", _log_level, "INFO", example="INFO",
        help="Log level: DEBUG, INFO, WARNING or ERROR.")
    lang: str = setting(
        "HEATPUMP_LANG", _lang, "en", example="de",
        help="Language of every reply, alert, chart, help text and doctor line: en "
             "(English) or de (German); numbers and dates follow it (3.45 / 3,45). Log "
             "lines stay English.")
    spool_max_mb: float = setting(
        "HEATPUMP_SPOOL_MAX_MB", _float, "200", example="200", minimum=1,
        help="Disk space (MB) the collector may use to keep data while the store is down; "
             "warns at 50 % and 80 %, then drops the oldest raw meter samples (never energy).")
    running_w: float = setting(
        "HEATPUMP_RUNNING_W", _float, "250", example="250", minimum=1,
        help="The compressor counts as running while the meter reads more than this (W).")
    rated_heat_kw: float | None = setting(
        "HEATPUMP_RATED_HEAT_KW", _opt_float, "", example="8", minimum=0.1,
        help="Rated heat output (kW): the estimated heat methods use it when the device has "
             "no heat counter and no flow sensor, and energy deltas above twice it are "
             "rejected as implausible. Unset: the device's own figure where it reports one "
             "(heating.compressors.0.power).")
    heating_rod_kw: tuple[float, ...] = setting(
        "HEATPUMP_HEATING_ROD_KW", _kw_list, "", example="3,6",
        help="Electric power (kW) of the heat pump's heating rod at each level, level one "
             "first, for devices that report only the rod's running time per level (e.g. "
             "Vitocal 333-G, 200-S): its electricity is then estimated as running time × "
             "this. Empty: such a rod's running time is stored, its energy is not. Devices "
             "that count the rod's electricity themselves (Vitocal 222-S, 250-A) need none.")
    flush_minutes: float | None = setting(
        "HEATPUMP_FLUSH_MINUTES", _opt_float, "", example="20", minimum=0,
        help="How often the collector commits its samples to the store (minutes); between "
             "commits they wait in memory, and /status (or /jaz, /chart of a period ending "
             "now) asks for one commit at once, /live for every poll for 10 minutes. Empty: "
             "90 for the embedded store (an SD card is written about 7x the data it keeps, "
             "1.8 GB a year; 60 writes 2.2 GB, docs/performance.md), 0 (every poll) for "
             "InfluxDB. A crash loses at most the samples not yet committed, never energy: "
             "accounting resumes from the counters.")
    raw_retention_days: int = setting(
        "HEATPUMP_RAW_RETENTION_DAYS", _int, "0", example="400", minimum=0,
        help="Delete raw 10-second meter and 5-minute heat pump samples older than this many "
             "days; hourly and daily rollups and energy are kept. 0 keeps everything.")
    # store
    influx_url: str | None = setting(
        "INFLUX_URL", _url, "", example="http://127.0.0.1:8086",
        help="InfluxDB base URL; empty uses the embedded SQLite store in the data dir.",
        compose_note="docker compose: defaults to the bundled InfluxDB, http://influxdb:8086; "
                     "set it for your own InfluxDB (docs/deployment.md).")
    influx_token: str | None = setting(
        "INFLUX_TOKEN", _opt_str, "", example="my-super-secret-token", secret=True,
        help="InfluxDB 2.x/3.x API token.",
        compose_note="docker compose: only for your own InfluxDB (read and write on the "
                     "bucket); leave it unset for the bundled one, which gives the collector "
                     "and the bot tokens of their own (see DOCKER_INFLUXDB_INIT_ADMIN_TOKEN "
                     "below).")
    influx_username: str | None = setting(
        "INFLUX_USERNAME", _opt_str, "", example="heatpump",
        help="InfluxDB 1.x user (instead of a token).")
    influx_password: str | None = setting(
        "INFLUX_PASSWORD", _opt_str, "", example="change-me", secret=True,
        help="InfluxDB 1.x password.")
    influx_bucket: str = setting(
        "INFLUX_BUCKET", _str, "heatpump_raw", example="heatpump_raw",
        help="InfluxDB bucket (2.x/3.x) or database (1.x).",
        compose_note="docker compose: also the bucket the bundled InfluxDB creates on its "
                     "first start.")
    # Shelly meter
    shelly_url: str | None = setting(
        "SHELLY_URL", _url, "", example="http://127.0.0.1:8081",
        env_example="http://your-shelly-address",
        help="Shelly meter: its address on your LAN (the one your router gave it); empty "
             "disables the meter source.")
    shelly_username: str | None = setting(
        "SHELLY_USERNAME", _opt_str, "", example="admin",
        help="Shelly user when authentication is on (Gen2+ always use 'admin').")
    shelly_password: str | None = setting(
        "SHELLY_PASSWORD", _opt_str, "", example="change-me", secret=True,
        help="Shelly password when authentication is on.")
    shelly_channel: str | None = setting(
        "SHELLY_CHANNEL", _opt_str, "", example="0",
        help="Which channel/phase measures the heat pump: a number (0, 1, 2) or a phase "
             "(a, b, c); empty sums all phases of a 3-phase meter and reads channel 0 "
             "otherwise.")
    shelly_meters: tuple[MeterSpec, ...] = setting(
        "SHELLY_METERS", _meters, "",
        example="outdoor_unit=http://127.0.0.1:8081;indoor_unit=http://127.0.0.1:8082",
        help="Several Shelly meters, each with the role that says which loads it sees, "
             "instead of SHELLY_URL: `role=URL` separated by ';', a channel or phase as "
             "`role:a=URL`. Roles: " + ", ".join(ROLE_LOADS) + " (README, 'Set up your "
             "system'; docs/boundary.md). No two meters may see the same load. "
             "SHELLY_USERNAME/SHELLY_PASSWORD apply to each. Empty: the one meter at "
             "SHELLY_URL (role heatpump).")
    shelly_poll_seconds: float = setting(
        "SHELLY_POLL_SECONDS", _float, "10", example="10", minimum=1,
        help="Meter poll interval (s).")
    shelly_timeout_seconds: float = setting(
        "SHELLY_TIMEOUT_SECONDS", _float, "4", example="4", minimum=0.5,
        help="Timeout of one meter request (s).")
    # Viessmann
    vicare_username: str | None = setting(
        "VICARE_USERNAME", _opt_str, "", example="me@example.com",
        env_example="your-vicare-login@example.com",
        help="ViCare account e-mail; empty disables the Viessmann source.")
    vicare_password: str | None = setting(
        "VICARE_PASSWORD", _opt_str, "", example="change-me", secret=True,
        env_example=PLACEHOLDER,
        help="ViCare account password.")
    vicare_client_id: str | None = setting(
        "VICARE_CLIENT_ID", _opt_str, "", example="0123456789abcdef0123456789abcdef",
        env_example="your-client-id",
        help="Client id of your Viessmann developer portal app.")
    vicare_token_file: str | None = setting(
        "VICARE_TOKEN_FILE", _opt_str, "", example="/data/vicare_token.save",
        help="Where the OAuth token is kept (mode 0600); default "
             "<data dir>/vicare_token.save.")
    vicare_poll_seconds: int = setting(
        "VICARE_POLL_SECONDS", _int, "300", example="300", minimum=60,
        help="Heat pump poll interval (s); below 60 is refused (API quota).")
    vicare_daily_budget: int = setting(
        "VICARE_DAILY_BUDGET", _int, "1400", example="1400", minimum=1,
        help="At most this many Viessmann API calls in any rolling 24 h (free tier: 1450).")
    vicare_device: str | None = setting(
        "VICARE_DEVICE", _opt_str, "", example="7571381681420106",
        help="Only this device (serial or device id); default every heat pump of the "
             "account.")
    vicare_dump: str | None = setting(
        "VICARE_DUMP", _opt_str, "", example="tests/fixtures/vicare/Vitocal250A.json",
        help="Replay a saved API response file (or a folder of them, one per poll) instead "
             "of calling the cloud.")
    # Telegram
    telegram_bot_token: str | None = setting(
        "TELEGRAM_BOT_TOKEN", _opt_str, "", example="123456:ABC-DEF...", secret=True,
        env_example=PLACEHOLDER,
        help="Bot token from @BotFather.")
    telegram_allowed_chat_ids: tuple[int, ...] = setting(
        "TELEGRAM_ALLOWED_CHAT_IDS", _chat_ids, "", example="123456789,-1001234567890",
        env_example="your-chat-id",
        help="Comma-separated chat ids allowed to use the bot; others are refused and told "
             "their id.")
    telegram_api_base_url: str | None = setting(
        "TELEGRAM_API_BASE_URL", _url, "", example="http://127.0.0.1:8081",
        help="Another Bot API server (self-hosted, or tests); empty uses Telegram's.")
    telegram_report_time: str = setting(
        "TELEGRAM_REPORT_TIME", _report_time, "07:30", example="07:30",
        help="Local time (HEATPUMP_TZ) at which /report sends its daily, weekly (Mondays) "
             "and monthly (on the 1st) digests; each covers the complete day, week or month "
             "before.")
    # alerts (bot/alerts)
    alert_check_minutes: float = setting(
        "ALERT_CHECK_MINUTES", _float, "5", example="5", minimum=1,
        help="How often the bot evaluates the alert rules (minutes).")
    alert_repeat_h: float = setting(
        "ALERT_REPEAT_H", _float, "24", example="24", minimum=1,
        help="An alert that stays active is sent again at most every this many hours.")
    alert_stale_shelly_min: float = setting(
        "ALERT_STALE_SHELLY_MIN", _float, "60", example="60", minimum=5,
        help="Alert when the meter has delivered no sample for this many minutes. With the "
             "embedded store's commits every HEATPUMP_FLUSH_MINUTES a collector that "
             "stopped is reported that much later; a failure it records, on time.")
    alert_stale_vicare_min: float = setting(
        "ALERT_STALE_VICARE_MIN", _float, "60", example="60", minimum=10,
        help="Alert when the heat pump (Viessmann) has delivered no sample for this many "
             "minutes; keep it above VICARE_POLL_SECONDS. As for ALERT_STALE_SHELLY_MIN, "
             "a stopped collector is reported HEATPUMP_FLUSH_MINUTES later.")
    alert_warnings: bool = setting(
        "ALERT_WARNINGS", _bool, "true", example="true",
        help="Also alert on the heat pump's warning-level and service messages (errors "
             "always alert).")
    alert_cop_drop_pct: float = setting(
        "ALERT_COP_DROP_PCT", _float, "20", example="20", minimum=1,
        help="Alert when the daily COP is this many percent below what this heat pump "
             "normally reaches at that outdoor temperature.")
    alert_cop_days: int = setting(
        "ALERT_COP_DAYS", _int, "3", example="3", minimum=1,
        help="The COP drop must last this many valid days in a row before it alerts.")
    alert_cop_floor: float | None = setting(
        "ALERT_COP_FLOOR", _opt_float, "", example="2.5", minimum=0.1,
        help="Until enough own history exists (10 valid days), alert when the daily COP is "
             "below this value; empty waits for history.")
    alert_cop_min_runtime_h: float = setting(
        "ALERT_COP_MIN_RUNTIME_H", _float, "3", example="3", minimum=0.5,
        help="A day counts for the COP and short-cycling rules only with at least this much "
             "compressor runtime (h).")
    alert_cop_history_days: int = setting(
        "ALERT_COP_HISTORY_DAYS", _int, "42", example="42", minimum=7,
        help="How many recent days the normal COP is learned from.")
    alert_short_cycle_starts_per_h: float = setting(
        "ALERT_SHORT_CYCLE_STARTS_PER_H", _float, "6", example="6", minimum=0,
        help="Alert when a day averages more compressor starts per hour of runtime than "
             "this (6: runs shorter than 10 minutes on average, the field's mark of short "
             "cycling; docs/alerts.md); 0 switches the rule off.")
    alert_rod_kwh_per_day: float = setting(
        "ALERT_ROD_KWH_PER_DAY", _float, "5", example="5", minimum=0,
        help="Alert when the heat pump's heating rod used more than this much electricity "
             "(kWh) in a day (a hot-water hygiene run takes 1-3 kWh); 0 switches this off.")
    alert_rod_hours_per_day: float = setting(
        "ALERT_ROD_HOURS_PER_DAY", _float, "3", example="3", minimum=0,
        help="Alert when the heating rod ran longer than this (h) in a day, for devices that "
             "report its running time; 0 switches this off.")
    alert_rod_mild_c: float | None = setting(
        "ALERT_ROD_MILD_C", _float_or_off, "5", example="5",
        help="Alert when the heating rod heated the house (0.5 kWh or more for the heating "
             "circuit) on a day whose mean outdoor temperature was at least this (°C), where "
             "the heat pump alone should suffice; off switches this off.")
    apprise_urls: str | None = setting(
        "APPRISE_URLS", _opt_str, "", secret=True,
        example="json://127.0.0.1:8000/heatpump-alerts",
        help="Send alerts also through Apprise (pip install 'heatpump-monitor[alerts]'): "
             "comma-separated URLs of any service Apprise knows (e-mail, ntfy, a webhook, ...).")

    # costs (bot/costs.py): the user's own tariff; unset means no cost lines anywhere
    cost_currency: str | None = setting(
        "COST_CURRENCY", _currency, "", example="EUR",
        help="Currency of every price below (a code or sign, e.g. EUR, €, CHF); needed "
             "once a price is set.")
    cost_price_per_kwh: float | None = setting(
        "COST_PRICE_PER_KWH", _opt_float, "", example="0.32", minimum=0,
        help="Your electricity price per kWh for the heat pump (energy price, taxes "
             "included); outside COST_TIME_OF_USE windows this price applies. Empty: no "
             "costs are shown.")
    cost_time_of_use: tuple[TouWindow, ...] = setting(
        "COST_TIME_OF_USE", _tou_windows, "", example="22:00-06:00=0.22,06:00-22:00=0.31",
        help="A time-of-use tariff: local windows on whole hours with their price per kWh, "
             "comma-separated; may wrap past midnight, never overlap. Hours outside every "
             "window cost COST_PRICE_PER_KWH (then needed unless the windows cover the day).")
    cost_base_fee_per_month: float | None = setting(
        "COST_BASE_FEE_PER_MONTH", _opt_float, "", example="9.50", minimum=0,
        help="Monthly base fee of the heat pump's electricity contract (meter, standing "
             "charge); counted pro rata per day of a period.")
    cost_boiler_fuel: str | None = setting(
        "COST_BOILER_FUEL", _fuel, "", example="gas",
        help="What the heat pump is compared with: gas or oil (a boiler); with "
             "COST_BOILER_PRICE_PER_KWH and COST_BOILER_EFFICIENCY, /cost shows what the "
             "same heat would have cost and the saving.")
    cost_boiler_price_per_kwh: float | None = setting(
        "COST_BOILER_PRICE_PER_KWH", _opt_float, "", example="0.12", minimum=0,
        help="Price of the boiler's fuel per kWh of fuel energy (gas: the kWh on the gas "
             "bill; oil: about 10 kWh per litre).")
    cost_boiler_efficiency: float | None = setting(
        "COST_BOILER_EFFICIENCY", _opt_fraction, "", example="0.9",
        help="The boiler's seasonal efficiency: heat out over fuel energy in, as 0.9 or "
             "90 %.")

    # Not a setting: what looks wrong but does not stop the program (see the class doc).
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def alert_repeat(self) -> timedelta:
        """ALERT_REPEAT_H as a duration: the least time between two sends of one alert."""
        return timedelta(hours=self.alert_repeat_h)

    @property
    def flush_s(self) -> float:
        """Seconds between the collector's commits (HEATPUMP_FLUSH_MINUTES, or the store's
        default: 90 minutes embedded, every poll on InfluxDB)."""
        if self.flush_minutes is not None:
            return self.flush_minutes * 60.0
        return 0.0 if self.influx_url else EMBEDDED_FLUSH_S

    @property
    def has_tariff(self) -> bool:
        """Whether the user set an electricity tariff (the cost lines are shown only then)."""
        return self.cost_price_per_kwh is not None or bool(self.cost_time_of_use)

    @property
    def has_boiler(self) -> bool:
        """Whether a boiler to compare with is fully described (fuel, price, efficiency)."""
        return (self.cost_boiler_fuel is not None and self.cost_boiler_price_per_kwh is not None
                and self.cost_boiler_efficiency is not None)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    @property
    def token_file(self) -> Path:
        return Path(self.vicare_token_file) if self.vicare_token_file else (
            self.data_dir / "vicare_token.save")

    @property
    def vicare_enabled(self) -> bool:
        return bool(self.vicare_dump or self.vicare_username)

    @property
    def shelly_enabled(self) -> bool:
        return bool(self.meters)

    @property
    def meters(self) -> tuple[MeterSpec, ...]:
        """Every meter with its role: SHELLY_METERS, or the one at SHELLY_URL (role
        "heatpump", channel SHELLY_CHANNEL), or none."""
        if self.shelly_meters:
            return self.shelly_meters
        if self.shelly_url:
            return (MeterSpec(DEFAULT_ROLE, self.shelly_url, self.shelly_channel),)
        return ()

    def secrets(self) -> list[str]:
        """Every secret value in use, so log filters can mask them: also each URL of
        APPRISE_URLS alone and each part of it that can be secret (heatpump.logs.url_secrets)
        and a password written into a URL (user:password@host)."""
        from heatpump.logs import url_secrets

        found = [getattr(self, s.attr) for s in SPECS if s.secret and getattr(self, s.attr)]
        apprise = [u.strip() for u in (self.apprise_urls or "").replace("\n", ",").split(",")]
        found += [u for u in apprise if u]
        for u in apprise:  # Apprise prints them rebuilt (webhook paths, headers) at DEBUG
            if u:
                found += url_secrets(u)
        for url in (self.shelly_url, *(m.url for m in self.shelly_meters), self.influx_url,
                    self.telegram_api_base_url, *apprise):
            try:
                password = urlsplit(url).password if url else None
            except ValueError:
                password = None
            if password:
                found.append(password)
        return list(dict.fromkeys(found))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 env_file: str | Path | None = ".env") -> Settings:
        """Read `environ` (default: os.environ) over an optional `.env` file and validate.

        Raises SettingsError listing every problem; a `.env` that other users may read
        adds a warning (see `from_mapping` for the others)."""
        values: dict[str, str] = {}
        notes: list[str] = []
        if env_file is not None and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
            notes += env_file_warnings(Path(env_file))
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values, warnings=notes)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str], warnings: Iterable[str] = ()) -> Settings:
        """Parse and check every setting in `values` (variable name -> text).

        Raises SettingsError with one line per problem: a value that does not parse, is
        below its minimum, is still a placeholder from .env.example, or contradicts
        another. Secret values are never shown, nor the password inside a URL. Names that
        look like a misspelt setting become `warnings`, with the setting meant."""
        notes = [*warnings, *unknown_variable_warnings(values)]
        problems: list[str] = []
        refused: set[str] = set()
        kwargs: dict[str, Any] = {}
        for spec in SPECS:
            raw = values.get(spec.env)
            if raw is None or raw.strip() == "":
                raw = spec.default
            elif is_placeholder(raw):
                problems.append(_problem(spec, raw, "still a placeholder from .env.example; "
                                                    "put in your own value",
                                         example=not spec.secret))
                refused.add(spec.env)
                continue
            try:
                parsed = spec.parse(raw)
            except ValueError as exc:
                problems.append(_problem(spec, raw, str(exc)))
                refused.add(spec.env)
                continue
            if (spec.minimum is not None and isinstance(parsed, int | float)
                    and parsed < spec.minimum):
                problems.append(_problem(spec, raw, f"must be at least {spec.minimum:g}"))
                refused.add(spec.env)
                continue
            kwargs[spec.attr] = parsed
        tz_name = kwargs.get("tz_name") or values.get("TZ", "").strip() or _system_zone()
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"HEATPUMP_TZ={tz_name!r}: unknown time zone; "
                            "for example HEATPUMP_TZ=Europe/Berlin")
        kwargs["tz_name"] = tz_name
        # A check involving a refused setting cannot be judged (its value is unknown).
        problems += [p for p in _cross_checks(kwargs)
                     if not any(re.search(rf"\b{name}\b", p) for name in refused)]
        if problems:
            raise SettingsError(problems, notes)
        return cls(**kwargs, warnings=tuple(notes))


SPECS: tuple[Spec, ...] = tuple(replace(f.metadata["setting"], attr=f.name)
                                for f in fields(Settings) if "setting" in f.metadata)


# --- the checks that catch mistakes ------------------------------------------------------

# Values .env.example ships for what a user must fill in (change-me, your-...), and other
# obvious stand-ins (<token>, 123456:ABC-DEF..., xxxx): never a real value.
_PLACEHOLDER = re.compile(r"change[-_ ]?me|\byour[-_]|^<.*>$|\.\.\.$|^x{3,}$", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """Whether `value` is a stand-in copied from .env.example or the docs, not a value."""
    return bool(_PLACEHOLDER.search(value.strip()))


def _problem(spec: Spec, raw: str, reason: str, example: bool = True) -> str:
    """`NAME=value: reason; for example NAME=example`, never showing a secret value nor
    the password inside a URL, and no example that is itself a placeholder."""
    # each part of a list of URLs (SHELLY_METERS) hides its own password
    shown = "(hidden)" if spec.secret else repr(";".join(
        hide_url_password(part) for part in raw.split(";")))
    line = f"{spec.env}={shown}: {reason}"
    if example and not is_placeholder(spec.example):
        line += f"; for example {spec.env}={spec.example}"
    return line


# This program's variables start with one of these; a name with such a prefix (or with a
# likely misspelling of one) that is no setting is taken for a typo.
PREFIXES: tuple[str, ...] = ("HEATPUMP_", "SHELLY_", "VICARE_", "TELEGRAM_", "INFLUX_",
                             "ALERT_", "APPRISE_", "COST_")
MISSPELT_PREFIXES: tuple[str, ...] = ("SHELY_", "SHELLEY_", "VICAR_", "VIESSMANN_", "ALERTS_")
# Variables with those prefixes that are read, but not by heatpump itself.
OTHER_VARIABLES: dict[str, str] = {
    "HEATPUMP_REQUIRE_INFLUX": "tests/conftest.py: 1 makes the InfluxDB tests mandatory (CI)",
    "HEATPUMP_CACHE_DIR": "tests/influxd.py: where the test suite keeps the fetched influxd",
}


def unknown_variable_warnings(names: Iterable[str]) -> list[str]:
    """One line for each of `names` that looks meant for heatpump but is no setting (a typo
    such as SHELY_URL or VICARE_USER, or the wrong case), with the closest setting name."""
    known = [s.env for s in SPECS]
    out = []
    for name in sorted(set(names) - set(known) - set(OTHER_VARIABLES)):
        if not name.upper().startswith(PREFIXES + MISSPELT_PREFIXES):
            continue
        close = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.6)
        out.append(SettingsWarning(
            (lambda name=name, meant=close[0]: _(
                "{name} is not a setting and is ignored; did you mean {meant}?").format(
                    name=name, meant=meant)) if close else
            (lambda name=name: _("{name} is not a setting and is ignored; the names are in "
                                 "docs/settings.md").format(name=name))))
    return out


def env_file_warnings(path: Path) -> list[str]:
    """A warning when `path` (the .env file, with passwords and tokens) may be read by
    other users of this machine, with the command that fixes it."""
    if os.name != "posix":
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return []
    return [SettingsWarning(lambda: _(
        "{path} can be read by other users (mode {mode}) and holds your passwords and "
        "tokens; fix: chmod 600 {path}").format(path=path, mode=f"{mode:o}"))]


def _system_zone() -> str:
    """The machine's zone name from /etc/timezone or the /etc/localtime link, else UTC."""
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"


def _cross_checks(v: Mapping[str, Any]) -> list[str]:
    problems = []
    if v.get("influx_url") and v.get("influx_username") and not v.get("influx_password"):
        problems.append("INFLUX_USERNAME is set but INFLUX_PASSWORD is empty; "
                        "set both, or use INFLUX_TOKEN")
    if v.get("vicare_username") and not v.get("vicare_dump"):
        for env, attr in (("VICARE_PASSWORD", "vicare_password"),
                          ("VICARE_CLIENT_ID", "vicare_client_id")):
            if not v.get(attr):
                problems.append(f"VICARE_USERNAME is set but {env} is empty; "
                                f"set {env} too (see README: Set up your system)")
    if v.get("vicare_dump") and not Path(v["vicare_dump"]).exists():
        problems.append(f"VICARE_DUMP={v['vicare_dump']!r}: no such file or folder")
    if v.get("shelly_password") and not v.get("shelly_username"):
        problems.append("SHELLY_PASSWORD is set but SHELLY_USERNAME is empty; "
                        "for example SHELLY_USERNAME=admin")
    if v.get("shelly_url") and v.get("shelly_meters"):
        problems.append("SHELLY_URL and SHELLY_METERS are both set; use SHELLY_URL for one "
                        "meter, or SHELLY_METERS (with your meter as heatpump=URL) for several")
    if v.get("shelly_channel") and v.get("shelly_meters"):
        problems.append("SHELLY_CHANNEL is for the one meter at SHELLY_URL; with SHELLY_METERS "
                        "give each meter's channel as role:channel=URL, for example "
                        "SHELLY_METERS=outdoor_unit:a=http://127.0.0.1:8081")
    channel = v.get("shelly_channel")
    if channel and not (channel.isdigit() or channel.lower() in ("a", "b", "c")):
        problems.append(f"SHELLY_CHANNEL={channel!r}: must be a channel number or a phase "
                        "a, b or c; for example SHELLY_CHANNEL=0")
    return problems + _cost_checks(v)


def _cost_checks(v: Mapping[str, Any]) -> list[str]:
    """A tariff is the user's own: prices need a currency, time-of-use windows that leave
    hours out need COST_PRICE_PER_KWH, and a boiler needs all three of its settings."""
    problems = []
    windows = v.get("cost_time_of_use") or ()
    prices = [n for n, a in (("COST_PRICE_PER_KWH", "cost_price_per_kwh"),
                             ("COST_TIME_OF_USE", "cost_time_of_use"),
                             ("COST_BASE_FEE_PER_MONTH", "cost_base_fee_per_month"),
                             ("COST_BOILER_PRICE_PER_KWH", "cost_boiler_price_per_kwh"))
              if v.get(a) not in (None, ())]
    if prices and not v.get("cost_currency"):
        problems.append(f"{prices[0]} is set but COST_CURRENCY is empty; for example "
                        "COST_CURRENCY=EUR")
    covered = {h for h0, h1, _p in windows for h in tou_hours(h0, h1)}
    if windows and len(covered) < 24 and v.get("cost_price_per_kwh") is None:
        free = sorted(set(range(24)) - covered)
        problems.append(f"COST_TIME_OF_USE leaves {free[0]:02d}:00 and {len(free) - 1} more "
                        "hours without a price; set COST_PRICE_PER_KWH for them or cover the "
                        "whole day")
    if (v.get("cost_base_fee_per_month") is not None and v.get("cost_price_per_kwh") is None
            and not windows):
        problems.append("COST_BASE_FEE_PER_MONTH is set but no energy price; set "
                        "COST_PRICE_PER_KWH or COST_TIME_OF_USE")
    boiler = {"COST_BOILER_FUEL": v.get("cost_boiler_fuel"),
              "COST_BOILER_PRICE_PER_KWH": v.get("cost_boiler_price_per_kwh"),
              "COST_BOILER_EFFICIENCY": v.get("cost_boiler_efficiency")}
    given = [n for n, x in boiler.items() if x is not None]
    if given and len(given) < 3:
        missing = [n for n in boiler if n not in given]
        problems.append(f"{given[0]} is set but {' and '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} empty; the boiler comparison "
                        "needs the fuel, its price and the boiler's efficiency")
    return problems
