"""Which sources exist and how each is built: a table, not a chain of ifs.

Each row builds one pipeline (collector/pipeline.py) over where the device's answers come
from: the real device (a Shelly over HTTP, the Viessmann cloud behind the quota guard), a
saved dump (VICARE_DUMP), a recording being replayed, or a simulated device (`Devices`,
filled by `heatpump demo`). Whatever the origin, the same reader, mapping and accounting
run after it. With a `Recorder` every answer is also recorded (`--record`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.accounting.running import RunningLedger
from collector.pipeline import HeatPumpPipeline, MeterPipeline
from collector.recording import RecordedSource, Recorder, RecordingTransport
from collector.service import Clock, RealClock, Source
from collector.shelly.client import ShellyClient
from collector.shelly.transport import AnswerTransport, Transport
from collector.state import StateFile
from collector.vicare.dumps import DumpAnswers, dump_files
from collector.vicare.guard import Guard
from collector.vicare.offline import Answer
from collector.vicare.reader import CloudConnection, Connection, OfflineConnection, ViCareReader
from heatpump.boundary import DEFAULT_ROLE
from heatpump.settings import MeterSpec, Settings


@dataclass
class Devices:
    """Stand-ins for the real devices: functions `answer(path) -> (HTTP status, JSON body)`
    (raising ConnectionError or TimeoutError when the device does not answer). None: the
    real device (or VICARE_DUMP)."""

    meter: Answer | None = None
    vicare: Answer | None = None
    vicare_begin_poll: Callable[[], bool] | None = None  # before each poll (dump sequences)
    vicare_name: str | None = None  # device tag instead of the gateway serial (dumps)
    meter_url: str = "sim://simulated-meter"  # how messages name the stand-in meter
    # several stand-in meters with roles (role, answer), instead of `meter`: each is one
    # meter of SHELLY_METERS, named sim://simulated-<role>
    role_meters: tuple[tuple[str, Answer], ...] = ()


@dataclass
class Context:
    """What building a source needs; one per process (or per demo/replay run)."""

    settings: Settings
    clock: Clock
    data_dir: Path
    devices: Devices = field(default_factory=Devices)
    recorder: Recorder | None = None
    running: RunningLedger = field(default_factory=RunningLedger)
    state: StateFile | None = None
    meter_devices: dict[str, str] = field(default_factory=dict)  # device id -> meter role


@dataclass(frozen=True)
class SourceSpec:
    """One row of the source table: when it is on and how it is built (one source, or a
    list of them: one per meter)."""

    name: str
    enabled: Callable[[Context], bool]
    build: Callable[[Context], Any]


def _meter_pipeline(c: Context, spec: MeterSpec, stand_in: Answer | None, stand_in_url: str
                    ) -> MeterPipeline:
    """One meter: over HTTP at `spec.url`, or the stand-in answer. A recording holds one
    meter (build_sources refuses more), under the source name "meter"; its role is not
    recorded (a replay stores it as the one meter's)."""
    name = "meter"
    s = c.settings
    transport: Transport | None = None
    url = spec.url
    if stand_in is not None:
        answer = stand_in
        if c.recorder is not None:
            answer = c.recorder.answers(name, answer)
        url = stand_in_url
        transport = AnswerTransport(answer, url)
    client = ShellyClient(url, username=s.shelly_username, password=s.shelly_password,
                          channel=spec.channel, timeout_s=s.shelly_timeout_seconds,
                          clock=c.clock.now, transport=transport)
    if c.recorder is not None:
        c.recorder.note(name, client.url)
        if stand_in is None:
            client.transport = RecordingTransport(client.transport, c.recorder, name)
    return MeterPipeline(client, s, running=c.running, state=c.state, role=spec.role,
                         claimed=c.meter_devices)


def _meters(c: Context) -> list[MeterPipeline]:
    """One pipeline per meter (SHELLY_METERS, or the one at SHELLY_URL), each with its own
    accounting, health entry and state; or the stand-ins of `Devices`."""
    d = c.devices
    if d.role_meters:
        return [_meter_pipeline(c, MeterSpec(role, f"sim://simulated-{role}"), answer,
                                f"sim://simulated-{role}") for role, answer in d.role_meters]
    if d.meter is not None:  # the one stand-in: a meter on the heat pump's supply
        spec = MeterSpec(DEFAULT_ROLE, "", c.settings.shelly_channel)
        return [_meter_pipeline(c, spec, d.meter, d.meter_url)]
    return [_meter_pipeline(c, spec, None, "") for spec in c.settings.meters]


def vicare_reader(c: Context) -> ViCareReader:
    """The Viessmann reader over the stand-in, VICARE_DUMP or the guarded cloud."""
    s = c.settings
    guard: Guard | None = None
    connection: Connection
    if c.devices.vicare is not None:
        answer = c.devices.vicare
        if c.recorder is not None:
            answer = c.recorder.answers("vicare", answer)
        connection = OfflineConnection(answer, c.devices.vicare_begin_poll,
                                       c.devices.vicare_name)
    elif s.vicare_dump:
        dumps = DumpAnswers(dump_files(Path(s.vicare_dump)), Path(s.vicare_dump).stem)
        answer = dumps.answer
        if c.recorder is not None:
            answer = c.recorder.answers("vicare", answer)
        connection = OfflineConnection(answer, dumps.begin_poll, Path(s.vicare_dump).stem)
    else:
        guard = Guard(c.data_dir, s.vicare_daily_budget)
        recorder = c.recorder
        connection = CloudConnection(
            s, guard, c.clock.now,
            (lambda path, status, body: recorder.answer("vicare", path, status, body))
            if recorder is not None else None)
    return ViCareReader(s, connection, c.clock.now, guard)


def _vicare(c: Context) -> HeatPumpPipeline:
    return HeatPumpPipeline(vicare_reader(c), c.settings, running=c.running, state=c.state)


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("meter", lambda c: (c.devices.meter is not None or bool(c.devices.role_meters)
                                   or c.settings.shelly_enabled), _meters),
    SourceSpec("vicare", lambda c: c.devices.vicare is not None or c.settings.vicare_enabled,
               _vicare),
)


def build_sources(settings: Settings, clock: Clock | None = None, *,
                  data_dir: Path | None = None, devices: Devices | None = None,
                  recorder: Recorder | None = None) -> tuple[list[Source], StateFile]:
    """The configured sources, sharing one running-time ledger (the meter's running time
    feeds the heat pump's runtime estimate) and one accounting state file in `data_dir`
    (default: the settings' data dir)."""
    directory = Path(data_dir or settings.data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ctx = Context(settings, clock or RealClock(), directory, devices or Devices(), recorder,
                  state=StateFile(directory))
    n_meters = (len(ctx.devices.role_meters) or (1 if ctx.devices.meter is not None else 0)
                or len(ctx.settings.meters))
    if recorder is not None and n_meters > 1:
        raise ValueError("--record records one meter; several meters (SHELLY_METERS) "
                         "cannot be recorded yet")
    sources: list[Source] = []
    for spec in SOURCES:
        if spec.enabled(ctx):
            built = spec.build(ctx)
            for source in built if isinstance(built, list) else [built]:
                sources.append(RecordedSource(source, recorder) if recorder else source)
    assert ctx.state is not None
    return sources, ctx.state
