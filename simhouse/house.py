"""A simulated house with an air-to-water heat pump and its electricity meter: the physics.

Why: `heatpump demo` must exercise the real ingest path, so the simulated devices
(simhouse.vitocal, simhouse.shelly) answer in the devices' own wire formats, built from the
state this module computes, and the exact truth is kept beside it, so tests and the demo
summary can compare what accounting measured against what really happened. This module
knows nothing of wire formats or of the collector: it gives per-minute physics, the meter's
10-s trace (`meter_arrays`), the heat pump's observable state at any time (`pump_state`)
and the energy the heat pump's own counters accumulate (`device_totals_kwh`).

Pure and deterministic: the same seed, start and configuration give the same data however the
time range is queried. The physics runs at one-minute resolution (a Python loop for the
controller, which is a state machine), everything per reading is vectorised with numpy per
day-long chunk; chunk start states are kept, so any chunk can be recomputed on demand.

Model (documented for users in docs/demo.md):
- climate: seasonal + daily cycle + multi-day weather fronts (AR(1) at hourly resolution);
- building: one thermal node (indoor air + structure) losing heat to outside, with internal
  and solar gains; emitters (floor heating) as a second node, the heating water;
- heat pump: inverter between `min_modulation` and 100 % of a capacity that falls in the cold,
  COP = `carnot_efficiency` x Carnot COP between source (outdoor air minus evaporator
  approach) and sink (flow plus condenser approach); on/off cycling with minimum run and off
  times when the load is below minimum modulation; hot-water runs; defrosts; standby,
  crankcase heater and circulation pump power;
- heating rod (`HeatingRod`, the backup heater): exclusive levels (3 and 6 kW), switched on
  by the controller below the bivalence temperature while the heat pump at full output
  cannot hold the flow target (parallel bivalent), and for the weekly hot-water hygiene
  heat-up to 60 °C; a `RodStuck` scenario keeps it on. Its heat goes into the heating water
  or the cylinder, its electricity is its own (`rod_heating_w`, `rod_dhw_w`): the simulated
  meter does not see it (on Viessmann units the rod has its own supply, docs/boundary.md),
  the device counts it in its own counters (`heating_rod.*` series).
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

MINUTES_PER_CHUNK = 1440
METER_STEP_S = 10
WATER_KWH_PER_M3K = 1.163  # heat capacity of water: kWh per m³ and K (= Wh per litre and K)

# Modes of the heat pump's state machine (per minute).
IDLE, HEAT, DHW, DEFROST, LOCKED = 0, 1, 2, 3, 4
MODE_NAMES = ("idle", "heating", "dhw", "defrost", "locked")

# Energy series the heat pump's own counters accumulate ("<kind>.<circuit>", kWh);
# "heating_rod" is the backup heater's electricity (heating.heatingRod.power.consumption.*).
COUNTER_SERIES = ("heat.heating", "heat.dhw", "electricity.heating", "electricity.dhw",
                  "heating_rod.heating", "heating_rod.dhw")
ROD_SERIES = ("heating_rod.heating", "heating_rod.dhw")
PRIOR_DAYS = 800  # device history estimated before the origin (last year's counters)


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Climate:
    """A typical German climate (annual mean ~9 °C, January ~0 °C, July ~18 °C)."""

    mean_c: float = 9.0
    seasonal_amplitude_k: float = 9.0
    coldest_day_of_year: float = 20.0
    daily_amplitude_winter_k: float = 2.5  # half the day-night swing
    daily_amplitude_summer_k: float = 5.0
    coldest_hour_utc: float = 4.0
    weather_sigma_winter_k: float = 4.0  # spread of multi-day weather fronts
    weather_sigma_summer_k: float = 2.5
    weather_tau_h: float = 60.0  # correlation time of the fronts
    humidity_winter: float = 0.86
    humidity_summer: float = 0.70


@dataclass(frozen=True)
class House:
    """The building and its heating circuit (floor heating by default)."""

    design_load_kw: float = 6.0  # heat load at the design outdoor temperature
    design_outdoor_c: float = -12.0
    room_c: float = 20.0
    heating_limit_c: float = 15.0  # no space heating when the damped outdoor temp is above
    heating_limit_band_k: float = 1.0  # hysteresis: on below limit - band, off above + band
    heating_limit_damping_h: float = 48.0  # time constant of the damped outdoor temperature
    # Local months in which the owner switched to hot water only (E3 mode "dhw"), as most
    # do: without it a cold summer week heats the house for nothing.
    dhw_only_months: tuple[int, ...] = (6, 7, 8)
    design_flow_c: float = 35.0  # heating curve: flow temperature at the design outdoor temp
    design_spread_k: float = 5.0  # flow minus return at the design load
    internal_gains_kw: float = 0.45
    solar_gains_winter_kw: float = 1.5  # through the windows, peak at noon on a clear day
    solar_gains_summer_kw: float = 4.0
    building_time_constant_h: float = 60.0
    water_capacity_kwh_k: float = 0.30  # heating water + emitters seen by the controller
    dhw_volume_l: float = 200.0
    dhw_loss_w_k: float = 2.0  # cylinder heat loss per K above the room
    dhw_use_kwh_day: float = 5.4  # hot water drawn per day (4 persons)
    cold_water_c: float = 12.0

    @property
    def ua_kw_k(self) -> float:
        """Building heat loss coefficient: the design load (as in DIN EN 12831, without
        gains) over the design temperature difference."""
        return self.design_load_kw / (self.room_c - self.design_outdoor_c)

    @property
    def flow_l_h(self) -> float:
        """Constant circulation giving `design_spread_k` at the design load."""
        return self.design_load_kw / (WATER_KWH_PER_M3K * self.design_spread_k) * 1000.0


@dataclass(frozen=True)
class HeatPumpModel:
    """An inverter air-to-water heat pump (rated output at A2/W35)."""

    rated_heat_kw: float = 7.0
    capacity_slope_per_k: float = 0.015  # output falls by 1.5 %/K below +2 °C outdoor
    min_modulation: float = 0.30
    carnot_efficiency: float = 0.50  # real COP / Carnot COP
    evaporator_approach_k: tuple[float, float] = (2.0, 6.0)  # at 0 % and extra at 100 %
    condenser_approach_k: tuple[float, float] = (2.0, 3.0)
    dhw_coil_approach_k: float = 8.0  # a cylinder coil needs more lift than floor heating
    min_run_min: int = 8
    min_off_min: int = 10
    hysteresis_k: float = 0.6  # water temperature band around the target
    control_time_constant_h: float = 0.25
    startup_min: int = 2  # first minutes of a run deliver only `startup_heat_factor`
    startup_heat_factor: float = 0.6
    dhw_target_c: float = 50.0
    dhw_hysteresis_k: float = 7.0
    dhw_modulation: float = 0.9
    defrost_below_c: float = 6.0
    defrost_every_h: float = 0.75  # run time between defrosts at the worst (0-2 °C, humid)
    defrost_min: int = 5
    defrost_power_kw: float = 1.3
    defrost_heat_kw: float = 2.6  # taken from the water while the cycle runs backwards
    standby_w: float = 14.0
    crankcase_w: float = 30.0  # oil sump heater, while off below `crankcase_below_c`
    crankcase_below_c: float = 5.0
    pump_w: float = 35.0
    # What the device itself reports: its electricity counters leave out standby and
    # crankcase heating and are scaled by this factor (1.0: exact).
    device_electricity_factor: float = 0.92
    initial_hours: int = 3120
    initial_starts: int = 1850
    meter_initial_wh: float = 4_281_530.0
    meter_noise_w: float = 2.0
    meter_noise_rel: float = 0.01


@dataclass(frozen=True)
class HeatingRod:
    """The backup heater: an electric heating rod (an instantaneous heating-water heater in
    the indoor unit) that heats either the heating water or, through the cylinder's coil,
    the hot water. A resistance heater: its heat is its electricity.

    Levels are exclusive (level two is `level_kw[1]` in all, not one plus two), as the
    running time counters of the Vitocal 333-G / 200-S count them (heating.heatingRod.runtime
    levelOne, levelTwo) and HEATPUMP_HEATING_ROD_KW states them ("3,6").

    - Parallel bivalent operation: below `bivalence_c` (outdoor), when the heat pump runs at
      full output and the heating water stays `start_deficit_k` below its target for
      `start_delay_min`, level one comes on; `level_up_min` later, still short, level two.
      It goes off when the water reaches its target, the heat pump leaves heating, or it
      gets milder than the bivalence temperature.
    - Hot-water hygiene (legionella protection): once a week (local `hygiene_weekday`,
      Monday = 0, at `hygiene_hour`) the heat pump heats the cylinder to its own target,
      then the rod at `hygiene_level` to `hygiene_target_c`; given up after
      `hygiene_max_min`. About 2.5 kWh a week for a 200 l cylinder (50 -> 60 °C).
    - A safety limiter keeps the heating water below `max_water_c` (a stuck rod cycles on
      it instead of boiling the circuit).
    """

    level_kw: tuple[float, ...] = (3.0, 6.0)
    bivalence_c: float = -7.0
    start_deficit_k: float = 1.0
    start_delay_min: int = 20
    level_up_min: int = 30
    max_water_c: float = 60.0
    hygiene_weekday: int = 2  # Wednesday
    hygiene_hour: int = 13  # local time, after the morning draws
    hygiene_target_c: float = 60.0
    hygiene_level: int = 1
    hygiene_max_min: int = 240
    initial_hours: int = 31  # the statistics of the Vitocal 250-A dump
    initial_starts: int = 314

    def kw(self, level: int) -> float:
        """Electric power (= heat) at `level` (0: off)."""
        return self.level_kw[level - 1] if level > 0 else 0.0


DEFAULT_ROD = HeatingRod()


# --- scenarios -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    """No data from one source in [start, end) (the devices keep running and counting)."""

    source: Literal["meter", "heatpump"]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Fault:
    """An active error message in [start, end); by default the compressor is locked out."""

    start: datetime
    end: datetime | None = None
    code: str = "F.1100"
    priority: str = "criticalError"
    stops_compressor: bool = True


@dataclass(frozen=True)
class CopDrop:
    """Efficiency multiplied by `factor` in [start, end) (e.g. refrigerant loss, iced coil)."""

    start: datetime
    factor: float = 0.75
    end: datetime | None = None


@dataclass(frozen=True)
class MeterReboot:
    """The meter restarts at `start`: offline for `offline_s`, uptime from 0 again and, like
    Gen1 Shelly plugs, the energy counter from 0 (`resets_counter=False`: kept, like Gen2+)."""

    start: datetime
    offline_s: float = 30.0
    resets_counter: bool = True


@dataclass(frozen=True)
class CurveChange:
    """The owner sets the heating curve's slope to `slope` at `start` (from
    NOMINAL_CURVE_SLOPE): the flow target above room temperature scales by slope/nominal,
    and the device reports the new slope."""

    start: datetime
    slope: float = 0.5


@dataclass(frozen=True)
class RodStuck:
    """The heating rod stays on at `level` in [start, end) (a welded contactor, a wrong
    setting), heating the heating water whatever the controller wants (only its safety
    limiter, HeatingRod.max_water_c, cuts it)."""

    start: datetime
    level: int = 1
    end: datetime | None = None


# The heating curve's slope the simulated device reports (Viessmann's 0.2-3.5 scale; the
# house's own curve is design_flow_c) until a CurveChange, and its shift (K).
NOMINAL_CURVE_SLOPE = 0.6
NOMINAL_CURVE_SHIFT_K = 0.0

Scenario = Outage | Fault | CopDrop | MeterReboot | CurveChange | RodStuck


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeterArrays:
    """Meter readings as arrays (the fast path): times in UTC epoch seconds."""

    time_s: np.ndarray  # int64
    power_w: np.ndarray
    energy_import_wh: np.ndarray
    uptime_s: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.time_s)


@dataclass(frozen=True)
class Truth:
    """What really happened in a time range (exact, before any sensor or counter rounding)."""

    heat_heating_wh: float  # net: defrosts taken from the heating water are subtracted
    heat_dhw_wh: float
    electricity_wh: float  # everything the meter sees
    electricity_heating_wh: float  # attributed to space heating (incl. its defrosts, pump)
    electricity_dhw_wh: float
    compressor_running_s: float
    compressor_starts: int
    defrosts: int
    # What the device's own counters accumulate before their 0.1 kWh truncation: heat
    # without the defrosts subtracted, electricity without standby and scaled by
    # HeatPumpModel.device_electricity_factor.
    device_heat_heating_wh: float = 0.0
    device_heat_dhw_wh: float = 0.0
    device_electricity_heating_wh: float = 0.0
    device_electricity_dhw_wh: float = 0.0
    # The heating rod (outside the meter, HeatingRod): its electricity per circuit, which is
    # also its heat (a resistance heater), exact; its running time and starts.
    rod_electricity_heating_wh: float = 0.0
    rod_electricity_dhw_wh: float = 0.0
    rod_running_s: float = 0.0
    rod_starts: int = 0

    @property
    def heat_wh(self) -> float:
        """The heat pump's heat (without the rod's): the heat of the H2 figure."""
        return self.heat_heating_wh + self.heat_dhw_wh

    @property
    def cop(self) -> float | None:
        """Heat over electricity (the JAZ when the range is a year) of the heat pump as its
        meter sees it (SEPEMO H2, heatpump/boundary.py); None without energy."""
        return self.heat_wh / self.electricity_wh if self.electricity_wh > 0 else None

    @property
    def rod_electricity_wh(self) -> float:
        return self.rod_electricity_heating_wh + self.rod_electricity_dhw_wh

    @property
    def rod_heat_wh(self) -> float:
        """The rod's heat: its electricity (a resistance heater)."""
        return self.rod_electricity_wh

    @property
    def system_heat_wh(self) -> float:
        """Heat pump and rod (SEPEMO H3)."""
        return self.heat_wh + self.rod_heat_wh

    @property
    def system_electricity_wh(self) -> float:
        """What the meter sees plus the rod (SEPEMO H3)."""
        return self.electricity_wh + self.rod_electricity_wh

    @property
    def system_cop(self) -> float | None:
        """The COP of heat pump and rod together (SEPEMO H3); None without energy."""
        e = self.system_electricity_wh
        return self.system_heat_wh / e if e > 0 else None


@dataclass(frozen=True, slots=True)
class MeterStep:
    """The meter at one 10-s step: what its answer reports."""

    time_s: int  # UTC epoch seconds of the step
    power_w: float  # active power as measured (noisy), never negative
    energy_import_wh: float  # cumulative import counter, 0.01 Wh resolution
    uptime_s: int


@dataclass(frozen=True, slots=True)
class PumpMessage:
    """An active message on the heat pump's display (a simulated fault)."""

    kind: str  # "error"
    code: str
    priority: str
    since: datetime


@dataclass(frozen=True, slots=True)
class PumpState:
    """What the heat pump reports about itself at one moment (before any wire format).

    `values` uses the product's field names (outside_temp_c, compressor_active, ...);
    energy counters are not here: the device's counter model (simhouse.vitocal) derives
    them from `Simulator.device_totals_kwh`."""

    time: datetime
    mode: str  # MODE_NAMES
    values: dict[str, float | int | bool | str]
    messages: tuple[PumpMessage, ...] = ()


# The electric loads of the simulated heat pump, each a per-minute column of `minutes()`
# (W); together they are `elec_w`, what one meter on the heat pump's supply sees:
# compressor (with the outdoor unit's fan), its crankcase heater, the controller's standby,
# the circulation pump. A meter that sees some of them (simhouse.meters) sums their columns.
LOAD_COLUMNS = {"compressor": "load_compressor_w", "crankcase": "load_crankcase_w",
                "controls": "load_controls_w", "pump": "load_pump_w"}

# Device counter series -> the per-minute column it integrates (W).
_DEVICE_POWER = {"heat.heating": "dev_heat_heating_w", "heat.dhw": "dev_heat_dhw_w",
                 "electricity.heating": "dev_elec_heating_w",
                 "electricity.dhw": "dev_elec_dhw_w",
                 "heating_rod.heating": "rod_heating_w", "heating_rod.dhw": "rod_dhw_w"}





@dataclass
class _State:
    """Everything carried from one minute (and one chunk) to the next."""

    weather_z: float
    humidity_z: float
    damped_c: float  # outdoor temperature damped by the building (12 h)
    limit_damped_c: float  # damped outdoor temperature for the heating limit
    heating_on: bool
    room_c: float
    water_c: float
    dhw_c: float
    ice: float
    mode: int
    run_min: int
    off_min: int
    defrost_left: int
    defrost_return: int
    run_s: int
    starts: int
    meter_wh: float  # true energy since the origin plus the initial counter
    meter_offset_wh: float  # subtracted from meter_wh since the last counter reset
    meter_last_w: float  # true power of the last 10-s step
    uptime_s: int
    totals_kwh: tuple[float, ...]  # running totals of COUNTER_SERIES since the origin
    # the heating rod: its controller (bivalent level, minutes short of the target, the
    # hygiene run) and its counters
    rod_level: int = 0
    rod_wait: int = 0
    hygiene: bool = False
    hygiene_min: int = 0
    rod_run_s: int = 0
    rod_starts: int = 0
    rod_level_s: tuple[int, ...] = (0, 0)
    rod_level_prev: int = 0  # the rod's level (any circuit) in the last minute


@dataclass
class _Chunk:
    index: int
    t0_s: int  # UTC epoch seconds of the first minute
    minutes: dict[str, np.ndarray]
    mode: np.ndarray  # int8
    started: np.ndarray  # bool: a compressor start in this minute
    run_s: np.ndarray  # int64 running-seconds counter at the start of each minute
    starts: np.ndarray  # int64 starts counter at the start of each minute
    totals: dict[str, np.ndarray]  # COUNTER_SERIES -> kWh since the origin at each minute start
    meter: MeterArrays
    fault: np.ndarray  # bool per minute
    pause: np.ndarray  # bool: idle but still inside the minimum off time
    end_state: _State = field(repr=False)
    # the rod's counters at the start of each minute: "run_s", "starts", "level1_s", ...
    rod: dict[str, np.ndarray] = field(default_factory=dict)
    # the columns the heat pump's reports read (as Python lists: a poll reads one element
    # of each), made when first asked
    pump_rows: dict[str, list[Any]] | None = field(default=None, repr=False)
    # COUNTER_SERIES -> (its totals, the power it integrates) as lists, for the counters
    totals_rows: dict[str, tuple[list[float], list[float]]] | None = field(default=None,
                                                                           repr=False)


# --- the simulator -------------------------------------------------------------------------


class Simulator:
    """Simulates from `start` (floored to the minute) onwards; query any later range.
    `heating_rod`: the backup heater (DEFAULT_ROD); None for a heat pump without one."""

    def __init__(
        self,
        seed: int,
        start: datetime,
        tz: ZoneInfo | str,
        *,
        climate: Climate | None = None,
        house: House | None = None,
        heat_pump: HeatPumpModel | None = None,
        heating_rod: HeatingRod | None = DEFAULT_ROD,
        scenarios: Sequence[Scenario] = (),
        cache_chunks: int = 4,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must carry a zone")
        self.seed = int(seed)
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.climate = climate or Climate()
        self.house = house or House()
        self.hp = heat_pump or HeatPumpModel()
        self.rod = heating_rod  # None: a heat pump without a backup heater
        self.scenarios = tuple(scenarios)
        for s in self.scenarios:
            check_scenario(s)
            if isinstance(s, RodStuck) and self.rod is None:
                raise ValueError("RodStuck needs a heating rod (heating_rod is None)")
            if isinstance(s, RodStuck) and not 1 <= s.level <= len(self.rod.level_kw):
                raise ValueError(f"RodStuck.level must be 1..{len(self.rod.level_kw)}")
        # asked at every heat pump report (the scenarios never change): the faults, the
        # curve changes in the order they happen, and per level of the rod its level, the
        # names of its state and running time in a report and its counter's column
        self._rod_keys = tuple(
            (n, f"heating_rod_level{n}_active", f"heating_rod_runtime_level{n}_s",
             f"rod_level{n}_s") for n in range(1, len(self.rod.level_kw) + 1)
        ) if self.rod is not None else ()
        self._faults = tuple(s for s in self.scenarios if isinstance(s, Fault))
        self._curve_changes = tuple(sorted(
            (s for s in self.scenarios if isinstance(s, CurveChange)), key=lambda s: s.start))
        origin = int(start.astimezone(UTC).timestamp()) // 60 * 60
        self.origin_s = origin
        self.start = datetime.fromtimestamp(origin, UTC)
        self._states: list[_State] = [self._initial_state()]
        self._cache: OrderedDict[int, _Chunk] = OrderedDict()
        self._outage_spans: dict[str, list[tuple[float, float]]] = {}
        self._cache_size = max(1, cache_chunks)
        # the chunk `meter_step` reads, as Python lists: (index, t0_s, time, power, energy,
        # uptime)
        self._meter_rows: tuple[int, int, list[int], list[float], list[float],
                                list[int]] | None = None

    # --- public queries ---

    def meter_arrays(self, start: datetime, end: datetime) -> MeterArrays:
        """The meter's 10-s trace with start <= time < end (what the real meter measured at
        each step: noisy power, its cumulative import counter, its uptime); steps inside a
        meter outage or a reboot's offline time are left out."""
        parts = list(self._meter_chunks(start, end))
        if not parts:
            empty = np.zeros(0)
            return MeterArrays(empty.astype(np.int64), empty, empty, empty.astype(np.int64))
        t = np.concatenate([p.time_s for p in parts])
        keep = np.ones(len(t), dtype=bool)
        for a, b in self._outages("meter"):
            keep &= ~((t >= a) & (t < b))
        return MeterArrays(
            t[keep],
            np.concatenate([p.power_w for p in parts])[keep],
            np.concatenate([p.energy_import_wh for p in parts])[keep],
            np.concatenate([p.uptime_s for p in parts])[keep],
        )

    def meter_trace(self, start: datetime, end: datetime) -> MeterArrays:
        """The meter's 10-s trace with start <= time < end, outages included: the device
        keeps measuring while nobody can ask it (what its own records hold)."""
        parts = list(self._meter_chunks(start, end))
        if not parts:
            empty = np.zeros(0)
            return MeterArrays(empty.astype(np.int64), empty, empty, empty.astype(np.int64))
        return MeterArrays(*(np.concatenate([getattr(p, k) for p in parts]) for k in (
            "time_s", "power_w", "energy_import_wh", "uptime_s")))

    def meter_step(self, t: datetime) -> MeterStep | None:
        """The meter at time `t`: its latest 10-s step (power, counter, uptime), or None
        while it is offline (an outage, or the offline time of a reboot)."""
        t_s = _epoch(t)
        outages = self._outages("meter")
        if t_s < self.origin_s or (outages and _inside(t_s, outages)):
            return None
        index = int((t_s - self.origin_s) // (60 * MINUTES_PER_CHUNK))
        rows = self._meter_rows
        if rows is None or rows[0] != index:  # a poller asks every step of a chunk in turn
            chunk = self._chunk(index)
            m = chunk.meter
            rows = self._meter_rows = (index, chunk.t0_s, m.time_s.tolist(), m.power_w.tolist(),
                                       m.energy_import_wh.tolist(), m.uptime_s.tolist())
        k = int((t_s - rows[1]) // METER_STEP_S)
        return MeterStep(rows[2][k], rows[3][k], rows[4][k], rows[5][k])

    def meter_offline_spans(self) -> tuple[tuple[float, float], ...]:
        """The [start, end) spans (UTC epoch seconds) in which the meter does not answer:
        its outages and the offline time of its reboots (`meter_step` is None inside them,
        and before `origin_s`). The scenarios never change: a poller asks once."""
        return tuple(self._outages("meter"))

    def pump_state(self, t: datetime) -> PumpState | None:
        """What the heat pump reports at time `t` (the minute containing it), or None while
        it cannot be reached (a heat pump outage)."""
        t_s = _epoch(t)
        if t_s < self.origin_s or _inside(t_s, self._outages("heatpump")):
            return None
        minute = int((t_s - self.origin_s) // 60)
        chunk = self._chunk(minute // MINUTES_PER_CHUNK)
        return self._state_of(chunk, minute % MINUTES_PER_CHUNK, t)

    def pump_states(self, start: datetime, end: datetime,
                    step: timedelta = timedelta(minutes=5)) -> Iterator[PumpState]:
        """`pump_state` every `step` from `start` (inclusive) to `end` (exclusive), outages
        left out: the heat pump as a poller sees it."""
        t = start
        while t < end:
            state = self.pump_state(t)
            if state is not None:
                yield state
            t += step

    def device_totals_kwh(self, t: datetime | float) -> dict[str, float]:
        """Energy the heat pump's own counters have accumulated up to `t` per
        COUNTER_SERIES, in kWh relative to the simulation's origin (negative before it).

        Exact between minutes (power is constant within a minute). Before the origin it
        follows an estimate from the mean climate (`PRIOR_DAYS` back), so a device's
        counters for last month and last year look like those of a house in use."""
        t_s = _epoch(t) if isinstance(t, datetime) else float(t)
        if t_s < self.origin_s:
            return self._prior_totals(t_s)
        minute = int((t_s - self.origin_s) // 60)
        chunk = self._chunk(minute // MINUTES_PER_CHUNK)
        k = minute % MINUTES_PER_CHUNK
        frac = (t_s - chunk.t0_s - 60 * k) / 60.0
        rows = chunk.totals_rows
        if rows is None:  # (asked at every heat pump poll: one element of each column)
            rows = chunk.totals_rows = {
                series: (chunk.totals[series].tolist(),
                         chunk.minutes[_DEVICE_POWER[series]].tolist())
                for series in COUNTER_SERIES}
        return {series: float(total[k] + frac * power_w[k] / 60_000.0)
                for series, (total, power_w) in rows.items()}

    def minutes(self, start: datetime, end: datetime) -> dict[str, np.ndarray]:
        """Per-minute truth and state for minutes starting in [start, end) (for tests/plots).

        Adds `time_s` (minute start, UTC epoch s), `mode` (see MODE_NAMES) and `started`.
        """
        lo, hi = self._range_s(start, end)
        parts: dict[str, list[np.ndarray]] = {}
        for chunk in self._chunks(lo, hi):
            t = chunk.t0_s + 60 * np.arange(MINUTES_PER_CHUNK, dtype=np.int64)
            sel = (t >= lo) & (t < hi)
            cols = dict(chunk.minutes, time_s=t, mode=chunk.mode, started=chunk.started,
                        fault=chunk.fault)
            for k, v in cols.items():
                parts.setdefault(k, []).append(v[sel])
        return {k: np.concatenate(v) for k, v in parts.items()}

    def truth(self, start: datetime, end: datetime) -> Truth:
        """Exact energy in [start, end); partial minutes count pro rata (power is constant
        within a minute)."""
        lo = math.floor(_epoch(start))
        hi_exact = _epoch(end)
        m = self.minutes(datetime.fromtimestamp(lo // 60 * 60, UTC),
                         datetime.fromtimestamp(math.ceil(hi_exact / 60) * 60, UTC))
        if len(m.get("time_s", ())) == 0:
            return Truth(0, 0, 0, 0, 0, 0, 0, 0)
        t = m["time_s"].astype(float)
        covered = np.clip(np.minimum(t + 60, hi_exact) - np.maximum(t, _epoch(start)), 0, 60)
        return self.truth_of(m, covered)

    @staticmethod
    def truth_of(m: dict[str, np.ndarray], covered_s: np.ndarray | None = None) -> Truth:
        """Truth of arrays from `minutes()`; `covered_s` gives the seconds of each minute
        that count (default: all 60)."""
        covered = np.full(len(m["time_s"]), 60.0) if covered_s is None else covered_s
        h = covered / 3600.0

        def wh(name: str) -> float:
            return float(np.sum(m[name] * h))

        running = np.isin(m["mode"], (HEAT, DHW, DEFROST))
        whole = covered == 60  # count events only in fully covered minutes
        defrost_starts = (m["mode"] == DEFROST) & np.concatenate(
            ([True], m["mode"][:-1] != DEFROST))
        rod_on = m["rod_level"] > 0
        return Truth(
            heat_heating_wh=wh("heat_heating_w"),
            heat_dhw_wh=wh("heat_dhw_w"),
            electricity_wh=wh("elec_w"),
            electricity_heating_wh=wh("elec_heating_w"),
            electricity_dhw_wh=wh("elec_dhw_w"),
            compressor_running_s=float(np.sum(covered[running])),
            compressor_starts=int(np.sum(m["started"] & whole)),
            defrosts=int(np.sum(defrost_starts & whole)),
            device_heat_heating_wh=wh("dev_heat_heating_w"),
            device_heat_dhw_wh=wh("dev_heat_dhw_w"),
            device_electricity_heating_wh=wh("dev_elec_heating_w"),
            device_electricity_dhw_wh=wh("dev_elec_dhw_w"),
            rod_electricity_heating_wh=wh("rod_heating_w"),
            rod_electricity_dhw_wh=wh("rod_dhw_w"),
            rod_running_s=float(np.sum(covered[rod_on])),
            rod_starts=int(np.sum(m["rod_started"] & whole)),
        )

    # --- chunk machinery ---

    def _range_s(self, start: datetime, end: datetime) -> tuple[int, int]:
        return max(math.ceil(_epoch(start)), self.origin_s), math.ceil(_epoch(end))

    def _chunks(self, lo_s: int, hi_s: int) -> Iterator[_Chunk]:
        if hi_s <= lo_s:
            return
        first = (lo_s - self.origin_s) // (60 * MINUTES_PER_CHUNK)
        last = (hi_s - 1 - self.origin_s) // (60 * MINUTES_PER_CHUNK)
        for i in range(first, last + 1):
            yield self._chunk(i)

    def _chunk(self, index: int) -> _Chunk:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        while len(self._states) <= index:  # advance sequentially, keeping start states
            self._remember(self._simulate(len(self._states) - 1))
        chunk = self._simulate(index)
        self._remember(chunk)
        return chunk

    def _remember(self, chunk: _Chunk) -> None:
        if chunk.index == len(self._states) - 1:
            self._states.append(dataclasses.replace(chunk.end_state))
        self._cache[chunk.index] = chunk
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _meter_chunks(self, start: datetime, end: datetime) -> Iterator[MeterArrays]:
        lo, hi = self._range_s(start, end)
        for chunk in self._chunks(lo, hi):
            t = chunk.meter.time_s
            a, b = np.searchsorted(t, lo), np.searchsorted(t, hi)
            if b > a:
                mt = chunk.meter
                yield MeterArrays(mt.time_s[a:b], mt.power_w[a:b], mt.energy_import_wh[a:b],
                                  mt.uptime_s[a:b])

    def _outages(self, source: str) -> list[tuple[float, float]]:
        """[start, end) epoch spans in which `source` does not answer (asked every poll:
        computed once, the scenarios never change)."""
        cached = self._outage_spans.get(source)
        if cached is not None:
            return cached
        spans = [(_epoch(s.start), _epoch(s.end)) for s in self.scenarios
                 if isinstance(s, Outage) and s.source == source]
        if source == "meter":
            spans += [(_epoch(s.start), _epoch(s.start) + s.offline_s) for s in self.scenarios
                      if isinstance(s, MeterReboot) and s.offline_s > 0]
        self._outage_spans[source] = spans
        return spans

    # --- initial state ---

    def _initial_state(self) -> _State:
        h, c, rod = self.house, self.climate, self.rod
        rod_s = rod.initial_hours * 3600 if rod else 0
        t0 = float(self.origin_s)
        outdoor = float(_seasonal_c(c, np.array([t0]))[0])
        flow = _flow_target_c(h, outdoor)
        return _State(
            weather_z=0.0, humidity_z=0.0, damped_c=outdoor, limit_damped_c=outdoor,
            heating_on=outdoor < h.heating_limit_c, room_c=h.room_c,
            water_c=float(_water_target_c(h, flow)), dhw_c=self.hp.dhw_target_c - 2.0, ice=0.0,
            mode=IDLE, run_min=0, off_min=10_000, defrost_left=0, defrost_return=IDLE,
            run_s=self.hp.initial_hours * 3600, starts=self.hp.initial_starts,
            meter_wh=self.hp.meter_initial_wh, meter_offset_wh=0.0, meter_last_w=0.0,
            uptime_s=1_234_567,
            totals_kwh=(0.0,) * len(COUNTER_SERIES),
            rod_run_s=rod_s, rod_starts=rod.initial_starts if rod else 0,
            rod_level_s=(rod_s * 2 // 3, rod_s - rod_s * 2 // 3),
        )

    def _prior_totals(self, t_s: float) -> dict[str, float]:
        """device_totals_kwh before the origin: minus the estimated energy from t to it."""
        hours, suffix = self._prior_hours()
        first = float(hours[0])
        i = min(max(int((t_s - first) // 3600), 0), len(hours) - 1)
        frac = min(max((t_s - first - 3600 * i) / 3600.0, 0.0), 1.0)
        out = {}
        for series, (energy, after) in suffix.items():
            out[series] = -(float(after[i + 1]) + float(energy[i]) * (1.0 - frac))
        return out

    def _prior_hours(self) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Per hour before the origin (PRIOR_DAYS back): each series' estimated energy and
        the sum from that hour on (suffix sums), from the mean climate (no weather)."""
        cached = getattr(self, "_prior_cache", None)
        if cached is not None:
            return cached
        h, c, hp = self.house, self.climate, self.hp
        t = np.arange(self.origin_s - PRIOR_DAYS * 86400, self.origin_s, 3600,
                      dtype=np.int64) + 1800
        tf = t.astype(float)
        summer = _summerness(c, tf)
        outdoor = _seasonal_c(c, tf) - _daily_amplitude(c, summer) * np.cos(
            2 * np.pi * (_hour_utc(t) - c.coldest_hour_utc) / 24.0)
        solar_mean = 0.16 * (h.solar_gains_winter_kw
                             + (h.solar_gains_summer_kw - h.solar_gains_winter_kw) * summer)
        month = (t + _utc_offsets_s(t, self.tz)).astype("datetime64[s]").astype(
            "datetime64[M]").astype(np.int64) % 12 + 1
        heat = np.maximum(0.0, h.ua_kw_k * (h.room_c - outdoor) - h.internal_gains_kw
                          - solar_mean)
        heat[np.isin(month, h.dhw_only_months)] = 0.0
        flow = _flow_target_c(h, outdoor)
        ea0, ea1 = hp.evaporator_approach_k
        ca0, ca1 = hp.condenser_approach_k
        mod = np.clip(heat / hp.rated_heat_kw, hp.min_modulation, 1.0)
        sink = flow + ca0 + ca1 * mod
        losses = 0.88  # defrosts, start-ups and cold spells the mean climate lacks
        cop_heat = losses * hp.carnot_efficiency * (sink + 273.15) / np.maximum(
            sink - (outdoor - ea0 - ea1 * mod), 8.0)
        dhw = np.full(len(t), (h.dhw_use_kwh_day + 24 * h.dhw_loss_w_k / 1000 * 28) / 24)
        sink_dhw = hp.dhw_target_c - hp.dhw_hysteresis_k / 2 + hp.dhw_coil_approach_k
        cop_dhw = hp.carnot_efficiency * (sink_dhw + 273.15) / (
            sink_dhw - (outdoor - ea0 - ea1 * hp.dhw_modulation))
        per_hour = {  # kWh per hour per series
            "heat.heating": heat,
            "heat.dhw": dhw,
            "electricity.heating": (np.clip(heat / cop_heat, 0, None)
                                    + np.where(heat > 0, hp.pump_w / 1000, 0.0))
            * hp.device_electricity_factor,
            "electricity.dhw": dhw / cop_dhw * hp.device_electricity_factor,
            **self._prior_rod(heat, outdoor),
        }
        suffix = {}
        for series in COUNTER_SERIES:
            e = per_hour[series]
            after = np.concatenate((np.cumsum(e[::-1])[::-1], [0.0]))
            suffix[series] = (e, after)
        result = (t - 1800, suffix)
        self._prior_cache = result
        return result

    def _prior_rod(self, heat_kw: np.ndarray, outdoor: np.ndarray) -> dict[str, np.ndarray]:
        """The rod's estimated kWh per hour before the origin: the load the heat pump cannot
        cover below the bivalence temperature, and the weekly hygiene heat-up spread evenly
        (the cylinder from the heat pump's target to the hygiene target)."""
        rod, hp, h = self.rod, self.hp, self.house
        if rod is None:
            return dict.fromkeys(ROD_SERIES, np.zeros(len(heat_kw)))
        cap = hp.rated_heat_kw * np.clip(1 + hp.capacity_slope_per_k * (outdoor - 2), 0.5, 1.25)
        short = np.where(outdoor < rod.bivalence_c, np.maximum(heat_kw - cap, 0.0), 0.0)
        week_kwh = (max(rod.hygiene_target_c - hp.dhw_target_c, 0.0) * h.dhw_volume_l / 1000.0
                    * WATER_KWH_PER_M3K)
        return {"heating_rod.heating": short,
                "heating_rod.dhw": np.full(len(heat_kw), week_kwh / 168.0)}

    # --- one chunk: inputs (vectorised), controller loop, outputs (vectorised) ---

    def _simulate(self, index: int) -> _Chunk:
        state = dataclasses.replace(self._states[index])
        off0 = state.off_min
        n = MINUTES_PER_CHUNK
        t0 = self.origin_s + index * 60 * n
        t = t0 + 60 * np.arange(n, dtype=np.int64)
        c, h = self.climate, self.house

        rng = np.random.default_rng([self.seed, 1, index])
        hours = n // 60
        z, state.weather_z = _ar1(rng, state.weather_z, hours + 1, c.weather_tau_h)
        hz, state.humidity_z = _ar1(rng, state.humidity_z, hours + 1, 12.0)
        # z[k] is the value at hour k of the chunk (z[0] carried over); interpolate minutes.
        frac = np.arange(n) / 60.0
        weather = np.interp(frac, np.arange(hours + 1), z)
        hum_noise = np.interp(frac, np.arange(hours + 1), hz)
        summer = _summerness(c, t.astype(float))
        outdoor = (_seasonal_c(c, t.astype(float))
                   - _daily_amplitude(c, summer) * np.cos(
                       2 * np.pi * (_hour_utc(t) - c.coldest_hour_utc) / 24.0)
                   + weather * (c.weather_sigma_winter_k
                                + (c.weather_sigma_summer_k - c.weather_sigma_winter_k) * summer))
        humidity = np.clip(c.humidity_winter + (c.humidity_summer - c.humidity_winter) * summer
                           + 0.08 * hum_noise, 0.3, 1.0)
        solar_peak = h.solar_gains_winter_kw + (h.solar_gains_summer_kw
                                                - h.solar_gains_winter_kw) * summer
        cloud = np.clip(0.6 - 0.25 * hum_noise, 0.1, 1.0)
        gains = h.internal_gains_kw + solar_peak * cloud * np.clip(
            np.cos(2 * np.pi * (_hour_utc(t) - 11.5) / 24.0), 0, None) ** 1.5

        local_s = t + _utc_offsets_s(t, self.tz)
        draw_kw = self._dhw_draws_kw(local_s)
        eff, fault = self._scenario_masks(t)
        month = local_s.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12 + 1
        dhw_only = np.isin(month, h.dhw_only_months)

        hygiene, stuck = self._rod_inputs(t, local_s)
        out = self._run_controller(state, outdoor, humidity, gains, draw_kw, eff, fault,
                                   dhw_only, self._curve_factor(t), hygiene, stuck)
        mode, started = out.pop("mode"), out.pop("started")
        rod, out["rod_started"] = self._rod_counters(state, out["rod_level"])

        # Counters at the start of each minute (energy of completed minutes only).
        run_s0 = state.run_s
        running = np.isin(mode, (HEAT, DHW, DEFROST))
        run_s = run_s0 + 60 * np.concatenate(([0], np.cumsum(running)[:-1]))
        starts = state.starts + np.concatenate(([0], np.cumsum(started)[:-1]))
        state.run_s = int(run_s0 + 60 * running.sum())
        state.starts = int(state.starts + started.sum())
        totals = self._totals(state, out)

        meter = self._meter(index, state, t0, out["elec_w"])
        idx = np.arange(n)
        last_run = np.maximum.accumulate(np.where(running, idx, -1 - off0))
        pause = ~running & (idx - last_run <= self.hp.min_off_min)
        chunk = _Chunk(index, t0, out, mode, started, run_s, starts, totals, meter, fault,
                       pause, state, rod)
        return chunk

    def _rod_inputs(self, t: np.ndarray, local_s: np.ndarray
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per minute: the start of a weekly hygiene run (bool) and the level a RodStuck
        holds (int, 0: none); None for a house without a rod."""
        rod = self.rod
        if rod is None:
            return None, None
        days = local_s // 86400
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
        hygiene = (weekday == rod.hygiene_weekday) & (
            local_s % 86400 == rod.hygiene_hour * 3600)
        stuck = np.zeros(len(t), dtype=np.int64)
        for s in self.scenarios:
            if isinstance(s, RodStuck):
                end = _epoch(s.end) if s.end is not None else math.inf
                stuck[(t >= _epoch(s.start)) & (t < end)] = s.level
        return hygiene, stuck

    def _rod_counters(self, st: _State, level: np.ndarray
                      ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The rod's statistics at the start of each minute (running seconds, starts,
        seconds per level), carried on in `st`; and the minutes it started in."""
        on = level > 0
        if self.rod is None:
            return {}, on
        prev_on = np.concatenate(([st.rod_level_prev > 0], on[:-1]))
        started = on & ~prev_on
        out = {"run_s": st.rod_run_s + 60 * np.concatenate(([0], np.cumsum(on)[:-1])),
               "starts": st.rod_starts + np.concatenate(([0], np.cumsum(started)[:-1]))}
        totals = []
        for k, base in enumerate(st.rod_level_s, start=1):
            at = level == k
            out[f"level{k}_s"] = base + 60 * np.concatenate(([0], np.cumsum(at)[:-1]))
            totals.append(int(base + 60 * at.sum()))
        st.rod_run_s = int(st.rod_run_s + 60 * on.sum())
        st.rod_starts = int(st.rod_starts + started.sum())
        st.rod_level_s = tuple(totals)
        st.rod_level_prev = int(level[-1])
        return out, started

    def _scenario_masks(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        eff = np.ones(len(t))
        fault = np.zeros(len(t), dtype=bool)
        for s in self.scenarios:
            end = _epoch(s.end) if getattr(s, "end", None) is not None else math.inf
            inside = (t >= _epoch(s.start)) & (t < end)
            if isinstance(s, CopDrop):
                eff[inside] *= s.factor
            elif isinstance(s, Fault) and s.stops_compressor:
                fault |= inside
        return eff, fault

    def curve_slope(self, when: datetime) -> float:
        """The heating curve's slope set at `when` (the last CurveChange before it)."""
        changes = [s for s in self._curve_changes if s.start <= when]
        return changes[-1].slope if changes else NOMINAL_CURVE_SLOPE

    def _curve_factor(self, t: np.ndarray) -> np.ndarray | None:
        """Per minute: the slope set then over the nominal one; None without a CurveChange."""
        changes = sorted((s for s in self.scenarios if isinstance(s, CurveChange)),
                         key=lambda s: s.start)
        if not changes:
            return None
        factor = np.ones(len(t))
        for c in changes:
            factor[t >= _epoch(c.start)] = c.slope / NOMINAL_CURVE_SLOPE
        return factor

    def _dhw_draws_kw(self, local_s: np.ndarray) -> np.ndarray:
        """Hot water drawn per minute (kW): a morning and an evening peak plus small draws,
        placed in local wall time with a random pattern per local day."""
        day = local_s // 86400
        minute_of_day = (local_s % 86400) // 60
        draw = np.zeros(len(local_s))
        total = self.house.dhw_use_kwh_day
        for d in np.unique(day):
            rng = np.random.default_rng([self.seed, 2, int(d)])
            events = [  # (start minute of day, duration min, energy kWh)
                (360 + rng.integers(0, 120), 15, total * 0.37 * rng.uniform(0.7, 1.3)),
                (1080 + rng.integers(0, 180), 20, total * 0.45 * rng.uniform(0.7, 1.3)),
            ]
            for _ in range(3):
                events.append((rng.integers(480, 1320), 3, total * 0.06 * rng.uniform(0.5, 1.5)))
            sel_day = day == d
            for start_min, dur, kwh in events:
                sel = sel_day & (minute_of_day >= start_min) & (minute_of_day < start_min + dur)
                draw[sel] += kwh / (dur / 60.0)
        return draw

    def _run_controller(self, st: _State, outdoor: np.ndarray, humidity: np.ndarray,
                        gains: np.ndarray, draw_kw: np.ndarray, eff: np.ndarray,
                        fault: np.ndarray, dhw_only: np.ndarray,
                        curve: np.ndarray | None = None, hygiene: np.ndarray | None = None,
                        stuck: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The minute-by-minute heat balance and the heat pump's controller (with the
        heating rod's, HeatingRod: `hygiene` marks the minutes a weekly hygiene run starts,
        `stuck` the level a RodStuck holds; None without a rod).

        Whatever does not depend on the state is computed as arrays first; the loop keeps
        only the state machine and the three heat balances (room, heating water, cylinder).
        """
        h, hp = self.house, self.hp
        dt = 1.0 / 60.0  # hours
        n = len(outdoor)
        ua = h.ua_kw_k
        c_building = ua * h.building_time_constant_h
        # Emitters deliver the design load at the design mean water temperature.
        ua_em = h.design_load_kw / (h.design_flow_c - h.design_spread_k / 2 - h.room_c)
        flow_l_h = h.flow_l_h
        mc = flow_l_h / 1000.0 * WATER_KWH_PER_M3K  # kW per K of spread
        c_w = h.water_capacity_kwh_k
        c_t = h.dhw_volume_l / 1000.0 * WATER_KWH_PER_M3K
        ua_t = h.dhw_loss_w_k / 1000.0
        ea0, ea1 = hp.evaporator_approach_k
        ca0, ca1 = hp.condenser_approach_k

        damped = _ema(outdoor, st.damped_c, dt / 12.0)
        limit_damped = _ema(outdoor, st.limit_damped_c, dt / h.heating_limit_damping_h)
        flow_target = _flow_target_c(h, damped)
        if curve is not None:  # a CurveChange: the owner's new slope
            flow_target = h.room_c + (flow_target - h.room_c) * curve
        water_target = _water_target_c(h, flow_target)
        cap = hp.rated_heat_kw * np.clip(1 + hp.capacity_slope_per_k * (outdoor - 2), 0.5, 1.25)
        frost_rate = dt / hp.defrost_every_h * _frost_factor(outdoor, humidity,
                                                             hp.defrost_below_c)
        eta = hp.carnot_efficiency * eff
        source0 = outdoor - ea0

        to_l, gain_l, draw_l = outdoor.tolist(), gains.tolist(), draw_kw.tolist()
        fault_l, limit_l, wt_l = fault.tolist(), limit_damped.tolist(), water_target.tolist()
        dhw_only_l = dhw_only.tolist()
        cap_l, frost_l, eta_l, src_l = (cap.tolist(), frost_rate.tolist(), eta.tolist(),
                                        source0.tolist())

        o_room, o_water, o_tank = [0.0] * n, [0.0] * n, [0.0] * n
        o_hw, o_ht, o_el, o_mod, o_cop = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
        o_mode, o_start, o_hon = [0] * n, [False] * n, [False] * n
        o_rod_level, o_rod_h, o_rod_t = [0] * n, [0.0] * n, [0.0] * n
        rod = self.rod
        have_rod = rod is not None and hygiene is not None and stuck is not None
        if have_rod:
            assert rod is not None and hygiene is not None and stuck is not None
            hyg_l, stuck_l = hygiene.tolist(), stuck.tolist()
            bival_l = (outdoor < rod.bivalence_c).tolist()
            rod_kw = (0.0, *rod.level_kw)
            rod_deficit, rod_delay = rod.start_deficit_k, rod.start_delay_min
            rod_up = rod.start_delay_min + rod.level_up_min
            rod_max_water, hyg_target = rod.max_water_c, rod.hygiene_target_c
            hyg_level, hyg_max = rod.hygiene_level, rod.hygiene_max_min
        rod_level, rod_wait = st.rod_level, st.rod_wait
        hyg_on, hyg_min = st.hygiene, st.hygiene_min

        room, water, tank = st.room_c, st.water_c, st.dhw_c
        heating_on = st.heating_on
        mode, run_min, off_min = st.mode, st.run_min, st.off_min
        ice, defrost_left, defrost_return = st.ice, st.defrost_left, st.defrost_return
        limit_on = h.heating_limit_c - h.heating_limit_band_k
        limit_off = h.heating_limit_c + h.heating_limit_band_k
        hyst, min_mod = hp.hysteresis_k, hp.min_modulation
        min_run, min_off = hp.min_run_min, hp.min_off_min
        dhw_target = hp.dhw_target_c
        dhw_start = dhw_target - hp.dhw_hysteresis_k
        k_ctl = c_w / hp.control_time_constant_h
        half_mc = 0.5 / mc
        startup_min, startup_factor = hp.startup_min, hp.startup_heat_factor
        dhw_mod, dhw_approach = hp.dhw_modulation, hp.dhw_coil_approach_k + ca1 * hp.dhw_modulation
        defrost_heat, defrost_kw, defrost_min = hp.defrost_heat_kw, hp.defrost_power_kw, \
            hp.defrost_min
        cold = h.cold_water_c
        leak = 0.02  # kW/K from still water when the circuit pump is off
        k_room, k_water, k_tank = dt / c_building, dt / c_w, dt / c_t
        tank_floor_kw = c_t / dt

        for i in range(n):
            if have_rod and hyg_l[i]:
                hyg_on, hyg_min = True, 0
            # hygiene: the heat pump first brings the cylinder to its own target
            dhw_low = dhw_target - 1.0 if hyg_on else dhw_start
            td = limit_l[i]
            if dhw_only_l[i]:
                heating_on = False
            elif heating_on:
                if td > limit_off:
                    heating_on = False
            elif td < limit_on:
                heating_on = True
            wt = wt_l[i]

            # --- controller: this minute's mode ---
            was_running = 0 < mode < LOCKED
            if fault_l[i]:
                mode = LOCKED
            elif mode == DEFROST:
                defrost_left -= 1
                if defrost_left <= 0:
                    mode = defrost_return
            else:
                if mode == LOCKED:
                    mode = IDLE
                if mode == DHW:  # (minimum run time: a hygiene run may start near target)
                    if tank >= dhw_target and run_min >= min_run:
                        mode = HEAT if (heating_on and water < wt + hyst) else IDLE
                elif mode == HEAT:
                    if tank < dhw_low:
                        mode = DHW
                    elif run_min >= min_run and (not heating_on or water >= wt + hyst):
                        mode = IDLE
                elif off_min >= min_off:
                    if tank < dhw_low:
                        mode = DHW
                    elif heating_on and water < wt - hyst:
                        mode = HEAT
                if ice >= 1.0 and mode in (HEAT, DHW):
                    defrost_return, mode, defrost_left, ice = mode, DEFROST, defrost_min, 0.0
            running = 0 < mode < LOCKED
            if running:
                if not was_running:
                    o_start[i] = True
                    run_min = 0
                run_min += 1
                off_min = 0
            else:
                off_min += 1

            # --- physics of this minute (kW) ---
            q_em = (ua_em if heating_on else leak) * (water - room)
            heat_water = heat_tank = elec = mod = cop = 0.0
            full = False
            if mode in (HEAT, DHW):
                c = cap_l[i]
                if mode == HEAT:
                    p = q_em + k_ctl * (wt - water)
                    full = p >= c
                    pmin = min_mod * c
                    p = c if p > c else (pmin if p < pmin else p)
                    mod = p / c
                    sink = water + p * half_mc + ca0 + ca1 * mod
                else:
                    p = dhw_mod * c
                    mod = dhw_mod
                    sink = tank + dhw_approach
                lift = sink - src_l[i] + ea1 * mod
                if lift < 8.0:
                    lift = 8.0
                cop = eta_l[i] * (sink + 273.15) / lift
                cop = 8.0 if cop > 8.0 else (1.0 if cop < 1.0 else cop)
                elec = p / cop
                if run_min <= startup_min:
                    p *= startup_factor
                if mode == HEAT:
                    heat_water = p
                else:
                    heat_tank = p
                ice += mod * frost_l[i]
            elif mode == DEFROST:
                elec = defrost_kw
                mod = 0.5
                if defrost_return == DHW:
                    heat_tank = -defrost_heat
                else:
                    heat_water = -defrost_heat

            # --- the heating rod: stuck, hygiene, or helping below the bivalence point ---
            rod_h = rod_t = 0.0
            level = 0
            if have_rod:
                if hyg_on:
                    hyg_min += 1
                    if tank >= hyg_target or hyg_min > hyg_max:
                        hyg_on = False
                if stuck_l[i]:
                    rod_level = rod_wait = 0
                    if water < rod_max_water:
                        level = stuck_l[i]
                        rod_h = rod_kw[level]
                elif hyg_on and mode != DHW and tank >= dhw_target - 1.0:
                    rod_level = rod_wait = 0
                    level = hyg_level
                    rod_t = rod_kw[level]
                elif mode == HEAT and bival_l[i] and (rod_level or full) \
                        and water < wt - (0.0 if rod_level else rod_deficit):
                    rod_wait += 1
                    rod_level = 2 if rod_wait >= rod_up else (1 if rod_wait >= rod_delay else 0)
                    level = rod_level
                    rod_h = rod_kw[level]
                else:
                    rod_level = rod_wait = 0
            o_rod_level[i], o_rod_h[i], o_rod_t[i] = level, rod_h, rod_t

            o_room[i], o_water[i], o_tank[i] = room, water, tank
            o_hw[i], o_ht[i], o_el[i], o_mod[i], o_cop[i] = heat_water, heat_tank, elec, mod, cop
            o_mode[i], o_hon[i] = mode, heating_on

            # --- state update ---
            room += (q_em + gain_l[i] - ua * (room - to_l[i])) * k_room
            water += (heat_water + rod_h - q_em) * k_water
            drawn = draw_l[i]
            if drawn and tank - drawn * k_tank < cold:
                drawn = max(0.0, (tank - cold) * tank_floor_kw)
            tank += (heat_tank + rod_t - drawn - ua_t * (tank - room)) * k_tank

        st.room_c, st.water_c, st.dhw_c = room, water, tank
        st.damped_c, st.limit_damped_c = float(damped[-1]), float(limit_damped[-1])
        st.heating_on = heating_on
        st.mode, st.run_min, st.off_min = mode, run_min, off_min
        st.ice, st.defrost_left, st.defrost_return = ice, defrost_left, defrost_return
        st.rod_level, st.rod_wait, st.hygiene, st.hygiene_min = rod_level, rod_wait, hyg_on, \
            hyg_min

        # --- derived per-minute values (vectorised) ---
        mode_a = np.asarray(o_mode, dtype=np.int8)
        room_a, water_a, tank_a = np.asarray(o_room), np.asarray(o_water), np.asarray(o_tank)
        heat_w, heat_t = np.asarray(o_hw), np.asarray(o_ht)
        elec_comp = np.asarray(o_el)
        heating_on_a = np.asarray(o_hon, dtype=bool)
        is_heat, is_dhw, is_defrost = mode_a == HEAT, mode_a == DHW, mode_a == DEFROST
        running_a = is_heat | is_dhw | is_defrost
        rod_h_a, rod_t_a = np.asarray(o_rod_h), np.asarray(o_rod_t)
        # the circuit's pump runs while the rod heats the heating water (its supply
        # sensor sits before the rod: supply and return show the heat pump's heat only)
        pump_on = heating_on_a | is_dhw | is_defrost | (rod_h_a > 0)
        q_em_a = np.where(heating_on_a, ua_em, leak) * (water_a - room_a)
        pump_kw = np.where(pump_on, hp.pump_w / 1000.0, 0.0)
        standby_kw = hp.standby_w / 1000.0 + np.where(
            ~running_a & (outdoor < hp.crankcase_below_c), hp.crankcase_w / 1000.0, 0.0)
        elec_kw = elec_comp + pump_kw + standby_kw
        to_dhw = is_dhw | (is_defrost & (heat_t < 0))
        working_kw = elec_comp + pump_kw
        dev = hp.device_electricity_factor
        supply = np.select(
            [is_heat, is_dhw, is_defrost],
            [water_a + heat_w * half_mc, tank_a + hp.dhw_coil_approach_k - 3.0,
             water_a - defrost_heat / mc],
            water_a)
        ret = np.select(
            [is_heat, is_dhw, is_defrost, pump_on],
            [water_a - heat_w * half_mc, supply - heat_t / mc, water_a, water_a - q_em_a / mc],
            water_a)
        return {
            "outdoor_c": outdoor.copy(),
            "room_c": room_a,
            "water_c": water_a,
            "supply_c": supply,
            "return_c": ret,
            "dhw_c": tank_a,
            "flow_target_c": flow_target,
            "heat_heating_w": heat_w * 1000.0,
            "heat_dhw_w": heat_t * 1000.0,
            "elec_w": elec_kw * 1000.0,
            # the loads elec_w is the sum of (LOAD_COLUMNS), for meters that see a share
            "load_compressor_w": elec_comp * 1000.0,
            "load_crankcase_w": (standby_kw - hp.standby_w / 1000.0) * 1000.0,
            "load_controls_w": np.full(len(elec_comp), hp.standby_w),
            "load_pump_w": pump_kw * 1000.0,
            "elec_heating_w": np.where(to_dhw, standby_kw, elec_kw) * 1000.0,
            "elec_dhw_w": np.where(to_dhw, working_kw, 0.0) * 1000.0,
            "dev_heat_heating_w": np.maximum(heat_w, 0.0) * 1000.0,
            "dev_heat_dhw_w": np.maximum(heat_t, 0.0) * 1000.0,
            "dev_elec_heating_w": np.where(to_dhw, 0.0, working_kw) * dev * 1000.0,
            "dev_elec_dhw_w": np.where(to_dhw, working_kw, 0.0) * dev * 1000.0,
            "modulation": np.asarray(o_mod) * 100.0,
            "flow_l_h": np.where(pump_on, flow_l_h, 0.0),
            "cop": np.asarray(o_cop),
            "dhw_only": dhw_only.copy(),
            "rod_heating_w": rod_h_a * 1000.0,
            "rod_dhw_w": rod_t_a * 1000.0,
            "rod_level": np.asarray(o_rod_level, dtype=np.int8),
            "mode": mode_a,
            "started": np.asarray(o_start, dtype=bool),
        }

    def _totals(self, st: _State, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Energy of each COUNTER_SERIES since the origin (kWh) at the start of each minute:
        what the heat pump's own counters accumulate before they are reset or rounded."""
        result: dict[str, np.ndarray] = {}
        new_totals = []
        for s_i, series in enumerate(COUNTER_SERIES):
            e = np.asarray(out[_DEVICE_POWER[series]]) / 60_000.0  # kWh per minute
            result[series] = st.totals_kwh[s_i] + np.concatenate(([0.0], np.cumsum(e)[:-1]))
            new_totals.append(float(st.totals_kwh[s_i] + e.sum()))
        st.totals_kwh = tuple(new_totals)
        return result

    def _meter(self, index: int, st: _State, t0: int, elec_w: np.ndarray) -> MeterArrays:
        """10-s readings: true power per minute plus noise; the counter integrates truth."""
        per_min = 60 // METER_STEP_S
        n = len(elec_w) * per_min
        rng = np.random.default_rng([self.seed, 3, index])
        true_w = np.repeat(np.asarray(elec_w), per_min)
        power = true_w * (1 + self.hp.meter_noise_rel * rng.standard_normal(n)) \
            + self.hp.meter_noise_w * rng.standard_normal(n)
        power = np.round(np.maximum(power, 0.0), 1)
        step_wh = true_w * METER_STEP_S / 3600.0
        cum = st.meter_wh + np.concatenate(([0.0], np.cumsum(step_wh)[:-1]))
        times = t0 + METER_STEP_S * np.arange(n, dtype=np.int64)
        uptime = st.uptime_s + METER_STEP_S * np.arange(n, dtype=np.int64)
        offset = np.full(n, st.meter_offset_wh)
        reboots = sorted((s for s in self.scenarios if isinstance(s, MeterReboot)),
                         key=lambda s: s.start)
        for r in reboots:
            at = _epoch(r.start)
            k = math.ceil((at - t0) / METER_STEP_S)
            if not 0 <= k < n:
                continue
            uptime[k:] = np.floor(times[k:] - at).astype(np.int64)
            if r.resets_counter:  # the counter restarts from what was used since `at`
                w = true_w[k - 1] if k > 0 else st.meter_last_w
                offset[k:] = cum[k] - w * (times[k] - at) / 3600.0
        energy = np.floor((cum - offset) * 100.0 + 1e-6) / 100.0
        st.meter_wh = float(cum[-1] + step_wh[-1])  # continues the same running sum
        st.meter_offset_wh = float(offset[-1])
        st.meter_last_w = float(true_w[-1])
        st.uptime_s = int(uptime[-1] + METER_STEP_S)
        return MeterArrays(times, power, energy, uptime)

    def _state_of(self, chunk: _Chunk, k: int, when: datetime) -> PumpState:
        """The heat pump's report in minute `k` of `chunk`: sensors rounded to 0.1 K with a
        little noise (fixed per minute, so a repeated question gets the same answer)."""
        noise = np.random.default_rng(self._noise_seed(chunk.index, k)).normal(
            0.0, 0.05, 4).tolist()
        m = chunk.pump_rows or self._pump_rows(chunk)
        mode = int(m["mode"][k])
        messages = tuple(PumpMessage("error", f.code, f.priority, f.start)
                         for f in self._faults
                         if f.start <= when and (f.end is None or when < f.end)) \
            if self._faults else ()
        values: dict[str, float | int | bool | str] = {
            "outside_temp_c": round(float(m["outdoor_c"][k] + noise[0]), 1),
            "supply_temp_c": round(float(m["supply_c"][k] + noise[1]), 1),
            "return_temp_c": round(float(m["return_c"][k] + noise[2]), 1),
            "dhw_temp_c": round(float(m["dhw_c"][k] + noise[3]), 1),
            "compressor_active": mode in (HEAT, DHW, DEFROST),
            "compressor_phase": _PHASES[mode] if mode != IDLE else (
                "pause" if m["pause"][k] else "ready"),
            "compressor_modulation_pct": float(round(m["modulation"][k])),
            "compressor_hours_h": float(m["run_s"][k]) / 3600.0,
            "compressor_starts": int(m["starts"][k]),
            "flow_l_h": float(round(m["flow_l_h"][k])),
            "heating_mode": "dhw" if m["dhw_only"][k] else "heating",
            "dhw_mode": "efficient",
            "heating_supply_target_temp_c": round(float(m["flow_target_c"][k]), 1),
            "dhw_target_temp_c": self.hp.dhw_target_c,
            "heating_curve_slope": self.curve_slope(when),
            "heating_curve_shift_k": NOMINAL_CURVE_SHIFT_K,
        }
        if self.rod is not None:  # its state and statistics, under the stored names
            level = int(m["rod_level"][k])
            values["heating_rod_active"] = level > 0
            for n, active_key, _runtime_key, _column in self._rod_keys:
                values[active_key] = level == n
            values["heating_rod_hours_h"] = float(m["rod_run_s"][k]) / 3600.0
            values["heating_rod_starts"] = int(m["rod_starts"][k])
            for _n, _active_key, runtime_key, column in self._rod_keys:
                values[runtime_key] = float(m[column][k])
        return PumpState(when, MODE_NAMES[mode], values, messages)

    def _noise_seed(self, index: int, k: int) -> list[int] | np.ndarray:
        """The entropy of minute `k` of chunk `index`'s sensor noise: [seed, 4, index, k].
        As an array of uint32 words when each is one (numpy's SeedSequence takes such an
        array word for word, as it splits a list's ints into words: the same pool, so the
        same draws, at ~30k fewer instructions than converting a list's ints per report);
        the list itself for a seed that is not one word."""
        if 0 <= self.seed < 2 ** 32 and 0 <= index < 2 ** 32:
            return np.array((self.seed, 4, index, k), dtype=np.uint32)
        return [self.seed, 4, index, k]

    def _pump_rows(self, chunk: _Chunk) -> dict[str, list[Any]]:
        """The columns `_state_of` reads, as lists (`tolist` gives each element's exact
        value as a Python number: the same sums and roundings as the numpy scalars)."""
        m = chunk.minutes
        rows = {name: m[name].tolist() for name in _PUMP_COLUMNS}
        rows.update(mode=chunk.mode.tolist(), pause=chunk.pause.tolist(),
                    run_s=chunk.run_s.tolist(), starts=chunk.starts.tolist())
        if self.rod is not None:
            rows["rod_level"] = m["rod_level"].tolist()
            rows.update({f"rod_{name}": np.asarray(column).tolist()
                         for name, column in chunk.rod.items()})
        chunk.pump_rows = rows
        return rows


_PHASES = {HEAT: "heating", DHW: "heating", DEFROST: "defrost", LOCKED: "off"}
# the minute columns a heat pump report reads
_PUMP_COLUMNS = ("outdoor_c", "supply_c", "return_c", "dhw_c", "modulation", "flow_l_h",
                 "dhw_only", "flow_target_c")


# --- pure helpers --------------------------------------------------------------------------


def _epoch(dt: datetime) -> float:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: times must carry a zone")
    return dt.timestamp()


def _inside(t: float, spans: list[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def check_scenario(s: Scenario) -> None:
    for name in ("start", "end"):
        v = getattr(s, name, None)
        if v is not None and v.tzinfo is None:
            raise ValueError(f"{type(s).__name__}.{name} must carry a zone")
    if isinstance(s, Outage) and s.source not in ("meter", "heatpump"):
        raise ValueError("Outage needs source 'meter' or 'heatpump'")
    if isinstance(s, MeterReboot) and s.offline_s < 0:
        raise ValueError("MeterReboot.offline_s must not be negative")
    end = getattr(s, "end", None)
    if end is not None and end <= s.start:
        raise ValueError(f"{type(s).__name__} must end after it starts")
    if isinstance(s, CopDrop) and not 0 < s.factor <= 1.5:
        raise ValueError("CopDrop.factor must be in (0, 1.5]")
    if isinstance(s, CurveChange) and not 0.2 <= s.slope <= 3.5:
        raise ValueError("CurveChange.slope must be in [0.2, 3.5], as on the device")
    if isinstance(s, RodStuck) and s.level < 1:
        raise ValueError("RodStuck.level must be 1 or more")


def _frost_factor(outdoor_c: np.ndarray, humidity: np.ndarray,
                  below_c: float = 6.0) -> np.ndarray:
    """How fast the evaporator ices, relative to the worst case (about -2..2 °C, humid):
    warmer air freezes less on the coil (none from `below_c` up), very cold air is dry."""
    t = np.where(outdoor_c >= 2.0, (below_c - outdoor_c) / max(below_c - 2.0, 0.1),
                 np.where(outdoor_c >= -2.0, 1.0,
                          np.maximum(0.25, 1.0 - (-2.0 - outdoor_c) / 14.0)))
    t = np.clip(t, 0.0, 1.0)
    return t * np.clip((humidity - 0.55) / 0.3, 0.0, 1.3)


def _flow_target_c(h: House, damped_outdoor_c: np.ndarray) -> np.ndarray:
    """Heating curve: linear from room temperature (at the room temperature outside) to the
    design flow temperature (at the design outdoor temperature)."""
    slope = (h.design_flow_c - h.room_c) / (h.room_c - h.design_outdoor_c)
    return np.minimum(h.design_flow_c + 5.0,
                      h.room_c + slope * np.maximum(0.0, h.room_c - damped_outdoor_c))


def _water_target_c(h: House, flow_target_c: np.ndarray) -> np.ndarray:
    """Mean water temperature that goes with a flow target (half the spread lower)."""
    share = (h.design_spread_k / 2) / (h.design_flow_c - h.room_c)
    return h.room_c + (flow_target_c - h.room_c) * (1 - share)


def _ema(x: np.ndarray, y0: float, alpha: float) -> np.ndarray:
    """y[i] = y[i-1] + alpha * (x[i] - y[i-1]) with y[-1] = y0, without a Python loop
    (fine for chunk lengths where (1 - alpha) ** -len(x) stays small)."""
    r = 1.0 - alpha
    k = np.arange(1, len(x) + 1)
    scale = r ** k
    return scale * (y0 + alpha * np.cumsum(x / scale))


def _ar1(rng: np.random.Generator, z0: float, count: int,
         tau_h: float) -> tuple[np.ndarray, float]:
    """A unit-variance AR(1) series at hourly steps starting at z0 (z[0] == z0)."""
    a = math.exp(-1.0 / tau_h)
    eps = rng.standard_normal(count - 1) * math.sqrt(1 - a * a)
    z = np.empty(count)
    z[0] = z0
    for k in range(1, count):
        z[k] = a * z[k - 1] + eps[k - 1]
    return z, float(z[-1])


def _day_of_year(t_s: np.ndarray) -> np.ndarray:
    days = t_s / 86400.0
    # 1970-01-01 is day 0 of the year; 365.2425-day years keep the phase over centuries.
    return np.mod(days, 365.2425)


def _summerness(c: Climate, t_s: np.ndarray) -> np.ndarray:
    """0 on the coldest day of the year, 1 half a year later."""
    phase = 2 * np.pi * (_day_of_year(t_s) - c.coldest_day_of_year) / 365.2425
    return (1 - np.cos(phase)) / 2


def _seasonal_c(c: Climate, t_s: np.ndarray) -> np.ndarray:
    phase = 2 * np.pi * (_day_of_year(t_s) - c.coldest_day_of_year) / 365.2425
    return c.mean_c - c.seasonal_amplitude_k * np.cos(phase)


def _daily_amplitude(c: Climate, summer: np.ndarray) -> np.ndarray:
    return c.daily_amplitude_winter_k + (c.daily_amplitude_summer_k
                                         - c.daily_amplitude_winter_k) * summer


def _hour_utc(t_s: np.ndarray) -> np.ndarray:
    return (t_s % 86400) / 3600.0


def _utc_offsets_s(t_s: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """UTC offset (s) of the zone at each time; exact per minute across DST changes."""
    first = _offset(int(t_s[0]), tz)
    if first == _offset(int(t_s[-1]), tz):
        return np.full(len(t_s), first, dtype=np.int64)
    return np.array([_offset(int(x), tz) for x in t_s], dtype=np.int64)


def _offset(t_s: int, tz: ZoneInfo) -> int:
    off = datetime.fromtimestamp(t_s, UTC).astimezone(tz).utcoffset() or timedelta(0)
    return int(off.total_seconds())
