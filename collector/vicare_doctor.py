"""`heatpump doctor`'s Viessmann section: devices, their fields and heat method, the quota.

Uses the collector's own ViCareSource, so every call goes through the same guard and is
counted in the same ledger (`<data dir>/vicare_api_calls.jsonl`) as the collector's. A
poll made here is written to the store like the collector's, so heat accounting, which
continues from the last sample, loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from collector.doctor import Check
from heatpump.schema import HEATPUMP
from heatpump.settings import Settings

# reason -> next step (the reasons are those of the `health` measurement)
FIXES: dict[str, str] = {
    "login_failed": "check VICARE_USERNAME, VICARE_PASSWORD and VICARE_CLIENT_ID; the "
                    "developer-portal client must have redirect URI "
                    "vicare://oauth-callback/everest (README: Set up your system)",
    "rate_limited": "the account hit its daily API limit; wait until the time shown, and "
                    "keep VICARE_POLL_SECONDS at 300 or more",
    "quota_exhausted": "this installation used its VICARE_DAILY_BUDGET; wait until the "
                       "time shown or raise the budget (the free tier allows 1450 per 24 h)",
    "login_spacing": "logins are spaced out after failures; wait until the time shown",
    "device_offline": "the heat pump is not connected to the Viessmann cloud: check its "
                      "internet connection in the ViCare app",
    "gateway_offline": "the Vitoconnect/gateway is offline: check its power and Wi-Fi",
    "server_error": "the Viessmann cloud has a problem; try again later",
    "unreachable": "this machine cannot reach api.viessmann.com: check internet and DNS",
    "auth_failed": "your API client may not read this device (PACKAGE_NOT_PAID_FOR)",
    "no_device": "set VICARE_DEVICE to one of the devices listed, or unset it",
    "bad_response": "unexpected answer; run `heatpump doctor --save-dump dump.json` and "
                    "attach the file to a bug report",
}


def check_vicare(settings: Settings, now: datetime, save_dump: str | None = None) -> Check:
    from collector.sink import DurableSink
    from collector.spool import Spool
    from collector.vicare.source import ViCareSource
    from heatpump.store import open_store

    c = Check("Viessmann" + (" (replay of VICARE_DUMP)" if settings.vicare_dump else ""))
    source = ViCareSource(settings)
    budget = settings.vicare_daily_budget
    used = source.guard.used_24h(now)
    c.lines.append(f"API calls in the last 24 h: {used} of {budget} (shared with the "
                   "collector)")
    result = source.poll()
    store = open_store(settings)
    sink = DurableSink(store, Spool(settings.data_dir / "spool",
                                    int(settings.spool_max_mb * 1e6)), lambda: 0.0)
    sink.write(result.points)  # keeps heat accounting continuous; spooled if store is down
    sink.close()
    for d in source.devices:
        c.lines.append(f"device {d.tag}: {d.config.device_model} ({d.config.device_type})")
    samples = {s.device: s for s in result.samples}
    if not samples and source.devices:
        c.lines.append("no fresh poll (the collector polled moments ago); fields below are "
                       "from its last sample")
    methods = source.heat_methods()
    known = {f.name for f in HEATPUMP.fields}
    for tag, choice in sorted(methods.items()):
        sample = samples.get(tag) or source._last.get(tag)
        if sample is None:
            continue
        fields = sorted(k for k in sample.values if k in known)
        c.lines.append(f"{tag}: {len(fields)} fields: {', '.join(fields)}")
        if sample.counters:
            kinds = sorted({k.rsplit('.', 1)[0] for k in sample.counters})
            c.lines.append(f"{tag}: energy counters: {', '.join(kinds)}")
        if sample.messages:
            c.lines.append(f"{tag}: active messages: " + "; ".join(
                f"{m.kind} {m.code} ({m.priority})" for m in sample.messages))
        if choice.method is None:
            c.warn(f"{tag}: heat cannot be measured: {choice.reason}",
                   "set HEATPUMP_RATED_HEAT_KW for an estimate (see docs/heat.md)")
        else:
            c.lines.append(f"{tag}: heat method {choice.method}"
                           + (" (estimate)" if choice.estimate else "") + f": {choice.reason}")
    for e in result.health:
        if e.status == "down" or (e.status == "degraded" and e.reason != "replay_finished"):
            until = f" until {e.until.isoformat()}" if e.until else ""
            line = f"{e.device}: {e.status} ({e.reason}){until}: {e.detail}"
            fix = FIXES.get(e.reason, FIXES["bad_response"])
            if e.status == "down":
                c.fail(line, fix)
            else:
                c.warn(line, fix)
    if not source.devices and c.verdict != "FAIL":
        c.fail("no heat pump found", FIXES["no_device"])
    if save_dump:
        if c.verdict == "FAIL":
            c.lines.append("dump not saved: fix the problem above first")
        else:
            n = source.save_dump(Path(save_dump))
            cost = ("replayed, no API call" if settings.vicare_dump
                    else f"{len(source.devices)} API call(s)")
            c.lines.append(f"saved a redacted dump ({n} features) to {save_dump} ({cost})")
    c.lines.append(f"API calls in the last 24 h now: {source.guard.used_24h(source.clock())}"
                   f" of {budget}")
    return c
