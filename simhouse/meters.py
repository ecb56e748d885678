"""Simulated meters that each see a share of the house's loads (several meters with roles).

The one simulated meter (`Simulator.meter_step`) sees everything on the heat pump's supply.
A split installation meters the outdoor unit (compressor with its fan, crankcase heater)
and the indoor unit (controller, circulation pump) separately: `ShareMeter` answers like
`Simulator.meter_step` with the power of its loads only (simhouse.house.LOAD_COLUMNS), its
own noise and its own cumulative counter. The shares of `ROLE_SHARES` add up to the one
meter's true power exactly (the same per-minute columns; a test checks it), so a
two-meter demo's electricity equals a one-meter demo's.

A ShareMeter answers while the house's meter answers (outages and reboots of the meter
scenarios affect every meter alike) and takes its uptime; it is asked forward in time, as
a poller does (a chunk's counter starts where the previous chunk's ended).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from simhouse.house import (
    LOAD_COLUMNS,
    METER_STEP_S,
    MINUTES_PER_CHUNK,
    MeterArrays,
    MeterStep,
    Simulator,
)

# The loads each meter role of the demo sees (heatpump.boundary.ROLE_LOADS says the same
# in SEPEMO's terms: outdoor_unit = compressor + source, indoor_unit = controls + pumps).
ROLE_SHARES: dict[str, tuple[str, ...]] = {
    "outdoor_unit": ("compressor", "crankcase"),
    "indoor_unit": ("controls", "pump"),
}
INITIAL_WH = {"outdoor_unit": 3_912_000.0, "indoor_unit": 369_530.0}  # counters at the start


class ShareMeter:
    """A meter of `role` (ROLE_SHARES) in the simulated house: `meter_step(t)` like the
    Simulator's, with the power and counter of its loads."""

    def __init__(self, sim: Simulator, role: str, seed_offset: int = 0):
        if role not in ROLE_SHARES:
            raise ValueError(f"no simulated meter for role {role!r}; one of "
                             f"{', '.join(ROLE_SHARES)}")
        self.sim, self.role = sim, role
        self.columns = tuple(LOAD_COLUMNS[load] for load in ROLE_SHARES[role])
        self._seed = 17 + list(ROLE_SHARES).index(role) + seed_offset
        self._start_wh: dict[int, float] = {0: INITIAL_WH[role]}
        self._chunk: tuple[int, int, np.ndarray, np.ndarray] | None = None

    def true_power_w(self, start: datetime, end: datetime) -> np.ndarray:
        """The true power of this meter's loads per minute starting in [start, end)."""
        m = self.sim.minutes(start, end)
        return sum((m[c] for c in self.columns), np.zeros(len(m["time_s"])))

    def meter_step(self, t: datetime) -> MeterStep | None:
        """The meter at `t`: its latest 10-s step, or None while the house's meter is
        offline."""
        base = self.sim.meter_step(t)
        if base is None:
            return None
        index = (base.time_s - self.sim.origin_s) // (60 * MINUTES_PER_CHUNK)
        t0, power, energy = self._arrays(index)
        k = (base.time_s - t0) // METER_STEP_S
        return MeterStep(base.time_s, float(power[k]), float(energy[k]), base.uptime_s)

    def meter_offline_spans(self) -> tuple[tuple[float, float], ...]:
        """When the house's meter does not answer (Simulator.meter_offline_spans): this
        meter neither."""
        return self.sim.meter_offline_spans()

    @property
    def origin_s(self) -> int:
        """The simulator's first second: this meter measures from then on, as the house's."""
        return self.sim.origin_s

    def meter_trace(self, start: datetime, end: datetime) -> MeterArrays:
        """This meter's 10-s trace with start <= time < end, outages included (what its own
        records hold, simhouse/shelly_records.py): the house meter's times and uptime with
        this meter's power and counter."""
        base = self.sim.meter_trace(start, end)
        power, energy = np.empty(len(base.time_s)), np.empty(len(base.time_s))
        chunk = (base.time_s - self.sim.origin_s) // (60 * MINUTES_PER_CHUNK)
        for index in np.unique(chunk):
            t0, p, e = self._arrays(int(index))
            sel = chunk == index
            k = (base.time_s[sel] - t0) // METER_STEP_S
            power[sel], energy[sel] = p[k], e[k]
        return MeterArrays(base.time_s, power, energy, base.uptime_s)

    def _arrays(self, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(first second, power per step, counter per step) of chunk `index`."""
        if self._chunk is not None and self._chunk[0] == index:
            return self._chunk[1], self._chunk[2], self._chunk[3]
        known = max(i for i in self._start_wh if i <= index)
        for i in range(known, index + 1):  # counters continue chunk after chunk
            t0, power, energy, end_wh = self._build(i)
            self._start_wh[i + 1] = end_wh
        self._chunk = (index, t0, power, energy)
        return t0, power, energy

    def _build(self, index: int) -> tuple[int, np.ndarray, np.ndarray, float]:
        t0 = self.sim.origin_s + index * 60 * MINUTES_PER_CHUNK
        start = datetime.fromtimestamp(t0, UTC)
        true_w = np.repeat(self.true_power_w(start, start + timedelta(
            minutes=MINUTES_PER_CHUNK)), 60 // METER_STEP_S)
        rng = np.random.default_rng([self.sim.seed, self._seed, index])
        hp = self.sim.hp
        noisy = true_w * (1 + hp.meter_noise_rel * rng.standard_normal(len(true_w))) \
            + hp.meter_noise_w * rng.standard_normal(len(true_w))
        step_wh = true_w * METER_STEP_S / 3600.0
        cum = self._start_wh[index] + np.concatenate(([0.0], np.cumsum(step_wh)[:-1]))
        energy = np.floor(cum * 100.0 + 1e-6) / 100.0
        return (t0, np.round(np.maximum(noisy, 0.0), 1), energy,
                float(cum[-1] + step_wh[-1]))
