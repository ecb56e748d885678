"""The heating rod's running time per level between two readings, and the electricity it
stands for — pure functions (collector/accounting/heat.py keeps the reference reading).

Some devices (Vitocal 333-G, 200-S AWB-M-E-AC) report no energy of their backup heater,
only cumulative running time counters per level (`heating.heatingRod.runtime`,
`levelOne`/`levelTwo`, seconds). Between two readings:

- each level's gain is its running time in the interval; the levels are taken as
  exclusive (the rod runs at one level at a time), so their sum is the rod's running time
  and cannot exceed the interval (plus `SLACK_S` for the device reading its counters a
  little apart from our poll): more is reported (`counter_rejected`) and not stored;
- a counter that went down is a glitch (a transient answer, a replaced controller):
  nothing is booked and the previous reading stays the reference (the accountant rebases
  after `REBASE_AFTER`, as for the energy counters);
- the electricity is Σ running time × the level's power (HEATPUMP_HEATING_ROD_KW, level one
  first), an ESTIMATE (the real power depends on the supply voltage and the element's age);
  where a level that ran has no power configured, the energy is unknown and only the
  running time is stored (a gap, never a zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from collector.accounting.counters import Problem, Reading, span_text, utc_text
from collector.readings import HeatPumpSample

RUNTIME_FIELDS = (("level1", "heating_rod_runtime_level1_s"),
                  ("level2", "heating_rod_runtime_level2_s"))
SLACK_S = 60.0
FAMILY = "heating_rod.runtime"


def runtime_reading(sample: HeatPumpSample) -> Reading | None:
    """The rod's runtime counters of a sample (level -> seconds), or None without any."""
    values = {}
    for level, name in RUNTIME_FIELDS:
        v = sample.values.get(name)
        if isinstance(v, int | float) and not isinstance(v, bool):
            values[level] = float(v)
    if not values:
        return None
    return Reading(values, dict.fromkeys(values, sample.time))


@dataclass(frozen=True, slots=True)
class RodRuntime:
    """The rod over (start, end]: running time per level, and the estimated electricity
    (None when a level that ran has no configured power)."""

    start: datetime
    end: datetime
    running_s: float
    by_level_s: dict[str, float]
    energy_wh: float | None
    detail: str

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class RuntimeStep:
    """What `runtime_step` concluded (the same contract as counters.Step)."""

    interval: RodRuntime | None = None
    accept: bool = False
    problem: Problem | None = None


def runtime_step(ref: Reading, cur: Reading, stage_kw: Sequence[float]) -> RuntimeStep:
    """The rod's running time and estimated energy from `ref` to `cur` (module docstring).
    `stage_kw` is HEATPUMP_HEATING_ROD_KW: the power of level one, two, ... in kW."""
    levels = [lv for lv, _ in RUNTIME_FIELDS if lv in ref.values and lv in cur.values]
    if set(ref.values) != set(cur.values) or not levels:
        return RuntimeStep(accept=True)  # another set of levels: a new baseline
    start, end = ref.newest, cur.newest
    span = (end - start).total_seconds()
    if span <= 0:
        return RuntimeStep()
    gained = {lv: cur.values[lv] - ref.values[lv] for lv in levels}
    down = [lv for lv in levels if gained[lv] < 0]
    if down:
        lv = down[0]
        return RuntimeStep(problem=("counter_glitch", (
            f"{FAMILY}: the {lv} counter went down ({ref.values[lv]:.0f} s -> "
            f"{cur.values[lv]:.0f} s); nothing is booked until the counters make sense "
            "again")))
    running = sum(gained.values())
    if running > span + SLACK_S:
        return RuntimeStep(accept=True, problem=("counter_rejected", (
            f"{FAMILY}: {running:.0f} s of running time in {span_text(span)} is more than "
            f"the interval; not stored ({utc_text(start)} to {utc_text(end)})")))
    energy: float | None = 0.0
    parts = []
    for i, lv in enumerate(levels):
        if gained[lv] <= 0:
            continue
        if i >= len(stage_kw):
            energy = None
            parts.append(f"{gained[lv]:.0f} s at {lv} (no power configured)")
            continue
        if energy is not None:
            energy += gained[lv] * stage_kw[i] * 1000.0 / 3600.0
        parts.append(f"{gained[lv]:.0f} s at {lv} × {stage_kw[i]:g} kW")
    return RuntimeStep(RodRuntime(start, end, running, gained,
                                  None if energy is None else round(energy, 3),
                                  "; ".join(parts) or "the rod did not run"), accept=True)
