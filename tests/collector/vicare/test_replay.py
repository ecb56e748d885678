"""VICARE_DUMP replay (file and folder) and redaction of saved dumps."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from collector.vicare.dumps import redact_features
from heatpump.settings import Settings
from tests.collector.vicare.conftest import Clock
from tests.collector.vicare.harness import ViCareHarness
from tests.fakes.vicare_cloud import FIXTURES, fixture


def source(dump: Path, tmp_path: Path, clock: Clock) -> ViCareHarness:
    return ViCareHarness(Settings.from_mapping({
        "VICARE_DUMP": str(dump), "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
        "HEATPUMP_TZ": "Europe/Berlin"}), clock)


def set_prop(body: dict, feature: str, prop: str, value: float) -> None:
    f = next(f for f in body["data"] if f["feature"] == feature)
    f["properties"][prop]["value"] = value


def test_folder_replays_one_dump_per_poll_in_name_order(tmp_path: Path, clock: Clock) -> None:
    folder = tmp_path / "polls"
    folder.mkdir()
    for i, (day, month, year) in enumerate([(22.8, 164.3, 10024.2), (23.4, 164.9, 10024.8),
                                            (24.0, 165.5, 10025.4)]):
        body = fixture("Vitocal250A.json")
        for prop, value in (("currentDay", day), ("currentMonth", month),
                            ("currentYear", year)):
            set_prop(body, "heating.heat.production.summary.heating", prop, value)
        set_prop(body, "heating.sensors.temperature.outside", "value", 10.0 + i)
        (folder / f"poll-{i:03d}.json").write_text(json.dumps(body))
    (folder / "notes.txt").write_text("ignored")
    replay = source(folder, tmp_path, clock)
    outside, heat_wh = [], []
    for _ in range(3):
        result = replay.poll()
        (sample,) = result.samples
        assert sample.device == "polls"
        outside.append(sample.values["outside_temp_c"])
        heat_wh += [p.fields["energy_wh"] for p in result.points
                    if p.measurement == "heat" and p.tags["circuit"] == "heating"]
        clock.advance(300)
    assert outside == [10.0, 11.0, 12.0]
    assert heat_wh == pytest.approx([600.0, 600.0])
    done = replay.poll()
    assert done.samples == []
    assert [(h.status, h.reason) for h in done.health] == [("degraded", "replay_finished")]
    assert not [p for p in done.points if p.measurement == "api_call"]  # no cloud calls


def test_single_file_replays_every_poll(tmp_path: Path, clock: Clock) -> None:
    replay = source(FIXTURES / "Vitocal222S.json", tmp_path, clock)
    for _ in range(3):
        assert len(replay.poll().samples) == 1
        clock.advance(300)


def test_bad_dump_is_a_health_event_not_a_crash(tmp_path: Path, clock: Clock) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "features"}')
    result = source(bad, tmp_path, clock).poll()
    assert result.samples == []
    assert [(h.status, h.reason) for h in result.health] == [("down", "bad_response")]
    assert "no \"data\" list" in result.health[0].detail


def test_redaction_keeps_devices_apart_and_removes_identifiers() -> None:
    a = fixture("Vitocal250A.json")["data"][:30]
    b = fixture("Vitocal222S.json")["data"][:30]
    for features, gw in ((a, "7571381681420106"), (b, "7571381681429999")):
        for f in features:
            f["gatewayId"] = gw
            f["uri"] = f["uri"].replace("################", gw).replace("#######", "1234567")
            if f["feature"] == "device.serial":
                f["properties"]["value"]["value"] = "7723181102527121"
    a[0]["properties"]["owner"] = {"type": "string", "value": "owner: jane.doe@example.com"}
    redacted = redact_features(a + b)
    text = json.dumps(redacted)
    for secret in ("7571381681420106", "7571381681429999", "1234567", "7723181102527121",
                   "jane.doe@example.com"):
        assert secret not in text
    first, second = redacted[0]["gatewayId"], redacted[-1]["gatewayId"]
    assert first.startswith("gateway-") and second.startswith("gateway-") and first != second
    assert {f["gatewayId"] for f in redacted} == {first, second}
    assert f"/gateways/{first}/" in redacted[0]["uri"]
    assert redacted[0]["properties"] == {**a[0]["properties"], "owner": {
        "type": "string", "value": "owner: redacted@example.invalid"}}


def test_two_device_dump_replays_both(tmp_path: Path, clock: Clock) -> None:
    a = fixture("Vitocal250A.json")["data"]
    b = fixture("Vitocal222S.json")["data"]
    for f in b:
        f["deviceId"] = "1"
    dump = tmp_path / "house.json"
    dump.write_text(json.dumps({"data": a + b}))
    result = source(dump, tmp_path, clock).poll()
    hours = {s.device: s.values["compressor_hours_h"] for s in result.samples}
    assert hours == {"house-0": 8118.0, "house-1": 96.0}


def test_an_upgrade_imports_the_old_last_samples_file(tmp_path: Path, clock: Clock) -> None:
    """Older versions kept the last sample per device in vicare_last_samples.json: it is
    imported once, so the first poll after an upgrade books its interval's heat."""
    data = tmp_path / "data"
    data.mkdir()
    body = fixture("Vitocal250A.json")
    old = {"time": (clock.now - timedelta(seconds=300)).isoformat(), "values": {},
           "counters": {"heat.heating.day": 22.2, "heat.heating.month": 163.7,
                        "heat.heating.year": 10023.6}}
    (data / "vicare_last_samples.json").write_text(json.dumps({"Vitocal250A": old}))
    dump = tmp_path / "Vitocal250A.json"
    dump.write_text(json.dumps(body))
    result = source(dump, tmp_path, clock).poll()
    heat = [p.fields["energy_wh"] for p in result.points
            if p.measurement == "heat" and p.tags["circuit"] == "heating"]
    assert heat == pytest.approx([600.0])  # 22.8 - 22.2 kWh since the old sample
    assert not (data / "vicare_last_samples.json").exists()
    assert (data / "vicare_last_samples.json.imported").exists()
