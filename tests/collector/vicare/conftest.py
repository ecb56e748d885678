from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from heatpump.settings import Settings
from tests.collector.vicare.harness import ViCareHarness
from tests.fakes.vicare_cloud import FakeCloud, use_fake_cloud


class Clock:
    """A settable UTC clock shared by the source, the guard and the test."""

    def __init__(self, start: datetime = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloud]:
    fake = FakeCloud().start()
    use_fake_cloud(monkeypatch, fake)
    yield fake
    fake.stop()


def live_settings(cloud: FakeCloud, data_dir: Path, **env: str) -> Settings:
    values = {"HEATPUMP_DATA_DIR": str(data_dir), "HEATPUMP_TZ": "Europe/Berlin",
              "VICARE_USERNAME": cloud.username, "VICARE_PASSWORD": cloud.password,
              "VICARE_CLIENT_ID": cloud.client_id}
    values.update(env)
    return Settings.from_mapping(values)


@pytest.fixture
def make_source(cloud: FakeCloud, tmp_path: Path, clock: Clock):
    """A new source object each call: a process restart reading the persisted state."""

    def make(**env: str) -> ViCareHarness:
        return ViCareHarness(live_settings(cloud, tmp_path / "data", **env), clock)

    return make
