"""`heatpump doctor`'s Viessmann section: devices, their fields, the heat method (why, the
rated output and its source, an estimate's measured band), stale counters, the quota.

Uses the collector's own reader over the same connection, so every call goes through the
same guard and is counted in the same ledger (`<data dir>/vicare_api_calls.jsonl`) as the
collector's, and a device the collector polled moments ago is not polled again. The poll's
`heatpump`, `message` and `api_call` points are stored like the collector's; energy
accounting is left to the collector (its counters bridge the doctor's poll).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from collector.check import Check
from collector.readings import HeatPumpSample
from collector.reasons import fix_for
from heatpump.i18n import _, ngettext
from heatpump.schema import HEATPUMP
from heatpump.settings import Settings

# Where a device without heat counters is sent: this file and this heading must exist
# (tests/collector/vicare/test_doctor.py checks them).
HEAT_METHODS_DOC = ("docs/vicare.md", "Heat delivered: the four methods")
COUNTERS_DOC = ("docs/vicare.md", "Counters: rollovers, glitches, staleness")


def heat_methods_hint() -> str:
    path, heading = HEAT_METHODS_DOC
    return _("see {path}, section '{heading}'").format(path=path, heading=heading)


def check_vicare(settings: Settings, now: datetime, save_dump: str | None = None) -> Check:
    from collector.points import heatpump_points
    from collector.service import RealClock
    from collector.sink import DurableSink
    from collector.spool import Spool
    from collector.vicare.reader import ACCOUNT
    from collector.wiring import Context, vicare_reader
    from heatpump.store import open_store

    c = Check("Viessmann" + (" " + _("(replay of VICARE_DUMP)") if settings.vicare_dump else ""))
    reader = vicare_reader(Context(settings, RealClock(), Path(settings.data_dir)))
    budget = settings.vicare_daily_budget
    if reader.guard is not None:
        c.lines.append(_("API calls in the last 24 h: {used} of {budget} (shared with the "
                         "collector)").format(used=reader.guard.used_24h(now), budget=budget))
    result = reader.read()
    points = list(result.calls)
    for sample in result.samples:
        points.extend(heatpump_points(sample))
    store = open_store(settings)
    sink = DurableSink(store, Spool(settings.data_dir / "spool",
                                    int(settings.spool_max_mb * 1e6)), lambda: 0.0)
    sink.write(points)  # spooled if the store is down
    sink.close()
    for d in reader.devices:
        c.lines.append(_("device {tag}: {model} ({type})").format(
            tag=d.tag, model=d.config.device_model, type=d.config.device_type))
    polled = {s.device for s in result.samples}
    skipped = [d.tag for d in reader.devices if d.tag not in polled
               and d.tag not in result.failures]
    if skipped:
        c.lines.append(_("not polled now (the collector polled moments ago): {devices}"
                         ).format(devices=", ".join(skipped)))
    known = {f.name for f in HEATPUMP.fields}
    for sample in sorted(result.samples, key=lambda s: s.device):
        tag = sample.device
        fields = sorted(k for k in sample.values if k in known)
        c.lines.append(_("{tag}: {n} fields: {fields}").format(tag=tag, n=len(fields),
                                                               fields=", ".join(fields)))
        if sample.counters:
            kinds = sorted({k.rsplit('.', 1)[0] for k in sample.counters})
            c.lines.append(_("{tag}: energy counters: {kinds}").format(tag=tag,
                                                                       kinds=", ".join(kinds)))
        if sample.messages:
            c.lines.append(_("{tag}: active messages: {messages}").format(
                tag=tag, messages="; ".join(f"{m.kind} {m.code} ({m.priority})"
                                            for m in sample.messages)))
        c.lines.extend(heat_lines(c, sample, settings))
    for device, err in sorted(result.failures.items()):
        if err.reason == "replay_finished":
            continue
        until = (" " + _("until {time}").format(time=err.until.isoformat())
                 if err.until else "")
        line = f"{device}: {err.status} ({err.reason}){until}: {err.detail}"
        fix = fix_for(err.reason)
        if err.status == "down":
            c.fail(line, fix)
        else:
            c.warn(line, fix)
    if not reader.devices and c.verdict != "FAIL" and ACCOUNT not in result.failures:
        c.fail(_("no heat pump found"), fix_for("no_device"))
    if save_dump:
        if c.verdict == "FAIL":
            c.lines.append(_("dump not saved: fix the problem above first"))
        else:
            n = reader.save_dump(Path(save_dump))
            cost = (_("replayed, no API call") if settings.vicare_dump
                    else ngettext("{n} API call", "{n} API calls", len(reader.devices)).format(
                        n=len(reader.devices)))
            c.lines.append(_("saved a redacted dump ({n} features) to {path} ({cost})").format(
                n=n, path=save_dump, cost=cost))
    if reader.guard is not None:
        c.lines.append(_("API calls in the last 24 h now: {used} of {budget}").format(
            used=reader.guard.used_24h(reader.clock()), budget=budget))
    return c


def rod_lines(c: Check, sample: HeatPumpSample, settings: Settings) -> list[str]:
    """What the device reports of its heating rod and what the product makes of it (a
    warning when only its running time is reported and HEATPUMP_HEATING_ROD_KW is unset)."""
    tag = sample.device
    circuits = sorted({k.split(".")[1] for k in sample.counters
                       if k.startswith("heating_rod.")})
    if circuits:
        return [_("{tag}: heating rod: its own electricity counters ({circuits}); /jaz gives "
                  "the whole system's figure with it (docs/boundary.md)").format(
                      tag=tag, circuits=", ".join(circuits))]
    levels = [n for n in (1, 2) if f"heating_rod_runtime_level{n}_s" in sample.values]
    if not levels:
        return [_("{tag}: heating rod: the device reports none (if there is one, its "
                  "electricity is in no figure unless a meter sees it)").format(tag=tag)]
    if len(settings.heating_rod_kw) < len(levels):
        c.warn(_("{tag}: heating rod: the device reports only its running time per level "
                 "(levels {levels}); its electricity is not known").format(
                     tag=tag, levels=", ".join(map(str, levels))),
               _("set HEATPUMP_HEATING_ROD_KW to the rod's power per level (the type plate "
                 "or the installer's manual, e.g. 3,6); see docs/vicare.md, section 'The "
                 "backup heater (heating rod) and a secondary heat generator'"))
        return []
    powers = ", ".join(f"{kw:g} kW" for kw in settings.heating_rod_kw)
    return [_("{tag}: heating rod: running time per level × HEATPUMP_HEATING_ROD_KW "
              "({powers}): its electricity is an ESTIMATE").format(tag=tag, powers=powers)]


def heat_lines(c: Check, sample: HeatPumpSample, settings: Settings) -> list[str]:
    """The heat method, the rated output and its source, stale counters: lines, and
    warnings on `c` (with a hint that points at the documentation)."""
    from collector.accounting.heat import STALE_AFTER, HeatAccountant, choose_heat_method

    tag = sample.device
    choice = choose_heat_method(sample, settings.rated_heat_kw)
    lines: list[str] = []
    if choice.method is None:
        c.warn(_("{tag}: heat cannot be measured: {reason}").format(tag=tag,
                                                                    reason=choice.reason),
               _("set HEATPUMP_RATED_HEAT_KW for an estimate ({hint})").format(
                   hint=heat_methods_hint()))
    else:
        lines.append(_("{tag}: heat method {method}").format(tag=tag, method=choice.method)
                     + (" " + _("(ESTIMATE)") if choice.estimate else "")
                     + f": {choice.reason}")
        if choice.method != "counter":
            lines.append(_("{tag}: no heat counters, so heat is computed; what each method "
                           "is good for: {hint}").format(tag=tag, hint=heat_methods_hint()))
    cap = HeatAccountant(settings.rated_heat_kw, settings.vicare_poll_seconds).cap_kw(sample)
    if choice.rated is not None:
        lines.append(_("{tag}: {rated}; energy deltas above {cap} kW are rejected as "
                       "implausible").format(tag=tag, rated=choice.rated.describe(),
                                             cap=f"{cap:g}"))
    else:
        lines.append(_("{tag}: no rated output known (HEATPUMP_RATED_HEAT_KW unset); energy "
                       "deltas above {cap} kW are rejected as implausible").format(
                           tag=tag, cap=f"{cap:g}"))
    lines += rod_lines(c, sample, settings)
    stale: dict[str, datetime] = {}
    for key, when in sample.counters_read_at.items():
        if sample.time - when > STALE_AFTER:
            family = key.rsplit(".", 1)[0]
            stale[family] = min(when, stale.get(family, when))
    for family, when in sorted(stale.items()):
        c.warn(_("{tag}: the device has not updated its {family} counters since {time} UTC; "
                 "nothing is booked from them until it does").format(
                     tag=tag, family=family, time=f"{when.astimezone(UTC):%Y-%m-%d %H:%M}"),
               _("check the heat pump's energy display in the ViCare app; see {path}, "
                 "section '{heading}'").format(path=COUNTERS_DOC[0], heading=COUNTERS_DOC[1]))
    return lines
