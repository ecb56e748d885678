"""Small stores with exact numbers for the owner's replies (/export, /cost, /compare,
/changes, /report): each hour written as one meter interval, one heat interval and one
heat pump poll in its middle, so every expected value can be worked out by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from heatpump.store.base import Point, Store

METER = "shellyplus1pm-0001"
PUMP = "7571381681420106"


def hour(t: datetime, elec_wh: float | None, heat_wh: float | None,
         outdoor_c: float | None = None, flow_c: float | None = None,
         running_s: float = 0.0, starts: int = 0, method: str = "counter") -> list[Point]:
    """The points of the hour starting at `t` (UTC); None leaves that side out (a gap)."""
    mid = t + timedelta(minutes=30)
    out = []
    if elec_wh is not None:
        out.append(Point("electricity", mid, {"energy_wh": elec_wh, "duration_s": 3600.0,
                                              "running_s": running_s, "starts": starts,
                                              "running_wh": elec_wh if running_s else 0.0},
                         {"device": METER, "source": "meter", "circuit": "total"}))
    if heat_wh is not None:
        out.append(Point("heat", mid, {"energy_wh": heat_wh, "duration_s": 3600.0,
                                       "estimate": method in ("modulation", "runtime")},
                         {"device": PUMP, "method": method, "circuit": "total"}))
    fields: dict[str, float] = {}
    if outdoor_c is not None:
        fields["outside_temp_c"] = outdoor_c
    if flow_c is not None:
        fields["supply_temp_c"] = flow_c
    if fields:
        out.append(Point("heatpump", mid, fields, {"device": PUMP}))
    return out


def write_hours(store: Store, start: datetime, hours: list[tuple], **kw) -> None:
    """`hours[i]` = the arguments of `hour` after its time, for the hour start + i h."""
    pts: list[Point] = []
    for i, args in enumerate(hours):
        pts += hour(start + timedelta(hours=i), *args, **kw)
    store.write(pts)
    store.flush()


def write_days(store: Store, first: datetime, days: list[tuple[float, float, float]],
               tz_hours: int = 24) -> None:
    """Whole days from `first` (a local midnight, UTC): each (electricity kWh, heat kWh,
    outdoor °C) spread evenly over its 24 hours."""
    pts: list[Point] = []
    for d, (elec_kwh, heat_kwh, outdoor) in enumerate(days):
        for h in range(tz_hours):
            t = first + timedelta(days=d, hours=h)
            pts += hour(t, elec_kwh * 1000 / tz_hours, heat_kwh * 1000 / tz_hours, outdoor)
    store.write(pts)
    store.flush()
