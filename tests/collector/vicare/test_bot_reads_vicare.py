"""What the Viessmann source writes, as the bot reads it: the real Viessmann pipeline (real PyViCare
against the fake cloud, or replaying a real dump) fills a real SQLite store, and the real
alert engine, /status and /jaz show it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import store_reads
from bot.alerts.service import AlertService
from bot.alerts.texts import reason_text
from bot.commands import Context, answer
from heatpump.settings import Settings
from heatpump.store.sqlite import SQLiteStore
from tests.collector.vicare.conftest import Clock
from tests.collector.vicare.harness import ViCareHarness
from tests.fakes.vicare_cloud import FIXTURES, FakeCloud

DEVICE = "7571381681420106-0"


def test_an_account_login_failure_explains_the_heat_pumps_silence(
        cloud: FakeCloud, make_source, clock: Clock, tmp_path: Path) -> None:
    cloud.add_device("Vitocal250A")
    settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "data")})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz)
    source = make_source()
    for _ in range(3):  # polls that work: the device's own health says "up"
        store.write(source.poll().points)
        clock.advance(300)
    # The owner changed the password in the app and the collector restarts without its
    # token file (a new SD card with the old store): the login itself fails, for the account.
    old_password, cloud.password = cloud.password, "changed-in-the-app"
    cloud.expire_tokens()
    (tmp_path / "data" / "vicare_token.save").unlink()
    source = make_source(VICARE_PASSWORD=old_password)
    reasons = []
    for _ in range(30):  # two and a half hours without data
        result = source.poll()
        reasons += [(h.device, h.reason) for h in result.health]
        store.write(result.points)
        clock.advance(300)
    store.flush()
    assert ("account", "login_failed") in reasons  # what the producer writes

    h = store_reads.latest_health(store, "heatpump", DEVICE, clock.now)
    assert h is not None and (h.status, h.reason) == ("down", "login_failed")
    notes = AlertService(settings, store, apprise=False,
                         data_dir=tmp_path / "alerts").check(clock.now)
    stale = [n for n in notes if n.kind == "stale"]
    assert len(stale) == 1 and reason_text("login_failed") in stale[0].text, notes
    status = answer("/status", Context(store, settings, clock)).text
    assert "heat pump (Viessmann account): DOWN since" in status
    assert "login_failed" in status and "  vicare " not in status  # no raw source tag
    store.close()


@pytest.mark.parametrize(("dump", "spf", "scop"), [
    ("Vitocal250A.json", "total 3.90, heating 3.90, hot water 3.80",
     "total 3.90, heating 3.90, hot water 3.80"),
    ("Vitocal222S.json", "total 4.50, heating 5.50, hot water 2.60",
     "total 4.50, heating 5.50, hot water 2.60"),
])
def test_jaz_shows_the_devices_own_spf_and_scop_from_a_replayed_dump(
        dump: str, spf: str, scop: str, clock: Clock, tmp_path: Path) -> None:
    settings = Settings.from_mapping({"VICARE_DUMP": str(FIXTURES / dump),
                                      "HEATPUMP_DATA_DIR": str(tmp_path / "data"),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    store = SQLiteStore(tmp_path / "heatpump.sqlite3", settings.tz)
    source = ViCareHarness(settings, clock)
    for _ in range(3):
        store.write(source.poll().points)
        clock.advance(300)
    store.flush()
    text = answer("/jaz", Context(store, settings, clock)).text
    assert f"the heat pump's own SPF (as it reports it): {spf}" in text, text
    assert f"the heat pump's own SCOP (as it reports it): {scop}" in text, text
    store.close()
