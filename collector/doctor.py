"""Check the settings, reach each configured source and the store, and say what to fix.

Prints what was found (the Viessmann devices with the fields and heat method each supports,
the Shelly's generation, model and channel, the store's backend and version) and, for every
problem, one next step. Exit code 1 when something is wrong. Viessmann calls made here are
counted against the same daily quota ledger as the collector's.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from collector.check import FAIL, OK, Check
from heatpump import heartbeat
from heatpump.i18n import _, number, shown
from heatpump.logs import without_credentials
from heatpump.settings import MeterSpec, Settings
from heatpump.timeutil import utcnow

if TYPE_CHECKING:
    from collector.shelly.client import ShellyDevice


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--save-dump", metavar="FILE",
                   help=_("also save a redacted Viessmann API dump to FILE (for bug reports)"))
    p.add_argument("--no-vicare", action="store_true",
                   help=_("skip the Viessmann check (saves one API call)"))


# --- checks -----------------------------------------------------------------------------


def check_settings(settings: Settings, now: datetime) -> Check:
    c = Check(_("Settings"))
    c.lines.append(_("data dir {path}, time zone {tz}").format(path=settings.data_dir.resolve(),
                                                               tz=settings.tz_name))
    for warning in settings.warnings:  # misspelt variables, a .env others can read
        c.warn(shown(warning))
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".doctor-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        c.fail(_("data dir not writable: {error}").format(error=exc.strerror),
               _("make {path} writable for this user, or set HEATPUMP_DATA_DIR").format(
                   path=settings.data_dir))
    enabled = [name for name, on in ((_("Shelly meter"), settings.shelly_enabled),
                                     ("Viessmann", settings.vicare_enabled)) if on]
    if not enabled:
        c.fail(_("no source configured"),
               _("set SHELLY_URL and/or VICARE_USERNAME, VICARE_PASSWORD, VICARE_CLIENT_ID "
                 "(README: Set up your system), or try `heatpump demo`"))
    else:
        c.lines.append(_("sources: {names}").format(names=", ".join(enabled)))
    if settings.vicare_enabled and not settings.vicare_dump:
        per_day = 86400 / settings.vicare_poll_seconds
        c.lines.append(_("Viessmann: {polls} polls per device per day, budget {budget} calls "
                         "per 24 h").format(polls=f"{per_day:.0f}",
                                            budget=settings.vicare_daily_budget))
        if per_day > settings.vicare_daily_budget * 0.9:
            c.warn(_("VICARE_POLL_SECONDS={seconds} leaves almost no quota for logins and "
                     "retries").format(seconds=settings.vicare_poll_seconds),
                   _("raise VICARE_POLL_SECONDS (300 is a safe default)"))
    if not settings.shelly_enabled and settings.vicare_enabled:
        c.warn(_("no meter: JAZ/COP can only use what the heat pump reports of itself"),
               _("add a Shelly meter on the heat pump's supply (SHELLY_URL) for the real JAZ"))
    if settings.shelly_enabled and not settings.vicare_enabled:
        c.warn(_("no heat pump source: electricity only, no heat, so no JAZ/COP"),
               _("set VICARE_USERNAME, VICARE_PASSWORD and VICARE_CLIENT_ID "
                 "(README: Set up your system)"))
    if settings.vicare_enabled and not settings.vicare_dump:
        tf = settings.token_file
        if tf.exists() and tf.stat().st_mode & 0o077:
            c.warn(_("{path} is readable by others (mode {mode})").format(
                       path=tf, mode=f"{tf.stat().st_mode & 0o777:o}"),
                   f"chmod 600 {tf}")
    return c


def measurement_label(measurement: str) -> str:
    """A measurement of the stored schema (heatpump/schema.py) by its name in English (the
    name docs/schema.md uses) and by what it holds in another language."""
    return {"meter": _("meter"), "heatpump": _("heatpump"), "electricity": _("electricity"),
            "heat": _("heat")}.get(measurement, measurement)


def check_store(settings: Settings, now: datetime) -> Check:
    from heatpump.store import open_store
    from heatpump.store.base import StoreError

    c = Check(_("Store"))
    try:
        store = open_store(settings)
    except (StoreError, OSError) as exc:
        c.fail(_("cannot open: {error}").format(error=exc), _store_fix(settings))
        return c
    try:
        info = store.info()
        c.lines.append(_("{backend} {version} at {location}").format(
            backend=info.backend, version=info.version, location=info.location))
        store.check()  # the embedded store reads its whole file: a damaged one fails
        for measurement, fld in (("meter", "power_w"), ("heatpump", "outside_temp_c"),
                                 ("electricity", "energy_wh"), ("heat", "energy_wh")):
            got = store.latest(measurement, [fld]).get(fld)
            c.lines.append(_("last {measurement}: {when}").format(
                measurement=measurement_label(measurement),
                when=_ago(got.time, now) if got else _("none")))
    except StoreError as exc:
        c.fail(_("not reachable: {error}").format(error=exc), _store_fix(settings))
    finally:
        with contextlib.suppress(StoreError):
            store.close()
    spool = settings.data_dir / "spool"
    pending = sum(p.stat().st_size for p in spool.glob("*.jsonl")) if spool.is_dir() else 0
    if pending:
        c.warn(_("{mb} MB waiting in the spool {path} (store was down)").format(
                   mb=f"{pending / 1e6:.1f}", path=spool),
               _("it is replayed automatically while `heatpump collect` runs and the store "
                 "answers"))
    age = heartbeat.age_s(settings.data_dir, "collector", time.time())
    stopped = heartbeat.content(heartbeat.heartbeat_path(settings.data_dir, "collector")).get(
        "stopped") is True
    c.lines.append(_("collector: not running here (no heartbeat)") if age is None else
                   _("collector: stopped {s} s ago").format(s=f"{age:.0f}") if stopped else
                   _("collector: heartbeat {s} s ago").format(s=f"{age:.0f}"))
    if age is not None and not stopped and age > 2 * heartbeat.BEAT_EVERY_S:
        c.warn(_("the collector's heartbeat is old: it stopped or hangs"),
               _("check `heatpump collect` (docker logs / systemctl status)"))
    return c


def _store_fix(settings: Settings) -> str:
    if settings.influx_url:
        return _("check that InfluxDB runs at {url}, INFLUX_BUCKET={bucket} exists and "
                 "INFLUX_TOKEN (or INFLUX_USERNAME/INFLUX_PASSWORD) may write it; unset "
                 "INFLUX_URL to use the embedded store").format(
                     url=without_credentials(settings.influx_url), bucket=settings.influx_bucket)
    return _("check free space and permissions of {path}").format(path=settings.data_dir)


def check_shelly(settings: Settings, now: datetime) -> Check:
    """Each meter (SHELLY_METERS, or the one at SHELLY_URL): reached, recognised, read; with
    several meters each line starts with the meter's role."""
    meters = settings.meters
    c = Check(_("Shelly meter") if len(meters) <= 1
              else _("Shelly meters ({n})").format(n=len(meters)))
    for spec in meters:
        _check_meter(c, settings, spec, "" if len(meters) <= 1 else f"{spec.role}: ")
    return c


# Shelly family (collector/shelly/parse.py FAMILIES key) -> its name for a person; a family
# missing here is shown with its English title
FAMILY_NAMES: dict[str, Callable[[], str]] = {
    "gen1_meter": lambda: _("Gen1 plug/switch with meter"),
    "gen1_em": lambda: _("Gen1 EM (2 channels)"),
    "gen1_3em": lambda: _("Gen1 3EM (3 phases)"),
    "switch": lambda: _("Gen2+ switch with metering"),
    "pm1": lambda: _("Gen2+ power meter (PM1)"),
    "em": lambda: _("Pro 3EM, triphase profile"),
    "em1": lambda: _("Gen2+ energy meter (EM1 channels)"),
}


def meter_text(dev: ShellyDevice) -> str:
    """What the doctor says a meter is and reads, in the current language: 'Pro 3EM,
    triphase profile SPEM-003CEBEU (id, gen 2), all phases' (ShellyDevice.describe() is the
    English one of the logs)."""
    family = FAMILY_NAMES.get(dev.family.key, lambda: dev.family.title)()
    channel = (_("all phases") if dev.channel.index is None
               else _("channel {index}").format(index=dev.channel.index))
    return _("{family} {model} ({id}, gen {gen}), {channel}").format(
        family=family, model=dev.info.model, id=dev.info.device_id, gen=dev.info.gen,
        channel=channel)


def _check_meter(c: Check, settings: Settings, spec: MeterSpec, prefix: str) -> None:
    from collector.shelly.client import ShellyClient
    from collector.shelly.errors import ShellyError

    listed = bool(settings.shelly_meters)
    where = (_("{role}={url} in SHELLY_METERS") if listed else "SHELLY_URL={url}").format(
        role=spec.role, url=without_credentials(spec.url))
    channel = (_("the channel of {role} ({role}:0, {role}:a, ...)").format(role=spec.role)
               if listed else _("SHELLY_CHANNEL (0, 1, 2 or a, b, c)"))
    fixes = {
        "unreachable": _("check {where}: is the meter on, on this network, does its web page "
                         "open in a browser from this machine?").format(where=where),
        "auth_failed": _("the meter has a password: set SHELLY_USERNAME (admin on Gen2+) and "
                         "SHELLY_PASSWORD"),
        "rate_limited": _("something else polls the meter very often; raise "
                          "SHELLY_POLL_SECONDS or stop the other poller"),
        "bad_response": _("is {where} a Shelly energy meter or plug with metering? check "
                          "{channel}").format(where=where, channel=channel),
    }
    try:
        with ShellyClient(spec.url, username=settings.shelly_username,
                          password=settings.shelly_password, channel=spec.channel,
                          timeout_s=settings.shelly_timeout_seconds) as client:
            dev = client.identify()
            c.lines.append(prefix + _("generation {gen}, model {model}, id {id}, firmware "
                                      "{firmware}").format(
                gen=dev.info.gen, model=dev.info.model, id=dev.device_id,
                firmware=dev.info.firmware or "?"))
            c.lines.append(prefix + _("reads {what}").format(what=meter_text(dev)))
            if not dev.counter_survives_reboot:
                c.lines.append(prefix + _("its energy counter restarts at 0 after a reboot; "
                                          "the collector bridges that (counter_reset in "
                                          "health)"))
            r = client.poll()
            power = "?" if r.power_w is None else f"{r.power_w:.0f} W"
            energy = (_("none") if not r.has_counter else "?" if r.energy_import_wh is None
                      else f"{r.energy_import_wh / 1000:.3f} kWh")
            c.lines.append(prefix + _("now: {power}, import counter {energy}").format(
                power=power, energy=energy))
            if not r.has_counter:
                c.warn(prefix + _("the meter reports no energy counters (firmware {firmware}): "
                                  "until they are there, the collector integrates the power "
                                  "every poll and marks that electricity as an ESTIMATE "
                                  "wherever it is shown").format(
                           firmware=dev.info.firmware or "?"),
                       _("update the meter's firmware (its web page: Settings, Firmware): "
                         "later firmware reports the energy counters"))
            elif r.energy_import_wh is None:
                c.warn(prefix + _("the energy counter has no valid value right now (the meter "
                                  "says so); that poll's energy waits for the next valid one"))
            elif r.energy_import_wh == 0 and r.power_w is not None and r.power_w > 100:
                c.warn(prefix + _("the energy counter reads 0 while {power} flow: a stuck "
                                  "counter (a known Pro 3EM fault). The collector reports it "
                                  "(health degraded, counter_stuck) and those minutes count no "
                                  "energy").format(power=power),
                       _("restart the meter (its web page: Settings, Reboot) or update its "
                         "firmware; if the counters stay at 0, reset its energy data"))
    except ShellyError as exc:
        c.fail(f"{prefix}{exc.reason}: {exc}", fixes.get(exc.reason, fixes["bad_response"]))


# Viessmann check lives with the source (collector.vicare), added to CHECKS when present.
CHECKS: tuple[tuple[str, Callable[[Settings], bool], Callable[..., Check]], ...] = (
    ("settings", lambda s: True, check_settings),
    ("store", lambda s: True, check_store),
    ("shelly", lambda s: s.shelly_enabled, check_shelly),
)


def _ago(t: datetime, now: datetime) -> str:
    s = (now - t).total_seconds()
    when = t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if s < 120:
        ago = f"{s:.0f} s"
    elif s < 7200:
        ago = f"{s / 60:.0f} min"
    else:
        ago = f"{number(s / 3600, 1)} h"
    return _("{when} ({ago} ago)").format(when=when, ago=ago)


def run_checks(settings: Settings, args: argparse.Namespace) -> Iterator[Check]:
    now = utcnow()
    checks = list(CHECKS)
    if settings.vicare_enabled and not getattr(args, "no_vicare", False):
        from collector.vicare_doctor import check_vicare

        checks.append(("vicare", lambda s: True,
                       lambda s, n: check_vicare(s, n, save_dump=getattr(args, "save_dump",
                                                                         None))))
    for _name, enabled, fn in checks:
        if not enabled(settings):
            continue
        try:
            yield fn(settings, now)
        except Exception as exc:  # a check must never hide the others
            c = Check(fn.__name__.removeprefix("check_"))
            c.fail(_("check crashed: {error}").format(error=f"{type(exc).__name__}: {exc}"),
                   _("please report this with the output of `heatpump doctor`"))
            yield c


def render(check: Check) -> str:
    out = [f"[{check.verdict:>4}] {check.title}"]
    out += [f"       {line}" for line in check.lines]
    out += [f"    -> {fix}" for fix in check.fixes]
    return "\n".join(out)


def run(args: argparse.Namespace, settings: Settings) -> int:
    worst = OK
    for check in run_checks(settings, args):
        print(render(check), flush=True)
        if check.verdict == FAIL:
            worst = FAIL
    print("\n" + (_("All good.") if worst != FAIL else _("Something needs fixing (see -> above).")))
    return 1 if worst == FAIL else 0

