"""End to end without the service loop: fake device on 127.0.0.1 -> client.poll() ->
MeterAccountant, through a reboot in the middle of the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.accounting.meter import MeterAccountant, MeterConfig
from collector.shelly.client import ShellyClient
from collector.shelly.errors import ShellyTimeout
from tests.fakes.shelly import FakeShelly, load_device

T0 = datetime(2026, 1, 15, 6, 0, 2, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def accountant_for(client: ShellyClient) -> MeterAccountant:
    device = client.identify()
    return MeterAccountant(MeterConfig(device.device_id, running_w=250, poll_s=10,
                                       counter_survives_reboot=device.counter_survives_reboot))


def collect(acc: MeterAccountant, client: ShellyClient, clock: Clock, points: list) -> None:
    reading = client.poll()
    points.extend(acc.add(reading).points)
    clock.now += timedelta(seconds=10)


def test_gen1_plug_reboot_mid_run_counts_energy_since_zero():
    """Plug S: counter in watt-minutes, back to 0 at every boot, uptime drops."""
    clock = Clock()
    with FakeShelly(load_device("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json"),
                    password="plug-pass-1") as fake, ShellyClient(
            fake.url, username="admin", password="plug-pass-1", clock=clock) as client:
        acc = accountant_for(client)
        assert not acc.cfg.counter_survives_reboot
        meter, status, points = fake.status["meters"][0], fake.status, []
        meter["total"], status["uptime"] = 600_000, 90_000  # 10 000 Wh so far
        for _i in range(12):  # 1.8 kW: 300 Wmin (5 Wh) per 10 s
            meter["power"], meter["total"] = 1800.0, meter["total"] + 300
            status["uptime"] += 10
            collect(acc, client, clock, points)
        meter["power"], meter["total"], status["uptime"] = 1200.0, 120, 6  # rebooted: 2 Wh
        collect(acc, client, clock, points)
        for _ in range(5):
            meter["total"] += 200  # 1.2 kW: 200 Wmin per 10 s
            status["uptime"] += 10
            collect(acc, client, clock, points)
        points += acc.flush()
    el = [p for p in points if p.measurement == "electricity"]
    # 11 intervals x 5 Wh, then 2 Wh since zero (over the 6 s of uptime), then 5 x 200/60.
    assert sum(p.fields["energy_wh"] for p in el) == pytest.approx(55 + 2 + 1000 / 60)
    assert sum(p.fields["duration_s"] for p in el) == pytest.approx(110 + 6 + 50)
    assert el[-1].fields["counter_wh"] == pytest.approx((120 + 1000) / 60)
    raw = [p for p in points if p.measurement == "meter"]
    assert len(raw) == 18 and raw[12].fields == {"power_w": 1200.0, "energy_import_wh": 2.0,
                                                  "uptime_s": 6}
    assert sum(p.fields["starts"] for p in el) == 0  # running throughout, no fake start


def test_gen2_reboot_keeps_counter_and_timeouts_leave_a_gap():
    """Plus Plug S (fw 1.1.0): the counter survives a reboot; a timeout is a gap, not 0 W."""
    clock = Clock()
    with FakeShelly(load_device("aioshelly_gen2_PlusPlugS_SNPL-00112EU_1.1.0.json"),
                    password="plug-pass-2") as fake, ShellyClient(
            fake.url, password="plug-pass-2", timeout_s=0.4, clock=clock) as client:
        acc = accountant_for(client)
        sw, sys, points = fake.status["switch:0"], fake.status["sys"], []
        for _i in range(6):
            sw["apower"], sw["aenergy"]["total"] = 30.0, sw["aenergy"]["total"] + 0.1
            sys["uptime"] += 10
            collect(acc, client, clock, points)
        for _ in range(4):  # device hangs for 40 s, still counting 1 Wh per 10 s at 360 W
            sw["aenergy"]["total"] += 1.0
            fake.actions.append("sleep:0.8")
            with pytest.raises(ShellyTimeout):
                client.poll()
            clock.now += timedelta(seconds=10)
        sw["aenergy"]["total"] += 0.5
        sys["uptime"] = 3  # rebooted, counter kept
        collect(acc, client, clock, points)
        points += acc.flush()
    el = [p for p in points if p.measurement == "electricity"]
    assert sum(p.fields["energy_wh"] for p in el) == pytest.approx(0.5 + 4.0 + 0.5)
    assert sum(p.fields["duration_s"] for p in el) == pytest.approx(50 + 50)
    assert acc.state.baseline.counter_wh == pytest.approx(7258.589 + 0.6 + 4.5)
