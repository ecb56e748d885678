"""The Shelly client against fake devices on 127.0.0.1 (real HTTP, real Digest SHA-256)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import UTC, datetime, timedelta
from urllib.request import parse_http_list, parse_keqv_list

import pytest

from collector.shelly.client import ShellyClient
from collector.shelly.errors import (
    ShellyAuthFailed,
    ShellyBadResponse,
    ShellyError,
    ShellyRateLimited,
    ShellyTimeout,
    ShellyUnreachable,
    ShellyUnsupported,
)
from heatpump.settings import Settings
from tests.fakes.shelly import FakeShelly, load_device
from tests.paths import FIXTURES

FIX = FIXTURES / "shelly"
T0 = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
SECRET = "s3cr3t-Passw0rd"


class Clock:
    def __init__(self, start: datetime = T0, step_s: float = 10.0):
        self.now, self.step = start, timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.step
        return now


STATUS = ["/rpc/Shelly.GetStatus"]  # a Gen2+ poll: one request, every component in it
# (device file, SHELLY_CHANNEL, device id, requests of one poll, power W, energy Wh, uptime)
DEVICES = [
    ("aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json", "", "shplg-s-aabbccddeeff", ["/status"],
     0.0, 2632 / 60, 2589909),
    ("gen1_em.json", "1", "shem-aabbccddeeff", ["/status"], 0.0, 173411.3, 2226140),
    ("gen1_3em.json", "", "shem-3-aabbccddeeff", ["/status"],
     51.08 + 155.02 + 6.75, 1686297.2 + 878905.6 + 206151.1, 13728721),
    ("aioshelly_gen2_PlusPlugS_SNPL-00112EU_1.1.0.json", "", "shellyplusplugs-aabbccddeeff",
     STATUS, 2.7, 7258.589, 4319353),
    ("aioshelly_gen2_Pro4PM_SPSW-004PE16EU_1.0.3.json", "3", "shellypro4pm-aabbccddeeff",
     STATUS, 0.0, 0.0, 522703),
    ("gen2_pro3em_fw161.json", "", "shellypro3em-aabbccddeeff",
     STATUS,
     2413.825, 5415414.19, 501683),
    ("gen2_pro3em_fw161.json", "b", "shellypro3em-aabbccddeeff",
     STATUS,
     3.6, 195765.72, 501683),
    ("gen2_pro3em_monophase.json", "1", "shellypro3em-fce8c0dba900",
     STATUS,
     0.0, 2768.67, 563),
    ("gen3_pmmini.json", "", "shellypmminig3-aabbccddeeff",
     STATUS, 1780.1, 3551.682, 62328),
    ("gen3_2pm.json", "1", "shelly2pmg3-aabbccddeeff",
     STATUS, 0.0, 0.0, 103),
]


@pytest.mark.parametrize(("name", "channel", "device_id", "paths", "power_w", "energy_wh",
                          "uptime_s"), DEVICES, ids=[f"{d[0]}[{d[1]}]" for d in DEVICES])
@pytest.mark.parametrize("password", [None, SECRET], ids=["open", "auth"])
def test_poll_reads_every_family(name, channel, device_id, paths, power_w, energy_wh, uptime_s,
                                 password):
    with FakeShelly(load_device(name), password=password) as fake, ShellyClient(
            fake.url, username="admin" if password else None, password=password,
            channel=channel, timeout_s=3, clock=Clock()) as client:
        first = client.poll()
        fake.requests.clear()
        second = client.poll()
    assert first.device == second.device == device_id
    assert first.time == T0 and second.time == T0 + timedelta(seconds=10)
    assert second.power_w == pytest.approx(power_w)
    assert second.energy_import_wh == pytest.approx(energy_wh)
    assert second.uptime_s == uptime_s
    assert fake.requests == paths  # a poll makes exactly these requests, nothing else
    if password and fake.gen > 1:
        assert fake.digest_ok >= 2
        # The challenge is reused: one 401 for the whole run, not one per request.
        assert fake.auth_failures == 1


def test_shelly_endpoint_needs_no_password_and_identifies_auth():
    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password=SECRET) as fake, \
            ShellyClient(fake.url, channel="", clock=Clock()) as client, \
            pytest.raises(ShellyAuthFailed, match="requires a password") as err:
        client.poll()
    assert fake.requests == ["/shelly"]  # stopped before sending anything unauthenticated
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("name", ["gen2_pro3em_fw161.json",
                                  "aioshelly_gen1_PlugS_SHPLG-S_v1.14.0.json"])
def test_wrong_password_is_auth_failed_and_never_shown(name, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + SECRET
    with FakeShelly(load_device(name), password=SECRET) as fake, ShellyClient(
            f"http://admin:{wrong}@{fake.url[len('http://'):]}", clock=Clock()) as client:
        with pytest.raises(ShellyAuthFailed, match="rejected the password") as err:
            client.poll()
        assert wrong not in client.url
    text = str(err.value) + repr(err.value) + caplog.text
    assert wrong not in text and SECRET not in text
    assert fake.auth_failures >= 1 and fake.digest_ok == 0


def test_gen1_basic_auth_uses_configured_user():
    with FakeShelly(load_device("gen1_em.json"), password=SECRET, gen1_user="meter") as fake:
        with ShellyClient(fake.url, username="meter", password=SECRET, clock=Clock()) as ok:
            assert ok.poll().energy_import_wh == 401472.9
        with ShellyClient(fake.url, username="admin", password=SECRET, clock=Clock()) as bad, \
                pytest.raises(ShellyAuthFailed):
            bad.poll()


def test_digest_challenge_has_the_captured_header_format():
    captured = (FIX / "gen2_http_401_digest_challenge_pro3em__opendtu-onbattery_issue438.txt"
                ).read_text()
    line = next(ln for ln in captured.splitlines() if ln.startswith("WWW-Authenticate:"))
    real = line.split(":", 1)[1].strip()
    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password=SECRET) as fake:
        ours = fake.challenge()

    def shape(header: str) -> list[tuple[str, bool]]:
        scheme, _, rest = header.partition(" ")
        assert scheme == "Digest"
        return [(p.split("=", 1)[0], p.split("=", 1)[1].startswith('"'))
                for p in parse_http_list(rest)]

    assert shape(ours) == shape(real)  # same keys, order and quoting
    real_fields = parse_keqv_list(parse_http_list(real.partition(" ")[2]))
    assert real_fields["algorithm"] == "SHA-256" and real_fields["nonce"].isdigit()
    # The WebSocket 401 frame of a Plus 2PM tells the same story: realm = device id.
    frame = json.loads((FIX / "gen2_ws_rpc_401_auth_challenge_frame__aioshelly.json").read_text())
    ws = json.loads(frame["error"]["message"])
    assert (ws["auth_type"], ws["algorithm"], ws["realm"]) == ("digest", "SHA-256", frame["src"])
    assert real_fields["realm"].startswith("shellypro3em-")


def test_timeout_then_recovers():
    with FakeShelly(load_device("gen3_pmmini.json")) as fake, ShellyClient(
            fake.url, timeout_s=0.5, clock=Clock()) as client:
        client.poll()
        fake.actions.extend(["sleep:1.5"])
        with pytest.raises(ShellyTimeout, match=r"within 0\.5 s") as err:
            client.poll()
        assert err.value.reason == "unreachable"
        assert client.poll().power_w == 1780.1


def test_rate_limited_429():
    with FakeShelly(load_device("gen2_pro3em_fw161.json")) as fake, ShellyClient(
            fake.url, clock=Clock()) as client:
        client.poll()
        fake.actions.append("429")
        with pytest.raises(ShellyRateLimited) as err:
            client.poll()
        assert err.value.reason == "rate_limited" and err.value.retry_after_s == 30
        assert client.poll().energy_import_wh == 5415414.19


@pytest.mark.parametrize("action", ["garbage", "500"])
def test_bad_body_is_bad_response_and_device_is_recognised_again(action):
    with FakeShelly(load_device("aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json")) as fake, \
            ShellyClient(fake.url, clock=Clock()) as client:
        client.poll()
        fake.actions.append(action)
        with pytest.raises(ShellyBadResponse) as err:
            client.poll()
        assert err.value.reason == "bad_response"
        fake.requests.clear()
        assert client.poll().energy_import_wh == 110.046
        assert fake.requests[0] == "/shelly"


def test_component_gone_from_the_status_is_bad_response_and_recognised_again():
    """A Pro 3EM switched from the triphase to the monophase profile: its one status answer
    has em1:N instead of em:0, so the poll fails as a bad response and the device is
    recognised anew (as an EM1 meter) on the next poll."""
    triphase = load_device("gen2_pro3em_fw161.json")
    monophase = load_device("gen2_pro3em_monophase.json")
    with FakeShelly(triphase) as fake, ShellyClient(fake.url, clock=Clock()) as client:
        assert client.poll().power_w == pytest.approx(2413.825)
        fake.device["status"] = monophase["status"]
        with pytest.raises(ShellyBadResponse, match="em:0") as err:
            client.poll()
        assert err.value.reason == "bad_response" and client.device is None
        fake.requests.clear()
        assert client.poll().energy_import_wh == pytest.approx(
            monophase["status"]["em1data:0"]["total_act_energy"])
        assert fake.requests == ["/shelly", "/rpc/Shelly.GetStatus", "/rpc/Shelly.GetStatus"]
        assert client.device is not None and client.device.family.key == "em1"


def test_missing_fields_are_bad_response_not_zero():
    with FakeShelly(load_device("gen3_pmmini.json")) as fake, ShellyClient(
            fake.url, clock=Clock()) as client:
        client.poll()
        del fake.status["pm1:0"]["aenergy"]
        with pytest.raises(ShellyBadResponse, match=r"aenergy\.total"):
            client.poll()


def test_garbage_on_shelly_endpoint():
    with FakeShelly(load_device("gen3_pmmini.json")) as fake, ShellyClient(
            fake.url, clock=Clock()) as client:
        fake.actions.append("garbage")
        with pytest.raises(ShellyBadResponse, match="not JSON"):
            client.poll()


def test_dropped_connection_and_closed_port_are_unreachable():
    with FakeShelly(load_device("gen3_pmmini.json")) as fake, ShellyClient(
            fake.url, clock=Clock()) as client:
        client.poll()
        fake.actions.extend(["drop", "drop"])  # httpx retries a dropped keep-alive once
        with pytest.raises(ShellyUnreachable):
            client.poll()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with ShellyClient(f"http://127.0.0.1:{port}", timeout_s=1, clock=Clock()) as client, \
            pytest.raises(ShellyUnreachable, match="cannot reach"):
        client.poll()


def test_wrong_channel_is_explained():
    with FakeShelly(load_device("aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json")) as fake, \
            ShellyClient(fake.url, channel="1", clock=Clock()) as client, \
            pytest.raises(ShellyUnsupported, match="switch:1"):
        client.poll()
    with FakeShelly(load_device("gen1_em.json")) as fake, \
            ShellyClient(fake.url, channel="2", clock=Clock()) as client, \
            pytest.raises(ShellyUnsupported, match=r"no channel 2 .*SHELLY_CHANNEL"):
        client.poll()


def test_switch_without_meter_is_unsupported():
    device = load_device("aioshelly_gen2_Plus1PM_SNSW-001P16EU_1.1.0.json")
    for key in ("apower", "aenergy"):
        del device["status"]["switch:0"][key]
    with FakeShelly(device) as fake, ShellyClient(fake.url, clock=Clock()) as client, \
            pytest.raises(ShellyUnsupported, match="no power meter"):
        client.poll()


def test_one_request_at_a_time_even_from_several_threads():
    with FakeShelly(load_device("gen2_pro3em_fw161.json"), password=SECRET) as fake, \
            ShellyClient(fake.url, password=SECRET, clock=Clock()) as client:
        fake.actions.extend(["sleep:0.05"] * 12)
        errors: list[Exception] = []

        def work() -> None:
            try:
                for _ in range(3):
                    client.poll()
            except ShellyError as exc:  # pragma: no cover - would fail the test below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert fake.max_in_flight == 1


def test_from_settings():
    with FakeShelly(load_device("gen1_3em.json")) as fake:
        settings = Settings.from_mapping({"SHELLY_URL": fake.url, "SHELLY_CHANNEL": "c",
                                          "SHELLY_TIMEOUT_SECONDS": "3"})
        with ShellyClient.from_settings(settings, clock=Clock()) as client:
            reading = client.poll()
            assert client.device is not None and client.device.channel.index == 2
            assert client.device.counter_survives_reboot  # a 3EM keeps its counter
    assert (reading.power_w, reading.energy_import_wh) == (6.75, 206151.1)
    with pytest.raises(ValueError, match="SHELLY_URL"):
        ShellyClient.from_settings(Settings.from_mapping({}))


def test_unsupported_digest_algorithm_is_a_clear_auth_error():
    class OddDevice(FakeShelly):
        def challenge(self) -> str:
            return super().challenge().replace("SHA-256", "SHA-512-256")

    with OddDevice(load_device("gen3_pmmini.json"), password=SECRET) as fake, ShellyClient(
            fake.url, password=SECRET, clock=Clock()) as client, \
            pytest.raises(ShellyAuthFailed, match="does not support") as err:
        client.poll()
    assert SECRET not in str(err.value)
