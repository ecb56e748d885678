"""The real PyViCare against the fake cloud: login, token file, quota guard, error bodies."""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.vicare.guard import Guard
from tests.collector.vicare.conftest import Clock
from tests.fakes.vicare_cloud import FakeCloud, error_body

FEATURES = "/iot/v2/features/"
LISTING = "/iot/v2/equipment/"


def reasons(result) -> list[tuple[str, str, str]]:
    return [(h.device, h.status, h.reason) for h in result.health]


def test_first_poll_logs_in_once_and_maps_the_device(cloud: FakeCloud, make_source,
                                                     tmp_path: Path, clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    result = make_source().poll()
    (sample,) = result.samples
    assert sample.device == "7571381681420106-0"
    assert sample.values["compressor_hours_h"] == 8118.0
    assert sample.time == clock.now
    assert (cloud.logins, cloud.count(LISTING), cloud.count(FEATURES)) == (1, 1, 1)
    calls = [p for p in result.points if p.measurement == "api_call"]
    assert [(p.tags["kind"], p.fields["status_code"]) for p in calls] == [
        ("login", 200), ("devices", 200), ("features", 200)]
    assert sum(p.fields["calls"] for p in calls) == 4  # a login counts authorize + token


def test_token_file_is_0600_reused_and_never_logged(cloud: FakeCloud, make_source,
                                                    tmp_path: Path, clock: Clock,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cloud.add_device("Vitocal222S")
    make_source().poll()
    token_file = tmp_path / "data" / "vicare_token.save"
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = pickle.loads(token_file.read_bytes())
    assert token["access_token"] == cloud.issued_tokens[0]
    for _ in range(3):  # restarts reuse the token: no new login
        clock.advance(300)
        assert len(make_source().poll().samples) == 1
    assert cloud.logins == 1
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert cloud.issued_tokens[0] not in text
    assert cloud.password not in text
    assert "polling Vitocal222S" in caplog.text  # the log is not simply empty


def test_loose_token_file_mode_is_tightened(cloud: FakeCloud, make_source, tmp_path: Path,
                                            clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    make_source().poll()
    token_file = tmp_path / "data" / "vicare_token.save"
    os.chmod(token_file, 0o644)
    clock.advance(300)
    make_source().poll()
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600


def test_damaged_token_file_leads_to_one_clean_login(cloud: FakeCloud, make_source,
                                                     tmp_path: Path) -> None:
    cloud.add_device("Vitocal250A")
    data = tmp_path / "data"
    data.mkdir()
    (data / "vicare_token.save").write_bytes(b"")  # PyViCare alone would crash (EOFError)
    assert len(make_source().poll().samples) == 1
    assert cloud.logins == 1
    assert (data / "vicare_token.save.bad").exists()


def test_expired_token_costs_exactly_one_new_login(cloud: FakeCloud, make_source,
                                                   clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    source.poll()
    clock.advance(3600)
    cloud.expire_tokens()  # the API now answers {"error": "EXPIRED TOKEN"} with 401
    result = source.poll()
    assert len(result.samples) == 1
    assert cloud.logins == 2
    assert cloud.count(FEATURES) == 1 + 2  # then one refused with 401, one after the login
    statuses = [s for _, p, s in cloud.requests if p.startswith(FEATURES)]
    assert statuses[-2:] == [401, 200]
    assert [p.fields["status_code"] for p in result.points
            if p.measurement == "api_call" and p.tags["kind"] == "features"] == [401, 200]


def test_rate_limit_blocks_until_limit_reset_even_across_restarts(
        cloud: FakeCloud, make_source, clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    make_source().poll()
    reset = clock.now + timedelta(hours=7)
    body = error_body("rate_limit")
    body["extendedPayload"]["limitReset"] = int(reset.timestamp() * 1000)
    clock.advance(300)
    cloud.fail_next("rate_limit", body)
    result = make_source().poll()
    assert ("7571381681420106-0", "down", "rate_limited") in reasons(result)
    (event,) = [h for h in result.health if h.reason == "rate_limited"]
    assert event.until == reset
    assert event.point.fields["until"] == reset.isoformat().replace("+00:00", "Z")
    before = len(cloud.requests)
    for _ in range(20):  # restarts every 5 minutes during the block: no call at all
        clock.advance(300)
        assert make_source().poll().samples == []
    assert len(cloud.requests) == before
    clock.now = reset + timedelta(seconds=1)
    assert len(make_source().poll().samples) == 1


def test_rate_limit_reset_in_the_past_waits_for_utc_midnight(cloud: FakeCloud, make_source,
                                                             clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    source.poll()
    clock.advance(300)
    cloud.fail_next("rate_limit")  # the fixture's limitReset is in 2020
    result = source.poll()
    (event,) = [h for h in result.health if h.reason == "rate_limited"]
    assert event.until == datetime(2026, 1, 16, tzinfo=UTC)


@pytest.mark.parametrize(("error", "reason"), [
    ("device_offline", "device_offline"), ("gateway_offline", "gateway_offline"),
    ("error_500", "server_error"), ("error_502", "server_error")])
def test_offline_and_server_errors_skip_the_poll(cloud: FakeCloud, make_source, clock: Clock,
                                                 error: str, reason: str) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    source.poll()
    clock.advance(300)
    cloud.fail_next(error)
    result = source.poll()
    assert result.samples == []
    assert reasons(result) == [("7571381681420106-0", "down", reason)]
    (event,) = result.health
    assert event.failures == 1 and event.detail
    health_points = [p for p in result.points if p.measurement == "health"]
    assert health_points[0].fields["reason"] == reason
    assert health_points[0].tags == {"source": "vicare", "device": "7571381681420106-0"}
    clock.advance(300)
    cloud.fail_next(error)
    assert source.poll().health == []  # same state: no new health point
    clock.advance(300)
    recovered = source.poll()
    assert len(recovered.samples) == 1
    assert reasons(recovered) == [("7571381681420106-0", "up", "")]
    assert recovered.health[0].failures == 2


def test_unreachable_cloud_is_a_health_event_not_a_crash(cloud: FakeCloud, make_source,
                                                         clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    source.poll()
    cloud.stop()
    clock.advance(300)
    result = source.poll()
    assert reasons(result) == [("7571381681420106-0", "down", "unreachable")]
    assert [p.fields["status_code"] for p in result.points if p.measurement == "api_call"] \
        == [0]


def test_wrong_password_one_error_then_backoff_persisted_across_restarts(
        cloud: FakeCloud, make_source, tmp_path: Path, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cloud.add_device("Vitocal250A")
    attempts: list[datetime] = []
    for _ in range(12 * 10):  # ten hours, a restart before every 5-minute poll
        before = cloud.count("/idp/v3/authorize")
        result = make_source(VICARE_PASSWORD="wrong-password").poll()
        assert result.samples == []
        if cloud.count("/idp/v3/authorize") > before:
            attempts.append(clock.now)
        clock.advance(300)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[:2] == [timedelta(minutes=15), timedelta(minutes=30)]
    assert all(g >= timedelta(hours=1) for g in gaps[2:])
    assert len(attempts) <= 3 + 9
    assert cloud.count(FEATURES) == 0 and cloud.logins == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and all("VICARE_PASSWORD" in r.getMessage() for r in errors)
    assert "wrong-password" not in caplog.text
    assert not (tmp_path / "data" / "vicare_token.save").exists()
    # Fixing the password resets the backoff: the next start logs in at once.
    result = make_source().poll()
    assert len(result.samples) == 1 and cloud.logins == 1


def test_wrong_password_in_one_process_logs_one_error_and_keeps_running(
        cloud: FakeCloud, make_source, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    cloud.add_device("Vitocal250A")
    source = make_source(VICARE_PASSWORD="wrong-password")
    events = []
    for _ in range(12 * 3):
        events += source.poll().health
        clock.advance(300)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "VICARE_PASSWORD" in errors[0].getMessage()
    assert [e.reason for e in events] == ["login_failed"]  # health points on change only
    assert events[0].until == events[0].time + timedelta(minutes=15)


def test_unknown_client_id_is_a_clear_login_error(cloud: FakeCloud, make_source,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    cloud.add_device("Vitocal250A")
    result = make_source(VICARE_CLIENT_ID="not-my-client").poll()
    assert reasons(result) == [("account", "down", "login_failed")]
    assert "VICARE_CLIENT_ID" in result.health[0].detail
    assert [(p.tags["kind"], p.fields["status_code"]) for p in result.points
            if p.measurement == "api_call"] == [("login", 401)]
    assert "vicare://oauth-callback/everest" in result.health[0].detail


def test_restart_storm_costs_one_login_and_respects_the_poll_interval(
        cloud: FakeCloud, make_source, tmp_path: Path, clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    start = clock.now
    for _ in range(100):  # 100 restarts within an hour
        make_source().poll()
        clock.advance(36)
    assert clock.now - start == timedelta(hours=1)
    assert cloud.logins == 1
    assert cloud.count(LISTING) == 1  # the device listing is kept in the data dir
    assert cloud.count(FEATURES) == 12  # one per VICARE_POLL_SECONDS=300
    guard = Guard(tmp_path / "data", 1400)
    assert guard.used_24h(clock.now) == 2 + 1 + 12


def test_restart_storm_never_exceeds_a_small_budget(cloud: FakeCloud, make_source,
                                                    tmp_path: Path, clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    blocked = []
    for _ in range(100):
        result = make_source(VICARE_DAILY_BUDGET="8", VICARE_POLL_SECONDS="60").poll()
        blocked += [h for h in result.health if h.reason == "quota_exhausted"]
        clock.advance(61)
    # 2 (login) + 1 (listing) + 5 feature calls = 8: never more within 24 h
    assert len(cloud.requests) == 2 + 1 + 5
    assert blocked and blocked[0].until is not None
    assert "VICARE_DAILY_BUDGET=8" in blocked[0].detail
    # 24 h after the first calls, polling resumes.
    clock.now = blocked[0].until + timedelta(seconds=1)
    assert len(make_source(VICARE_DAILY_BUDGET="8", VICARE_POLL_SECONDS="60").poll()
               .samples) == 1


def test_every_poll_is_a_fresh_answer_never_a_cached_one(cloud: FakeCloud, make_source,
                                                         clock: Clock) -> None:
    device = cloud.add_device("Vitocal250A")
    source = make_source(VICARE_POLL_SECONDS="60")
    (first,) = source.poll().samples
    outside = next(f for f in device.body["data"]
                   if f["feature"] == "heating.sensors.temperature.outside")
    outside["properties"]["value"]["value"] = -3.5
    clock.advance(61)  # PyViCare's default cache would still serve the old answer now
    (second,) = source.poll().samples
    assert (first.values["outside_temp_c"], second.values["outside_temp_c"]) == (12.2, -3.5)
    assert second.time == clock.now > first.time
    assert cloud.count(FEATURES) == 2
    # A failed fetch is a gap, never the previous answer passed off as new.
    clock.advance(61)
    cloud.fail_next("error_500")
    assert source.poll().samples == []


def test_poll_too_early_is_skipped_without_a_call(cloud: FakeCloud, make_source,
                                                  clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    assert len(source.poll().samples) == 1
    clock.advance(100)
    early = source.poll()
    assert early.samples == [] and cloud.count(FEATURES) == 1
    clock.advance(200)  # the interval is over: the next poll calls again
    assert len(source.poll().samples) == 1 and cloud.count(FEATURES) == 2


def test_several_devices_and_vicare_device_selection(cloud: FakeCloud, make_source,
                                                     clock: Clock) -> None:
    cloud.add_device("Vitocal250A", device_id="0")
    cloud.add_device("Vitocal222S", device_id="1")
    cloud.add_device("Vitocal252", gateway="7571381681420999", model="E3_RoomControl",
                     roles=["type:virtual;smartRoomControl"], device_type="roomControl")
    result = make_source().poll()
    assert sorted(s.device for s in result.samples) == [
        "7571381681420106-0", "7571381681420106-1"]
    assert cloud.count(FEATURES) == 2  # one call per heat pump; the room control is skipped
    clock.advance(300)
    only = make_source(VICARE_DEVICE="1").poll()
    assert [s.device for s in only.samples] == ["7571381681420106-1"]
    none = make_source(VICARE_DEVICE="nope").poll()
    assert reasons(none) == [("account", "degraded", "no_device")]
    assert "Vitocal250A" in none.health[0].detail


def test_heat_and_electricity_points_across_polls_and_restarts(
        cloud: FakeCloud, make_source, clock: Clock) -> None:
    device = cloud.add_device("Vitocal250A")
    make_source().poll()

    def bump(feature: str, prop: str, kwh: float) -> None:
        f = next(f for f in device.body["data"] if f["feature"] == feature)
        f["properties"][prop]["value"] = round(f["properties"][prop]["value"] + kwh, 1)

    for prop in ("currentDay", "currentMonth", "currentYear"):
        bump("heating.heat.production.summary.heating", prop, 1.2)
        bump("heating.power.consumption.summary.heating", prop, 0.3)
    clock.advance(300)
    result = make_source().poll()  # a restart in between: accounting resumes
    heat = {p.tags["circuit"]: p.fields for p in result.points if p.measurement == "heat"}
    assert heat["heating"]["energy_wh"] == pytest.approx(1200.0)
    assert heat["total"]["energy_wh"] == pytest.approx(1200.0)
    assert heat["total"]["duration_s"] == 300.0 and heat["total"]["estimate"] is False
    elec = {(p.tags["source"], p.tags["circuit"]): p for p in result.points
            if p.measurement == "electricity"}
    assert elec["heatpump", "total"].fields["energy_wh"] == pytest.approx(300.0)
    # the 250-A's heating rod counts apart (its counters did not move)
    assert elec["heating_rod", "total"].fields["energy_wh"] == 0.0
    methods = make_source().heat_methods()
    assert methods["7571381681420106-0"].method == "counter"


def test_save_dump_from_live_account_is_redacted_and_replayable(
        cloud: FakeCloud, make_source, tmp_path: Path, clock: Clock) -> None:
    device = cloud.add_device("Vitocal250A")
    serial = next(f for f in device.body["data"] if f["feature"] == "device.serial")
    serial["properties"]["value"]["value"] = "7571381681420106"
    for f in device.body["data"]:
        f["gatewayId"] = "7571381681420106"
        f["uri"] = f["uri"].replace("#######", "1234567").replace(
            "################", "7571381681420106")
    target = tmp_path / "dump.json"
    count = make_source().save_dump(target)
    text = target.read_text()
    assert count == len(device.body["data"])
    assert "7571381681420106" not in text and "1234567" not in text
    assert cloud.username not in text
    from heatpump.settings import Settings
    from tests.collector.vicare.harness import ViCareHarness

    replayed = ViCareHarness(Settings.from_mapping({
        "VICARE_DUMP": str(target), "HEATPUMP_DATA_DIR": str(tmp_path / "replay")}),
        clock).poll()
    (sample,) = replayed.samples
    assert sample.values["compressor_hours_h"] == 8118.0
    assert sample.device == "dump"


def test_an_unexpected_bug_becomes_a_health_event(cloud: FakeCloud, make_source,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import collector.vicare.reader as source_module

    cloud.add_device("Vitocal250A")

    def broken(*args, **kwargs):
        raise RuntimeError("mapping bug")

    monkeypatch.setattr(source_module, "map_sample", broken)
    result = make_source().poll()  # must not raise
    assert result.samples == []
    assert ("account", "down", "bad_response") in reasons(result)
    assert "RuntimeError" in caplog.text


def test_missing_credentials_are_reported_not_raised(cloud: FakeCloud, make_source) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source()
    object.__setattr__(source.settings, "vicare_client_id", None)
    result = source.poll()
    assert reasons(result) == [("account", "down", "login_failed")]
    assert cloud.requests == []


def test_a_hanging_identity_server_does_not_block_the_source(
        cloud: FakeCloud, make_source, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import collector.vicare.cloud as cloud_module

    monkeypatch.setattr(cloud_module, "LOGIN_TIMEOUT_S", 0.5)
    cloud.add_device("Vitocal250A")
    cloud.hang_seconds = 3.0
    started = time.monotonic()
    result = make_source().poll()
    assert time.monotonic() - started < 2.5
    assert reasons(result) == [("account", "down", "unreachable")]


def test_a_refused_token_costs_one_401_while_no_login_is_allowed(cloud: FakeCloud,
                                                                 make_source,
                                                                 clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source(VICARE_POLL_SECONDS="60")
    source.poll()
    clock.advance(300)
    cloud.expire_tokens()  # revoked server-side 5 minutes after the login
    for _ in range(4):  # logins are at least 10 minutes apart: blocked
        result = source.poll()
        assert result.samples == []
        clock.advance(60)
    statuses = [s for _, p, s in cloud.requests if p.startswith(FEATURES)]
    assert statuses == [200, 401]  # not one 401 per poll
    clock.now = clock.now + timedelta(minutes=2)
    assert len(source.poll().samples) == 1
    assert cloud.logins == 2


def test_a_failing_device_listing_is_retried_once_per_interval_across_restarts(
        cloud: FakeCloud, make_source, clock: Clock) -> None:
    cloud.add_device("Vitocal250A")
    for _ in range(10):
        cloud.fail_next("error_500")
    for _ in range(10):  # a restart every 30 s
        make_source().poll()
        clock.advance(30)
    assert cloud.count(LISTING) == 1
    clock.advance(300)
    cloud.errors.clear()
    assert len(make_source().poll().samples) == 1
    assert cloud.count(LISTING) == 2


def test_quota_warning_is_one_line_not_one_per_poll(cloud: FakeCloud, make_source,
                                                    clock: Clock,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    cloud.add_device("Vitocal250A")
    source = make_source(VICARE_DAILY_BUDGET="100")
    for i in range(80):  # calls the account already made today (the shared ledger)
        source.guard.record(clock.now - timedelta(hours=20, minutes=i), "features", 200)
    caplog.set_level(logging.INFO)
    for _ in range(5 * 12):  # five hours, a poll every 5 minutes
        source.poll()
        clock.advance(300)
    lines = [r.getMessage() for r in caplog.records if "API calls" in r.getMessage()]
    # warned once at 84 of 100 (80 + login, listing, features); the old calls age out 4 h
    # later: one line saying so
    assert lines == ["vicare: 84 of 100 API calls used in the last 24 h; polls stop at the "
                     "budget until calls age out (VICARE_DAILY_BUDGET)",
                     "vicare: API calls back to 56 of 100 in the last 24 h"]
