"""When data really came back after a gap: the first stored sample after it.

The stale rule sees only each source's newest sample, and a check runs every
ALERT_CHECK_MINUTES, so the check that finds the data back can be minutes after the data
itself came back (a meter that answered again at 10:15 was reported back at 10:30). Before
each check, every active "no data" alert whose source has delivered since its last sample
before the gap gets that first new sample's time in its facts (`back`), which the recovery
message gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot import store_reads
from bot.alert_data import SourceSeen
from heatpump.store.base import Store

STALE_SOURCES = ("meter", "heatpump")  # the stale rule's `source`: the measurement it reads


def note_resumed(store: Store, state: Mapping[str, Any], now: datetime,
                 seen: Iterable[SourceSeen]) -> dict[str, Any]:
    """`state` with `back` (ISO 8601 UTC) in the facts of each active stale alert whose
    source stored a sample after the alert's `last` one (the newest before the gap) and at
    or before `now`. `seen` (the snapshot's sources) says which sources have a newer sample
    at all, so a source still silent costs no read; one that came back costs one read of
    one point, once: `back` stays until the alert resolves or is raised again."""
    newest = {(s.source, s.device): s.last_time for s in seen}
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
        latest = newest.get((facts["source"], str(facts.get("device", ""))))
        if latest is None or latest <= last:
            continue  # still silent
        first = store_reads.first_point_after(store, facts["source"],
                                              str(facts.get("device", "")), last, now)
        if first is not None:
            facts["back"] = first.time.isoformat()
            rec["facts"] = facts
    new["alerts"] = alerts
    return new
