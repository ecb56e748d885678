"""Which sources exist and how each is built from the settings (a table, not a chain of ifs).

Also the simulated sources the demo runs the same service with (`run_simulated`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from collector.health import SourceError
from collector.meter import MeterConfig
from collector.readings import HeatPumpSample, MeterReading
from collector.service import Batch, Clock, Collector, Lookup, RealClock, Source
from collector.sources import HeatPumpSource, MeterSource, SourceSpec
from heatpump.settings import Settings
from heatpump.store.base import Point, Store

log = logging.getLogger("collector")


class RunningTime:
    """Compressor running seconds seen by the meter, handed to the heat pump source (the
    runtime heat estimate uses it). Shared between two poll threads, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._s = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._s += seconds

    def take(self) -> float:
        with self._lock:
            s, self._s = self._s, 0.0
            return s


QUOTA_WARN, QUOTA_CLEAR = 0.8, 0.6


class ViCareAdapter:
    """The Viessmann source (collector.vicare.source) as the service sees it.

    ViCareSource never raises, keeps its own health (points and log lines) and its own
    last samples; this adapter only mirrors its state for the heartbeat."""

    name = "vicare"

    def __init__(self, settings: Settings, clock: Clock | None = None,
                 running: RunningTime | None = None):
        from collector.vicare.source import ViCareSource

        self.interval_s = float(settings.vicare_poll_seconds)
        self.device = ""
        self._clock = clock or RealClock()
        self.vicare = ViCareSource(settings, clock=self._clock.now)
        self._state: tuple[str, str, str, datetime | None] = ("starting", "", "", None)
        self._running = running
        self._quota_warned = False

    def resume(self, lookup: Lookup) -> None:
        """Nothing to read: the source persists its last samples in the data dir."""

    def poll(self) -> Batch:
        # compressor running time the meter saw since the last poll (estimated heat methods)
        running_s = self._running.take() if self._running is not None else None
        result = self.vicare.poll(running_s=running_s or None)
        for e in result.health:
            if e.device != "account" or e.status != "up" or self._state[0] != "down":
                self._state = (e.status, e.reason, e.detail, e.until)
        devices = sorted({s.device for s in result.samples})
        if devices:
            self.device = ",".join(devices)
        self._watch_quota()
        return Batch(list(result.points), self.device, own_health=self._state)

    def _watch_quota(self) -> None:
        """One warning when the rolling 24 h call count passes QUOTA_WARN of the budget,
        one line when it is back below QUOTA_CLEAR (not one per poll)."""
        budget = self.vicare.settings.vicare_daily_budget
        used = self.vicare.guard.used_24h(self._clock.now())
        if not self._quota_warned and used >= QUOTA_WARN * budget:
            self._quota_warned = True
            log.warning("vicare: %d of %d API calls used in the last 24 h; polls stop at "
                        "the budget until calls age out (VICARE_DAILY_BUDGET)", used, budget)
        elif self._quota_warned and used < QUOTA_CLEAR * budget:
            self._quota_warned = False
            log.info("vicare: API calls back to %d of %d in the last 24 h", used, budget)

    def close(self) -> list[Point]:
        return []


class ShellyAdapter(MeterSource):
    """The Shelly client (collector.shelly.client) with the meter accounting."""

    def __init__(self, settings: Settings, clock: Clock | None = None,
                 running: RunningTime | None = None):
        from collector.shelly.client import ShellyClient
        from collector.shelly.errors import ShellyError

        clock = clock or RealClock()
        self.client = ShellyClient.from_settings(settings, clock=clock.now)

        def read() -> MeterReading:
            try:
                return self.client.poll()
            except ShellyError as exc:
                raise SourceError(exc.reason, str(exc)) from None

        def config(device: str) -> MeterConfig:
            survives = self.client.device.counter_survives_reboot if self.client.device \
                else True
            return MeterConfig.from_settings(settings, device, survives)

        super().__init__("meter", settings.shelly_poll_seconds, read, config,
                         running=running.add if running else None)


def build_sources(settings: Settings, clock: Clock | None = None) -> list[Source]:
    """The configured sources; the meter's running time feeds the heat pump's estimate."""
    running = RunningTime()
    built: list[Source] = []
    for spec in SOURCES:
        if spec.enabled(settings):
            built.append(spec.build(settings, clock, running))
    return built


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("meter", lambda s: s.shelly_enabled,
               lambda s, clock, running: ShellyAdapter(s, clock, running)),
    SourceSpec("vicare", lambda s: s.vicare_enabled,
               lambda s, clock, running: ViCareAdapter(s, clock, running)),
)


# --- simulated sources (demo --live) ----------------------------------------------------

SIM_ANSWER_S = 5.0  # the simulator stamps a sample up to 4 s after its 5-minute slot


def simulated_sources(sim: Any, settings: Settings, clock: Clock,
                      meter_interval_s: float | None = None,
                      heatpump_interval_s: float | None = None,
                      data_dir: Path | None = None, bulk: bool = False) -> list[Source]:
    """A meter and a heat pump reading `sim` (collector.simulator.Simulator) at the clock's
    current time, with the same heat accounting as the real Viessmann source. State files
    go to `data_dir` (default `<data dir>/demo`, never the real collector's)."""
    from collector.heat import electricity_points, heat_points

    m_int = meter_interval_s or settings.shelly_poll_seconds
    state_dir = Path(data_dir) if data_dir else settings.data_dir / "demo"
    state_dir.mkdir(parents=True, exist_ok=True)
    h_int = heatpump_interval_s or float(settings.vicare_poll_seconds)
    last_sample: dict[str, datetime] = {}

    def read_meter() -> MeterReading:
        now = clock.now()
        readings = list(sim.meter_readings(now - timedelta(seconds=max(m_int, 10.0)),
                                           now + timedelta(microseconds=1)))
        # at an outage's start the window may hold only the reading already handed over
        if not readings or readings[-1].time <= last_sample.get("meter", readings[-1].time
                                                                - timedelta(seconds=1)):
            raise SourceError("unreachable", "the simulated meter does not answer (outage)")
        last_sample["meter"] = readings[-1].time
        return readings[-1]

    def read_heatpump() -> Sequence[HeatPumpSample]:
        now = clock.now()
        since = last_sample.get("t", now - timedelta(seconds=h_int))
        # the simulated API answers a few seconds into the poll, like the real one
        samples = list(sim.heatpump_samples(since + timedelta(microseconds=1),
                                            now + timedelta(seconds=SIM_ANSWER_S)))
        if not samples:
            raise SourceError("device_offline", "the simulated heat pump does not answer")
        last_sample["t"] = samples[-1].time
        return samples[-1:]

    def accounting_points(prev: HeatPumpSample, cur: HeatPumpSample) -> list[Point]:
        return (heat_points(prev, cur, tz=settings.tz, rated_heat_kw=settings.rated_heat_kw,
                            max_gap_s=3 * h_int)
                + electricity_points(prev, cur, tz=settings.tz))

    class _Acc:
        points = staticmethod(accounting_points)

    def config(device: str) -> MeterConfig:
        return MeterConfig.from_settings(settings, device)

    return [MeterSource("meter", m_int, read_meter, config, sim.meter_device),
            HeatPumpSource("vicare", h_int, read_heatpump, _Acc(),
                           state_dir / "sim_last_samples.json", sim.heatpump_device,
                           save_each_poll=not bulk)]


def run_simulated(sim: Any, settings: Settings, store: Store, *,
                  clock: Clock | None = None, threaded: bool = True,
                  until: Any = None, install_signals: bool = True,
                  data_dir: Path | None = None, flush_every: int = 1) -> Collector:
    """Run the collector service over a simulator until stopped (SIGTERM/SIGINT) or
    `until()`; returns the stopped collector (its health and counters).

    Spool, heartbeat and state files go to `data_dir` (default `<data dir>/demo`, next to
    the demo store of `open_store(settings, demo=True)`), so a live demo never touches a
    running real collector's files."""
    from collector.collect_cmd import build_collector, install_signal_handlers

    clock = clock or RealClock()
    data_dir = Path(data_dir) if data_dir else settings.data_dir / "demo"
    collector = build_collector(
        settings, simulated_sources(sim, settings, clock, data_dir=data_dir,
                                    bulk=flush_every > 1), store,
        clock=clock, threaded=threaded, data_dir=data_dir, flush_every=flush_every)
    if install_signals:
        install_signal_handlers(collector)
    collector.run(until=until)
    return collector
