"""The newest stored point of a series, rebuilt from `Store.latest`.

`Store.latest` answers each field's newest value with its own time; the fields written at
the time of the newest `anchor` value belong to the same point. The collector resumes its
accounting from such points and the bot reads the last poll of a device this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from heatpump.store.base import Latest, Point


class LatestReader(Protocol):
    def latest(self, measurement: str, fields: Sequence[str] | None = None,
               tags: Mapping[str, str] | None = None,
               since: datetime | None = None) -> dict[str, Latest]: ...


def latest_point(store: LatestReader, measurement: str, tags: Mapping[str, str],
                 fields: Sequence[str] | None = None, anchor: str | None = None,
                 since: datetime | None = None) -> Point | None:
    """The newest point of `measurement` matching `tags` (only `fields`, all when None):
    the time of the newest `anchor` value (of any field when None) and every field written
    at that time. None when nothing is stored (at or after `since`, when given: the read is
    then bounded by it, see `Store.latest`). Raises StoreError like `Store.latest`."""
    names = list(fields) if fields is not None else None
    latest = (store.latest(measurement, names, tags) if since is None
              else store.latest(measurement, names, tags, since=since))
    if anchor is not None:
        if anchor not in latest:
            return None
        when = latest[anchor].time
    elif latest:
        when = max(v.time for v in latest.values())
    else:
        return None
    at = {k: v for k, v in latest.items() if v.time == when}
    point_tags = dict(next(iter(at.values())).tags) if at else dict(tags)
    return Point(measurement, when, {k: v.value for k, v in at.items()}, point_tags)
