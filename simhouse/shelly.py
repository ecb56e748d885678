"""The simulated electricity meter as a Shelly on the LAN: its HTTP answers, at the wire.

`SimulatedShelly.answer(path)` returns what a real Shelly returns for a GET of `path`
(HTTP status and JSON body), shaped like the real answers in tests/fixtures/shelly:
`/shelly`, and `/status` (Gen1) or `/rpc/Shelly.GetStatus` and the per-component
`/rpc/<Component>.GetStatus?id=N` (Gen2+). The collector reads it with the real Shelly
client, parser and meter accounting. While the meter is offline (an `Outage` of the meter,
the seconds after a `MeterReboot`) `answer` raises `MeterOffline`, which the transport
turns into the error a real unreachable meter gives.

Models (`MODELS`): a Pro 3EM (triphase, Gen2), a Plus 1PM (Gen2 switch), a Gen1 Plug S
(counter in watt-minutes, reset at every reboot) and a Gen1 3EM. How meters get energy
wrong in the field is a set of `ShellyQuirks`: a counter that dips and recovers, a
one-reading spike, counters that stay at 0 while power flows (Pro 3EM, unimeter#352), and
early Pro 3EM firmware whose `emdata:0` holds no counters at all. The Pro 3EM also keeps
per-minute energy records and answers `EMData.GetRecords`/`EMData.GetData`
(simhouse/shelly_records.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from simhouse.house import METER_STEP_S, MINUTES_PER_CHUNK, MeterStep, Simulator
from simhouse.rounding import floor_each, round_each
from simhouse.shelly_em_data import EmDataCsv
from simhouse.shelly_records import ROUTES as RECORD_ROUTES
from simhouse.shelly_records import EMDataRecords

MAC = "AABBCCDDEE01"
# Pro 3EM firmware whose `emdata:0` holds no counters (the field case
# pro3em_emdata_empty_oldfw: 0.14.1)
EARLY_PRO3EM_FW = ("20230120-000000/0.14.1-gabcdef0", "0.14.1")
PHASE_SHARE = (0.34, 0.33, 0.33)  # how the heat pump's load splits over L1, L2, L3
# The answers' values that follow from the meter's power and counter are rounded for a
# simulated chunk (a day) of steps at once (SimulatedShelly._load_day)
TABLE_S = 60 * MINUTES_PER_CHUNK
ROWS_BLOCK = 360  # steps (an hour) of the table made Python values at once
Span = tuple[datetime, datetime]


class MeterOffline(ConnectionError):
    """The simulated meter does not answer (outage or reboot)."""


@dataclass(frozen=True)
class ShellyQuirks:
    """Faults of the simulated meter's energy counter (power stays right).

    - `dips`: (start, end, Wh) spans in which the counter reads this much lower, then
      recovers (seen on Gen2 meters around firmware-side counter saves).
    - `spikes`: (time, Wh): the one reading at that time is this much higher.
    - `zero_counters`: spans in which every energy counter reads 0.00 while power is
      right (Pro 3EM field case, unimeter#352).
    - `no_counters`: `emdata:0` holds only its id (Pro 3EM firmware before 1.0).
    """

    dips: tuple[tuple[datetime, datetime, float], ...] = ()
    spikes: tuple[tuple[datetime, float], ...] = ()
    zero_counters: tuple[Span, ...] = ()
    no_counters: bool = False


@dataclass(frozen=True)
class Model:
    key: str
    gen: int
    shelly: dict[str, Any]  # the `/shelly` answer
    counter_resets_on_reboot: bool


MODELS: dict[str, Model] = {m.key: m for m in (
    Model("pro3em", 2, {"name": "heat pump", "id": f"shellypro3em-{MAC.lower()}", "mac": MAC,
                        "slot": 0, "model": "SPEM-003CEBEU", "gen": 2,
                        "fw_id": "20250508-110717/1.6.1-g8dbd358", "ver": "1.6.1",
                        "app": "Pro3EM", "auth_en": False, "auth_domain": None,
                        "profile": "triphase"}, False),
    Model("plus1pm", 2, {"name": "heat pump", "id": f"shellyplus1pm-{MAC.lower()}",
                         "mac": MAC, "slot": 0, "model": "SNSW-001P16EU", "gen": 2,
                         "fw_id": "20231219-133934/1.1.0-g34b5d4f", "ver": "1.1.0",
                         "app": "Plus1PM", "auth_en": False, "auth_domain": None}, False),
    Model("plugs", 1, {"type": "SHPLG-S", "mac": MAC, "auth": False,
                       "fw": "20230913-113421/v1.14.0-gcb84623", "discoverable": True,
                       "num_outputs": 1, "num_meters": 1}, True),
    Model("3em", 1, {"type": "SHEM-3", "mac": MAC, "auth": False,
                     "fw": "20230913-114244/v1.14.0-gcb84623", "num_outputs": 1,
                     "num_emeters": 3}, False),
)}


class SimulatedShelly:
    """One simulated Shelly meter. `clock()` is the time of a request."""

    def __init__(self, sim: Simulator, clock: Callable[[], datetime], *,
                 model: str = "pro3em", quirks: ShellyQuirks | None = None):
        if model not in MODELS:
            raise ValueError(f"unknown meter model {model!r}; one of {', '.join(MODELS)}")
        self.sim, self.clock = sim, clock
        self.model = MODELS[model]
        self.quirks = quirks or ShellyQuirks()
        self._asked: tuple[datetime, dict[str, Any]] | None = None  # by request time
        # the Pro 3EM keeps per-minute energy records (simhouse/shelly_records.py)
        self.records = (EMDataRecords(sim, clock, PHASE_SHARE) if model == "pro3em"
                        and not self.quirks.no_counters else None)
        # the Gen1 3EM serves its stored records as em_data.csv (simhouse/shelly_em_data.py)
        self.em_data = (EmDataCsv(sim, clock, PHASE_SHARE) if model == "3em"
                        and not self.quirks.no_counters else None)
        self._build = {"pro3em": self._pro3em, "plus1pm": self._plus1pm,
                       "plugs": self._plugs, "3em": self._gen1_3em}[self.model.key]
        self._columns = {"pro3em": _pro3em_columns, "plus1pm": _plus1pm_columns,
                         "plugs": _plugs_columns, "3em": _gen1_3em_columns}[self.model.key]
        # the route of the full status (the one request of a poll), answered first
        self._status_route = "/status" if self.model.gen == 1 else "/rpc/Shelly.GetStatus"
        # when the meter does not answer (Simulator.meter_offline_spans: fixed per run)
        self._origin_s = sim.origin_s
        self._offline = sim.meter_offline_spans()
        # the simulated day (table) the last answer came from: its first second, the
        # second after its last step, per step its uptime and the model's moving fields
        # (`_load_day`); those of the block of steps the last answer came from as Python
        # values (`_load_block`): its first second, its steps' uptimes and rows, and the
        # index in it of the last answer's step with that answer
        self._day_s = (0, 0)
        self._uptimes: list[int] = []
        self._table = np.zeros((0, 0))
        self._block_s = 0
        self._block_uptimes: list[int] = []
        self._rows: list[Any] = []
        self._built: tuple[int, dict[str, Any] | None] = (-1, None)

    @property
    def device_id(self) -> str:
        """The id the collector tags this meter's data with (as the real client derives)."""
        s = self.model.shelly
        return s["id"] if self.model.gen >= 2 else f"{s['type']}-{s['mac']}".lower()

    def answer(self, path: str) -> tuple[int, Any]:
        """(HTTP status, JSON body; CSV text for em_data.csv) for a GET of `path`; raises
        MeterOffline when the meter does not answer at all."""
        if path == self._status_route:  # a poll's one request (no other route is this)
            return 200, self.status()
        route = path.split("?")[0]
        if route == "/shelly":
            self._step()  # an offline meter does not answer /shelly either
            return 200, self.shelly_answer()
        if route in RECORD_ROUTES and self.records is not None:
            self._step()  # an offline meter answers nothing
            return self.records.answer(path)
        if route.endswith("/em_data.csv") and self.em_data is not None:
            self._step()  # an offline meter answers nothing
            return self.em_data.answer(path)
        status = self.status()
        if self.model.gen == 1:
            return (200, status) if route == "/status" else (404, "Not Found")
        if route == "/rpc/Shelly.GetStatus":
            return 200, status
        component = _COMPONENTS.get(route)
        if component is None:
            return 404, {"code": 404, "message": f"No handler for {route[5:]}"}
        n = path.split("id=")[1] if "id=" in path else "0"
        key = component if component == "sys" else f"{component}:{n}"
        if key not in status:
            return 400, {"code": -105, "message": f"Argument 'id', value {n} not found!"}
        return 200, status[key]

    def shelly_answer(self) -> dict[str, Any]:
        """The `/shelly` answer; a meter without counters runs early firmware."""
        answer = dict(self.model.shelly)
        if self.quirks.no_counters and self.model.key == "pro3em":
            answer.update(fw_id=EARLY_PRO3EM_FW[0], ver=EARLY_PRO3EM_FW[1])
        return answer

    def status(self) -> dict[str, Any]:
        """The full status answer at the current step (Gen1 /status, Gen2 GetStatus). The
        requests of one poll come at the same time: the answer is built once for them.

        The step is the meter's (`Simulator.meter_step`: the latest 10-s step, offline
        inside `meter_offline_spans` and before the origin), found in the block of the
        simulated day's table (`_load_day`, `_load_block`) that the last answer came from,
        rather than asked step by step: this runs every poll."""
        now = self.clock()
        asked = self._asked
        if asked is not None and asked[0] == now:
            return asked[1]
        if now.tzinfo is None:
            raise ValueError("naive datetime: times must carry a zone")
        t_s = now.timestamp()
        if t_s < self._origin_s or (self._offline and _inside(t_s, self._offline)):
            raise MeterOffline("the simulated meter does not answer")
        i = int((t_s - self._block_s) // METER_STEP_S)  # the step's index in the block
        if not 0 <= i < len(self._rows):
            i = self._load_block(t_s)
        built = self._built
        if built[0] != i:
            built = self._built = (i, self._build(self._block_s + i * METER_STEP_S,
                                                self._block_uptimes[i], self._rows[i]))
        self._asked = (now, built[1])
        return built[1]

    # --- state and counter -------------------------------------------------------------

    def _step(self) -> MeterStep:
        step = self.sim.meter_step(self.clock())
        if step is None:
            raise MeterOffline("the simulated meter does not answer")
        return step

    def _counter(self, time_s: int, energy: float) -> float:
        """The counter (Wh) the meter reports at the step at `time_s` whose true counter is
        `energy`: the quirks applied, never negative."""
        q = self.quirks
        if not (q.dips or q.spikes or q.zero_counters):
            return max(energy, 0.0)
        t = datetime.fromtimestamp(time_s, self.clock().tzinfo)
        energy -= sum(wh for a, b, wh in q.dips if a <= t < b)
        energy += sum(wh for at, wh in q.spikes if int(at.timestamp()) // 10 * 10
                      == time_s)
        if any(a <= t < b for a, b in q.zero_counters):
            energy = 0.0
        return max(energy, 0.0)

    def _load_day(self, t_s: float) -> int:
        """Make the table of the simulated chunk (a day of 8,640 steps) holding `t_s`;
        returns its first second.

        Per step: its uptime, and the answer's values that follow from the step's power
        and counter (`_counter`) as the model's columns function rounds them
        (`_pro3em_columns`, ...): made once per day, not rounded field by field in every
        answer (a Pro 3EM answer has twelve powers and four counters; `round` and the
        counters' floors were most of its cost)."""
        origin = self._origin_s
        first_s = origin + int((t_s - origin) // TABLE_S) * TABLE_S
        trace = self.sim.meter_trace(datetime.fromtimestamp(first_s, UTC),
                                     datetime.fromtimestamp(first_s + TABLE_S, UTC))
        if len(trace) != TABLE_S // METER_STEP_S or trace.time_s[0] != first_s:
            raise AssertionError("the meter's trace is not one step every "
                                 f"{METER_STEP_S} s from {first_s}")
        q = self.quirks
        if q.dips or q.spikes or q.zero_counters:
            counter_wh = np.array([self._counter(t, wh) for t, wh in zip(
                trace.time_s.tolist(), trace.energy_import_wh.tolist(), strict=True)])
        else:  # `_counter` of every step: never negative (max(wh, 0.0), element by element)
            energy = trace.energy_import_wh
            counter_wh = np.where(energy < 0.0, 0.0, energy)
        self._table = self._columns(trace.power_w, counter_wh)
        self._uptimes = trace.uptime_s.tolist()
        self._day_s = (first_s, first_s + TABLE_S)
        return first_s

    def _load_block(self, t_s: float) -> int:
        """Make the rows of the block of ROWS_BLOCK steps holding `t_s` (of its day's
        table, `_load_day`) Python values, as the model's builder unpacks them (`_ROWS`);
        returns the index of `t_s`'s step in the block. A numpy row's conversion in every
        answer cost as much as the rest of the answer; a whole day's at once put 8,640 new
        lists before the garbage collector, a full collection of the demo's heap (~40
        million instructions) each time."""
        first_s, end_s = self._day_s
        if not first_s <= t_s < end_s:
            first_s = self._load_day(t_s)
        k = int((t_s - first_s) // METER_STEP_S)  # the step's index in the day
        first = k // ROWS_BLOCK * ROWS_BLOCK
        self._rows = _ROWS[self.model.key](self._table[first:first + ROWS_BLOCK])
        self._block_uptimes = self._uptimes[first:first + ROWS_BLOCK]
        self._block_s = first_s + first * METER_STEP_S
        self._built = (-1, None)
        return k - first

    # --- answers per model --------------------------------------------------------------
    # Each takes the step's time (UTC epoch s), the meter's uptime (s) and the step's row
    # of the day's table (`_load_day`). An answer's objects that hold a moving value are
    # new in every answer: a copy of the model's template (the fixed fields in the
    # device's key order; a copy and a few assignments cost a fraction of a literal), its
    # moving values set. Its parts that never move (a component's fixed status, empty
    # lists) are the templates' own, the same objects in every answer: an answer is read,
    # never changed (the client reads it, a recording writes it out), as the answers to
    # the requests of one step already are the same objects.

    def _pro3em(self, time_s: int, uptime_s: int, fields: list[float]) -> dict[str, Any]:
        (pa, a_aprt, a_current, pb, b_aprt, b_current, pc, c_aprt, c_current,
         total, total_aprt, total_current, a_wh, b_wh, c_wh, total_wh) = fields
        em = _PRO3EM_EM.copy()
        em["a_act_power"], em["a_aprt_power"], em["a_current"] = pa, a_aprt, a_current
        em["b_act_power"], em["b_aprt_power"], em["b_current"] = pb, b_aprt, b_current
        em["c_act_power"], em["c_aprt_power"], em["c_current"] = pc, c_aprt, c_current
        em["total_act_power"], em["total_aprt_power"], em["total_current"] = (
            total, total_aprt, total_current)
        if self.quirks.no_counters:
            data = _NO_EMDATA
        else:
            data = _PRO3EM_EMDATA.copy()
            data["a_total_act_energy"], data["b_total_act_energy"] = a_wh, b_wh
            data["c_total_act_energy"], data["total_act"] = c_wh, total_wh
        sys = _SYS.copy()
        sys["unixtime"], sys["uptime"] = time_s, uptime_s
        status = _PRO3EM_STATUS.copy()
        status["em:0"], status["emdata:0"], status["sys"] = em, data, sys
        return status

    def _plus1pm(self, time_s: int, uptime_s: int, fields: list[float]) -> dict[str, Any]:
        apower, current, total_wh = fields
        switch = _PLUS1PM_SWITCH.copy()
        switch["apower"], switch["current"] = apower, current
        switch["aenergy"] = {"total": total_wh, "by_minute": _BY_MINUTE,
                             "minute_ts": time_s // 60 * 60}
        sys = _SYS.copy()
        sys["unixtime"], sys["uptime"] = time_s, uptime_s
        status = _PLUS1PM_STATUS.copy()
        status["switch:0"], status["sys"] = switch, sys
        return status

    def _plugs(self, time_s: int, uptime_s: int, fields: tuple[float, int]
               ) -> dict[str, Any]:
        power, total_wmin = fields  # whole watt-minutes, an integer (_ROWS)
        meter = _PLUGS_METER.copy()
        meter["power"], meter["timestamp"], meter["total"] = power, time_s, total_wmin
        status = _PLUGS_STATUS.copy()
        status["meters"], status["unixtime"], status["uptime"] = [meter], time_s, uptime_s
        return status

    def _gen1_3em(self, time_s: int, uptime_s: int, fields: list[float]) -> dict[str, Any]:
        pa, a_current, a_wh, pb, b_current, b_wh, pc, c_current, c_wh, total = fields
        a, b, c = _GEN1_3EM_EMETER.copy(), _GEN1_3EM_EMETER.copy(), _GEN1_3EM_EMETER.copy()
        a["power"], a["current"], a["total"] = pa, a_current, a_wh
        b["power"], b["current"], b["total"] = pb, b_current, b_wh
        c["power"], c["current"], c["total"] = pc, c_current, c_wh
        status = _GEN1_3EM_STATUS.copy()
        status["emeters"], status["total_power"] = [a, b, c], total
        status["unixtime"], status["uptime"] = time_s, uptime_s
        return status


def _inside(t_s: float, spans: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t_s < b for a, b in spans)


# The answers' templates, in the device's key order: the fixed fields, and those that
# move (set per answer, SimulatedShelly._pro3em ...) at 0 or None.
# Sys.GetStatus (Gen2): unixtime and uptime move.
_SYS: dict[str, Any] = {"mac": MAC, "restart_required": False, "time": None, "unixtime": 0,
                        "uptime": 0, "ram_size": 247524, "ram_free": 113080,
                        "fs_size": 524288, "fs_free": 180224, "cfg_rev": 12, "kvs_rev": 1,
                        "schedule_rev": 0, "webhook_rev": 0, "available_updates": {},
                        "reset_reason": 3}
# EM.GetStatus of the Pro 3EM (triphase): per phase (a, b, c) its power, apparent power
# and current, then the totals, move.
_PRO3EM_EM: dict[str, Any] = {
    "id": 0,
    "a_act_power": 0.0, "a_aprt_power": 0.0, "a_current": 0.0,
    "a_pf": 0.97, "a_voltage": 230.0, "a_freq": 50.0,
    "b_act_power": 0.0, "b_aprt_power": 0.0, "b_current": 0.0,
    "b_pf": 0.97, "b_voltage": 230.0, "b_freq": 50.0,
    "c_act_power": 0.0, "c_aprt_power": 0.0, "c_current": 0.0,
    "c_pf": 0.97, "c_voltage": 230.0, "c_freq": 50.0,
    "n_current": None, "total_act_power": 0.0, "total_aprt_power": 0.0,
    "total_current": 0.0, "user_calibrated_phase": []}
# EMData.GetStatus of the Pro 3EM: the import counters move (early firmware: only its id)
_PRO3EM_EMDATA: dict[str, Any] = {
    "id": 0, "a_total_act_energy": 0.0, "a_total_act_ret_energy": 0.0,
    "b_total_act_energy": 0.0, "b_total_act_ret_energy": 0.0,
    "c_total_act_energy": 0.0, "c_total_act_ret_energy": 0.0,
    "total_act": 0.0, "total_act_ret": 0.0}
_NO_EMDATA: dict[str, Any] = {"id": 0}
_CLOUD_MQTT: dict[str, Any] = {"cloud": {"connected": False}, "mqtt": {"connected": False}}
_PRO3EM_STATUS: dict[str, Any] = {"em:0": None, "emdata:0": None, "sys": None,
                                  "temperature:0": {"id": 0, "tC": 41.2, "tF": 106.2},
                                  **_CLOUD_MQTT}
# Switch.GetStatus of the Plus 1PM: apower, current and aenergy move
_PLUS1PM_SWITCH: dict[str, Any] = {"id": 0, "source": "init", "output": True, "apower": 0.0,
                                   "voltage": 230.0, "current": 0.0, "aenergy": None,
                                   "temperature": {"tC": 38.5, "tF": 101.3}}
_BY_MINUTE = [0.0, 0.0, 0.0]
_PLUS1PM_STATUS: dict[str, Any] = {"switch:0": None, "input:0": {"id": 0, "state": False},
                                   "sys": None, **_CLOUD_MQTT}
# Gen1 /status of the Plug S: its meter's power, timestamp and counter move, and the time
_PLUGS_METER: dict[str, Any] = {"power": 0.0, "overpower": 0.0, "is_valid": True,
                                "timestamp": 0, "counters": [0.0, 0.0, 0.0], "total": 0}
_PLUGS_STATUS: dict[str, Any] = {"meters": None,
                                 "relays": [{"ison": True, "has_timer": False,
                                             "overpower": False, "source": "http"}],
                                 "unixtime": 0, "uptime": 0, "mac": MAC, "temperature": 31.2,
                                 "has_update": False}
# Gen1 /status of the 3EM: each phase's power, current and counter move, and the time
_GEN1_3EM_EMETER: dict[str, Any] = {"power": 0.0, "pf": 0.97, "current": 0.0,
                                    "voltage": 230.0, "is_valid": True, "total": 0.0,
                                    "total_returned": 0.0}
_GEN1_3EM_STATUS: dict[str, Any] = {"emeters": None, "total_power": 0.0,
                                    "relays": [{"ison": True, "has_timer": False,
                                                "overpower": False, "is_valid": True,
                                                "source": "input"}],
                                    "unixtime": 0, "uptime": 0, "mac": MAC,
                                    "fs_mounted": True, "has_update": False}
_COMPONENTS = {"/rpc/EM.GetStatus": "em", "/rpc/EMData.GetStatus": "emdata",
               "/rpc/Switch.GetStatus": "switch", "/rpc/Sys.GetStatus": "sys",
               "/rpc/EM1.GetStatus": "em1", "/rpc/EM1Data.GetStatus": "em1data",
               "/rpc/PM1.GetStatus": "pm1"}



# --- the values that move, per model: columns of a day's steps ----------------------------
# Each takes the steps' power (W) and reported counter (Wh, `SimulatedShelly._counter`) and
# returns one row per step, its columns in the order the model's answer builder unpacks
# them; powers rounded, counters truncated, as the device's firmware reports them.


def _pro3em_columns(power_w: np.ndarray, counter_wh: np.ndarray) -> np.ndarray:
    """Per phase: active power (0.1 W), apparent power (0.1 VA), current (mA); the totals
    of the three (mW, mVA, mA); per phase its share of the counter, then the counter
    (0.01 Wh)."""
    columns = []
    for share in PHASE_SHARE:
        phase = round_each(power_w * share, 1)
        columns += [phase, round_each(phase * 1.03, 1), round_each(phase / 230.0, 3)]
    columns += [round_each(power_w, 3), round_each(power_w * 1.03, 3),
                round_each(power_w / 230.0, 3)]
    columns += [floor_each(counter_wh * share, 2) for share in PHASE_SHARE]
    return np.column_stack([*columns, floor_each(counter_wh, 2)])


def _plus1pm_columns(power_w: np.ndarray, counter_wh: np.ndarray) -> np.ndarray:
    """apower (0.1 W), current (mA), aenergy total (0.001 Wh)."""
    return np.column_stack([round_each(power_w, 1), round_each(power_w / 230.0, 3),
                            floor_each(counter_wh, 3)])


def _plugs_columns(power_w: np.ndarray, counter_wh: np.ndarray) -> np.ndarray:
    """power (0.01 W), the counter in whole watt-minutes (a float here; the answer holds
    it as an integer)."""
    return np.column_stack([round_each(power_w, 2), floor_each(counter_wh * 60.0, 0)])


def _gen1_3em_columns(power_w: np.ndarray, counter_wh: np.ndarray) -> np.ndarray:
    """Per phase: power (0.01 W), current (0.01 A), its share of the counter (0.1 Wh);
    then the total power (0.01 W)."""
    columns = []
    for share in PHASE_SHARE:
        phase = round_each(power_w * share, 2)
        columns += [phase, round_each(phase / 230.0, 2), floor_each(counter_wh * share, 1)]
    return np.column_stack([*columns, round_each(power_w, 2)])


def _plugs_rows(columns: np.ndarray) -> list[tuple[float, int]]:
    """The plug's rows with its counter as the integer its answer holds."""
    power, total_wmin = columns.T.tolist()
    return list(zip(power, map(int, total_wmin), strict=True))


# A day's columns as the model's answer builder takes them, one row per step
_ROWS: dict[str, Callable[[np.ndarray], list[Any]]] = {
    "pro3em": np.ndarray.tolist, "plus1pm": np.ndarray.tolist, "plugs": _plugs_rows,
    "3em": np.ndarray.tolist}
