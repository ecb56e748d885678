"""All configuration, read once from the environment (and an optional `.env` file).

Settings are the public contract users build on: every variable is declared once in
`SPECS` below, which also feeds the README table test and `.env.example` check. Problems are
collected and reported together, one clear line each, so a user fixes them in one go.
Secret values are never part of any message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


# --- parsers: each raises ValueError with a short reason ----------------------------------


def _str(value: str) -> str:
    return value.strip()


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


def _log_level(value: str) -> str:
    v = value.strip().upper()
    if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return v


@dataclass(frozen=True)
class Spec:
    """One environment variable: how to parse it, its default, and how to explain it."""

    env: str
    attr: str
    parse: Callable[[str], Any]
    default: str
    help: str
    example: str
    secret: bool = False
    minimum: float | None = None


SPECS: tuple[Spec, ...] = (
    # general
    Spec("HEATPUMP_DATA_DIR", "data_dir", _str, "./data",
         "Runtime state: embedded database, Viessmann token, spool, alert state.", "/data"),
    Spec("HEATPUMP_TZ", "tz_name", _str, "",
         "Time zone for everything shown to a person and for calendar sums "
         "(falls back to TZ, then the system zone, then UTC).", "Europe/Berlin"),
    Spec("HEATPUMP_LOG_LEVEL", "log_level", _log_level, "INFO",
         "Log level: DEBUG, INFO, WARNING or ERROR.", "INFO"),
    Spec("HEATPUMP_SPOOL_MAX_MB", "spool_max_mb", _float, "200",
         "Disk space (MB) the collector may use to keep data while the store is down; "
         "warns at 50 % and 80 %, then drops the oldest raw meter samples (never energy).",
         "200", minimum=1),
    Spec("HEATPUMP_RUNNING_W", "running_w", _float, "250",
         "The compressor counts as running while the meter reads more than this (W).", "250",
         minimum=1),
    Spec("HEATPUMP_RATED_HEAT_KW", "rated_heat_kw", _opt_float, "",
         "Rated heat output (kW); enables the estimated heat methods when the device has "
         "no heat counter and no flow sensor.", "8", minimum=0.1),
    Spec("HEATPUMP_RAW_RETENTION_DAYS", "raw_retention_days", _int, "0",
         "Delete raw 10-second meter and 5-minute heat pump samples older than this many "
         "days; hourly and daily rollups and energy are kept. 0 keeps everything.", "400",
         minimum=0),
    # store
    Spec("INFLUX_URL", "influx_url", _url, "",
         "InfluxDB base URL; empty uses the embedded SQLite store in the data dir.",
         "http://influxdb:8086"),
    Spec("INFLUX_TOKEN", "influx_token", _opt_str, "",
         "InfluxDB 2.x/3.x API token.", "my-super-secret-token", secret=True),
    Spec("INFLUX_USERNAME", "influx_username", _opt_str, "",
         "InfluxDB 1.x user (instead of a token).", "heatpump"),
    Spec("INFLUX_PASSWORD", "influx_password", _opt_str, "",
         "InfluxDB 1.x password.", "change-me", secret=True),
    Spec("INFLUX_BUCKET", "influx_bucket", _str, "heatpump_raw",
         "InfluxDB bucket (2.x/3.x) or database (1.x).", "heatpump_raw"),
    # Shelly meter
    Spec("SHELLY_URL", "shelly_url", _url, "",
         "Shelly meter on the LAN; empty disables the meter source.", "http://192.168.1.50"),
    Spec("SHELLY_USERNAME", "shelly_username", _opt_str, "",
         "Shelly user when authentication is on (Gen2+ always use 'admin').", "admin"),
    Spec("SHELLY_PASSWORD", "shelly_password", _opt_str, "",
         "Shelly password when authentication is on.", "change-me", secret=True),
    Spec("SHELLY_CHANNEL", "shelly_channel", _opt_str, "",
         "Which channel/phase measures the heat pump: a number (0, 1, 2) or a phase "
         "(a, b, c); empty sums all phases of a 3-phase meter and reads channel 0 "
         "otherwise.", "0"),
    Spec("SHELLY_POLL_SECONDS", "shelly_poll_seconds", _float, "10",
         "Meter poll interval (s).", "10", minimum=1),
    Spec("SHELLY_TIMEOUT_SECONDS", "shelly_timeout_seconds", _float, "4",
         "Timeout of one meter request (s).", "4", minimum=0.5),
    # Viessmann
    Spec("VICARE_USERNAME", "vicare_username", _opt_str, "",
         "ViCare account e-mail; empty disables the Viessmann source.", "me@example.com"),
    Spec("VICARE_PASSWORD", "vicare_password", _opt_str, "",
         "ViCare account password.", "change-me", secret=True),
    Spec("VICARE_CLIENT_ID", "vicare_client_id", _opt_str, "",
         "Client id of your Viessmann developer portal app.", "0123456789abcdef0123456789abcdef"),
    Spec("VICARE_TOKEN_FILE", "vicare_token_file", _opt_str, "",
         "Where the OAuth token is kept (mode 0600); default <data dir>/vicare_token.save.",
         "/data/vicare_token.save"),
    Spec("VICARE_POLL_SECONDS", "vicare_poll_seconds", _int, "300",
         "Heat pump poll interval (s); below 60 is refused (API quota).", "300", minimum=60),
    Spec("VICARE_DAILY_BUDGET", "vicare_daily_budget", _int, "1400",
         "At most this many Viessmann API calls in any rolling 24 h (free tier: 1450).", "1400",
         minimum=1),
    Spec("VICARE_DEVICE", "vicare_device", _opt_str, "",
         "Only this device (serial or device id); default every heat pump of the account.",
         "7571381681420106"),
    Spec("VICARE_DUMP", "vicare_dump", _opt_str, "",
         "Replay a saved API response file (or a folder of them, one per poll) instead of "
         "calling the cloud.", "tests/fixtures/vicare/Vitocal250A.json"),
    # Telegram
    Spec("TELEGRAM_BOT_TOKEN", "telegram_bot_token", _opt_str, "",
         "Bot token from @BotFather.", "123456:ABC-DEF...", secret=True),
    Spec("TELEGRAM_ALLOWED_CHAT_IDS", "telegram_allowed_chat_ids", _chat_ids, "",
         "Comma-separated chat ids allowed to use the bot; others are refused and told "
         "their id.", "123456789,-1001234567890"),
    Spec("TELEGRAM_API_BASE_URL", "telegram_api_base_url", _url, "",
         "Another Bot API server (self-hosted, or tests); empty uses Telegram's.",
         "http://127.0.0.1:8081"),
    # alerts (bot/alerts)
    Spec("ALERT_CHECK_MINUTES", "alert_check_minutes", _float, "5",
         "How often the bot evaluates the alert rules (minutes).", "5", minimum=1),
    Spec("ALERT_REPEAT_H", "alert_repeat_h", _float, "24",
         "An alert that stays active is sent again at most every this many hours.", "24",
         minimum=1),
    Spec("ALERT_STALE_SHELLY_MIN", "alert_stale_shelly_min", _float, "60",
         "Alert when the meter has delivered no sample for this many minutes.", "60",
         minimum=5),
    Spec("ALERT_STALE_VICARE_MIN", "alert_stale_vicare_min", _float, "60",
         "Alert when the heat pump (Viessmann) has delivered no sample for this many "
         "minutes; keep it above VICARE_POLL_SECONDS.", "60", minimum=10),
    Spec("ALERT_WARNINGS", "alert_warnings", _bool, "true",
         "Also alert on the heat pump's warning-level and service messages (errors always "
         "alert).", "true"),
    Spec("ALERT_COP_DROP_PCT", "alert_cop_drop_pct", _float, "20",
         "Alert when the daily COP is this many percent below what this heat pump normally "
         "reaches at that outdoor temperature.", "20", minimum=1),
    Spec("ALERT_COP_DAYS", "alert_cop_days", _int, "3",
         "The COP drop must last this many valid days in a row before it alerts.", "3", minimum=1),
    Spec("ALERT_COP_FLOOR", "alert_cop_floor", _opt_float, "",
         "Until enough own history exists (10 valid days), alert when the daily COP is below "
         "this value; empty waits for history.", "2.5", minimum=0.1),
    Spec("ALERT_COP_MIN_RUNTIME_H", "alert_cop_min_runtime_h", _float, "3",
         "A day counts for the COP and short-cycling rules only with at least this much "
         "compressor runtime (h).", "3", minimum=0.5),
    Spec("ALERT_COP_HISTORY_DAYS", "alert_cop_history_days", _int, "42",
         "How many recent days the normal COP is learned from.", "42", minimum=7),
    Spec("ALERT_SHORT_CYCLE_STARTS_PER_H", "alert_short_cycle_starts_per_h", _float, "3",
         "Alert when a day averages more compressor starts per hour of runtime than this; "
         "0 switches the rule off.", "3", minimum=0),
    Spec("APPRISE_URLS", "apprise_urls", _opt_str, "",
         "Send alerts also through Apprise (pip install 'heatpump-monitor[alerts]'): "
         "comma-separated URLs, e.g. e-mail or ntfy.",
         "ntfys://ntfy.sh/my-heatpump,mailtos://user:pass@example.com", secret=True),
)


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with `Settings.from_env()`."""

    data_dir: Path = Path("./data")
    tz_name: str = "UTC"
    log_level: str = "INFO"
    spool_max_mb: float = 200.0
    running_w: float = 250.0
    rated_heat_kw: float | None = None
    raw_retention_days: int = 0
    influx_url: str | None = None
    influx_token: str | None = field(default=None, repr=False)
    influx_username: str | None = None
    influx_password: str | None = field(default=None, repr=False)
    influx_bucket: str = "heatpump_raw"
    shelly_url: str | None = None
    shelly_username: str | None = None
    shelly_password: str | None = field(default=None, repr=False)
    shelly_channel: str | None = None
    shelly_poll_seconds: float = 10.0
    shelly_timeout_seconds: float = 4.0
    vicare_username: str | None = None
    vicare_password: str | None = field(default=None, repr=False)
    vicare_client_id: str | None = None
    vicare_token_file: str | None = None
    vicare_poll_seconds: int = 300
    vicare_daily_budget: int = 1400
    vicare_device: str | None = None
    vicare_dump: str | None = None
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_allowed_chat_ids: tuple[int, ...] = ()
    telegram_api_base_url: str | None = None
    # alerts (bot/alerts)
    alert_check_minutes: float = 5.0
    alert_repeat_h: float = 24.0
    alert_stale_shelly_min: float = 60.0
    alert_stale_vicare_min: float = 60.0
    alert_warnings: bool = True
    alert_cop_drop_pct: float = 20.0
    alert_cop_days: int = 3
    alert_cop_floor: float | None = None
    alert_cop_min_runtime_h: float = 3.0
    alert_cop_history_days: int = 42
    alert_short_cycle_starts_per_h: float = 3.0
    apprise_urls: str | None = field(default=None, repr=False)

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
        return bool(self.shelly_url)

    def secrets(self) -> list[str]:
        """Every secret value in use, so log filters can mask them: also each URL of
        APPRISE_URLS alone and a password written into a URL (user:password@host)."""
        from urllib.parse import urlsplit

        found = [getattr(self, s.attr) for s in SPECS if s.secret and getattr(self, s.attr)]
        apprise = [u.strip() for u in (self.apprise_urls or "").replace("\n", ",").split(",")]
        found += [u for u in apprise if u]
        for url in (self.shelly_url, self.influx_url, *apprise):
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
        """Read `environ` (default: os.environ) over an optional `.env` file and validate."""
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            from dotenv import dotenv_values

            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Settings:
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for spec in SPECS:
            raw = values.get(spec.env)
            if raw is None or raw.strip() == "":
                raw = spec.default
            try:
                parsed = spec.parse(raw)
            except ValueError as exc:
                shown = "(hidden)" if spec.secret else repr(raw)
                problems.append(f"{spec.env}={shown}: {exc}; for example {spec.env}={spec.example}")
                continue
            if (spec.minimum is not None and isinstance(parsed, int | float)
                    and parsed < spec.minimum):
                problems.append(f"{spec.env}={raw!r}: must be at least {spec.minimum:g}; "
                                f"for example {spec.env}={spec.example}")
                continue
            kwargs[spec.attr] = parsed
        kwargs["data_dir"] = Path(kwargs.get("data_dir") or "./data")
        tz_name = kwargs.get("tz_name") or values.get("TZ", "").strip() or _system_zone()
        try:
            ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"HEATPUMP_TZ={tz_name!r}: unknown time zone; "
                            "for example HEATPUMP_TZ=Europe/Berlin")
        kwargs["tz_name"] = tz_name
        problems.extend(_cross_checks(kwargs))
        if problems:
            raise SettingsError(problems)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in names})


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
    channel = v.get("shelly_channel")
    if channel and not (channel.isdigit() or channel.lower() in ("a", "b", "c")):
        problems.append(f"SHELLY_CHANNEL={channel!r}: must be a channel number or a phase "
                        "a, b or c; for example SHELLY_CHANNEL=0")
    return problems
