"""One run of the real collector service with every part real except the two devices.

The collector (collector.collect_cmd.build_collector over collector.wiring.build_sources,
as `heatpump collect` builds it) polls, on a virtual clock, for two hours:

- a fake Gen1 Shelly Plug S over HTTP on 127.0.0.1 (tests/fakes/shelly.py), whose counter
  (watt-minutes) follows a compressor cycling on and off, and which REBOOTS mid-run: its
  counter restarts at 0 and its uptime drops;
- the real ViCareSource with the real PyViCare logging in and fetching features over HTTP
  from the fake Viessmann cloud (tests/fakes/vicare_cloud.py), which answers one feature poll
  with the API's real 429 body (a `limitReset` 17.5 minutes later);
- into the real store: SQLite, or a real influxd that is STOPPED for 25 minutes in the
  middle (points spool to disk) and started again (the spool is replayed).

The run ends with a real SIGTERM to this process, handled by the collector's own handler.
Truth comes from the fakes' own logs (what the device served, what the cloud answered and
when), never from what the collector says it did.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.collect_cmd import build_collector, install_signal_handlers
from collector.service import Collector, VirtualClock
from collector.wiring import build_sources
from heatpump.heartbeat import heartbeat_path
from heatpump.settings import Settings
from heatpump.store.base import Point, Store
from heatpump.store.sqlite import SQLiteStore
from tests.fakes.shelly import FakeShelly, load_device
from tests.fakes.vicare_cloud import FakeCloud, error_body, use_fake_cloud

T0 = datetime(2026, 1, 12, 5, 0, tzinfo=UTC)
RUN = timedelta(hours=2)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
FEATURES = "/iot/v2/features/"
PLUG = "aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json"

REBOOT_AT = T0 + timedelta(minutes=62, seconds=3)  # the plug loses power for a moment
RATE_LIMITED_AT = T0 + timedelta(minutes=25)  # the cloud answers this poll with 429 ...
LIMIT_RESET = T0 + timedelta(minutes=42, seconds=30, milliseconds=250)  # ... until then
STORE_DOWN = (T0 + timedelta(minutes=20), T0 + timedelta(minutes=45))  # influxd stopped


class Plug:
    """The plug's physics: a compressor cycling 20 min at ~2 kW, 10 min at standby.

    Energy is integrated between updates (the test updates before every loop cycle); the
    device shows it in whole watt-minutes since its last boot, like a Gen1 plug."""

    def __init__(self, fake: FakeShelly, clock: VirtualClock):
        self.fake, self.clock = fake, clock
        self.boot = T0 - timedelta(days=3, seconds=17)
        self.wh_since_boot = 81_234.5  # three days of heating so far
        self.t = T0
        self.power_w = 0.0
        self.update()

    def _power_at(self, t: datetime) -> float:
        minute = (t - T0).total_seconds() / 60 % 30
        return 1950.0 + 7.0 * (minute % 3) if minute < 20 else 4.2

    def update(self) -> None:
        now = self.clock.now()
        if now > self.t:
            if self.boot < REBOOT_AT <= now:
                self.boot, self.wh_since_boot = REBOOT_AT, 0.0
                self.t = REBOOT_AT
            self.wh_since_boot += self.power_w * (now - self.t).total_seconds() / 3600
            self.t = now
        self.power_w = self._power_at(now)
        meter = self.fake.status["meters"][0]
        meter["power"], meter["total"] = self.power_w, int(self.wh_since_boot * 60)
        self.fake.status["uptime"] = int((now - self.boot).total_seconds())


class RecordingShelly(FakeShelly):
    """The fake plug, keeping what it served on every /status (the truth of the test)."""

    def __init__(self, device: dict[str, Any]):
        super().__init__(device)
        self.served: list[tuple[int, int]] = []  # (total in watt-minutes, uptime in s)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        code, body = super().answer(path, query)
        if path == "/status":
            body = copy.deepcopy(body)
            self.served.append((body["meters"][0]["total"], body["uptime"]))
        return code, body


@dataclass
class Run:
    collector: Collector
    served: list[tuple[int, int]]  # every /status answer, the recognition's first
    calls: list[tuple[datetime, str, int]]  # (virtual time, path, HTTP status) per request
    sigterm_to_exit_s: float
    heartbeat: dict[str, Any]
    spool_files: list[Path]
    last_cycle: datetime  # virtual time of the last loop cycle


def settings(data_dir: Path, shelly_url: str, cloud: FakeCloud) -> Settings:
    return Settings.from_mapping({
        "HEATPUMP_DATA_DIR": str(data_dir), "HEATPUMP_TZ": "Europe/Berlin",
        "SHELLY_URL": shelly_url, "VICARE_USERNAME": cloud.username,
        "VICARE_PASSWORD": cloud.password, "VICARE_CLIENT_ID": cloud.client_id})


def run_scenario(data_dir: Path, store: Store, monkeypatch: pytest.MonkeyPatch,
                 influxd: Any = None) -> Run:
    """Two hours of collecting; `influxd` (the store's server) is stopped for a stretch."""
    data_dir.mkdir(parents=True)
    clock = VirtualClock(T0)
    cloud = FakeCloud().start()
    use_fake_cloud(monkeypatch, cloud)
    cloud.add_device("Vitocal250A")
    rate_limit = error_body("rate_limit")
    rate_limit["extendedPayload"]["limitReset"] = int(LIMIT_RESET.timestamp() * 1000)
    marks: list[tuple[datetime, int]] = []  # (virtual time, requests so far) per cycle
    state = {"429": False, "down": False, "up": False, "sigterm": 0.0}
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with RecordingShelly(load_device(PLUG)) as fake:
            plug = Plug(fake, clock)
            s = settings(data_dir, fake.url, cloud)
            sources, accounting = build_sources(s, clock)
            collector = build_collector(s, sources, store, clock=clock, threaded=False,
                                        state=accounting)
            install_signal_handlers(collector)  # what `heatpump collect` installs
            # (else the SIGTERM below would kill pytest rather than fail the test)
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, previous[
                signal.SIGTERM])

            def until() -> bool:
                # Runs before every loop cycle, whose polls start at this same virtual time.
                now = clock.now()
                plug.update()
                marks.append((now, len(cloud.requests)))
                if now >= RATE_LIMITED_AT and not state["429"]:
                    cloud.fail_next("rate_limit", rate_limit)
                    state["429"] = True
                if influxd is not None and now >= STORE_DOWN[0] and not state["down"]:
                    influxd.stop()
                    state["down"] = True
                if influxd is not None and now >= STORE_DOWN[1] and not state["up"]:
                    influxd.start()
                    state["up"] = True
                if now >= T0 + RUN and not state["sigterm"]:
                    state["sigterm"] = time.monotonic()
                    os.kill(os.getpid(), signal.SIGTERM)
                return now > T0 + RUN + timedelta(minutes=1)  # a safety net: the signal ends it

            collector.run(until=until)
            stopped = time.monotonic()
        calls = []  # every request the cloud saw, stamped with the cycle that made it
        for (t, first), (_, last) in zip(marks, [*marks[1:], (None, len(cloud.requests))],
                                         strict=True):
            calls += [(t, path, status) for _, path, status in cloud.requests[first:last]]
        return Run(collector, fake.served, calls,
                   stopped - state["sigterm"],
                   json.loads(heartbeat_path(data_dir, "collector").read_text()),
                   sorted((data_dir / "spool").glob("*.jsonl")), marks[-1][0])
    finally:
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def rows(store: Store, measurement: str) -> list[Point]:
    return store.points(measurement, *FAR)


def key(p: Point) -> tuple:
    return (p.measurement, p.time, tuple(sorted(p.tags.items())))


def check_run(run: Run, store: Store, outage: bool) -> None:
    """Everything the device and the cloud said is stored, once."""
    # --- the meter: energy = what the counter advanced, through the reboot ---------------
    served = run.served
    drop = next(i for i in range(1, len(served)) if served[i][1] < served[i - 1][1])
    assert served[drop][0] < served[drop - 1][0]  # the reboot really reset the counter
    assert served[drop][0] > 0  # ... and the device counted again before the next poll
    wmin = (served[drop - 1][0] - served[1][0]) + served[-1][0]
    electricity = [p for p in rows(store, "electricity") if p.tags["source"] == "meter"]
    assert all(p.fields["energy_wh"] >= 0 for p in electricity)
    assert sum(p.fields["energy_wh"] for p in electricity) == pytest.approx(wmin / 60,
                                                                            abs=1e-6)
    meter = rows(store, "meter")
    assert len(meter) == len(served) - 1  # every poll stored once (the first read recognises)
    assert [p.fields["energy_import_wh"] for p in meter] == pytest.approx(
        [w / 60 for w, _ in served[1:]])
    # one electricity point per minute that had a reading, never two
    assert sorted(p.time for p in electricity) == sorted({p.time.replace(second=0,
                                                          microsecond=0) for p in meter})
    health = rows(store, "health")
    resets = [p for p in health if p.fields["reason"] == "counter_reset"]
    assert [(p.tags["source"], p.time) for p in resets] == [("meter", meter[drop - 1].time)]

    # --- the heat pump: each answered poll once; the 429 and its limitReset -------------
    features = [(t, status) for t, path, status in run.calls if path.startswith(FEATURES)]
    answered = [t for t, status in features if status == 200]
    refused = [t for t, status in features if status == 429]
    assert refused == [RATE_LIMITED_AT]
    # blocked until limitReset: no call at all (no feature poll, no login, no listing)
    assert not [c for c in run.calls if RATE_LIMITED_AT < c[0] < LIMIT_RESET]
    # every 5-minute slot up to the SIGTERM polled, except the refused one and the three
    # before limitReset
    slots = [T0 + timedelta(minutes=5 * i) for i in range(int(RUN / timedelta(minutes=5)) + 1)]
    assert answered == [t for t in slots if not RATE_LIMITED_AT <= t < LIMIT_RESET]
    heatpump = rows(store, "heatpump")
    assert [p.time for p in heatpump] == answered
    (limited,) = [p for p in health if p.fields["reason"] == "rate_limited"]
    assert limited.time == RATE_LIMITED_AT
    assert limited.tags == {"source": "vicare", "device": "7571381681420106-0"}
    assert limited.fields["status"] == "down"
    assert datetime.fromisoformat(limited.fields["until"]) == LIMIT_RESET
    vicare = [(p.time, p.fields["status"], p.fields["reason"]) for p in health
              if p.tags["source"] == "vicare" and p.tags["device"] != "account"]
    assert vicare == [(T0, "up", ""), (RATE_LIMITED_AT, "down", "rate_limited"),
                      (T0 + timedelta(minutes=45), "up", "")]
    calls = rows(store, "api_call")
    assert sum(p.fields["calls"] for p in calls) == len(run.calls)  # the ledger misses none
    assert [(p.time, p.fields["status_code"]) for p in calls
            if p.tags["kind"] == "features"] == features

    # --- the store outage, the spool, the shutdown ---------------------------------------
    sink = run.collector.sink
    assert not sink.spool and not run.spool_files  # everything replayed, nothing left
    assert (sink.lost, sink.invalid) == (0, 0)
    store_health = [(p.fields["status"]) for p in health if p.tags["source"] == "store"]
    if outage:
        assert sink.spooled > 0
        assert store_health == ["down", "up"]
    else:
        assert sink.spooled == 0 and store_health == []
    assert len({key(p) for p in health}) == len(health)
    assert run.last_cycle == T0 + RUN  # the SIGTERM stopped it: not one cycle more
    assert run.sigterm_to_exit_s < 5
    assert run.heartbeat["stopped"] is True
    beat = run.heartbeat["sources"]
    assert [st["status"] for name, st in beat.items() if name.startswith("meter/")] == ["up"]
    assert beat["vicare/7571381681420106-0"]["status"] == "up"
    assert beat["vicare/account"]["status"] == "up"


def content(store: Store) -> dict[str, list[tuple]]:
    """Every stored row, comparable across runs (a store's own health left out)."""
    out = {}
    for m in ("meter", "electricity", "heatpump", "heat", "message", "api_call", "health"):
        out[m] = sorted((p.time, tuple(sorted(p.tags.items())), tuple(sorted(
            p.fields.items()))) for p in rows(store, m) if p.tags.get("source") != "store")
    return out


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("influx",
                                                            marks=pytest.mark.influx)])
def test_one_run_through_reboot_429_and_store_outage_loses_and_doubles_nothing(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    tz = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin"}).tz
    if backend == "sqlite":
        run = run_scenario(tmp_path / "data", SQLiteStore(tmp_path / "h.sqlite3", tz),
                           monkeypatch)
        store = SQLiteStore(tmp_path / "h.sqlite3", tz)
        try:
            check_run(run, store, outage=False)
        finally:
            store.close()
        return

    from heatpump.store.influx import InfluxStore

    server = request.getfixturevalue("make_influxd")()
    run = run_scenario(tmp_path / "data", InfluxStore(server.url, "e2e", tz), monkeypatch,
                       influxd=server)
    store = InfluxStore(server.url, "e2e", tz)
    # The same two hours into SQLite, with no outage: the reference every row must match.
    ref_run = run_scenario(tmp_path / "ref", SQLiteStore(tmp_path / "ref.sqlite3", tz),
                           monkeypatch)
    ref = SQLiteStore(tmp_path / "ref.sqlite3", tz)
    try:
        check_run(run, store, outage=True)
        check_run(ref_run, ref, outage=False)
        got, want = content(store), content(ref)
        assert {m: len(v) for m, v in got.items()} == {m: len(v) for m, v in want.items()}
        assert got == want
    finally:
        store.close()
        ref.close()
