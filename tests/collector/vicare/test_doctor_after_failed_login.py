"""`heatpump doctor` right after the collector's login failed, in the same data dir (issue
15): it said "no heat pump found, set VICARE_DEVICE", because the failed connect is not
retried within the poll interval and nothing said why. It now says the login failed, why,
and when the next attempt is due, without trying the password again."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.check import FAIL
from collector.vicare_doctor import check_vicare
from tests.collector.vicare.conftest import live_settings


def test_doctor_after_a_failed_login_says_the_login_failed(cloud, make_source, tmp_path,
                                                           clock) -> None:
    clock.now = datetime.now(UTC)  # the doctor reads the real clock
    cloud.add_device("Vitocal250A")
    result = make_source(VICARE_PASSWORD="wrong-password").poll()  # the collector's try
    assert [(h.reason, h.status) for h in result.health] == [("login_failed", "down")]
    tries = cloud.count("/idp/v3/authorize")
    settings = live_settings(cloud, tmp_path / "data", VICARE_PASSWORD="wrong-password")
    check = check_vicare(settings, datetime.now(UTC))
    text = "\n".join(check.lines + check.fixes)
    assert check.verdict == FAIL
    assert "login_failed" in text and "VICARE_PASSWORD" in text
    assert "VICARE_DEVICE" not in text and "no heat pump found" not in text
    assert "wrong-password" not in text
    assert cloud.count("/idp/v3/authorize") == tries  # the back-off holds: no new try
