"""JAZ and COP from stored energy: pure functions over the hourly sums the store returns.

The pairing rule (documented in docs/bot.md): heat and electricity are compared hour by
hour. An hour *counts* when

* the meter's measured electricity covers between `COVER_MIN` and `COVER_MAX` of the hour
  (every meter device seen in the period, when there are several), and
* the heat intervals of the best heat method in that hour cover between `COVER_MIN` and
  `COVER_MAX` of it (the same bounds: more means an interval that bridged a gap landed
  here and carries heat from hours whose electricity is not paired with it), and
* neither side is negative (a counter that went backwards is a fault, not energy).

Bridged meter energy (`bridged_wh`/`bridged_s`: a gap across an hour boundary, spread
evenly over its minutes by the collector) is real energy but not known hour by hour: it
is left out of the pairing, its seconds do not count as coverage. Periods paired by whole
days use the tighter `DAY_COVER_MIN`/`DAY_COVER_MAX` on both sides.

JAZ/COP is the sum of heat over the counted hours divided by the sum of the meter's
electricity over the same hours; the coverage is the counted hours over the elapsed hours of
the period. Nothing is interpolated: an hour with a gap on either side is left out of both
sides, so a gap lowers the coverage, never the figure.

The running COP (`Performance.running_cop`) is named after heatpumpmonitor.org's "running"
COP: heat over the electricity drawn while the compressor ran (`running_wh`: intervals with
the meter's power above HEATPUMP_RUNNING_W), over the counted hours in which it ran, so
standby consumption is left out. Unlike heatpumpmonitor.org, which also takes the heat of
those intervals only, the heat here is the whole hour's (the heat pump's counters are read
every 5 minutes): heat made just after the compressor stopped still counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from heatpump.boundary import HEATING_ROD, is_heat_pump_role, role_loads
from heatpump.i18n import _
from heatpump.schema import ESTIMATED_HEAT_METHODS, HEAT_METHODS, METER_ROLE_TAG
from heatpump.store.base import BucketSum

# Each side must cover an hour within 10 %: one missed 5-minute heat pump poll at an hour
# boundary moves 5 of its minutes into the next hour (0.92 + 1.08, both counted, so the
# sum stays right); a longer interval landing in one hour is left out with its neighbour.
COVER_MIN = 0.9
COVER_MAX = 1.1
# Long periods are paired by whole local days first; a day counts whole only when both
# sides cover it within 1 %, otherwise its hours are paired one by one.
DAY_COVER_MIN = 0.99
DAY_COVER_MAX = 1.01
SPLIT_CIRCUITS = ("heating", "dhw", "cooling")  # the heat split /jaz shows, in this order



def method_label(method: str) -> str:
    """How a heat method (the `method` tag of stored heat) got its figure, in the current
    language; an unknown method is shown as it is stored."""
    labels = {
        "counter": _("measured by the heat pump's heat counter"),
        "flow": _("computed from flow rate and supply/return temperatures"),
        "modulation": _("ESTIMATED from compressor modulation and rated output"),
        "runtime": _("ESTIMATED from compressor runtime and rated output"),
    }
    return labels.get(method, method)


def circuit_label(circuit: str) -> str:
    """What a person calls a circuit (the `circuit` tag), in the current language."""
    labels = {"total": _("total"), "heating": _("heating"), "dhw": _("hot water"),
              "cooling": _("cooling")}
    return labels.get(circuit, circuit)


@dataclass(frozen=True, slots=True)
class HourPair:
    """One hour (local calendar hour, UTC instants) with both sides of the ratio."""

    start: datetime
    end: datetime
    elec_wh: float | None  # measured meter electricity (sum over devices), bridged left out
    elec_cover: float  # fraction of the hour the meter measured (min over devices)
    heat_wh: float | None  # heat of the best method in this hour
    heat_cover: float
    method: str | None
    heat_by_circuit: Mapping[str, float] = field(default_factory=dict)
    device_elec_wh: float | None = None  # the heat pump's own electricity figure
    device_elec_by_circuit: Mapping[str, float] = field(default_factory=dict)
    running_s: float = 0.0
    starts: float = 0.0
    cover_min: float = COVER_MIN  # DAY_COVER_MIN for whole-day buckets
    cover_max: float = COVER_MAX  # DAY_COVER_MAX for whole-day buckets
    elec_bridged_wh: float = 0.0  # meter energy of gaps across hours, spread (not paired)
    running_wh: float | None = None  # measured electricity while the compressor ran
    elec_estimated_wh: float = 0.0  # measured electricity integrated from power (no counter)
    # the heating rod as the heat pump reports it (electricity source=heating_rod)
    rod_wh: float | None = None  # its electricity in the hour (None: none reported)
    rod_cover: float = 0.0  # fraction of the hour its intervals cover (min over devices)
    rod_by_circuit: Mapping[str, float] = field(default_factory=dict)
    rod_estimated_wh: float = 0.0  # of rod_wh: runtime × HEATPUMP_HEATING_ROD_KW
    rod_running_s: float = 0.0  # its running time by its runtime counters
    rod_unknown_s: float = 0.0  # running time whose energy is not known (no power set)
    # several meters with roles (heatpump/boundary.py): `elec_*` above are the heat pump's
    # meters; the others (a rod meter, a pumps meter) are only for the whole system's figure
    meter_roles: frozenset[str] = frozenset()  # the roles of every meter in the pairing
    extra_wh: float | None = None  # measured electricity of the other meters in the hour
    extra_rod_wh: float = 0.0  # of it, the meters that see the heating rod
    extra_cover: float = 0.0  # fraction of the hour they measured (min over them)

    @property
    def has_extra_meters(self) -> bool:
        return any(not is_heat_pump_role(r) for r in self.meter_roles)

    @property
    def extra_counted(self) -> bool:
        """Every meter beyond the heat pump's covers the hour (true when there are none):
        the system figure counts an hour only when each of its meters has it."""
        if not self.has_extra_meters:
            return True
        return (self.extra_wh is not None and self.extra_wh >= 0
                and self.cover_min <= self.extra_cover <= self.cover_max)

    @property
    def rod_counted(self) -> bool:
        """The hour counts AND the rod's figure covers it (the system figure's hours)."""
        return (self.counted and self.rod_wh is not None and self.rod_wh >= 0
                and self.rod_unknown_s == 0
                and self.cover_min <= self.rod_cover <= self.cover_max)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def counted(self) -> bool:
        return (self.elec_wh is not None and self.heat_wh is not None
                and self.elec_wh >= 0 and self.heat_wh >= 0
                and self.cover_min <= self.elec_cover <= self.cover_max
                and self.cover_min <= self.heat_cover <= self.cover_max)

    @property
    def elec_total_wh(self) -> float | None:
        """All the meter's energy of the hour, bridged included (totals, energy charts)."""
        if self.elec_wh is None and not self.elec_bridged_wh:
            return None
        return (self.elec_wh or 0.0) + self.elec_bridged_wh


def _key(row: BucketSum) -> tuple[datetime, datetime]:
    return row.start, row.end


def pair_hours(electricity: Iterable[BucketSum], heat: Iterable[BucketSum],
               cover_min: float = COVER_MIN, cover_max: float = COVER_MAX) -> list[HourPair]:
    """Join hourly electricity rows (grouped by source, device, circuit) with heat rows
    (grouped by device, method, circuit) into one `HourPair` per hour seen on either side."""
    elec_rows = list(electricity)
    heat_rows = list(heat)
    roles = {r.tags.get("device", ""): r.tags.get(METER_ROLE_TAG, "") or "heatpump"
             for r in elec_rows if r.tags.get("source") == "meter"}
    heat_devices = {r.tags.get("device", "") for r in heat_rows}
    by_hour_e: dict[tuple[datetime, datetime], list[BucketSum]] = defaultdict(list)
    by_hour_h: dict[tuple[datetime, datetime], list[BucketSum]] = defaultdict(list)
    for r in elec_rows:
        by_hour_e[_key(r)].append(r)
    for r in heat_rows:
        by_hour_h[_key(r)].append(r)
    out = []
    for key in sorted(set(by_hour_e) | set(by_hour_h)):
        out.append(_pair_one(key, by_hour_e.get(key, []), by_hour_h.get(key, []),
                             roles, heat_devices, cover_min, cover_max))
    return out


def _pair_one(key: tuple[datetime, datetime], erows: list[BucketSum], hrows: list[BucketSum],
              roles: Mapping[str, str], heat_devices: set[str], cover_min: float,
              cover_max: float) -> HourPair:
    start, end = key
    secs = (end - start).total_seconds()
    # meter side: measured energy and coverage, bridged gaps left out; the heat pump's
    # meters make its figure, the others (rod, pumps) are kept apart for the system's
    hp_meters = {d for d, role in roles.items() if is_heat_pump_role(role)}
    elec_wh: float | None = None
    bridged_wh = estimated_wh = 0.0
    running_wh: float | None = None
    covers: dict[str, float] = dict.fromkeys(hp_meters, 0.0)
    extra_covers: dict[str, float] = dict.fromkeys(set(roles) - hp_meters, 0.0)
    extra_wh: float | None = None
    extra_rod_wh = 0.0
    running_s = starts = 0.0
    device_total: float | None = None
    device_circuits: dict[str, float] = {}
    rod_rows: list[BucketSum] = []
    for r in erows:
        v = r.values
        if r.tags.get("source") == "meter" and r.tags.get("device", "") not in hp_meters:
            dev = r.tags.get("device", "")
            measured_s = float(v.get("duration_s", 0.0)) - float(v.get("bridged_s", 0.0))
            if "energy_wh" in v and (measured_s > 0 or "duration_s" not in v):
                wh = float(v["energy_wh"]) - float(v.get("bridged_wh", 0.0))
                extra_wh = (extra_wh or 0.0) + wh
                if HEATING_ROD in role_loads(roles.get(dev, "")):
                    extra_rod_wh += wh
            extra_covers[dev] = extra_covers.get(dev, 0.0) + max(measured_s, 0.0) / secs
        elif r.tags.get("source") == "meter":
            dev = r.tags.get("device", "")
            bridged = float(v.get("bridged_wh", 0.0))
            measured_s = float(v.get("duration_s", 0.0)) - float(v.get("bridged_s", 0.0))
            bridged_wh += bridged
            if "energy_wh" in v and (measured_s > 0 or "duration_s" not in v):
                elec_wh = (elec_wh or 0.0) + float(v.get("energy_wh", 0.0)) - bridged
            covers[dev] = covers.get(dev, 0.0) + max(measured_s, 0.0) / secs
            if "running_wh" in v:
                running_wh = (running_wh or 0.0) + float(v["running_wh"])
            estimated_wh += float(v.get("estimated_wh", 0.0))
            running_s += float(v.get("running_s", 0.0))
            starts += float(v.get("starts", 0.0))
        elif r.tags.get("source") == "heating_rod":
            rod_rows.append(r)
        elif r.tags.get("source") == "heatpump" and "energy_wh" in v:
            circuit = r.tags.get("circuit", "total") or "total"
            if circuit == "total":
                device_total = (device_total or 0.0) + float(v["energy_wh"])
            else:
                device_circuits[circuit] = device_circuits.get(circuit, 0.0) + float(v["energy_wh"])
    if device_total is None and device_circuits:
        device_total = sum(device_circuits.values())
    # heat side: per device the best method present, then total or the sum of the circuits
    heat_wh: float | None = None
    heat_covers: dict[str, float] = dict.fromkeys(heat_devices, 0.0)
    methods: set[str] = set()
    by_circuit: dict[str, float] = {}
    per_dev: dict[str, list[BucketSum]] = defaultdict(list)
    for r in hrows:
        per_dev[r.tags.get("device", "")].append(r)
    for dev, rows in per_dev.items():
        present = {r.tags.get("method", "") for r in rows}
        best = next((m for m in HEAT_METHODS if m in present), sorted(present)[0])
        rows = [r for r in rows if r.tags.get("method", "") == best]
        methods.add(best)
        total = [r for r in rows if (r.tags.get("circuit") or "total") == "total"]
        split = [r for r in rows if (r.tags.get("circuit") or "total") != "total"]
        for r in split:
            c = r.tags["circuit"]
            by_circuit[c] = by_circuit.get(c, 0.0) + float(r.values.get("energy_wh", 0.0))
        used = total or split
        wh = sum(float(r.values.get("energy_wh", 0.0)) for r in used)
        cover = max(float(r.values.get("duration_s", 0.0)) for r in used) / secs
        heat_wh = (heat_wh or 0.0) + wh
        heat_covers[dev] = cover
    method = methods.pop() if len(methods) == 1 else ("mixed" if methods else None)
    rod = _rod_side(rod_rows, secs)
    return HourPair(
        start=start, end=end, elec_wh=elec_wh,
        elec_cover=min(covers.values()) if covers else 0.0,
        heat_wh=heat_wh, heat_cover=min(heat_covers.values()) if heat_covers else 0.0,
        method=method, heat_by_circuit=by_circuit, device_elec_wh=device_total,
        device_elec_by_circuit=device_circuits, running_s=running_s, starts=starts,
        cover_min=cover_min, cover_max=cover_max, elec_bridged_wh=bridged_wh,
        running_wh=running_wh, elec_estimated_wh=estimated_wh,
        meter_roles=frozenset(roles.values()), extra_wh=extra_wh, extra_rod_wh=extra_rod_wh,
        extra_cover=min(extra_covers.values()) if extra_covers else 0.0, **rod)


def _rod_side(rows: list[BucketSum], secs: float) -> dict:
    """The heating rod's rows of one hour (per device: its total, else the sum of its
    circuits) as HourPair fields."""
    if not rows:
        return {}
    per_dev: dict[str, list[BucketSum]] = defaultdict(list)
    for r in rows:
        per_dev[r.tags.get("device", "")].append(r)
    wh: float | None = None
    covers, by_circuit = [], {}
    estimated = running = unknown = 0.0
    for dev_rows in per_dev.values():
        total = [r for r in dev_rows if (r.tags.get("circuit") or "total") == "total"]
        split = [r for r in dev_rows if (r.tags.get("circuit") or "total") != "total"]
        for r in split:
            if "energy_wh" in r.values:
                c = r.tags["circuit"]
                by_circuit[c] = by_circuit.get(c, 0.0) + float(r.values["energy_wh"])
        used = total or split
        for r in used:
            v = r.values
            if "energy_wh" in v:
                wh = (wh or 0.0) + float(v["energy_wh"])
                estimated += float(v.get("estimated_wh", 0.0))
            elif float(v.get("running_s", 0.0)) > 0:
                unknown += float(v["running_s"])
            running += float(v.get("running_s", 0.0))
        covers.append(max(float(r.values.get("duration_s", 0.0)) for r in used) / secs)
    return {"rod_wh": wh, "rod_cover": min(covers), "rod_by_circuit": by_circuit,
            "rod_estimated_wh": estimated, "rod_running_s": running, "rod_unknown_s": unknown}


def merge_days_and_hours(days: Sequence[HourPair],
                         hours_of: Callable[[list[tuple[datetime, datetime]]], list[HourPair]],
                         ) -> list[HourPair]:
    """Keep the days that count whole; pair the other days (gaps, partial) hour by hour.

    `hours_of` fetches hour pairs for a list of [start, end) spans of such days."""
    keep = [d for d in days if d.counted]
    redo = [(d.start, d.end) for d in days if not d.counted]
    spans: list[tuple[datetime, datetime]] = []
    for a, b in redo:  # contiguous days become one span (one query)
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return sorted(keep + hours_of(spans), key=lambda p: p.start)


@dataclass(frozen=True, slots=True)
class Performance:
    """Heat over electricity for a period, with what it rests on."""

    start: datetime
    end: datetime  # end of the elapsed part (complete hours)
    hours_elapsed: float
    hours_counted: float
    heat_wh: float
    elec_wh: float
    heat_by_circuit: Mapping[str, float]
    heat_by_method: Mapping[str, float]
    device_elec_wh: float | None  # over counted hours where the device reported its own
    meter_wh_same_hours: float | None  # the meter over those same hours
    device_elec_by_circuit: Mapping[str, float]
    elec_wh_all: float  # meter energy over every hour of the period (counted or not)
    heat_wh_all: float
    running_heat_wh: float  # heat of the counted hours in which the compressor ran
    running_elec_wh: float  # the electricity drawn while it ran in those hours
    running_hours: float  # compressor running time in those hours
    elec_estimated_wh: float = 0.0  # of elec_wh: integrated from power (no energy counter)
    elec_bridged_wh: float = 0.0  # meter energy of bridged gaps in the period (not paired)
    # the heating rod (source=heating_rod) over the counted hours its figure covers: the
    # whole system's figure is (sys_heat_wh + rod_wh) over (sys_meter_wh + rod_wh) when the
    # meter does not see the rod (heatpump/boundary.py)
    rod_hours: float = 0.0
    rod_wh: float = 0.0
    sys_heat_wh: float = 0.0  # the heat pump's heat over those hours
    sys_meter_wh: float = 0.0  # the meter over those hours
    rod_by_circuit: Mapping[str, float] = field(default_factory=dict)
    rod_estimated_wh: float = 0.0
    rod_wh_all: float | None = None  # over every hour of the period (None: never reported)
    rod_running_s: float = 0.0  # every hour of the period
    rod_unknown_s: float = 0.0  # running time whose energy is not known
    # several meters (heatpump/boundary.py): their roles, and over the system figure's hours
    # (`rod_hours`) the other meters' electricity; the rod's figure comes from a rod meter
    # ("meter") or else from the device ("device"), never both ("": none)
    meter_roles: frozenset[str] = frozenset()
    sys_extra_wh: float = 0.0
    rod_source: str = ""

    @property
    def ratio(self) -> float | None:
        return self.heat_wh / self.elec_wh if self.elec_wh > 0 and self.hours_counted else None

    @property
    def coverage(self) -> float:
        return self.hours_counted / self.hours_elapsed if self.hours_elapsed > 0 else 0.0

    @property
    def running_cop(self) -> float | None:
        """heatpumpmonitor.org's running COP (see the module docstring)."""
        return self.running_heat_wh / self.running_elec_wh if self.running_elec_wh > 0 else None

    @property
    def estimated_elec_share(self) -> float:
        """Share of the counted electricity integrated from power (a meter without an energy
        counter): an estimate."""
        return self.elec_estimated_wh / self.elec_wh if self.elec_wh > 0 else 0.0

    @property
    def estimated_share(self) -> float:
        """Share of the counted heat that comes from an estimated method."""
        if self.heat_wh <= 0:
            return 0.0
        est = sum(wh for m, wh in self.heat_by_method.items() if m in ESTIMATED_HEAT_METHODS)
        return est / self.heat_wh

    def circuit_ratio(self, circuit: str) -> float | None:
        """Heat of one circuit over the device's own electricity for it, when both exist."""
        e = self.device_elec_by_circuit.get(circuit)
        h = self.heat_by_circuit.get(circuit)
        return h / e if e and h is not None and e > 0 else None


def performance(pairs: Sequence[HourPair], start: datetime, end: datetime) -> Performance:
    """Sum the counted hours of [start, end) (end: the end of the last complete hour)."""
    hours_elapsed = max(0.0, (end - start).total_seconds() / 3600)
    inside = [p for p in pairs if p.start >= start and p.end <= end]
    counted = [p for p in inside if p.counted]
    heat_by_circuit: dict[str, float] = defaultdict(float)
    heat_by_method: dict[str, float] = defaultdict(float)
    dev_circ: dict[str, float] = defaultdict(float)
    dev_wh = meter_same = 0.0
    dev_hours = 0
    r_heat = r_elec = r_hours = 0.0
    for p in counted:
        for c, wh in p.heat_by_circuit.items():
            heat_by_circuit[c] += wh
        heat_by_method[p.method or "?"] += p.heat_wh or 0.0
        if p.device_elec_wh is not None:
            dev_wh += p.device_elec_wh
            meter_same += p.elec_wh or 0.0
            dev_hours += 1
            for c, wh in p.device_elec_by_circuit.items():
                dev_circ[c] += wh
        if p.running_s > 0 and p.running_wh is not None:
            r_heat += p.heat_wh or 0.0
            r_elec += p.running_wh
            r_hours += p.running_s / 3600
    return Performance(
        start=start, end=end, hours_elapsed=hours_elapsed,
        hours_counted=sum(p.hours for p in counted),
        heat_wh=sum(p.heat_wh or 0.0 for p in counted),
        elec_wh=sum(p.elec_wh or 0.0 for p in counted),
        heat_by_circuit=dict(heat_by_circuit), heat_by_method=dict(heat_by_method),
        device_elec_wh=dev_wh if dev_hours else None,
        meter_wh_same_hours=meter_same if dev_hours else None,
        device_elec_by_circuit=dict(dev_circ),
        elec_wh_all=sum(p.elec_total_wh or 0.0 for p in inside
                        if (p.elec_total_wh or 0.0) > 0),
        heat_wh_all=sum(p.heat_wh or 0.0 for p in inside if (p.heat_wh or 0.0) > 0),
        running_heat_wh=r_heat, running_elec_wh=r_elec, running_hours=r_hours,
        elec_estimated_wh=sum(p.elec_estimated_wh for p in counted),
        elec_bridged_wh=sum(p.elec_bridged_wh for p in inside),
        **_rod_totals(inside))


def _rod_totals(inside: Sequence[HourPair]) -> dict:
    """The whole system's and the rod's Performance fields over the hours of a period.

    The system figure's hours are the counted hours in which every other meter (rod,
    pumps) has its data too and, when the rod's figure is the device's, that figure covers
    the hour. A rod meter's electricity is the rod's figure; the device's rod counters are
    then not used (never both)."""
    roles = frozenset().union(*(p.meter_roles for p in inside))
    extra = any(not is_heat_pump_role(r) for r in roles)
    rod_metered = any(HEATING_ROD in role_loads(r) for r in roles if not is_heat_pump_role(r))
    device_rod = not rod_metered and any(p.rod_counted for p in inside)
    rod = ([p for p in inside if p.counted and p.extra_counted
            and (p.rod_counted or not device_rod)] if extra or device_rod else [])
    by_circuit: dict[str, float] = defaultdict(float)
    if device_rod:
        for p in rod:
            for c, wh in p.rod_by_circuit.items():
                by_circuit[c] += wh
    reported = [p.rod_wh for p in inside if p.rod_wh is not None]
    return {"rod_hours": sum(p.hours for p in rod),
            "rod_wh": sum((p.rod_wh or 0.0) if device_rod else p.extra_rod_wh for p in rod),
            "sys_heat_wh": sum(p.heat_wh or 0.0 for p in rod),
            "sys_meter_wh": sum(p.elec_wh or 0.0 for p in rod),
            "sys_extra_wh": sum(p.extra_wh or 0.0 for p in rod),
            "meter_roles": roles,
            "rod_source": "meter" if rod_metered else "device" if device_rod else "",
            "rod_by_circuit": dict(by_circuit),
            "rod_estimated_wh": sum(p.rod_estimated_wh for p in rod) if device_rod else 0.0,
            "rod_wh_all": sum(reported) if reported else None,
            "rod_running_s": sum(p.rod_running_s for p in inside),
            "rod_unknown_s": sum(p.rod_unknown_s for p in inside)}


@dataclass(frozen=True, slots=True)
class DayStat:
    """One local day: energy, COP, compressor cycling and the mean outdoor temperature."""

    day: date
    elec_wh: float  # counted hours only
    heat_wh: float
    hours_counted: float
    hours: float  # 23, 24 or 25
    running_s: float  # every hour with meter data
    starts: float
    outdoor_c: float | None = None
    # the heating rod over every hour of the day (None: the heat pump reported none)
    rod_wh: float | None = None
    rod_heating_wh: float | None = None  # of it, for the heating circuit (where split)
    rod_running_s: float = 0.0
    rod_estimated: bool = False  # from running time × HEATPUMP_HEATING_ROD_KW

    @property
    def cop(self) -> float | None:
        return self.heat_wh / self.elec_wh if self.elec_wh > 0 else None

    @property
    def coverage(self) -> float:
        return self.hours_counted / self.hours if self.hours else 0.0


def daily_stats(pairs: Sequence[HourPair], tz: ZoneInfo,
                outdoor_c: Mapping[date, float] | None = None) -> list[DayStat]:
    """Group hour pairs by local day (23- and 25-hour DST days included)."""
    days: dict[date, list[HourPair]] = defaultdict(list)
    for p in pairs:
        days[p.start.astimezone(tz).date()].append(p)
    out = []
    for d in sorted(days):
        ps = days[d]
        counted = [p for p in ps if p.counted]
        local0 = datetime(d.year, d.month, d.day, tzinfo=tz)
        nxt = d + timedelta(days=1)
        local1 = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
        hours = (local1.timestamp() - local0.timestamp()) / 3600
        out.append(DayStat(
            day=d, elec_wh=sum(p.elec_wh or 0.0 for p in counted),
            heat_wh=sum(p.heat_wh or 0.0 for p in counted),
            hours_counted=sum(p.hours for p in counted), hours=hours,
            running_s=sum(p.running_s for p in ps), starts=sum(p.starts for p in ps),
            outdoor_c=(outdoor_c or {}).get(d), **_rod_day(ps)))
    return out


def _rod_day(ps: Sequence[HourPair]) -> dict:
    """The rod's DayStat fields over the hours of one day."""
    rod = [p.rod_wh for p in ps if p.rod_wh is not None]
    heating = [p.rod_by_circuit["heating"] for p in ps if "heating" in p.rod_by_circuit]
    return {"rod_wh": sum(rod) if rod else None,
            "rod_heating_wh": sum(heating) if heating else None,
            "rod_running_s": sum(p.rod_running_s for p in ps),
            "rod_estimated": any(p.rod_estimated_wh > 0 for p in ps)}


def daily_means(times: Sequence[datetime], values: Sequence[float | None],
                tz: ZoneInfo) -> dict[date, float]:
    """Mean per local day of a series (buckets without data are skipped, not zeros)."""
    acc: dict[date, list[float]] = defaultdict(list)
    for t, v in zip(times, values, strict=True):
        if v is not None:
            acc[t.astimezone(tz).date()].append(v)
    return {d: sum(vs) / len(vs) for d, vs in acc.items()}
