"""What only the InfluxDB backend has: credentials, a server that goes away, line protocol."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.store.base import Point, StoreError
from heatpump.store.influx import InfluxStore, esc_key, fmt_value, latest_windows, line
from tests.conftest import BERLIN, influxd_binary
from tests.influxd import Influxd

T0 = datetime(2026, 1, 5, tzinfo=UTC)
PASSWORD = "s3cret-Pa55word!"
TOKEN = "tok-abcdefghijklmnop-XYZ"

pytestmark = pytest.mark.influx


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc.args)


def test_line_protocol_formatting():
    assert line("meter", [("device", "a b,c=d")], {"power_w": 1.0, "uptime_s": 3}, 5) == \
        r"meter,device=a\ b\,c\=d power_w=1.0,uptime_s=3i 5"
    assert fmt_value(True) == "true" and fmt_value(12) == "12i" and fmt_value(1e-7) == "1e-07"
    assert fmt_value('say "hi" \\ now') == r'"say \"hi\" \\ now"'
    assert esc_key("ünï") == "ünï"


@pytest.fixture(scope="module")
def auth_influxd(tmp_path_factory: pytest.TempPathFactory):
    server = Influxd(influxd_binary(), tmp_path_factory.mktemp("influxd-auth"), auth=True)
    server.start()
    server.create_admin("heatpump", PASSWORD)
    yield server
    server.stop()


def test_user_and_password_work_and_create_the_database(auth_influxd):
    with InfluxStore(auth_influxd.url, "authdb", BERLIN, username="heatpump",
                     password=PASSWORD) as s:
        s.write([Point("meter", T0, {"power_w": 42.0}, {"device": "d"})])
        s.flush()
        assert s.latest("meter")["power_w"].value == 42.0
        assert PASSWORD not in repr(s.info())
    r = httpx.get(f"{auth_influxd.url}/query", params={"q": "SHOW DATABASES"},
                  auth=("heatpump", PASSWORD))
    assert ["authdb"] in r.json()["results"][0]["series"][0]["values"]


def test_credentials_in_the_url_are_used_and_never_shown(auth_influxd):
    host = auth_influxd.url.removeprefix("http://")
    with InfluxStore(f"http://heatpump:{PASSWORD}@{host}", "urldb", BERLIN) as s:
        assert s.info().location == f"{auth_influxd.url} (urldb)"
    with pytest.raises(StoreError) as info:
        InfluxStore(f"http://heatpump:{PASSWORD}x@{host}", "urldb", BERLIN)
    assert PASSWORD not in _all_text(info.value)


def test_wrong_password_is_a_clear_error_without_the_password(auth_influxd):
    with pytest.raises(StoreError) as info:
        InfluxStore(auth_influxd.url, "authdb", BERLIN, username="heatpump",
                    password=PASSWORD + "x")
    text = _all_text(info.value)
    assert "refused the credentials" in str(info.value)
    assert "INFLUX_USERNAME" in str(info.value)
    assert PASSWORD not in text


def test_missing_credentials_and_bad_token_are_refused_without_the_token(auth_influxd):
    with pytest.raises(StoreError, match="refused the credentials"):
        InfluxStore(auth_influxd.url, "authdb", BERLIN)
    with pytest.raises(StoreError) as info:
        InfluxStore(auth_influxd.url, "authdb", BERLIN, token=TOKEN)
    assert TOKEN not in _all_text(info.value)


def test_open_store_uses_influx_settings(auth_influxd, tmp_path: Path):
    settings = Settings.from_mapping({
        "HEATPUMP_DATA_DIR": str(tmp_path), "INFLUX_URL": auth_influxd.url,
        "INFLUX_USERNAME": "heatpump", "INFLUX_PASSWORD": PASSWORD,
        "INFLUX_BUCKET": "fromsettings", "HEATPUMP_TZ": "Europe/Berlin"})
    with open_store(settings) as s:
        info = s.info()
        assert info.backend == "influxdb" and info.version.startswith("1.")
        assert "fromsettings" in info.location and PASSWORD not in info.location
    assert not (tmp_path / "heatpump.sqlite3").exists()


def test_server_down_keeps_points_and_a_restart_delivers_them(make_influxd):
    server = make_influxd()
    s = InfluxStore(server.url, "downtime", BERLIN, username="u", password=PASSWORD,
                    timeout_s=2.0)
    s.write([Point("electricity", T0, {"energy_wh": 5.0},
                   {"device": "hp", "source": "meter", "circuit": "total"})])
    s.flush()
    server.stop()
    s.write([Point("electricity", T0 + timedelta(minutes=1), {"energy_wh": 7.0},
                   {"device": "hp", "source": "meter", "circuit": "total"})])
    with pytest.raises(StoreError) as info:
        s.flush()
    assert "unreachable" in str(info.value) and PASSWORD not in _all_text(info.value)
    with pytest.raises(StoreError):
        s.latest("electricity")
    with pytest.raises(StoreError, match="unreachable"):
        s.check()
    server.start()  # same data dir: the first point is still there
    s.check()
    s.flush()
    day = datetime(2026, 1, 5, tzinfo=BERLIN)
    [row] = s.sums("electricity", ["energy_wh"], day, day + timedelta(days=1), "day",
                   BERLIN)
    assert row.values == {"energy_wh": 12.0}
    s.close()


def test_a_store_made_while_the_server_is_down_starts_working_later(make_influxd):
    server = make_influxd(start=False)
    s = InfluxStore(server.url, "late", BERLIN, timeout_s=2.0)  # nothing listens yet
    s.write([Point("meter", T0, {"power_w": 1.0}, {"device": "d"})])
    with pytest.raises(StoreError, match="unreachable"):
        s.flush()
    server.start()
    s.flush()
    assert s.latest("meter")["power_w"].value == 1.0
    assert s.info().version.startswith("1.")
    s.close()


def test_sums_over_rollup_rows_match_per_bucket_aggregates(influxd, monkeypatch):
    """Month sums read `_1d` rows and add them up client-side, one statement per
    STATEMENT_ROWS rows; the answer must be what one server aggregate per bucket gives."""
    import heatpump.store.influx as influx

    start = datetime(2025, 11, 1, tzinfo=BERLIN)
    pts = []
    for day in range(150):  # two devices, two sources, a gap in January, DST at the end
        if 62 <= day < 70:
            continue
        t = start + timedelta(days=day, hours=7)
        for dev, src, wh in (("a", "meter", 1.0 + day), ("b", "heatpump", 0.25 * day)):
            pts.append(Point("electricity", t, {"energy_wh": wh, "duration_s": 60.0},
                             {"device": dev, "source": src, "circuit": "total"}))
    end = datetime(2026, 4, 1, tzinfo=BERLIN)
    with InfluxStore(influxd.url, "rollup_rows", BERLIN) as s:
        s.write(pts)
        s.flush()
        queries = [
            dict(fields=["energy_wh", "duration_s"]),
            dict(fields=["energy_wh"], group_by=["source"]),
            dict(fields=["energy_wh"], tags={"device": "b"}),
        ]
        read = {i: s.sums("electricity", start=start, end=end, bucket="month", tz=BERLIN, **q)
                for i, q in enumerate(queries)}
        monkeypatch.setattr(influx, "STATEMENT_ROWS", 20)  # several statements per request
        chunked = {i: s.sums("electricity", start=start, end=end, bucket="month", tz=BERLIN,
                             **q) for i, q in enumerate(queries)}
        monkeypatch.setattr(influx, "ROWS_PER_BUCKET_MAX", 0)  # force per-bucket aggregates
        aggregated = {i: s.sums("electricity", start=start, end=end, bucket="month",
                                tz=BERLIN, **q) for i, q in enumerate(queries)}
    assert read == chunked == aggregated
    months = read[0]
    assert [m.start for m in months] == [datetime(2025, m, 1, tzinfo=BERLIN) for m in (11, 12)] + \
        [datetime(2026, m, 1, tzinfo=BERLIN) for m in (1, 2, 3)]
    want = sum(1.0 + d + 0.25 * d for d in range(150) if not 62 <= d < 70)
    assert sum(m.values["energy_wh"] for m in months) == pytest.approx(want)
    assert sum(m.values["duration_s"] for m in months) == 60.0 * 2 * 142
    assert {tuple(r.tags.items()) for r in read[1]} == {(("source", "meter"),),
                                                        (("source", "heatpump"),)}
    assert read[2][0].values == {"energy_wh": pytest.approx(0.25 * sum(range(30)))}


def test_latest_windows_with_since_end_there() -> None:
    day = 86_400_000
    now = 1_000 * day

    def days_back(since_days: float) -> list[tuple[float | None, float | None]]:
        since = datetime.fromtimestamp((now - since_days * day) / 1000, UTC)
        return [(None if lo is None else (now - lo) / day, None if hi is None else
                 (now - hi) / day) for lo, hi in latest_windows(now, since)]

    assert days_back(0.5) == [(0.5, None)]  # within the last day: one range
    assert days_back(20) == [(1, None), (20, 1)]
    assert days_back(60) == [(1, None), (60, 1)]  # 25 days beyond 35: joined to the range
    assert days_back(500) == [(1, None), (35, 1), (500, 35)]
    assert days_back(1200) == [(1, None), (35, 1), (400, 35), (1200, 400)]
    assert latest_windows(now, None)[-1] == (None, now - 400 * day)  # without: to the start


def test_latest_since_never_asks_every_shard(influxd, monkeypatch):
    """With `since` every statement latest() sends ends there, even for fields never
    written, and it never asks SHOW FIELD KEYS (which asks every shard of the database, so
    its cost grows with the history kept)."""
    s = InfluxStore(influxd.url, "since_bounded", BERLIN)
    now = datetime.now(UTC).replace(microsecond=0)
    s.write([Point("heatpump", now - timedelta(days=10), {"outside_temp_c": 2.0},
                   {"device": "hp"}),
             Point("heatpump", now - timedelta(days=500), {"flow_l_h": 900.0},
                   {"device": "hp"})])
    s.flush()
    sent: list[str] = []
    real = s._query

    def spy(statements, *a, **k):
        sent.extend(statements)
        return real(statements, *a, **k)

    monkeypatch.setattr(s, "_query", spy)
    s.expire_field_keys()
    since = now - timedelta(days=60)
    got = s.latest("heatpump", ["outside_temp_c", "flow_l_h", "device_spf_total"],
                   since=since)
    assert set(got) == {"outside_temp_c"} and got["outside_temp_c"].value == 2.0
    assert sent and not [q for q in sent if "SHOW FIELD KEYS" in q]
    lasts = [q for q in sent if "last(" in q]
    assert len(lasts) == 3 + 3  # the last day, then the rest back to `since` in one range
    assert all("time >= " in q for q in lasts)
    lows = sorted(int(q.split("time >= ")[1].split("ms")[0]) for q in lasts)
    bound = int(since.timestamp() * 1000)
    assert lows[0] == bound and all(lo >= bound for lo in lows)
    s.close()


def test_latest_skips_fields_never_written_and_looks_back_in_windows(influxd, monkeypatch):
    """An unbounded last() opens every shard: a field the measurement never had costs one
    last() over the last day (no older window), a recent one the same, an old one the
    windows back to the start."""
    s = InfluxStore(influxd.url, "windows", BERLIN)
    now = datetime.now(UTC).replace(microsecond=0)
    s.write([Point("heatpump", now - timedelta(hours=1), {"outside_temp_c": 2.0},
                   {"device": "hp"}),
             Point("heatpump", now - timedelta(days=500), {"flow_l_h": 900.0},
                   {"device": "hp"})])
    s.flush()
    sent: list[list[str]] = []
    real = s._query

    def spy(statements, *a, **k):
        sent.append(list(statements))
        return real(statements, *a, **k)

    monkeypatch.setattr(s, "_query", spy)
    assert s.latest("heatpump", ["device_spf_total", "device_scop_total"]) == {}
    [batch] = [b for b in sent if "last(" in b[0]]
    assert len(batch) == 2 and all("time >= " in q and "time < " not in q for q in batch)
    sent.clear()
    got = s.latest("heatpump", ["outside_temp_c"])
    assert got["outside_temp_c"].time == now - timedelta(hours=1)
    [batch] = [b for b in sent if "last(" in b[0]]
    assert "time >= " in batch[0] and "time < " not in batch[0]
    sent.clear()
    got = s.latest("heatpump", ["flow_l_h"])
    assert got["flow_l_h"].value == 900.0
    lasts = [b[0] for b in sent if "last(" in b[0]]
    assert len(lasts) == 4 and "time >= " not in lasts[-1]  # found in the open-ended window
    s.close()


def test_a_flush_writes_its_lines_in_the_order_written(influxd):
    """The store groups a batch per shape (heatpump/store/common.py, normalize), but InfluxDB
    gets the lines in the order they were written: of one series and time, the last line
    wins each field it has."""
    store = InfluxStore(influxd.url, "order_test", BERLIN)
    store.write([Point("meter", T0, {"power_w": 1.0}, {"device": "d"}),
                 Point("meter", T0, {"power_w": 3.0, "uptime_s": 4}, {"device": "d"})])
    store.write([Point("heat", T0, {"energy_wh": 2.0, "duration_s": 300.0, "estimate": False},
                       {"device": "hp", "method": "counter", "circuit": "total"}),
                 Point("meter", T0, {"power_w": 5.0}, {"device": "d"})])
    store.flush()
    got = store.points("meter", T0, T0 + timedelta(seconds=1))
    assert [p.fields for p in got] == [{"power_w": 5.0, "uptime_s": 4}]
    store.close()
