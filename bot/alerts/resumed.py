"""When data really came back after a gap: the first stored sample after it.

The stale rule sees only each source's newest sample, and a check runs every
ALERT_CHECK_MINUTES, so the check that finds the data back can be minutes after the data
itself came back (a meter that answered again at 10:15 was reported back at 10:30). Before
each check, every active "no data" alert whose source has delivered since its last sample
before the gap gets that first new sample's time in its facts (`back`), which the recovery
message gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from heatpump.store.base import Store

STALE_SOURCES = ("meter", "heatpump")  # the stale rule's `source`: the measurement it reads


def note_resumed(store: Store, state: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """`state` with `back` (ISO 8601 UTC) in the facts of each active stale alert whose
    source stored a sample after the alert's `last` one (the newest before the gap) and at
    or before `now`. One store read (one point) per such alert, once: `back` stays once
    found, until the alert resolves or is raised again."""
    new = dict(state)
    alerts = {k: dict(r) for k, r in state.get("alerts", {}).items()}
    for rec in alerts.values():
        facts = dict(rec.get("facts") or {})
        if (rec.get("kind") != "stale" or rec.get("status") != "active" or facts.get("back")
                or facts.get("source") not in STALE_SOURCES):
            continue
        try:
            last = datetime.fromisoformat(str(facts["last"]))
        except (KeyError, ValueError):
            continue
        first = store.points(facts["source"], last + timedelta(milliseconds=1),
                             now + timedelta(milliseconds=1),
                             {"device": str(facts.get("device", ""))}, limit=1)
        if first:
            facts["back"] = first[0].time.isoformat()
            rec["facts"] = facts
    new["alerts"] = alerts
    return new
