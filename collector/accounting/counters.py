"""The heat pump's own energy counters between two readings: what accumulated, by the
counters' own evidence — pure functions (collector/accounting/heat.py keeps the state).

The device reports calendar counters (current day/week/month/year and the previous ones,
kWh, truncated to 0.1 kWh) that restart at the DEVICE's period starts: in its own zone, on
its own clock, real devices hours late or minutes early. Our clock knows none of that, so
nothing here asks it whether a period ended; the counters say it themselves
(`counter_step`, documented for users in docs/vicare.md, "Counters"):

- A counter that did not go down (and whose `last_<period>` did not change while it
  restarted) did not roll over: its difference is exact. Of those, the COARSEST is used
  (the year counter, unless it looks whole-kWh where a finer one agrees and is not): it
  restarts once a year, so consecutive differences telescope and the 0.1 kWh truncation
  never accumulates (differencing the day counter loses each day's truncated tail, ~30 kWh
  a year). A finer counter that gained more than the coarser one over the same span is a
  contradiction.
- A counter that went down rolled over only if what it shows now could have accumulated
  since its restart (at most the plausible output over the interval) and, where the device
  reports `last_<period>`, that one changed to at least the counter's previous value:
  then (last − previous) + current is exact. Without a `last_` value, the energy since the
  restart is a lower bound (the tail before it is unknown). A drop that is no rollover (a
  transient answer with every counter 0, a dip) is a glitch: nothing is booked and the
  previous reading stays the reference, so the energy reappears when the counters recover.
- The arrays (fallback) are as of their `*ValueReadAt`: while that does not move, there is
  nothing new (no zero is booked).
- Every delta is capped by the plausible output over its span (`cap_kwh`): a larger one is
  reported, not booked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from collector.readings import HeatPumpSample

PERIODS = ("day", "week", "month", "year")  # finest first
LAST_OF = {p: f"last_{p}" for p in PERIODS}  # the period that ended before the current one
CIRCUITS = ("heating", "dhw", "cooling")
EPS_KWH = 1e-6
STEP_KWH = 0.1  # the counters' resolution (they are truncated to it)
SLACK_KWH = 2 * STEP_KWH  # two truncations: what a plausible delta may exceed its cap by

Problem = tuple[str, str]  # (health reason, detail) of a counter family


# --- counter readings --------------------------------------------------------------------


class Reading(NamedTuple):
    """One counter family (e.g. "heat.heating") as reported: period key (day, month,
    last_month, ...) -> kWh, and when the device read each value (the poll's time, or an
    array's `*ValueReadAt`). `parts` names the circuits summed when the device reports no
    total of its own. A named tuple, as `CounterDelta` and `Step`: immutable, and built
    for every family at every poll, which a frozen dataclass's __init__ makes several
    times slower."""

    values: Mapping[str, float]
    times: Mapping[str, datetime]
    parts: tuple[str, ...] = ()

    @property
    def oldest(self) -> datetime:
        return min(self.times.values())

    @property
    def newest(self) -> datetime:
        return max(self.times.values())

    def all_zero(self) -> bool:
        return all(abs(v) < EPS_KWH for v in self.values.values())


def family_circuits(sample: HeatPumpSample, kind: str) -> tuple[str, ...]:
    """Circuits (total/heating/dhw/cooling) for which `kind` counters are reported."""
    return CounterFamilies(sample).circuits(kind)


def reading_of(sample: HeatPumpSample, kind: str, circuit: str) -> Reading | None:
    """The `kind.circuit` counters of a sample; for "total" on a device without one, the
    sum of its circuits (the periods all of them report)."""
    return CounterFamilies(sample).reading(kind, circuit)


class CounterFamilies:
    """A sample's counters grouped once by kind and circuit, for `family_circuits`,
    `reading_of` and `readings` (accounting asks them for every kind at every poll).

    How a sample's keys group ("heat.heating.day" -> "heat" -> "heating" -> "day") depends
    only on the keys, and a device reports the same keys at every poll: the grouping is
    kept per key set (`_layout`), and each poll only reads its values through it."""

    def __init__(self, sample: HeatPumpSample):
        self.sample = sample
        # kind -> circuit -> ((period, counter key), ...), in the sample's order (a key
        # without a period still names its circuit), and kind -> its circuits
        self._grouped, self._circuits = _layout(tuple(sample.counters))

    def circuits(self, kind: str) -> tuple[str, ...]:
        """`family_circuits`: the circuits for which `kind` counters are reported."""
        return self._circuits.get(kind, ())

    def reading(self, kind: str, circuit: str) -> Reading | None:
        """`reading_of`."""
        if circuit != "total":
            return self._reported(kind, circuit)
        parts = [c for c in CIRCUITS if c in self._grouped.get(kind, {})]
        return self._reported(kind, "total") or _summed(
            [self._reported(kind, c) for c in parts], parts)

    def readings(self, kind: str) -> dict[str, Reading]:
        """circuit -> `reading_of(sample, kind, circuit)` for the circuits of
        `family_circuits` and "total" (summed when the device reports none, from the same
        circuit readings); circuits without a reading are left out."""
        circuits = self.circuits(kind)
        parts = [c for c in circuits if c != "total"]
        reported = {c: self._reported(kind, c) for c in parts}
        out: dict[str, Reading] = {}
        for circuit in circuits if "total" in circuits or not circuits else (*circuits, "total"):
            reading = reported[circuit] if circuit != "total" else (
                self._reported(kind, "total") or _summed([reported[c] for c in parts], parts))
            if reading is not None:
                out[circuit] = reading
        return out

    def _reported(self, kind: str, circuit: str) -> Reading | None:
        """The counters the device reports for `kind.circuit`, as they are."""
        keys = self._grouped.get(kind, {}).get(circuit)
        if not keys:
            return None
        sample = self.sample
        counters, read_at, t = sample.counters, sample.counters_read_at, sample.time
        values = {p: counters[key] for p, key in keys}
        if read_at:
            times = {p: min(read_at.get(key, t), t) for p, key in keys}
        else:  # every counter is as of the poll
            times = dict.fromkeys(values, t)
        return Reading(values, times)


_Layout = tuple[dict[str, dict[str, tuple[tuple[str, str], ...]]], dict[str, tuple[str, ...]]]
_LAYOUTS: dict[tuple[str, ...], _Layout] = {}
_LAYOUTS_KEPT = 64  # a device reports one key set (a few while features come and go)


def _layout(keys: tuple[str, ...]) -> _Layout:
    """kind -> circuit -> ((period, key), ...) of a sample's counter keys, in their order,
    and kind -> its circuits (in "total", *CIRCUITS order); kept per key set (the same at
    every poll of a device)."""
    found = _LAYOUTS.get(keys)
    if found is not None:
        return found
    grouped: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for key in keys:
        kind, dot, rest = key.partition(".")
        if not dot:
            continue
        circuit, dot, period = rest.partition(".")
        periods = grouped.setdefault(kind, {}).setdefault(circuit, [])
        if dot:
            periods.append((period, key))
    grouping = {kind: {circuit: tuple(periods) for circuit, periods in circuits.items()}
                for kind, circuits in grouped.items()}
    circuits_of = {kind: tuple(c for c in ("total", *CIRCUITS) if c in by_circuit)
                   for kind, by_circuit in grouping.items()}
    if len(_LAYOUTS) >= _LAYOUTS_KEPT:
        _LAYOUTS.clear()
    layout = _LAYOUTS[keys] = (grouping, circuits_of)
    return layout


def _summed(found: list[Reading | None], parts: list[str]) -> Reading | None:
    """The total of a device without one: the sum of its circuits' readings over the
    periods all of them report (`parts` names the circuits)."""
    readings = [r for r in found if r is not None]
    if not readings:
        return None
    keys = set.intersection(*(set(r.values) for r in readings))
    if not keys:
        return None
    if len(readings) == 2:  # heating and hot water, at every poll: the same sums, unrolled
        (a, a_at), (b, b_at) = ((r.values, r.times) for r in readings)
        return Reading({k: round(0 + a[k] + b[k], 6) for k in keys},  # as sum() adds
                       {k: min(a_at[k], b_at[k]) for k in keys}, tuple(parts))
    return Reading({k: round(sum(r.values[k] for r in readings), 6) for k in keys},
                   {k: min(r.times[k] for r in readings) for k in keys}, tuple(parts))


# --- one counter family between two readings -----------------------------------------------


class CounterDelta(NamedTuple):
    """Energy of one counter family over (start, end]; `exact=False` marks a lower bound.
    `rollover` says how a period that ended inside the span was bridged (for health)."""

    kwh: float
    start: datetime
    end: datetime
    exact: bool
    basis: str
    rollover: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


class Step(NamedTuple):
    """What `counter_step` concluded: the energy to book (if any), whether the current
    reading becomes the reference, and a problem for health (reason, detail)."""

    delta: CounterDelta | None = None
    accept: bool = False
    problem: Problem | None = None


def cap_kwh(cap_kw: float, start: datetime, end: datetime) -> float:
    """The most a counter can plausibly gain over (start, end] (truncation slack added)."""
    return cap_kw * max((end - start).total_seconds(), 0.0) / 3600.0 + SLACK_KWH


def _whole(v: float) -> bool:
    return abs(v - round(v)) < EPS_KWH


def _kwh(v: float) -> str:
    return f"{v:.1f} kWh"


def utc_text(t: datetime) -> str:
    """A time for a health detail: "2024-10-31 22:58 UTC"."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def counter_step(ref: Reading, cur: Reading, cap_kw: float, name: str = "counters") -> Step:
    """The energy of one counter family from its reference reading to the current one, by
    the rules in the module docstring; `name` (e.g. "heat.heating") goes into problems."""
    if ref.parts != cur.parts:
        return Step(accept=True)  # other circuits summed: a new baseline, nothing comparable
    if ref.values == cur.values and math.isfinite(sum(cur.values.values())):
        # Nothing counted since the reference (most families at most polls: the rod off,
        # no hot water made): every moved counter is steady and gained 0, so the rules
        # below come to the coarsest moved one; said without building their tables.
        moved_basis = _unchanged_basis(ref, cur)
        if moved_basis is not None:
            start, end = ref.times[moved_basis], cur.times[moved_basis]
            gained = cur.values[moved_basis] - ref.values[moved_basis]
            if not gained > cap_kwh(cap_kw, start, end):
                return Step(CounterDelta(max(gained, 0.0), start, end, True,
                                         _BASIS[moved_basis]), accept=True)
    return _by_the_rules(ref, cur, cap_kw, name)


def _by_the_rules(ref: Reading, cur: Reading, cap_kw: float, name: str) -> Step:
    """`counter_step` by every rule of the module docstring (same parts)."""
    periods = [p for p in PERIODS if p in ref.values and p in cur.values]
    if not periods:
        return Step(accept=True)
    moved = [p for p in periods if cur.times[p] > ref.times[p]]
    if not moved:
        return Step()  # the device has not read these counters again: nothing new
    if cur.all_zero() and not ref.all_zero() and any(k.startswith("last_") for k in cur.values):
        # a last_ value cannot fall to 0 (it holds the period that ended, at least what the
        # counter showed); without last_ values, 0 may be a restart: the rules below decide
        return Step(problem=("counter_glitch", f"{name}: every counter reads 0 (was "
                             f"{_kwh(max(ref.values.values()))}); not a rollover, so "
                             "nothing is booked until they make sense again"))
    steady: dict[str, float] = {}
    bridged: dict[str, float] = {}
    lower: dict[str, float] = {}
    broken: dict[str, str] = {}
    for p in moved:
        before, now = ref.values[p], cur.values[p]
        last_before, last_now = ref.values.get(LAST_OF[p]), cur.values.get(LAST_OF[p])
        dropped = now < before - EPS_KWH
        last_moved = (last_before is not None and last_now is not None
                      and abs(last_now - last_before) > EPS_KWH)
        # (whether it could have restarted matters only for one that dropped or whose
        # last_ value moved)
        restarted = (dropped or last_moved) and now <= cap_kwh(cap_kw, ref.times[p],
                                                                cur.times[p])
        if not dropped and not (last_moved and restarted):
            steady[p] = now - before
        elif not restarted:
            broken[p] = (f"{name}: the {p} counter went from {_kwh(before)} to {_kwh(now)}, "
                         "too much to have restarted in the interval")
        elif last_now is None:
            lower[p] = now
        elif last_before is not None and not last_moved:
            broken[p] = (f"{name}: the {p} counter went down ({_kwh(before)} -> "
                         f"{_kwh(now)}) but last_{p} stayed {_kwh(last_now)}: no rollover")
        elif last_now < before - EPS_KWH:
            broken[p] = (f"{name}: the {p} counter went down ({_kwh(before)} -> "
                         f"{_kwh(now)}) and last_{p} ({_kwh(last_now)}) is below what it "
                         "showed: no rollover")
        else:
            bridged[p] = last_now - before + now
    coarse_first = [p for p in reversed(PERIODS) if p in moved]
    if coarse_first[0] in broken:
        return Step(problem=("counter_glitch", broken[coarse_first[0]]
                             + "; nothing is booked until the counters make sense again"))
    delta = _steady_delta(steady, coarse_first, ref, cur) if steady else None
    if delta is None and steady:
        finer = max(steady.values())
        return Step(problem=("counter_glitch", f"{name}: a finer counter gained more "
                             f"({_kwh(finer)}) than a coarser one; nothing is booked until "
                             "they agree again"))
    if delta is None:
        delta = _rollover_delta(bridged, lower, coarse_first, ref, cur)
    assert delta is not None  # the coarsest moved period is steady, bridged or lower
    broken_coarser = [p for p in coarse_first if p in broken
                      and PERIODS.index(p) > PERIODS.index(delta.basis.split()[0])
                      ] if broken else []
    if broken_coarser:
        return Step(problem=("counter_glitch", broken[broken_coarser[0]]
                             + "; nothing is booked until the counters make sense again"))
    limit = cap_kwh(cap_kw, delta.start, delta.end)
    if delta.kwh > limit:
        hours = max(delta.duration_s, 1.0) / 3600.0
        return Step(accept=True, problem=(
            "counter_rejected",
            f"{name}: {_kwh(delta.kwh)} in {span_text(delta.duration_s)} ({delta.kwh / hours:.0f} "
            f"kW, by the {delta.basis}) is more than the plausible {cap_kw:g} kW; not "
            f"stored ({utc_text(delta.start)} to {utc_text(delta.end)})"))
    return Step(delta, accept=True)


_COARSE_FIRST = tuple(reversed(PERIODS))
_BASIS = {p: f"{p} counter" for p in PERIODS}


def _unchanged_basis(ref: Reading, cur: Reading) -> str | None:
    """The coarsest period whose counter the device read again since `ref`, when `cur`
    shows the same values as `ref`; None when there is none (`counter_step` decides)."""
    for p in _COARSE_FIRST:
        if p in cur.values and cur.times[p] > ref.times[p]:
            return p
    return None


def _steady_delta(steady: Mapping[str, float], coarse_first: list[str], ref: Reading,
                  cur: Reading) -> CounterDelta | None:
    """The coarsest counter that did not roll over (preferring one that does not look
    whole-kWh when a finer one is not); None when a finer counter contradicts it."""
    order = [p for p in coarse_first if p in steady]
    basis = order[0]
    fractional = [p for p in order
                  if not (_whole(ref.values[p]) and _whole(cur.values[p]))]
    # A total summed from n circuits carries n truncations per counter: two of its
    # counters may disagree n times as much as one circuit's (0.2 kWh each), and float
    # sums land a hair either side of that, hence EPS_KWH.
    n = max(1, len(cur.parts))
    if (fractional and basis not in fractional and steady[basis] >= 1.0 - EPS_KWH
            and abs(steady[fractional[0]] - steady[basis]) <= n * (1.0 + STEP_KWH) + EPS_KWH):
        # some devices count the year in whole kWh: a finer counter that agrees with it
        # is as exact and less lumpy (one that gained less restarted unseen)
        basis = fractional[0]
    gained = steady[basis]
    tolerance = n * (SLACK_KWH if basis in fractional or not fractional
                     else 1.0 + STEP_KWH) + EPS_KWH
    span = (ref.times[basis], cur.times[basis])
    for p in order[order.index(basis) + 1:]:
        if (ref.times[p], cur.times[p]) == span and steady[p] > gained + tolerance:
            return None  # (arrays read at other times are not comparable)
    return CounterDelta(max(gained, 0.0), ref.times[basis], cur.times[basis], True,
                        f"{basis} counter")


def _rollover_delta(bridged: Mapping[str, float], lower: Mapping[str, float],
                    coarse_first: list[str], ref: Reading, cur: Reading) -> CounterDelta:
    """Every moved counter rolled over: bridged exactly by the coarsest one with a changed
    `last_` value, else the energy since the coarsest one's restart (a lower bound)."""
    first = coarse_first[0]
    when = f"between {utc_text(ref.times[first])} and {utc_text(cur.times[first])}"
    for p in coarse_first:
        if p in bridged:
            return CounterDelta(max(bridged[p], 0.0), ref.times[p], cur.times[p], True,
                                f"{p} counter across its rollover (last_{p})",
                                f"the {p} counter restarted {when}; bridged exactly with "
                                f"last_{p}")
    p = next(p for p in coarse_first if p in lower)
    return CounterDelta(lower[p], ref.times[p], cur.times[p], False,
                        f"{p} counter since its restart (the tail before it is unknown)",
                        f"the {p} counter restarted {when}; no last_{p} to bridge it, "
                        f"so only the {_kwh(lower[p])} since the restart is booked")


def span_text(seconds: float) -> str:
    """A span for a person: "5 min", "2.5 h", "10.0 days"."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
